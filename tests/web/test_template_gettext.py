"""Words in templates: Relance's own gettext functions (blueprints/_web/layer.py) behave as Jinja's newstyle
gettext — the reader's language, values escaped in HTML and only there, %% for a percent sign, a value may be
called num or context — inside loops and blocks too."""
from __future__ import annotations

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


def _render(app, source: str, headers=None, **values) -> str:
    with app.test_request_context("/", headers=headers or {}):
        return app.jinja_env.from_string(source).render(**values)


def test_values_are_escaped_in_html_and_kept_as_they_are_in_text(app):
    html = _render(app, "{{ _('Send a reminder to %(name)s', name=name) }}", name="<b>A&B</b>")
    assert html == "Send a reminder to &lt;b&gt;A&amp;B&lt;/b&gt;"
    text = _render(app, "{% autoescape false %}{{ _('Send a reminder to %(name)s', name=name) }}{% endautoescape %}",
                   name="A&B <Sons>")
    assert text == "Send a reminder to A&B <Sons>"


def test_the_reader_language_inside_loops_and_blocks(app):
    source = ("{% for n in counts %}{% set said = ngettext('%(num)d disputed', '%(num)d disputed', n) %}"
              "[{{ said }}|{{ _('Reminders stopped') }}]{% endfor %}")
    assert _render(app, source, counts=[1, 2]) == "[1 disputed|Reminders stopped][2 disputed|Reminders stopped]"
    french = _render(app, source, headers=FRENCH, counts=[1, 2])
    assert french == "[1 en litige|Stop relance][2 en litige|Stop relance]"


def test_a_value_may_be_called_num_or_context_and_a_percent_sign_is_written_twice(app):
    assert _render(app, "{{ ngettext('%(num)s customer', '%(num)s customers', n, num='1,000') }}", n=1000) \
        == "1,000 customers"
    assert _render(app, "{{ pgettext('entries', 'Open') }}") == "Open"
    assert _render(app, "{{ _('100%% sure') }}") == "100% sure"
    assert _render(app, "{{ _('%(rate)s %%', rate=rate) }}", rate=12.5) == "12.5 %"


def test_a_count_read_as_a_decimal_or_as_text_still_formats_as_a_number(app):
    from decimal import Decimal

    assert _render(app, "{{ ngettext('%(num)d entry', '%(num)d entries', n) }}", n=Decimal(3)) == "3 entries"
    assert _render(app, "{{ _('%(n)d days', n=n) }}", n="12") == "12 days"
