"""Settings → Reminder templates: the list, the editor with its live preview on a real customer,
save / reset (admin and finance), and support reading only."""
import re

import pytest

from domain.models import ReminderTemplate
from domain.reminders import templates as rt

HTMX = {"HX-Request": "true"}
EDIT_URL = "/settings/templates/email/R1/fr"


@pytest.fixture
def customers(session, ledger_builder, company):
    """Bistro du Port (French) has the oldest overdue entry; Harbour Ltd (English) one overdue entry."""
    bistro = ledger_builder.customer("C001", "Bistro du Port", language="fr")
    ledger_builder.entry(bistro, 40, "1234.56", number="INV-1001")
    harbour = ledger_builder.customer("C002", "Harbour Ltd", language="en")
    ledger_builder.entry(harbour, 5, "99.90", number="INV-2001")
    session.commit()
    return bistro, harbour


def preview(client, body, subject="Relance {{ customer.account }}", url=EDIT_URL, **extra):
    return client.post(f"{url}/preview", data={"subject": subject, "body": body, **extra}, headers=HTMX)


def test_the_list_shows_every_level_channel_and_language(finance_client):
    response = finance_client.get("/settings/templates/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<h1>Reminder templates</h1>" in html
    for channel in ("email", "letter"):
        for level in ("prevention", "R1", "R2", "R3", "R4", "R5"):
            for language in ("en", "fr"):
                assert f'href="/settings/templates/{channel}/{level}/{language}"' in html
    assert "Customised" not in html


def test_the_editor_shows_the_template_placeholders_and_a_live_preview(finance_client, customers):
    response = finance_client.get(EDIT_URL)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    default = rt.default_template(1, "email", "fr")
    assert 'name="subject"' in html and '<textarea name="body"' in html
    assert "Montant échu : {{ total_overdue }}" in html, "the body is in the editor"
    assert 'name="csrf_token"' in html and "X-CSRFToken" in html
    assert f'hx-post="{EDIT_URL}/preview"' in html and 'hx-trigger="input changed delay:400ms"' in html
    assert "{{ customer.contact_name }}" in html and "entries_table" in html, "the placeholders are listed"
    assert 'data-preview-customer="C001"' in html, "the customer of the oldest overdue entry by default"
    assert "Rappel de paiement – Acme SARL, compte C001" in html
    assert "INV-1001" in html and "1\u202f234,56\xa0€" in html
    assert ">Save</button>" in html and "Reset to default" in html
    assert default.subject in html


def test_the_preview_renders_what_is_typed_on_the_chosen_customer(finance_client, customers):
    response = preview(finance_client, "Bonjour {{ customer.name }},\n{{ entries_table }}\nTotal : {{ total_overdue }}",
                       account="C002")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="template-preview"'), "only the fragment"
    assert "<html" not in html
    assert 'data-preview-customer="C002"' in html
    assert "Relance C002" in html and "Bonjour Harbour Ltd," in html
    assert "INV-2001" in html and "Total : 99,90\xa0€" in html, "formatted in the template's language"


def test_the_preview_shows_an_error_with_its_line(finance_client, customers):
    html = preview(finance_client, "Bonjour,\n\n{{ nobody }}").get_data(as_text=True)
    assert 'data-template-error="body"' in html and 'data-line="3"' in html
    assert "Body, line 3: unknown placeholder &#39;nobody&#39;" in html
    escape = preview(finance_client, "{{ ''.__class__.__mro__ }}").get_data(as_text=True)
    assert 'data-line="1"' in escape and "not allowed" in escape
    syntax = preview(finance_client, "ok", subject="Relance {{ customer.account").get_data(as_text=True)
    assert 'data-template-error="subject"' in syntax and 'data-line="1"' in syntax


def test_the_preview_falls_back_to_a_sample_customer(finance_client, customers):
    html = preview(finance_client, "Bonjour {{ customer.name }}", account="NOPE").get_data(as_text=True)
    assert "no customer with account &#39;NOPE&#39;" in html and "Bonjour Bistro du Port" in html


def test_saving_overrides_the_default(finance_client, customers, session):
    response = finance_client.post(EDIT_URL, data={"subject": "Petit rappel – {{ customer.account }}",
                                                   "body": "Bonjour,\r\n{{ entries_table }}", "account": "C002"},
                                   headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Template saved" in html
    assert html.lstrip().startswith('<form id="template-editor"'), "the editor alone is swapped"
    assert "Petit rappel – C002" in html, "the preview follows the saved text"
    row = session.query(ReminderTemplate).one()
    assert (row.level, row.channel, row.language, row.body) == (1, "email", "fr", "Bonjour,\n{{ entries_table }}")
    assert "<strong>Customised</strong>" in finance_client.get("/settings/templates/").get_data(as_text=True)


def test_a_broken_template_is_refused_inline_and_nothing_is_saved(finance_client, customers, session):
    response = finance_client.post(EDIT_URL, data={"subject": "Relance", "body": "Bonjour\n{% for e in entries %}\n"},
                                   headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, "htmx swaps the editor with the error"
    assert 'data-field-error="body"' in html and 'data-line="2"' in html and "endfor" in html
    assert "Nothing was saved" in html
    assert "{% for e in entries %}" in html, "what was typed stays in the editor"
    assert session.query(ReminderTemplate).count() == 0

    plain = finance_client.post(EDIT_URL, data={"subject": "Relance", "body": "{{ config }}"})
    assert plain.status_code == 400 and "unknown placeholder" in plain.get_data(as_text=True)
    assert session.query(ReminderTemplate).count() == 0


def test_reset_brings_the_default_back(finance_client, customers, session):
    finance_client.post(EDIT_URL, data={"subject": "Relance", "body": "Bonjour"}, headers=HTMX)
    response = finance_client.post(f"{EDIT_URL}/reset", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "default template applies again" in html
    assert "Montant échu : {{ total_overdue }}" in html
    assert session.query(ReminderTemplate).count() == 0


def test_support_reads_and_previews_but_cannot_save_or_reset(support_client, customers, session):
    html = support_client.get(EDIT_URL).get_data(as_text=True)
    assert "readonly" in html and "Only admin and finance" in html
    assert ">Save</button>" not in html and "Reset to default" not in html
    assert preview(support_client, "Bonjour {{ customer.name }}").status_code == 200
    for url in (EDIT_URL, f"{EDIT_URL}/reset"):
        response = support_client.post(url, data={"subject": "S", "body": "B"}, headers=HTMX)
        assert response.status_code == 403 and "does not allow" in response.get_data(as_text=True)
    assert session.query(ReminderTemplate).count() == 0


@pytest.mark.parametrize("url", ["/settings/templates/sms/R1/fr", "/settings/templates/email/R6/fr",
                                 "/settings/templates/email/R1/de"])
def test_an_unknown_template_is_not_found(finance_client, url):
    assert finance_client.get(url).status_code == 404


def test_htmx_posts_carry_the_csrf_token_from_the_body(app, client, users, customers):
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"email": "finance@relance.test", "password": "correct-horse-battery",
                                       "csrf_token": token}).status_code == 302
    html = client.get(EDIT_URL).get_data(as_text=True)
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    refused = client.post(f"{EDIT_URL}/preview", data={"subject": "S", "body": "B"}, headers=HTMX)
    assert refused.status_code == 400
    accepted = client.post(f"{EDIT_URL}/preview", data={"subject": "S", "body": "B"},
                           headers={**HTMX, "X-CSRFToken": header_token})
    assert accepted.status_code == 200 and "data-preview-body" in accepted.get_data(as_text=True)
