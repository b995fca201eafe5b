"""Sending never surprises anyone: a manual reminder for an entry or a customer whose reminders are
stopped, that is disputed or in collection says so at the top of the compose window, offers only
"Send anyway" with a reason (kept in the history), and a POST without that reason is refused."""
import pytest
from sqlalchemy import func, select

from domain.collection.marks import mark_in_collection, set_disputed, set_reminders_stopped
from domain.models import AuditEvent, OutboxMessage, ReminderActivity
from tests.web.test_manual_reminders import HTMX, compose, ledger, send  # noqa: F401  (the fixture)


def messages(session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage))


def test_a_stopped_customer_is_said_at_the_top_and_send_becomes_send_anyway(finance_client, ledger, company, session,
                                                                           users):
    set_reminders_stopped(session, ledger["customer"], users["finance"], True, reason="Paying by instalments",
                          until=ledger["first"].due_date.replace(year=2027))
    session.commit()
    html = compose(finance_client, "C100", ledger["first"]).get_data(as_text=True)
    until = ledger["first"].due_date.replace(year=2027)
    assert f"Reminders are stopped for this customer: Paying by instalments, until {until:%d/%m/%Y}." in html
    assert "Send anyway" in html and 'name="override_reason"' in html
    assert ">Send</button>" not in html


@pytest.mark.parametrize("hold", ["entry stopped", "disputed", "in collection"])
def test_a_plain_post_for_a_held_entry_is_refused(finance_client, ledger, company, session, users, smtp_server, hold):
    entry = ledger["first"]
    if hold == "entry stopped":
        set_reminders_stopped(session, entry, users["finance"], True, reason="Credit note coming")
        said = "Reminders are stopped for INV-2001: Credit note coming"
    elif hold == "disputed":
        set_disputed(session, entry, users["finance"], True, reason="Goods never delivered")
        said = "INV-2001 is disputed: Goods never delivered"
    else:
        mark_in_collection(session, entry, users["finance"])
        said = "INV-2001 is in collection"
    session.commit()

    response = send(finance_client, "C100", entry)
    assert said in response.get_data(as_text=True) and "Give a reason to send it anyway" in response.get_data(as_text=True)
    assert messages(session) == 0
    plain = finance_client.post("/customers/C100/reminders/email",
                                data={"to": "compta@bistro.test", "subject": "R", "body": "B", "level": "R2",
                                      "dedupe_key": "plain", "entry": [entry.id]})
    assert plain.status_code == 409 and messages(session) == 0
    letter = finance_client.post("/customers/C100/reminders/letter", data={"entry": entry.id}, headers=HTMX)
    assert said in letter.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(ReminderActivity)) == 0, "no letter made either"


def test_send_anyway_with_a_reason_goes_and_the_reason_is_in_the_history(finance_client, ledger, company, session,
                                                                         users):
    set_disputed(session, ledger["first"], users["finance"], True, reason="Price disputed")
    session.commit()
    response = finance_client.post("/customers/C100/reminders/email", headers=HTMX, data={
        "to": "compta@bistro.test", "subject": "Relance", "body": "Merci", "level": "R2", "dedupe_key": "k9",
        "entry": [ledger["first"].id], "override_reason": "Agreed with the buyer: the dispute is settled"})
    assert response.status_code == 200 and messages(session) == 1
    message = session.scalar(select(OutboxMessage))
    assert message.override_reason == "Agreed with the buyer: the dispute is settled"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "reminder.override"))
    assert event.reason == "Agreed with the buyer: the dispute is settled" and "Price disputed" in event.detail
    history = finance_client.get("/customers/C100").get_data(as_text=True)
    assert "Agreed with the buyer: the dispute is settled" in history


def test_a_message_of_unknown_outcome_cannot_be_overridden(finance_client, ledger, company, session, users):
    from datetime import timedelta

    from domain import clock
    from domain.reminders import outbox

    message, _ = outbox.queue_message(session, customer=ledger["customer"], entries=[ledger["first"]], level=2,
                                      to="compta@bistro.test", subject="R2", body="B", sent_by=users["finance"],
                                      dedupe_key="earlier")
    outbox.claim(session, message.id)
    message.attempted_at = clock.now() - outbox.STALE_SENDING - timedelta(minutes=1)
    session.commit()  # the worker died mid-send, minutes ago
    html = compose(finance_client, "C100", ledger["first"]).get_data(as_text=True)
    assert "unknown outcome" in html and "disabled" in html and "Send anyway" not in html
    response = finance_client.post("/customers/C100/reminders/email", headers=HTMX, data={
        "to": "compta@bistro.test", "subject": "R", "body": "B", "level": "R2", "dedupe_key": "k2",
        "entry": [ledger["first"].id], "override_reason": "please"})
    assert "unknown outcome" in response.get_data(as_text=True) and messages(session) == 1


