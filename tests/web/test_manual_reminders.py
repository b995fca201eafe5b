"""Manual reminders from the account status: the compose window, e-mails through the outbox to a
real SMTP server (aiosmtpd), grouped follow-up, letters as PDF, Deliveries and permissions."""
import io
import re
from datetime import timedelta

import pytest
from flask import current_app
from pypdf import PdfReader
from sqlalchemy import func, select

from domain import clock
from domain.attachments import attach_file
from domain.models import AuditEvent, Entry, OutboxMessage, ReminderActivity, ReminderLetter
from tests.unit.test_attachments import minimal_pdf

HTMX = {"HX-Request": "true"}


@pytest.fixture
def ledger(session, ledger_builder, users, app):
    customer = ledger_builder.customer("C100", "Bistro du Port", emails="compta@bistro.test, boss@bistro.test",
                                       address="3 quai des Brumes\n13002 Marseille", language="fr")
    first = ledger_builder.entry(customer, 40, "1200.50", level=1, number="INV-2001")
    second = ledger_builder.entry(customer, 10, "300.00", number="INV-2002")
    other = ledger_builder.customer("C200", "Garage Martin", emails="garage@martin.test")
    foreign = ledger_builder.entry(other, 20, "99.00", number="INV-3001")
    attach_file(session, first, "Facture INV-2001.pdf", minimal_pdf("INV-2001"), users["admin"],
                    directory=current_app.config["ATTACHMENT_DIR"])
    session.commit()
    return {"customer": customer, "first": first, "second": second, "other": other, "foreign": foreign}


def compose(client, account, *entries, channel="email", level=None):
    query = [("channel", channel)] + [("entry", e.id) for e in entries] + ([("level", level)] if level else [])
    return client.get(f"/customers/{account}/reminders/compose", query_string=query, headers=HTMX)


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    return match.group(1) if match else ""


def send(client, account, *entries, to="compta@bistro.test", cc="", subject="Relance", body="Merci de régler.",
         copy=False, key="k1", level="R2"):
    data = {"to": to, "cc": cc, "subject": subject, "body": body, "level": level, "dedupe_key": key,
            "entry": [e.id for e in entries]}
    if copy:
        data["copy"] = "1"
    return client.post(f"/customers/{account}/reminders/email", data=data, headers=HTMX)


def test_the_account_page_offers_reminders_to_finance(finance_client, ledger):
    html = finance_client.get("/customers/C100").get_data(as_text=True)
    assert "Send reminder" in html and "E-mail reminder for INV-2001" in html and "Reminder letter for INV-2001" in html


def test_a_credit_note_has_no_reminder_buttons(finance_client, ledger, ledger_builder, session):
    ledger_builder.entry(ledger["customer"], 5, "80.00", kind="credit_note", number="AV-2001")
    session.commit()
    html = finance_client.get("/customers/C100").get_data(as_text=True)
    assert "AV-2001" in html and "E-mail reminder for INV-2002" in html
    assert "E-mail reminder for AV-2001" not in html and "Reminder letter for AV-2001" not in html


def test_support_sees_nothing_to_send(support_client, ledger):
    html = support_client.get("/customers/C100").get_data(as_text=True)
    assert "Send reminder" not in html and "E-mail reminder for" not in html


def test_support_cannot_send(support_client, ledger, company):
    assert compose(support_client, "C100", ledger["first"]).status_code == 403
    assert send(support_client, "C100", ledger["first"]).status_code == 403
    assert support_client.post("/customers/C100/reminders/letter", data={"entry": ledger["first"].id},
                               headers=HTMX).status_code == 403


def test_compose_is_filled_from_the_template_of_the_next_level(finance_client, ledger, company):
    html = compose(finance_client, "C100", ledger["first"]).get_data(as_text=True)
    assert '<option value="R2" selected>' in html, "entry level R1 + 1"
    assert field(html, "to") == "compta@bistro.test" and field(html, "cc") == "boss@bistro.test"
    assert "INV-2001" in field(html, "subject") or "INV-2001" in html
    assert "Facture INV-2001.pdf" in html, "the invoice PDF is attached"
    assert field(html, "dedupe_key")
    chosen = compose(finance_client, "C100", ledger["first"], level="R4").get_data(as_text=True)
    assert '<option value="R4" selected>' in chosen


