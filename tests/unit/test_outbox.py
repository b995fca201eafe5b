"""The outbox: queued → sending → sent | failed, one message per dedupe key, back-off, a sent
message never sent again, and a send whose outcome is unknown never repeated automatically."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

import jobs.base
import jobs.reminders
from domain import clock
from domain.models import AuditEvent, CompanySettings, Entry, OutboxMessage, ReminderActivity
from domain.reminders import outbox
from domain.reminders.outbox import OutboxError
from mail import smtp as mailer


@pytest.fixture
def company(session):
    settings = CompanySettings(name="Acme SARL", sender_email="billing@acme-sarl.test")
    session.add(settings)
    session.commit()
    return settings


@pytest.fixture
def account(session, ledger_builder):
    customer = ledger_builder.customer("C1", "Bistro du Port", emails="compta@bistro.test")
    entries = [ledger_builder.entry(customer, 40, "100.00", level=4, number="INV-1"),
               ledger_builder.entry(customer, 5, "50.00", number="INV-2")]
    session.commit()
    return customer, entries


@pytest.fixture
def worker_app(app, smtp_server):
    app.config["SMTP_URL"] = smtp_server.url
    jobs.base.use_app(app)
    yield app
    jobs.base.use_app(None)


def queue(session, account, users, key="k", **options):
    customer, entries = account
    values = dict(customer=customer, entries=entries, level=2, to="compta@bistro.test", subject="Relance",
                  body="Merci de régler.", sent_by=users["finance"], dedupe_key=key)
    values.update(options)
    message, is_new = outbox.queue_message(session, **values)
    session.commit()
    return message, is_new


def test_the_same_key_gives_back_the_same_message(session, account, users, company):
    first, new = queue(session, account, users, key="click-1")
    again, again_new = queue(session, account, users, key="click-1", subject="Other")
    assert new and not again_new and again.id == first.id
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_from_is_the_company_reply_to_the_user_and_the_copy_a_bcc(session, account, users, company):
    message, _ = queue(session, account, users, copy_to_sender=True, cc="boss@bistro.test")
    assert message.sender == "Acme SARL <billing@acme-sarl.test>"
    assert message.reply_to == "Finance <finance@relance.test>" and message.bcc_addresses == "finance@relance.test"
    assert outbox.recipients_of(message) == ["compta@bistro.test", "boss@bistro.test", "finance@relance.test"]
    email = outbox.build_email(message)
    assert email["Message-ID"] == message.message_id and email["Bcc"] == "finance@relance.test"
    assert outbox.build_email(message)["Message-ID"] == message.message_id, "the same on every attempt"


def test_an_automatic_message_replies_to_the_company(session, account, users, company):
    message, _ = queue(session, account, users, sent_by=None)
    assert message.reply_to == message.sender and message.bcc_addresses == ""


def test_no_company_sender_address_is_refused(session, account, users):
    with pytest.raises(OutboxError, match="No sender e-mail address"):
        queue(session, account, users)


@pytest.mark.parametrize("to", ["", "nobody", "a@b.test, not an address"])
def test_bad_recipients_are_refused(session, account, users, company, to):
    with pytest.raises(OutboxError):
        queue(session, account, users, to=to)


def test_back_off_then_give_up():
    now = datetime(2026, 6, 15, 9, 0)
    assert [outbox.next_attempt(n, now) - now for n in range(1, 5)] == [
        timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)]
    assert outbox.next_attempt(5, now) is None


def test_failures_count_attempts_and_stop_after_five(session, account, users, company):
    message, _ = queue(session, account, users)
    for attempt in range(1, 6):
        assert outbox.claim(session, message.id) is message
        outbox.mark_failed(session, message, "550 mailbox unavailable")
        assert message.status == "failed" and message.attempts == attempt
    assert message.next_attempt_at is None and message.last_error == "550 mailbox unavailable"
    assert outbox.due_for_retry(session, clock.now() + timedelta(days=1)) == []


def test_a_message_sent_or_being_sent_is_not_claimed(session, account, users, company):
    message, _ = queue(session, account, users)
    assert outbox.claim(session, message.id) is message and message.status == "sending"
    assert outbox.claim(session, message.id) is None
    outbox.mark_sent(session, message)
    session.commit()
    assert outbox.claim(session, message.id) is None
    with pytest.raises(OutboxError, match="not sent again"):
        outbox.retry(session, message)


def test_sending_raises_levels_never_lowers_them_and_records_it(session, account, users, company):
    customer, (high, low) = account
    message, _ = queue(session, account, users)
    outbox.claim(session, message.id)
    activity = outbox.mark_sent(session, message)
    session.commit()
    assert (high.reminder_level, low.reminder_level) == (4, 2), "R4 stays R4, R0 becomes R2"
    assert high.last_reminder_on == low.last_reminder_on == clock.today()
    assert {c.entry_id: c.open_cents for c in activity.covered} == {high.id: 10000, low.id: 5000}
    assert activity.recipient == "compta@bistro.test" and activity.sender == message.sender
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "reminder.email")).customer_id == customer.id


def test_a_message_kept_since_it_was_queued_reads_its_entries_again_before_raising_them(session, account, users,
                                                                                       company):
    """Bulk dunning keeps its messages across commits: a level raised meanwhile by someone else is
    not lowered when the message turns sent."""
    customer, (high, low) = account
    session.expire_on_commit = False  # as in the bulk job
    try:
        message, _ = queue(session, account, users)
        assert low.reminder_level == 0
        with session.get_bind().begin() as other:  # another user's R5 on the same invoice meanwhile
            other.execute(update(Entry).where(Entry.id == low.id).values(reminder_level=5))
        outbox.read_entries_again(session, message)
        outbox.mark_sent(session, message)
        session.commit()
    finally:
        session.expire_on_commit = True
    session.expire_all()
    assert (session.get(Entry, high.id).reminder_level, session.get(Entry, low.id).reminder_level) == (4, 5)


def test_the_job_sends_once(session, account, users, company, worker_app, smtp_server):
    message, _ = queue(session, account, users, copy_to_sender=True)
    assert jobs.reminders.send_outbox_message(message.id) == "sent"
    assert jobs.reminders.send_outbox_message(message.id) == "nothing to send"
    (envelope,) = smtp_server.envelopes
    assert sorted(envelope.rcpt_tos) == ["compta@bistro.test", "finance@relance.test"]
    assert b"Bcc" not in envelope.content
    session.expire_all()
    assert session.get(OutboxMessage, message.id).status == "sent"
    assert session.scalar(select(func.count()).select_from(ReminderActivity)) == 1


def test_a_failed_send_records_the_servers_answer(session, account, users, company, worker_app, closed_smtp_url):
    worker_app.config["SMTP_URL"] = closed_smtp_url
    message, _ = queue(session, account, users)
    assert jobs.reminders.send_outbox_message(message.id).startswith("failed")
    session.expire_all()
    message = session.get(OutboxMessage, message.id)
    assert message.status == "failed" and "Cannot reach the mail server" in message.last_error
    assert message.sent_at is None and message.activity_id is None
    assert session.get(Entry, account[1][1].id).last_reminder_on is None


def test_a_send_killed_after_smtp_is_never_repeated_automatically(session, account, users, company, worker_app,
                                                                  smtp_server):
    message, _ = queue(session, account, users)
    # The worker claims it, the mail server takes it, and the worker dies before recording it.
    outbox.claim(session, message.id)
    session.commit()
    mailer.send(smtp_server.url, outbox.build_email(message))
    session.rollback()

    assert jobs.reminders.send_outbox_message(message.id) == "nothing to send", "a restarted job leaves it alone"
    assert jobs.reminders.retry_due_outbox_messages() == 0
    assert len(smtp_server.envelopes) == 1

    session.expire_all()
    message = session.get(OutboxMessage, message.id)
    message.attempted_at = clock.now() - outbox.STALE_SENDING - timedelta(seconds=1)
    session.commit()
    assert jobs.reminders.retry_due_outbox_messages() == 0
    session.expire_all()
    message = session.get(OutboxMessage, message.id)
    assert message.status == "unknown" and message.last_error == outbox.UNKNOWN_OUTCOME.english()
    assert message.next_attempt_at is None, "a person checks the mailbox first"
    assert len(smtp_server.envelopes) == 1


def test_an_unknown_outcome_blocks_the_same_level_until_a_person_says_what_happened(session, account, users,
                                                                                   company):
    message, _ = queue(session, account, users, key="first")
    outbox.claim(session, message.id)
    session.commit()  # the worker dies here: "sending" for good

    with pytest.raises(OutboxError, match="being sent right now"):
        queue(session, account, users, key="second", level=2)
    message.attempted_at = clock.now() - outbox.STALE_SENDING - timedelta(seconds=1)
    session.commit()  # no send job lives this long: its worker died
    with pytest.raises(OutboxError, match="unknown outcome"):
        queue(session, account, users, key="lower", level=1)
    higher, is_new = queue(session, account, users, key="higher", level=3)
    assert is_new, "a higher level is another message, not the same one twice"

    outbox.expire_stale_sending(session)
    session.commit()
    assert message.status == "unknown"
    with pytest.raises(OutboxError, match="Only a message whose outcome is unknown"):
        outbox.resolve_unknown(session, higher, users["finance"], was_sent=False)

    outbox.resolve_unknown(session, message, users["finance"], was_sent=True)
    session.commit()
    assert message.status == "sent" and message.activity is not None
    assert session.get(Entry, account[1][1].id).reminder_level == 2, "marked sent: the level is raised"
    assert session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "outbox.resolved")).endswith("was sent.")


def test_marked_not_sent_frees_the_level_and_waits_for_a_retry(session, account, users, company):
    message, _ = queue(session, account, users, key="first")
    outbox.claim(session, message.id)
    message.attempted_at = clock.now() - outbox.STALE_SENDING - timedelta(seconds=1)
    session.commit()
    outbox.resolve_unknown(session, message, users["admin"], was_sent=False)
    session.commit()
    assert message.status == "failed" and message.next_attempt_at is None
    assert outbox.due_for_retry(session) == [], "never retried by itself"
    assert queue(session, account, users, key="again", level=2)[1]


def test_a_message_whose_entry_was_stopped_meanwhile_is_held_back(session, account, users, company, worker_app,
                                                                  smtp_server):
    from domain.collection.marks import set_reminders_stopped

    message, _ = queue(session, account, users)
    customer, entries = account
    set_reminders_stopped(session, entries[0], users["finance"], True, reason="Paying by cheque")
    session.commit()
    assert jobs.reminders.send_outbox_message(message.id).startswith("held back")
    session.expire_all()
    message = session.get(OutboxMessage, message.id)
    assert message.status == "cancelled" and "Paying by cheque" in message.last_error
    assert smtp_server.envelopes == []
    assert message in outbox.failed_messages(session), "shown on Deliveries"


def test_a_message_sent_anyway_is_not_held_back_by_what_it_overrode(session, account, users, company, worker_app,
                                                                    smtp_server):
    from domain.collection.marks import set_reminders_stopped

    customer, entries = account
    set_reminders_stopped(session, customer, users["finance"], True, reason="Negotiating")
    session.commit()
    message, _ = queue(session, account, users, override_reason="The manager asked for it")
    assert jobs.reminders.send_outbox_message(message.id) == "sent"
    assert len(smtp_server.envelopes) == 1


def test_due_failures_are_queued_again(session, account, users, company, worker_app, run_jobs, smtp_server):
    message, _ = queue(session, account, users)
    outbox.claim(session, message.id)
    outbox.mark_failed(session, message, "421 try later")
    message.next_attempt_at = clock.now() - timedelta(seconds=1)
    session.commit()
    assert jobs.reminders.retry_due_outbox_messages() == 1
    run_jobs()
    session.expire_all()
    assert session.get(OutboxMessage, message.id).status == "sent"
    assert len(smtp_server.envelopes) == 1
