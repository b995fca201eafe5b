"""Reminder templates: shipped defaults, rendering per language, the sandbox, validation with
lines, and saving / resetting overrides."""
from datetime import date
from decimal import Decimal

import pytest

from domain.models import AuditEvent, CompanySettings, Contact, ReminderTemplate
from domain.reminders import templates as rt
from domain.reminders.templates import TemplateError, TemplateText, TemplateValidationError


def plain(text: str) -> str:
    """Babel writes French amounts with narrow no-break spaces; compare with plain spaces."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.fixture
def company(session):
    row = CompanySettings(name="Acme SARL", registration_number="732829320", sender_email="billing@acme.test",
                          address="1 rue de la Paix\n75002 Paris")
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def bistro(session, ledger_builder, company):
    """A French customer with a contact, two overdue invoices, a credit note and one not yet due."""
    customer = ledger_builder.customer("C001", "Bistro du Port", language="fr", registration_number="552100554",
                                       address="3 quai des Brumes\n13002 Marseille", emails="compta@bistro.test")
    session.add(Contact(customer=customer, name="Marie Martin", email="marie@bistro.test"))
    entries = [
        ledger_builder.entry(customer, 120, "900.10", number="INV-1001", level=2),
        ledger_builder.entry(customer, 35, "1500.00", open_amount="1234.56", number="INV-1002"),
        ledger_builder.entry(customer, 10, "50.00", kind="credit_note", number="CN-0007"),
        ledger_builder.entry(customer, -10, "480.00", number="INV-1003"),
    ]
    session.commit()
    return customer, entries


def test_a_default_exists_for_every_level_channel_and_language_and_renders(pinned_today):
    assert rt.LEVELS == (0, 1, 2, 3, 4, 5) and set(rt.LANGUAGES) >= {"en", "fr"}
    for language in rt.LANGUAGES:
        context = rt.sample_context(language)
        for channel in rt.CHANNELS:
            for level in rt.LEVELS:
                text = rt.default_template(level, channel, language)
                assert (text.level, text.channel, text.language, text.customised) == (level, channel, language, False)
                assert rt.validate(text.subject, text.body, language) == [], (level, channel, language)
                message = rt.render(text, context)
                assert message.subject and "\n" not in message.subject
                assert context["entries_table"] in message.body, "every default shows the entries"
                assert "{{" not in message.body and "{%" not in message.body


def test_the_tone_firms_up_from_level_to_level():
    en = {level: rt.default_template(level, "email", "en").body for level in rt.LEVELS}
    fr = {level: rt.default_template(level, "letter", "fr") for level in rt.LEVELS}
    assert "soon fall due" in en[0] and "slipped through" in en[1]
    assert "further action" in en[3] and "formal notice" in en[4]
    assert "formal notice to pay" in en[5] and "legal proceedings" in en[5] and "collection agency" in en[5]
    assert "mise en demeure" in fr[5].subject.lower() and "procédure judiciaire" in fr[5].body
    assert "recommandée" in fr[5].body
    for level in range(1, 5):
        assert "legal proceedings" not in en[level]


def test_french_context_formats_amounts_dates_table_and_totals(session, bistro, users, pinned_today):
    customer, entries = bistro
    context = rt.reminder_context(session, customer, entries, sender=users["finance"])
    assert context["language"] == "fr" and context["locale"] == "fr_FR"
    assert context["customer"] == {
        "name": "Bistro du Port", "account": "C001", "registration_number": "552100554",
        "address": "3 quai des Brumes\n13002 Marseille", "contact_name": "Marie Martin",
        "email": "compta@bistro.test", "language": "fr"}
    assert context["company"]["name"] == "Acme SARL" and context["company"]["sender_email"] == "billing@acme.test"
    assert context["sender"] == {"name": "Finance", "email": "finance@relance.test"}
    # open: 900.10 + 1234.56 - 50.00 + 480.00; overdue: the same without INV-1003 (not due yet)
    assert plain(context["total_open"]) == "2 564,66 €"
    assert plain(context["total_overdue"]) == "2 084,66 €"
    assert context["totals"] == [{"currency": "EUR", "open": Decimal("2564.66"), "overdue": Decimal("2084.66")}]
    first = context["entries"][0]
    assert (first["number"], first["days_overdue"], first["open_amount"]) == ("INV-1001", 120, Decimal("900.10"))
    assert context["entries"][2]["open_amount"] == Decimal("-50.00"), "a credit note reduces the balance"

    table = plain(context["entries_table"]).splitlines()
    assert table[0].split() == ["Facture", "Émise", "le", "Échéance", "Montant", "Reste", "dû", "Jours", "de", "retard"]
    assert table[2].split() == ["INV-1001", "16/01/2026", "15/02/2026", "900,10", "€", "900,10", "€", "120"]
    assert "INV-1002" in table[3] and "1 500,00 €" in table[3] and "1 234,56 €" in table[3] and table[3].endswith("35")
    assert "CN-0007 (avoir)" in table[4] and "-50,00 €" in table[4]
    assert "25/06/2026" in table[5]

    message = rt.render(rt.template_for(session, 1, "email", customer.language), context)
    assert message.subject == "Rappel de paiement – Acme SARL, compte C001"
    body = plain(message.body)
    assert body.startswith("Bonjour Marie Martin,")
    assert "Montant échu : 2 084,66 €" in body and "Finance\nAcme SARL\nfinance@relance.test" in body


def test_english_formatting_and_the_sender_of_an_automatic_run(session, ledger_builder, company, pinned_today):
    customer = ledger_builder.customer("C002", "Harbour Ltd", language="en")
    entry = ledger_builder.entry(customer, 5, "1234.5", number="INV-2001")
    context = rt.reminder_context(session, customer, [entry])
    assert context["sender"] == {"name": "Acme SARL", "email": "billing@acme.test"}, "no user: the company signs"
    assert context["total_overdue"] == "€1,234.50"
    assert context["customer"]["contact_name"] == ""
    body = rt.render(rt.template_for(session, 2, "email", "en"), context).body
    assert body.startswith("Dear Sir or Madam,")
    assert "10 Jun 2026" in context["entries_table"] and "€1,234.50" in body


def test_mixed_currencies_are_totalled_per_currency(session, ledger_builder, pinned_today):
    customer = ledger_builder.customer("C003", "Mixte SA", language="fr")
    entries = [ledger_builder.entry(customer, 40, "100.00"), ledger_builder.entry(customer, 20, "250.00", currency="USD"),
               ledger_builder.entry(customer, 10, "20.00")]
    context = rt.reminder_context(session, customer, entries)
    assert plain(context["total_overdue"]) == "120,00 € et 250,00 $US"
    assert [t["currency"] for t in context["totals"]] == ["EUR", "USD"]
    en = rt.reminder_context(session, customer, entries, language="en")
    assert en["total_open"] == "€120.00 and US$250.00"


def test_the_customers_language_picks_the_template_and_english_stands_in(session):
    assert rt.template_for(session, 3, "letter", "fr").language == "fr"
    assert rt.template_for(session, 3, "letter", "fr_CA").language == "fr"
    german = rt.template_for(session, 3, "letter", "de")
    assert german.language == "en" and german == rt.default_template(3, "letter", "en")
    assert rt.template_for(session, 3, "email", None).language == "en"
    assert rt.format_locale("de") == "en_GB" and rt.format_locale("fr") == "fr_FR" and rt.format_locale("en_US") == "en_US"


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ config }}",
    "{{ self._TemplateReference__context }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ customer['__class__'] }}",
    "{{ entries|map(attribute='__class__')|list }}",
    "{{ customer.name.upper() }}",
    "{{ request }}",
    "{{ lipsum(1000000) }}",
    "{% include 'base.html' %}",
    "{% macro boom() %}{% endmacro %}",
    "{{ customer|attr('__class__') }}",
    "{{ '%s' % customer }}",
])
def test_a_template_cannot_reach_the_application(source):
    errors = rt.validate("Reminder", "Hello,\n" + source)
    assert len(errors) == 1, source
    assert errors[0].field == "body" and errors[0].line == 2


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}", "{{ config }}", "{{ self._TemplateReference__context }}",
    "{{ cycler.__init__.__globals__ }}", "{% set s = customer.name %}{{ s.__class__ }}",
])
def test_rendering_refuses_escapes_even_without_validation(source):
    with pytest.raises(TemplateError) as refused:
        rt.render(TemplateText(1, "email", "en", "Subject", source), rt.sample_context("en"))
    assert refused.value.line == 1
    assert "object" not in refused.value.reason.lower() or "not allowed" in refused.value.reason


@pytest.mark.parametrize("source, words", [
    ("{% for i in range(10**9) %}x{% endfor %}", "Range too big"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "loops run more than"),
    ("{{ 'x' * 10**9 }}", "at most 100,000"),
    ("{% for i in range(100000) %}{{ entries_table }}{% endfor %}", "longer than 100,000"),
    ("{{ 10 ** 1000 }}", "powers above 100"),
    ("{{ (entries_table * 10)|replace(' ', entries_table) }}", "at most 100,000"),
])
def test_render_time_and_size_are_bounded(source, words):
    errors = rt.validate("Reminder", source)
    assert len(errors) == 1 and words in errors[0].reason


def test_an_unknown_placeholder_is_refused_with_its_line():
    errors = rt.validate("Reminder for {{ customer.name }}", "Hello,\n\nYou owe {{ total_overdue }}.\n{{ unknown }}\n")
    assert [(e.field, e.line) for e in errors] == [("body", 4)]
    assert "unknown placeholder 'unknown'" in errors[0].reason
    assert str(errors[0]).startswith("Body, line 4:")

    hidden = rt.validate("Reminder", "Hello\n{% if false %}\n{{ nobody }}\n{% endif %}")
    assert [(e.line, "nobody" in e.reason) for e in hidden] == [(3, True)], "found even in a branch not taken"

    attribute = rt.validate("{{ customer.nmae }}", "Hello")
    assert [(e.field, e.line) for e in attribute] == [("subject", 1)] and "nmae" in attribute[0].reason


def test_a_syntax_error_reports_the_right_line():
    errors = rt.validate("Reminder", "Hello,\n\n{% for entry in entries %}\n{{ entry.number }\n{% endfor %}")
    assert len(errors) == 1 and errors[0].line == 4
    unclosed = rt.validate("Reminder", "a\nb\n{% if customer.name %}\nc")
    assert unclosed[0].line == 4 and "endif" in unclosed[0].reason
    subject = rt.validate("Reminder {{ customer.name ", "Hello")
    assert subject[0].field == "subject" and subject[0].line == 1


def test_empty_or_multi_line_subjects_are_refused():
    assert rt.validate("", "Hello")[0].reason == "the subject is empty"
    assert rt.validate("Reminder", "  ")[0].reason == "the body is empty"
    assert "one line" in rt.validate("Reminder\nfor you", "Hello")[0].reason


def test_loops_and_filters_work(session, bistro, pinned_today):
    customer, entries = bistro
    context = rt.reminder_context(session, customer, entries)
    body = ("{% for entry in entries if entry.is_overdue %}\n"
            "- {{ entry.number }}: {{ entry.open_amount|money(entry.currency) }}, due {{ entry.due_date }}"
            " ({{ entry.days_overdue }} days)\n{% endfor %}\n{{ customer.name|upper }} {{ today|date('long') }}")
    assert rt.validate("Relance", body, "fr") == []
    text = plain(rt.render(TemplateText(1, "email", "fr", "Relance", body), context).body)
    assert text.splitlines() == ["- INV-1001: 900,10 €, due 15/02/2026 (120 days)",
                                 "- INV-1002: 1 234,56 €, due 11/05/2026 (35 days)",
                                 "BISTRO DU PORT 15 juin 2026"]  # a credit note is never overdue


def test_render_takes_plain_data_only(session, bistro):
    customer, _ = bistro
    context = rt.sample_context("en")
    context["customer"] = customer
    with pytest.raises(TypeError, match="plain data"):
        rt.render(rt.default_template(1, "email", "en"), context)


def test_letters_escape_the_rendered_text_into_html():
    context = rt.sample_context("en")
    context["customer"] = {**context["customer"], "contact_name": "<script>alert(1)</script>"}
    message = rt.render(rt.default_template(1, "letter", "en"), context)
    html = message.body_html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<pre class="entries">' in html and html.startswith("<p>Dear &lt;script&gt;")


def test_a_refused_save_changes_nothing(session, users):
    with pytest.raises(TemplateValidationError) as refused:
        rt.save_template(session, users["finance"], 1, "email", "fr", "Relance", "Bonjour\n{{ ''.__class__ }}")
    assert [(e.field, e.line) for e in refused.value.errors] == [("body", 2)]
    session.rollback()
    assert session.query(ReminderTemplate).count() == 0
    assert rt.template_for(session, 1, "email", "fr") == rt.default_template(1, "email", "fr")

    rt.save_template(session, users["finance"], 1, "email", "fr", "Relance A", "Bonjour A")
    session.commit()
    with pytest.raises(TemplateValidationError):
        rt.save_template(session, users["finance"], 1, "email", "fr", "Relance B", "{% if %}")
    session.rollback()
    row = session.query(ReminderTemplate).one()
    assert (row.subject, row.body) == ("Relance A", "Bonjour A")


def test_save_overrides_the_default_and_reset_restores_it(session, users):
    saved = rt.save_template(session, users["finance"], 2, "letter", "fr", "Relance n°2 – {{ customer.account }}",
                             "Madame, Monsieur,\r\n\r\n{{ entries_table }}\r\n")
    session.commit()
    text = rt.template_for(session, 2, "letter", "fr")
    assert text.customised and text.subject == "Relance n°2 – {{ customer.account }}"
    assert text.body == "Madame, Monsieur,\n\n{{ entries_table }}\n", "Windows line ends made plain"
    assert rt.template_for(session, 2, "letter", "en").customised is False, "other languages keep their default"
    assert rt.template_for(session, 2, "letter", "de").customised is False, "German falls back to English"
    assert rt.all_templates(session)[(2, "letter", "fr")].customised

    rt.save_template(session, users["admin"], 2, "letter", "fr", "Relance", "Corps")
    session.commit()
    assert session.query(ReminderTemplate).count() == 1 and session.get(ReminderTemplate, saved.id).body == "Corps"

    assert rt.reset_template(session, users["finance"], 2, "letter", "fr") is True
    session.commit()
    assert rt.template_for(session, 2, "letter", "fr") == rt.default_template(2, "letter", "fr")
    assert rt.reset_template(session, users["finance"], 2, "letter", "fr") is False
    actions = [e.action for e in session.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions == ["reminder_template.saved", "reminder_template.saved", "reminder_template.reset"]


def test_saving_checks_the_key(session, users):
    with pytest.raises(ValueError):
        rt.save_template(session, users["finance"], 6, "email", "fr", "S", "B")
    with pytest.raises(ValueError):
        rt.save_template(session, users["finance"], 1, "sms", "fr", "S", "B")
    with pytest.raises(ValueError):
        rt.save_template(session, users["finance"], 1, "email", "de", "S", "B")


def test_the_preview_customer_defaults_to_the_oldest_overdue_entry(session, ledger_builder, bistro, pinned_today):
    other = ledger_builder.customer("C009", "Zed", language="en")
    ledger_builder.entry(other, 3, "10.00")
    session.commit()
    customer, _ = bistro
    assert rt.preview_customer(session).account == "C001"
    assert rt.preview_customer(session, "C009").name == "Zed"
    assert rt.preview_customer(session, "NOPE") is None
    assert [e.number for e in rt.preview_entries(session, customer, 0)] == ["INV-1003"]
    assert [e.number for e in rt.preview_entries(session, customer, 3)] == ["INV-1001", "INV-1002", "CN-0007"]


def test_parse_level():
    assert [rt.parse_level(t) for t in ("prevention", "R1", "r5", "3", "R6", "x")] == [0, 1, 5, 3, None, None]
    assert rt.level_key(0) == "prevention" and rt.level_name(4) == "R4"


def test_sample_context_dates_follow_today(pinned_today):
    context = rt.sample_context("fr")
    assert context["today"] == date(2026, 6, 15) and context["overdue_count"] == 2  # the sample credit note is not late