def test_an_email_goes_out_with_from_reply_to_copy_and_the_invoice(finance_client, session, ledger, company, mail,
                                                                   run_jobs, users):
    first = ledger["first"]
    response = send(finance_client, "C100", first, cc="boss@bistro.test", subject="Relance INV-2001",
                    body="Bonjour,\nmerci de régler INV-2001.", copy=True)
    assert response.status_code == 200
    assert 'data-testid="outbox-status"' in response.get_data(as_text=True)
    session.expire_all()
    entry = session.get(Entry, first.id)
    assert entry.reminder_level == 1 and entry.last_reminder_on is None, "nothing changes before the send"
    assert session.scalar(select(func.count()).select_from(ReminderActivity)) == 0

    run_jobs()

    (envelope,) = mail.envelopes
    assert envelope.mail_from == "billing@acme-sarl.test"
    assert sorted(envelope.rcpt_tos) == ["boss@bistro.test", "compta@bistro.test", "finance@relance.test"]
    (message,) = mail.messages
    assert message["From"] == "Acme SARL <billing@acme-sarl.test>"
    assert message["To"] == "compta@bistro.test" and message["Cc"] == "boss@bistro.test"
    assert message["Reply-To"] == "Finance <finance@relance.test>"
    assert message["Bcc"] is None, "the copy travels in the envelope only"
    assert message["Subject"] == "Relance INV-2001"
    assert "merci de régler INV-2001." in message.get_body(("plain",)).get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "Facture INV-2001.pdf"
    assert attachment.get_content() == minimal_pdf("INV-2001")

    session.expire_all()
    entry = session.get(Entry, first.id)
    assert entry.reminder_level == 2 and entry.last_reminder_on == clock.today()
    outgoing = session.scalar(select(OutboxMessage))
    assert outgoing.status == "sent" and outgoing.attempts == 1 and outgoing.message_id == message["Message-ID"]
    activity = session.scalar(select(ReminderActivity))
    assert (activity.channel, activity.level, activity.subject) == ("email", 2, "Relance INV-2001")
    assert [c.entry_id for c in activity.covered] == [first.id] and activity.sent_by_id == users["finance"].id
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "reminder.email")) is not None
    status = finance_client.get(f"/reminders/messages/{outgoing.id}/status", headers=HTMX)
    assert '#circle-check"></use></svg> Sent to' in status.get_data(as_text=True)
    assert "entriesChanged" in status.headers["HX-Trigger"]


def test_a_double_click_makes_one_message(finance_client, session, ledger, company, mail, run_jobs):
    send(finance_client, "C100", ledger["first"], key="same")
    send(finance_client, "C100", ledger["first"], key="same")
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    run_jobs()
    assert len(mail.envelopes) == 1
    assert session.scalar(select(func.count()).select_from(ReminderActivity)) == 1


def test_a_sent_message_is_never_sent_again(finance_client, session, ledger, company, mail, run_jobs):
    import jobs.reminders

    send(finance_client, "C100", ledger["first"])
    run_jobs()
    message = session.scalar(select(OutboxMessage))
    assert jobs.reminders.send_outbox_message(message.id) == "nothing to send"
    assert len(mail.envelopes) == 1


def test_grouped_follow_up_covers_every_ticked_entry_in_one_message(finance_client, session, ledger, company, mail,
                                                                    run_jobs):
    first, second = ledger["first"], ledger["second"]
    html = compose(finance_client, "C100", first, second).get_data(as_text=True)
    assert "INV-2001" in html and "INV-2002" in html and '<option value="R2" selected>' in html
    send(finance_client, "C100", first, second, subject=re.search(r'name="subject" value="([^"]*)"', html).group(1),
         body="Voir le tableau.")
    run_jobs()
    (message,) = mail.messages
    assert [a.get_filename() for a in message.iter_attachments()] == ["Facture INV-2001.pdf"]
    session.expire_all()
    activity = session.scalar(select(ReminderActivity))
    assert sorted(c.entry_id for c in activity.covered) == sorted([first.id, second.id])
    assert {session.get(Entry, e.id).reminder_level for e in (first, second)} == {2}


def test_entries_of_another_customer_are_refused(finance_client, session, ledger, company):
    html = compose(finance_client, "C100", ledger["first"], ledger["foreign"]).get_data(as_text=True)
    assert "one customer only" in html and "INV-3001" in html and "Garage Martin" in html
    response = send(finance_client, "C100", ledger["first"], ledger["foreign"])
    assert "one customer only" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    letter = finance_client.post("/customers/C100/reminders/letter",
                                 data={"entry": [ledger["first"].id, ledger["foreign"].id]}, headers=HTMX)
    assert "one customer only" in letter.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(ReminderActivity)) == 0