def test_deliveries_shows_an_unknown_outcome_and_a_person_marks_it(finance_client, ledger, company, session, users):
    from datetime import timedelta

    from domain import clock
    from domain.reminders import outbox

    message, _ = outbox.queue_message(session, customer=ledger["customer"], entries=[ledger["first"]], level=2,
                                      to="compta@bistro.test", subject="Mise en demeure", body="B",
                                      sent_by=users["finance"], dedupe_key="earlier")
    outbox.claim(session, message.id)
    message.attempted_at = clock.now() - outbox.STALE_SENDING - timedelta(minutes=1)
    session.commit()  # the worker died while sending, minutes ago

    page = finance_client.get("/reminders/deliveries").get_data(as_text=True)
    assert "Outcome unknown — check your sent mail before resending" in page and "It was sent" in page
    row = finance_client.post(f"/reminders/messages/{message.id}/resolve", data={"was_sent": "0"}, headers=HTMX)
    assert row.status_code == 200 and "Retry" in row.get_data(as_text=True)
    session.expire_all()
    assert session.get(OutboxMessage, message.id).status == "failed"
    assert "was not sent" in finance_client.get("/customers/C100").get_data(as_text=True)

    again = finance_client.post(f"/reminders/messages/{message.id}/resolve", data={"was_sent": "1"}, headers=HTMX)
    assert "Only a message whose outcome is unknown" in again.get_data(as_text=True)
    cancelled = finance_client.post(f"/reminders/messages/{message.id}/cancel", headers=HTMX)
    assert "Cancelled by Finance" in cancelled.get_data(as_text=True)
    session.expire_all()
    assert session.get(OutboxMessage, message.id).status == "cancelled"
    assert outbox.due_for_retry(session) == []


def test_support_cannot_mark_an_unknown_outcome(support_client, ledger, company, session, users):
    from domain.reminders import outbox

    message, _ = outbox.queue_message(session, customer=ledger["customer"], entries=[ledger["first"]], level=2,
                                      to="compta@bistro.test", subject="R2", body="B", sent_by=users["finance"],
                                      dedupe_key="earlier")
    session.commit()
    assert support_client.post(f"/reminders/messages/{message.id}/resolve", data={"was_sent": "1"}).status_code == 403


def test_an_entry_reminded_today_needs_send_anyway(finance_client, ledger, company, session, users):
    from domain import clock

    ledger["first"].last_reminder_on = clock.today()
    session.commit()
    html = compose(finance_client, "C100", ledger["first"]).get_data(as_text=True)
    assert "INV-2001 was reminded today (now at R1), less than 7 days ago." in html and "Send anyway" in html
    assert "Give a reason" in send(finance_client, "C100", ledger["first"]).get_data(as_text=True)
    assert messages(session) == 0
    other = compose(finance_client, "C100", ledger["second"]).get_data(as_text=True)
    assert 'data-testid="reminder-holds"' not in other, "an entry never reminded is not held"


def test_a_message_on_its_way_still_holds_when_an_entry_was_also_reminded_today(finance_client, ledger, company,
                                                                                session, users):
    """Both holds at once: the recently reminded entry's sentence must not hide the customer's message still on
    its way (a regression: a local name once shadowed the level the check asks about)."""
    from domain import clock
    from domain.reminders import outbox

    outbox.queue_message(session, customer=ledger["customer"], entries=[ledger["second"]], level=2,
                         to="compta@bistro.test", subject="R2", body="B", sent_by=users["finance"], dedupe_key="earlier")
    ledger["first"].last_reminder_on = clock.today()
    session.commit()
    html = compose(finance_client, "C100", ledger["first"]).get_data(as_text=True)
    assert "INV-2001 was reminded today" in html
    assert "still waiting to be delivered" in html, "the message on its way is said too"
