"""Manual reminders from the Due dates: the letter (mail icon) and @ on each open entry open the compose window of the
entry's customer; what is sent or made there redraws the list (HX-Trigger entriesChanged)."""
import html as html_lib
import re

import pytest
from sqlalchemy import func, select

from domain import clock
from domain.models import Entry, OutboxMessage, ReminderActivity

HTMX = {"HX-Request": "true"}


@pytest.fixture
def ledger(session, ledger_builder, users):
    bistro = ledger_builder.customer("C100", "Bistro du Port", emails="compta@bistro.test", language="fr")
    first = ledger_builder.entry(bistro, 40, "1200.50", level=1, number="INV-2001")
    credit = ledger_builder.entry(bistro, 5, "50.00", kind="credit_note", number="AV-2001")
    garage = ledger_builder.customer("C200", "Garage Martin", emails="garage@martin.test")
    other = ledger_builder.entry(garage, 20, "99.00", number="INV-3001")
    session.commit()
    return {"first": first.id, "credit": credit.id, "other": other.id}


@pytest.fixture
def company(session):
    from domain.models import CompanySettings

    session.add(CompanySettings(name="Acme SARL", registration_number="732829320",
                                sender_email="billing@acme-sarl.test"))
    session.commit()


def row_of(html: str, number: str) -> str:
    """The <tr> of the due-dates table that lists `number`."""
    match = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*?>{re.escape(number)}\b(?:(?!</tr>).)*</tr>", html, re.S)
    assert match, f"{number} is not listed"
    return match.group(0)


def compose_url(html: str, number: str, name: str) -> str:
    """The URL the button `name` of the row of `number` asks for, with the row's hx-vals."""
    row = row_of(html, number)
    url = re.search(rf'hx-get="([^"]+)"[^>]*aria-label="{name} for {re.escape(number)}"', row).group(1)
    entry = re.search(r"hx-vals='\{\"entry\": (\d+)\}'", row).group(1)
    return f"{url.replace('&amp;', '&')}&entry={entry}"


def test_finance_sees_letter_and_email_on_each_open_entry(finance_client, ledger):
    html = finance_client.get("/due-dates").get_data(as_text=True)
    for number in ("INV-2001", "INV-3001"):
        row = row_of(html, number)
        assert f'aria-label="Reminder letter for {number}"><svg class="icon" aria-hidden="true"' in row
        assert 'icons.svg#mail"' in row
        assert f'aria-label="E-mail reminder for {number}">@</button>' in row
        assert 'hx-target="#modal"' in row
    other, first = ledger["other"], ledger["first"]
    assert compose_url(html, "INV-3001", "E-mail reminder") == f"/reminders/compose?channel=email&entry={other}"
    assert compose_url(html, "INV-2001", "Reminder letter") == f"/reminders/compose?channel=letter&entry={first}"
    assert '<div id="modal"></div>' in html, "the compose window has somewhere to open"


def test_no_reminder_for_a_credit_note(finance_client, ledger):
    row = row_of(finance_client.get("/due-dates").get_data(as_text=True), "AV-2001")
    assert "credit note" in row and "reminder" not in row.lower()


def test_support_sees_no_reminder_buttons(support_client, ledger):
    html = support_client.get("/due-dates").get_data(as_text=True)
    assert "INV-2001" in html
    assert "reminder-actions" not in html and "E-mail reminder for" not in html and "/reminders/compose" not in html


def test_support_cannot_open_the_compose_window(support_client, ledger):
    response = support_client.get("/reminders/compose", query_string={"channel": "email", "entry": ledger["first"]},
                                  headers=HTMX)
    assert response.status_code == 403


def test_email_opens_the_compose_window_of_the_entrys_customer(finance_client, ledger, company):
    html = finance_client.get("/due-dates").get_data(as_text=True)
    response = finance_client.get(compose_url(html, "INV-2001", "E-mail reminder"), headers=HTMX)
    assert response.status_code == 200
    window = response.get_data(as_text=True)
    assert "E-mail reminder — Bistro du Port" in window
    assert f'<input type="hidden" name="entry" value="{ledger["first"]}">' in window
    assert 'name="to" value="compta@bistro.test"' in window
    assert 'hx-post="/customers/C100/reminders/email"' in window
    assert '<option value="R2" selected>' in window, "the template of the next level, which the user can change"
    assert window.count("<option") > 1, "a choice of templates"


