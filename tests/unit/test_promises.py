"""Promises to pay: recorded on invoices, they pause the reminders until their date + grace; what
the invoices owe less is what was paid toward them, and that alone decides kept, partly kept or
broken (with the clock moved, through the daily run); nobody updates a promise by hand."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from domain import clock
from domain.ledger import promises
from domain.ledger.promises import PromiseError
from domain.ledger.receipts import ReceiptForm, record
from domain.models import AuditEvent, CompanySettings, Customer, Entry, Notification, Promise
from domain.reminders import follow_up
from domain.reminders.holds import holds
from tests.conftest import TODAY


@pytest.fixture
def alpha(session):
    customer = Customer(account="C1", name="Alpha", entries=[
        Entry(number=f"F-{n}", kind="invoice", issue_date=date(2026, 3, n), due_date=date(2026, 4, n),
              amount_cents=10000 * n, open_cents=10000 * n, reminder_level=1) for n in (1, 2, 3)])
    session.add(customer)
    session.commit()
    return customer


def entry(session, number) -> Entry:
    return session.scalar(select(Entry).where(Entry.number == number))


def ids(session, *numbers) -> list[int]:
    return [entry(session, number).id for number in numbers]


def promise_on(session, users, alpha, *numbers, day=TODAY + timedelta(days=10), **options) -> Promise:
    promise = promises.record_promise(session, users["finance"], alpha, ids(session, *numbers), promised_on=day,
                                      channel="phone", **options)
    session.commit()
    return promise


def pay(session, users, alpha, number, cents, day=TODAY):
    record(session, users["finance"], alpha, ReceiptForm(day, cents, "transfer", f"VIR {number} {cents}",
                                                         {entry(session, number).id: cents}))
    session.commit()


def on_day(session, day):
    """The daily run on that day."""
    clock.pin(day)
    settled = promises.evaluate(session)
    session.commit()
    return settled


def test_a_promise_pauses_the_reminders_of_its_invoices_until_its_date_and_grace(session, users, alpha):
    promise = promise_on(session, users, alpha, "F-1", "F-2")
    assert (promise.amount_cents, promise.grace_days, promise.until) == (30000, 3, TODAY + timedelta(days=13))
    assert [h.text for h in holds(session, alpha, [entry(session, "F-1")])] == [
        "F-1 is under a promise to pay: reminders resume after 28/06/2026."]
    plan = follow_up.create_plan(session, None, "Standard")
    follow_up.add_step(session, None, plan, 5, "email", 2)
    follow_up.assign(session, None, plan, alpha)
    session.commit()
    [decision] = follow_up.decide(session)
    assert decision.entry_ids == ids(session, "F-3")
    assert follow_up.decide(session, TODAY + timedelta(days=13))[0].entry_ids == ids(session, "F-3")
    # The day after the grace the pause is over by itself, even before the promise is settled.
    assert sorted(follow_up.decide(session, TODAY + timedelta(days=14))[0].entry_ids) == ids(session, "F-1", "F-2",
                                                                                             "F-3")


def test_fully_paid_is_kept_at_once_when_the_payment_is_recorded(session, users, alpha):
    promise = promise_on(session, users, alpha, "F-1", "F-2")
    pay(session, users, alpha, "F-1", 10000)
    assert promise.status == "open", "partly paid before the date: still open"
    pay(session, users, alpha, "F-2", 20000)
    session.expire_all()
    assert (promise.status, promise.paid_cents, promise.settled_on) == ("kept", 30000, TODAY)
    assert entry(session, "F-1").promised_until is None
    assert session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "promise.kept")) == \
        f"Promise #{promise.id} kept: €300.00 paid"


def test_partly_paid_by_the_date_and_grace_is_partly_kept_and_the_rest_resumes(session, users, alpha):
    promise = promise_on(session, users, alpha, "F-2", amount_cents=15000)
    pay(session, users, alpha, "F-2", 5000)
    assert on_day(session, promise.until) == [], "not decided before the grace has run out"
    assert [p.id for p in on_day(session, promise.until + timedelta(days=1))] == [promise.id]
    assert (promise.status, promise.paid_cents) == ("partly_kept", 5000)
    assert entry(session, "F-2").promised_until is None and entry(session, "F-2").open_cents == 15000


def test_nothing_paid_is_broken_and_tells_whoever_recorded_it(session, users, alpha):
    promise = promise_on(session, users, alpha, "F-3")
    on_day(session, promise.until + timedelta(days=1))
    assert promise.status == "broken" and promise.paid_cents == 0
    note = session.scalar(select(Notification))
    assert (note.user_id, note.customer_id) == (users["finance"].id, alpha.id)
    assert "Alpha: Promise #1 broken: nothing paid by 25/06/2026; reminders resume." == note.text
    assert promises.reliability(session, alpha) == promises.Reliability(0, 0, 1)


def test_a_reversed_payment_takes_back_what_it_paid(session, users, alpha):
    from domain.ledger.receipts import reverse

    promise = promise_on(session, users, alpha, "F-1", amount_cents=5000)
    pay(session, users, alpha, "F-1", 4000)
    receipt = entry(session, "F-1").payments[0].receipt
    reverse(session, users["finance"], receipt, "Cheque returned unpaid")
    session.commit()
    on_day(session, promise.until + timedelta(days=1))
    assert promise.status == "broken"


def test_what_cannot_be_promised_is_refused_with_the_reason(session, users, alpha):
    with pytest.raises(PromiseError, match="Tick the invoices"):
        promises.record_promise(session, users["finance"], alpha, [], promised_on=TODAY, channel="phone")
    with pytest.raises(PromiseError, match="has passed"):
        promise_on(session, users, alpha, "F-1", day=TODAY - timedelta(days=1))
    with pytest.raises(PromiseError, match="at most what these invoices owe: €100.00"):
        promise_on(session, users, alpha, "F-1", amount_cents=10001)
    with pytest.raises(PromiseError, match="Choose how the customer promised"):
        promises.record_promise(session, users["finance"], alpha, ids(session, "F-1"), promised_on=TODAY,
                                channel="pigeon")
    first = promise_on(session, users, alpha, "F-1")
    with pytest.raises(PromiseError, match=f"Already promised: F-1 \\(promise #{first.id}\\)"):
        promise_on(session, users, alpha, "F-1", "F-2")


def test_a_promise_recorded_by_mistake_is_cancelled_with_a_reason(session, users, alpha):
    promise = promise_on(session, users, alpha, "F-1")
    with pytest.raises(PromiseError, match="Say why"):
        promises.cancel_promise(session, users["finance"], promise, " ")
    promises.cancel_promise(session, users["finance"], promise, "Wrong customer")
    session.commit()
    assert promise.status == "cancelled" and entry(session, "F-1").promised_until is None
    assert promises.reliability(session, alpha).total == 0, "a cancelled promise says nothing of the customer"


def test_the_grace_period_comes_from_the_settings(session, users, alpha):
    session.add(CompanySettings(name="Acme", registration_number="", sender_email="", promise_grace_days=0))
    session.commit()
    assert promise_on(session, users, alpha, "F-1").until == TODAY + timedelta(days=10)


def test_the_promises_list_by_view_owner_dates_and_amount(session, users, alpha):
    soon = promise_on(session, users, alpha, "F-1", day=TODAY + timedelta(days=2))
    later = promise_on(session, users, alpha, "F-2", day=TODAY + timedelta(days=20))

    def listed(**args):
        return [p.id for p in promises.promise_rows(session, promises.parse_filters(args, lambda t: int(t) * 100))[0]]

    assert listed() == [soon.id, later.id]
    assert listed(view="week") == [soon.id]
    assert listed(min="150") == [later.id]
    assert listed(**{"from": (TODAY + timedelta(days=5)).isoformat()}) == [later.id]
    assert listed(owner=str(users["admin"].id)) == []
    on_day(session, soon.until + timedelta(days=1))
    assert listed(view="broken") == [soon.id] and listed() == [later.id]


def test_the_daily_job_settles_promises_and_mails_whoever_asked_for_e_mail(app, session, users, alpha, smtp_server):
    import jobs.ledger

    app.config.update(SMTP_URL=smtp_server.url)
    session.add(CompanySettings(name="Acme", registration_number="", sender_email="ar@acme.example"))
    users["finance"].export_notifications = "email"
    session.commit()
    promise = promise_on(session, users, alpha, "F-3")
    clock.pin(promise.until + timedelta(days=1))
    summary = jobs.ledger.evaluate_promises()
    assert summary == "1 promises settled, 1 broken; 0 schedules changed, 0 late"
    [mail] = smtp_server.messages
    assert mail["Subject"] == "Promise broken: Alpha" and mail["To"] == "finance@relance.test"
    body = mail.get_content()
    assert "promised €300.00 by 25/06/2026 (phone), on F-3." in body and "/customers/C1" in body
    assert session.scalar(select(Notification)) is None, "e-mail only: not on the bell"
