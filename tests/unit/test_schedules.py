"""Payment schedules: instalments adding up to what the invoices owe, the invoices held while the
schedule runs (its instalments are reminded instead), payments allocated to the instalments oldest
first, late → the owner told, caught up → running, completed or broken by themselves (the clock
moved)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from domain import clock
from domain.ledger import schedules
from domain.ledger.receipts import ReceiptForm, record
from domain.ledger.schedules import Plan, ScheduleError
from domain.models import AuditEvent, Customer, Entry, Notification
from domain.reminders import follow_up
from tests.conftest import TODAY


@pytest.fixture
def alpha(session):
    customer = Customer(account="C1", name="Alpha", entries=[
        Entry(number=f"F-{n}", kind="invoice", issue_date=date(2026, 3, n), due_date=date(2026, 4, n),
              amount_cents=10000 * n, open_cents=10000 * n, reminder_level=1) for n in (1, 2, 3)])
    session.add(customer)
    session.commit()
    return customer


def ids(session, *numbers):
    return [session.scalar(select(Entry.id).where(Entry.number == n)) for n in numbers]


def entry(session, number) -> Entry:
    return session.scalar(select(Entry).where(Entry.number == number))


def monthly(session, users, alpha, *numbers, count=3, first=TODAY + timedelta(days=15)):
    schedule = schedules.create_schedule(session, users["finance"], alpha, ids(session, *numbers),
                                         Plan("monthly", first=first, count=count))
    session.commit()
    return schedule


def pay(session, users, alpha, number, cents, day=TODAY):
    record(session, users["finance"], alpha, ReceiptForm(day, cents, "transfer", f"VIR {number} {cents} {day}",
                                                         {entry(session, number).id: cents}))
    session.commit()


def on_day(session, day):
    clock.pin(day)
    changed = schedules.evaluate(session)
    session.commit()
    return changed


def test_instalments_add_up_to_what_the_invoices_owe_to_the_cent(session, users, alpha):
    schedule = monthly(session, users, alpha, "F-1", "F-2", first=date(2026, 7, 31), count=3)
    assert [(i.due_on, i.amount_cents) for i in schedule.instalments] == [
        (date(2026, 7, 31), 10000), (date(2026, 8, 31), 10000), (date(2026, 9, 30), 10000)]
    assert schedules.split(10000, 3) == [3334, 3333, 3333]
    weekly = schedules.instalment_dates(Plan("weekly", first=date(2026, 7, 1), count=3))
    assert weekly == [date(2026, 7, 1), date(2026, 7, 8), date(2026, 7, 15)]
    assert session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "schedule.created")).startswith(
        f"Payment schedule #{schedule.id}: €300.00 in 3 instalments from 31/07/2026 to 30/09/2026 on F-1, F-2")


def test_what_cannot_be_scheduled_is_refused_with_the_reason(session, users, alpha):
    def make(*numbers, **plan):
        return schedules.create_schedule(session, users["finance"], alpha, ids(session, *numbers), Plan(**plan))

    with pytest.raises(ScheduleError, match="add up to €250.00; the invoices owe €300.00"):
        make("F-1", "F-2", frequency="custom", dates=(TODAY, TODAY + timedelta(days=30)), amounts=(10000, 15000))
    with pytest.raises(ScheduleError, match="The first instalment is in the past"):
        make("F-1", frequency="monthly", first=TODAY - timedelta(days=1), count=2)
    with pytest.raises(ScheduleError, match="Two instalments fall on the same day"):
        make("F-1", frequency="custom", dates=(TODAY, TODAY), amounts=(5000, 5000))
    custom = make("F-1", frequency="custom", dates=(TODAY + timedelta(days=40), TODAY + timedelta(days=10)),
                  amounts=(4000, 6000))
    assert [(i.number, i.due_on) for i in custom.instalments] == [(1, TODAY + timedelta(days=10)),
                                                                   (2, TODAY + timedelta(days=40))]
    with pytest.raises(ScheduleError, match=f"Already under a schedule: F-1 \\(schedule #{custom.id}\\)"):
        make("F-1", "F-2", frequency="monthly", first=TODAY, count=2)


def test_the_instalments_pace_the_invoices_not_their_due_dates(session, users, alpha):
    plan = follow_up.create_plan(session, None, "Standard")
    follow_up.add_step(session, None, plan, 5, "email", 2)
    follow_up.assign(session, None, plan, alpha)
    session.commit()
    monthly(session, users, alpha, "F-1", "F-2")
    [decision] = follow_up.decide(session)
    assert decision.entry_ids == ids(session, "F-3"), "the scheduled invoices are held"


def test_payments_fill_the_instalments_oldest_first_and_a_missed_one_makes_it_late(session, users, alpha):
    schedule = monthly(session, users, alpha, "F-1", "F-2")  # 3 × €100.00 from 30/06
    pay(session, users, alpha, "F-1", 10000)
    pay(session, users, alpha, "F-2", 5000)
    assert [(i.paid_cents, i.status) for i in schedule.instalments] == [(10000, "paid"), (5000, "partly_paid"),
                                                                         (0, "due")]
    assert (schedule.status, schedule.paid_cents) == ("running", 15000)
    assert session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "schedule.instalment")).all() == [
        f"Payment schedule #{schedule.id}: instalment 1 paid (€100.00)"]
    second = schedule.instalments[1]
    changed = on_day(session, second.due_on + timedelta(days=schedule.grace_days + 1))
    assert [(c.id, c.status) for c in changed] == [(schedule.id, "late")]
    assert schedule.status == "late" and second.status == "late"
    assert not entry(session, "F-2").scheduled, "late, and no plan to remind the instalment: the invoices are"
    note = session.scalar(select(Notification))
    assert note.text == (f"Alpha: Payment schedule #{schedule.id} late: instalment 2 was not paid in time; "
                         "the customer has no follow-up plan: the invoices are reminded again until it is caught up.")
    pay(session, users, alpha, "F-2", 5000, day=clock.today())
    assert schedule.status == "running" and entry(session, "F-2").scheduled


def test_missed_instalments_break_it_and_all_paid_completes_it(session, users, alpha):
    broken = monthly(session, users, alpha, "F-1", "F-2")
    done = monthly(session, users, alpha, "F-3", count=1, first=TODAY)
    pay(session, users, alpha, "F-3", 30000)
    assert done.status == "completed" and not entry(session, "F-3").scheduled
    on_day(session, broken.instalments[1].due_on + timedelta(days=10))
    assert broken.status == "broken" and not entry(session, "F-1").scheduled
    assert "2 instalments missed" in session.scalar(select(AuditEvent.detail)
                                                    .where(AuditEvent.action == "schedule.broken"))


def test_expected_cash_month_by_month_and_a_cancelled_schedule(session, users, alpha):
    schedule = monthly(session, users, alpha, "F-1", "F-2", first=date(2026, 6, 20))
    monthly(session, users, alpha, "F-3", count=2, first=date(2026, 7, 5))
    cash = schedules.expected_cash(session, TODAY)
    assert [(first.month, totals) for first, totals in cash[:4]] == [
        (6, {"EUR": 10000}), (7, {"EUR": 25000}), (8, {"EUR": 25000}), (9, {})]
    with pytest.raises(ScheduleError, match="Say why"):
        schedules.cancel_schedule(session, users["finance"], schedule, "")
    schedules.cancel_schedule(session, users["finance"], schedule, "Customer paid in full by cheque instead")
    session.commit()
    assert schedule.status == "cancelled" and not entry(session, "F-1").scheduled
    assert schedules.expected_cash(session, TODAY)[0][1] == {}