def test_letter_opens_the_letter_window(finance_client, ledger, company):
    html = finance_client.get("/due-dates").get_data(as_text=True)
    window = finance_client.get(compose_url(html, "INV-3001", "Reminder letter"), headers=HTMX).get_data(as_text=True)
    assert "Reminder letter — Garage Martin" in window and "Make the letter (PDF)" in window
    assert 'hx-post="/customers/C200/reminders/letter"' in window


def test_an_unknown_entry_is_a_404(finance_client, ledger):
    assert finance_client.get("/reminders/compose?channel=email&entry=999999", headers=HTMX).status_code == 404
    assert finance_client.get("/reminders/compose?channel=email", headers=HTMX).status_code == 404


def test_the_list_redraws_itself_on_entries_changed_keeping_the_view(finance_client, ledger):
    html = finance_client.get("/due-dates?q=INV&sort=number&dir=desc", headers=HTMX).get_data(as_text=True)
    listener = re.search(r'<span hidden hx-get="([^"]+)" hx-trigger="entriesChanged from:body" '
                         r'hx-target="#due-dates"></span>', html)
    assert listener, "the fragment listens to the event the reminder answers send"
    assert listener.group(1).replace("&amp;", "&") == "/due-dates?q=INV&sort=number&dir=desc"


def test_an_email_sent_from_the_due_dates_raises_the_level_in_the_list(finance_client, session, ledger, company,
                                                                      mail, run_jobs):
    html = finance_client.get("/due-dates").get_data(as_text=True)
    window = finance_client.get(compose_url(html, "INV-2001", "E-mail reminder"), headers=HTMX).get_data(as_text=True)
    form = {name: html_lib.unescape(re.search(rf'name="{name}" value="([^"]*)"', window).group(1))
            for name in ("to", "subject", "dedupe_key")}
    sent = finance_client.post("/customers/C100/reminders/email", headers=HTMX, data={
        **form, "body": "Merci de régler INV-2001.", "level": "R2", "entry": ledger["first"]})
    assert sent.status_code == 200 and 'data-testid="outbox-status"' in sent.get_data(as_text=True)

    run_jobs()

    (message,) = mail.messages
    assert message["To"] == "compta@bistro.test"
    assert message["Subject"] == form["subject"] == "Deuxième relance : factures échues – compte C100"
    outgoing = session.scalar(select(OutboxMessage))
    status = finance_client.get(f"/reminders/messages/{outgoing.id}/status", headers=HTMX)
    assert '#circle-check"></use></svg> Sent to' in status.get_data(as_text=True)
    assert "entriesChanged" in status.headers["HX-Trigger"]
    row = row_of(finance_client.get("/due-dates", headers=HTMX).get_data(as_text=True), "INV-2001")
    assert '<span class="level level-2">R2</span>' in row
    assert clock.today().strftime("%d/%m/%Y") in row, "last follow-up: today"


def test_a_letter_made_from_the_due_dates_raises_the_level_in_the_list(finance_client, session, ledger, company):
    made = finance_client.post("/customers/C200/reminders/letter", headers=HTMX,
                               data={"entry": ledger["other"], "level": "R1"})
    assert made.status_code == 200 and "entriesChanged" in made.headers["HX-Trigger"]
    assert 'data-testid="letter-ready"' in made.get_data(as_text=True)
    row = row_of(finance_client.get("/due-dates", headers=HTMX).get_data(as_text=True), "INV-3001")
    assert '<span class="level level-1">R1</span>' in row
    assert session.get(Entry, ledger["other"]).last_reminder_on == clock.today()


def test_sending_again_once_sent_tells_the_page_at_once(finance_client, session, ledger, company, mail, run_jobs):
    data = {"to": "compta@bistro.test", "subject": "Relance", "body": "Merci.", "level": "R2", "dedupe_key": "k1",
            "entry": ledger["first"]}
    first = finance_client.post("/customers/C100/reminders/email", headers=HTMX, data=data)
    assert "HX-Trigger" not in first.headers, "queued: the status line says when it is sent"
    run_jobs()
    again = finance_client.post("/customers/C100/reminders/email", headers=HTMX, data=data)
    assert '#circle-check"></use></svg> Sent to' in again.get_data(as_text=True)
    assert "entriesChanged" in again.headers["HX-Trigger"]
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert session.scalar(select(func.count()).select_from(ReminderActivity)) == 1