def test_without_a_company_sender_address_the_send_is_refused(finance_client, session, ledger):
    html = send(finance_client, "C100", ledger["first"]).get_data(as_text=True)
    assert "No sender e-mail address" in html
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_bad_address_is_refused_with_the_form_kept(finance_client, session, ledger, company):
    html = send(finance_client, "C100", ledger["first"], to="not an address", subject="Mon objet").get_data(as_text=True)
    assert "is not an e-mail address" in html and 'value="Mon objet"' in html
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_failed_send_is_listed_on_deliveries_and_retried(finance_client, session, ledger, company, run_jobs, app,
                                                           closed_smtp_url, smtp_server):
    app.config["SMTP_URL"] = closed_smtp_url
    send(finance_client, "C100", ledger["first"], subject="Relance échouée")
    run_jobs()
    session.expire_all()
    message = session.scalar(select(OutboxMessage))
    assert message.status == "failed" and message.attempts == 1 and "Cannot reach the mail server" in message.last_error
    assert timedelta(minutes=1) <= message.next_attempt_at - message.attempted_at < timedelta(minutes=1, seconds=10)
    assert session.scalar(select(func.count()).select_from(ReminderActivity)) == 0
    entry = session.get(Entry, ledger["first"].id)
    assert entry.reminder_level == 1 and entry.last_reminder_on is None, "never shown as sent"
    status = finance_client.get(f"/reminders/messages/{message.id}/status", headers=HTMX).get_data(as_text=True)
    assert "Not sent" in status and "#circle-x" in status and "#circle-check" not in status

    page = finance_client.get("/reminders/deliveries").get_data(as_text=True)
    assert "Relance échouée" in page and "Cannot reach the mail server" in page and "Bistro du Port" in page
    assert "Retry" in page

    app.config["SMTP_URL"] = smtp_server.url  # the server is back
    row = finance_client.post(f"/reminders/messages/{message.id}/retry", headers=HTMX)
    assert row.status_code == 200
    run_jobs()
    assert len(smtp_server.envelopes) == 1
    session.expire_all()
    message = session.get(OutboxMessage, message.id)
    assert message.status == "sent" and message.attempts == 2
    assert session.get(Entry, ledger["first"].id).reminder_level == 2
    assert "Relance échouée" not in finance_client.get("/reminders/deliveries").get_data(as_text=True)


def test_support_sees_deliveries_without_retry(support_client, session, ledger, company, users):
    from domain.reminders import outbox

    message, _ = outbox.queue_message(session, customer=ledger["customer"], entries=[ledger["first"]], level=2,
                                      to="compta@bistro.test", subject="Relance", body="Merci.",
                                      sent_by=users["finance"], dedupe_key="support-test")
    outbox.claim(session, message.id)
    outbox.mark_failed(session, message, "The mail server refused the recipient compta@bistro.test.")
    session.commit()
    page = support_client.get("/reminders/deliveries").get_data(as_text=True)
    assert "refused the recipient" in page and f"/reminders/messages/{message.id}/retry" not in page
    assert support_client.post(f"/reminders/messages/{message.id}/retry", headers=HTMX).status_code == 403


def test_a_letter_is_a_pdf_kept_as_a_reminder(finance_client, session, ledger, company):
    first, second = ledger["first"], ledger["second"]
    html = compose(finance_client, "C100", first, second, channel="letter").get_data(as_text=True)
    assert "Make the letter (PDF)" in html and "Reminder letter" in html
    response = finance_client.post("/customers/C100/reminders/letter",
                                   data={"entry": [first.id, second.id], "level": "R2"}, headers=HTMX)
    assert response.status_code == 200 and "entriesChanged" in response.headers["HX-Trigger"]
    session.expire_all()
    activity = session.scalar(select(ReminderActivity))
    assert activity.channel == "letter" and activity.level == 2
    assert sorted(c.entry_id for c in activity.covered) == sorted([first.id, second.id])
    assert session.get(Entry, first.id).last_reminder_on == clock.today()
    assert session.get(Entry, second.id).reminder_level == 2
    assert session.get(ReminderLetter, activity.id) is not None

    pdf = finance_client.get(f"/reminders/letters/{activity.id}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    text = text.replace("\u202f", " ").replace("\xa0", " ")
    assert "Bistro du Port" in text and "Acme SARL" in text
    assert "1 200,50" in text and "300,00" in text and "1 500,50" in text, "amounts and total, in French"
    assert activity.subject in " ".join(text.split()), "the object line"
    assert "INV-2001" in text and "INV-2002" in text


def test_a_double_click_makes_one_letter(finance_client, session, ledger, company):
    data = {"entry": [ledger["first"].id], "level": "R2"}
    first = finance_client.post("/customers/C100/reminders/letter", data=data, headers=HTMX).get_data(as_text=True)
    second = finance_client.post("/customers/C100/reminders/letter", data=data, headers=HTMX).get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(ReminderActivity)) == 1
    assert re.search(r'/reminders/letters/\d+', first).group(0) == re.search(r'/reminders/letters/\d+', second).group(0)


def test_a_letter_embeds_every_font_it_uses(finance_client, session, ledger, company):
    """A letter looks the same on the customer's machine: each font is in the PDF, not taken from its system."""
    first, second = ledger["first"], ledger["second"]
    finance_client.post("/customers/C100/reminders/letter", data={"entry": [first.id, second.id], "level": "R2"},
                        headers=HTMX)
    activity = session.scalar(select(ReminderActivity))
    reader = PdfReader(io.BytesIO(finance_client.get(f"/reminders/letters/{activity.id}").data))
    fonts = {}
    for page in reader.pages:
        for name, font in (page["/Resources"].get_object().get("/Font") or {}).items():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants[0].get_object() if descendants else font
            descriptor = described.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else {}
            fonts[str(font.get("/BaseFont"))] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    assert fonts and all(fonts.values()), f"fonts not embedded: {[name for name, ok in fonts.items() if not ok]}"
