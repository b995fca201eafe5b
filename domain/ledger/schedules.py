"""Payment schedules (échéanciers): several invoices of one customer paid in instalments.

    schedule = create_schedule(session, actor, customer, entry_ids, plan)
    evaluate(session, today)  # daily, and on every change to the customers' entries

The instalments add up to what the invoices owe, to the cent. While the schedule runs its entries
carry `Entry.scheduled` and no reminder goes for the invoices (every send reads it): the instalments
pace them (domain/reminders/instalments.py: the plan's heads-up before each instalment, its
reminders for a late instalment only). Late, they stay held only for a customer with a follow-up
plan; without one, nothing would remind the late instalment, so the invoices are reminded again. What the entries owe less than when it was
agreed is what was paid — by any means — and is allocated to the instalments oldest first: each is
paid, partly paid, due, or late once its date + grace has passed unpaid. A late instalment makes
the schedule "late" and its owner is told. All instalments paid: "completed". The number of
missed instalments of Settings (2): "broken", and the entries go back to their own due dates.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, NamedTuple

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload

from domain import audit, clock, i18n
from domain.i18n import Money, _, nsay, say
from domain.ledger.summaries import follow_customer_changes, new_stamp
from domain.listing import keys_and_count, like_escape
from domain.models import (INVOICE, SCHEDULE_FREQUENCIES, SCHEDULE_STATUSES, CompanySettings, Customer, Entry,
                           Instalment, Notification, PaymentSchedule, ScheduleEntry, User)
from domain.money import format_money

MAX_INSTALMENTS = 60
DEFAULT_BROKEN_AFTER = 2
DEFAULT_GRACE_DAYS = 3
CHUNK = 500
PAGE_SIZE = 50
IN_APP = ("app", "both")


class ScheduleError(ValueError):
    """The schedule cannot be made or changed as asked; the message says why."""


@dataclass(frozen=True)
class Plan:
    """What the user asked for: `count` equal instalments from `first` every week or month, or the
    `dates` (custom) with their `amounts` (optional: equal parts otherwise)."""

    frequency: str
    first: date | None = None
    count: int | None = None
    dates: tuple[date, ...] = ()
    amounts: tuple[int, ...] = ()
    waive_fees: bool = False
    note: str = ""


def _add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day (31 January + 1 month = 28 February)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def instalment_dates(plan: Plan) -> list[date]:
    if plan.frequency == "custom":
        return sorted(plan.dates)
    if plan.first is None or not plan.count:
        raise ScheduleError(_("Give the first date and the number of instalments."))
    if plan.frequency == "weekly":
        return [plan.first + timedelta(weeks=n) for n in range(plan.count)]
    return [_add_months(plan.first, n) for n in range(plan.count)]


def split(total: int, count: int) -> list[int]:
    """Equal instalments to the cent; the first ones carry the odd cents (100.00 / 3 = 33.34,
    33.33, 33.33)."""
    base, rest = divmod(total, count)
    return [base + (1 if n < rest else 0) for n in range(count)]


def _settings(session: Session) -> tuple[int, int]:
    row = session.execute(select(CompanySettings.promise_grace_days, CompanySettings.schedule_broken_after)).first()
    if row is None:
        return DEFAULT_GRACE_DAYS, DEFAULT_BROKEN_AFTER
    return (DEFAULT_GRACE_DAYS if row[0] is None else row[0]), (DEFAULT_BROKEN_AFTER if row[1] is None else row[1])


def create_schedule(session: Session, actor: User, customer: Customer, entry_ids: list[int], plan: Plan) -> PaymentSchedule:
    today = clock.today()
    ids = sorted(set(entry_ids))
    if not ids:
        raise ScheduleError(_("Tick the invoices the schedule covers."))
    entries = list(session.scalars(select(Entry).where(Entry.id.in_(ids), Entry.customer_id == customer.id)
                                   .order_by(Entry.due_date, Entry.number)))
    if len(entries) != len(ids):
        raise ScheduleError(_("Some of these entries are not this customer's: reload the page."))
    wrong = [e.number for e in entries if e.kind != INVOICE or not e.is_open or e.cancelled_at is not None]
    if wrong:
        raise ScheduleError(_("%(numbers)s: a schedule covers open invoices only.", numbers=", ".join(wrong)))
    if len({e.currency for e in entries}) > 1:
        raise ScheduleError(_("These invoices are in different currencies: one schedule per currency."))
    held = dict(session.execute(select(ScheduleEntry.entry_id, PaymentSchedule.id)
                                .join(PaymentSchedule, PaymentSchedule.id == ScheduleEntry.schedule_id)
                                .where(ScheduleEntry.entry_id.in_(ids), PaymentSchedule.status.in_(("running", "late"))))
                .all())
    if held:
        numbers = ", ".join(_("%(number)s (schedule #%(id)s)", number=e.number, id=held[e.id])
                            for e in entries if e.id in held)
        raise ScheduleError(_("Already under a schedule: %(numbers)s.", numbers=numbers))
    if plan.frequency not in SCHEDULE_FREQUENCIES:
        raise ScheduleError(_("Choose weekly, monthly or custom dates."))
    dates = instalment_dates(plan)
    if not 1 <= len(dates) <= MAX_INSTALMENTS:
        raise ScheduleError(_("A schedule has 1 to %(max)d instalments.", max=MAX_INSTALMENTS))
    if len(set(dates)) != len(dates):
        raise ScheduleError(_("Two instalments fall on the same day."))
    if dates[0] < today:
        raise ScheduleError(_("The first instalment is in the past."))
    total = sum(e.open_cents for e in entries)
    currency = entries[0].currency
    amounts = list(plan.amounts) if plan.amounts else split(total, len(dates))
    if len(amounts) != len(dates):
        raise ScheduleError(_("Give one amount per instalment date."))
    if any(amount <= 0 for amount in amounts):
        raise ScheduleError(_("Every instalment is more than zero."))
    if sum(amounts) != total:
        raise ScheduleError(_("The instalments add up to %(sum)s; the invoices owe %(total)s: they must be equal.",
                              sum=format_money(sum(amounts), currency), total=format_money(total, currency)))
    grace, broken_after = _settings(session)
    schedule = PaymentSchedule(
        customer=customer, currency=currency, total_cents=total, open_at_start_cents=total, frequency=plan.frequency,
        grace_days=grace, broken_after=broken_after, waive_fees=plan.waive_fees, note=(plan.note or "").strip()[:5000],
        created_by=actor, created_at=clock.now(), status="running", paid_cents=0, entries=entries,
        instalments=[Instalment(number=n, due_on=day, amount_cents=amount, paid_cents=0, status="due")
                     for n, (day, amount) in enumerate(zip(dates, amounts), start=1)])
    session.add(schedule)
    for entry in entries:
        entry.scheduled = True
    session.flush()
    audit.record(session, actor, "schedule.created",
                 nsay("Payment schedule #%(id)s: %(amount)s in %(num)s instalment from %(first)s to %(last)s on "
                      "%(numbers)s; reminders follow the instalments.",
                      "Payment schedule #%(id)s: %(amount)s in %(num)s instalments from %(first)s to %(last)s on "
                      "%(numbers)s; reminders follow the instalments.", len(dates), id=schedule.id,
                      amount=Money(total, currency), first=dates[0], last=dates[-1],
                      numbers=", ".join(e.number for e in entries)),
                 customer=customer, reason=schedule.note or None)
    return schedule


def cancel_schedule(session: Session, actor: User, schedule: PaymentSchedule, reason: str) -> None:
    reason = (reason or "").strip()
    if not schedule.is_active:
        raise ScheduleError(_("Schedule #%(id)s is %(status)s.", id=schedule.id,
                              status=str(schedule.status_label).lower()))
    if not reason:
        raise ScheduleError(_("Say why the schedule is cancelled."))
    schedule.status, schedule.cancelled_reason, schedule.settled_on = "cancelled", reason[:500], clock.today()
    _hold(schedule)
    audit.record(session, actor, "schedule.cancelled",
                 say("Payment schedule #%(id)s cancelled; the invoices go back to their own due dates.",
                     id=schedule.id),
                 customer=schedule.customer, reason=reason)


def holds_entries(status: str, has_plan: bool) -> bool:
    """Its entries wait while it runs on time; late, they wait only for a customer with a follow-up
    plan (which reminds the late instalment): without one, they are reminded again as before."""
    return status == "running" or (status == "late" and has_plan)


def _hold(schedule: PaymentSchedule) -> None:
    """Its entries are held while it runs (see holds_entries), and go back to their own due dates once
    it ends."""
    has_plan = schedule.customer.follow_up_plan_id is not None
    for entry in schedule.entries:
        entry.scheduled = holds_entries(schedule.status, has_plan) and entry.is_open


class Changed(NamedTuple):
    """A schedule whose status evaluate changed: its id, customer and new status."""

    id: int
    customer_id: int
    status: str


def _allocate(instalments: list, paid: int, grace_days: int, today: date) -> tuple[list[tuple[int, int, str]], list[int]]:
    """Paid to the instalments (id, number, due_on, amount) oldest first: [(id, paid, status)] and
    the numbers of the late ones (unpaid after their date + grace)."""
    left, allocated, late = paid, [], []
    for instalment_id, number, due_on, amount in instalments:
        part = min(left, amount)
        left -= part
        if part >= amount:
            status = "paid"
        elif today > due_on + timedelta(days=grace_days):
            status = "late"
            late.append(number)
        else:
            status = "partly_paid" if part else "due"
        allocated.append((instalment_id, part, status))
    return allocated, late


def evaluate(session: Session, today: date | None = None, customer_ids: Iterable[int] | None = None) -> list[Changed]:
    """Bring the active schedules up to date; returns those whose status changed. Decided from sums
    in SQL and written in a few statements (the daily run goes over thousands: no object loaded)."""
    today = today or clock.today()
    query = (select(PaymentSchedule.id, PaymentSchedule.status, PaymentSchedule.paid_cents,
                    PaymentSchedule.open_at_start_cents, func.sum(Entry.open_cents))
             .join(ScheduleEntry, ScheduleEntry.schedule_id == PaymentSchedule.id)
             .join(Entry, Entry.id == ScheduleEntry.entry_id)
             .where(PaymentSchedule.status.in_(("running", "late"))).group_by(PaymentSchedule.id))
    rows = []
    if customer_ids is None:
        rows = list(session.execute(query))
    else:
        ids = sorted({i for i in customer_ids if i is not None})
        for start in range(0, len(ids), CHUNK):
            rows += session.execute(query.where(PaymentSchedule.customer_id.in_(ids[start:start + CHUNK])))
    # Only schedules whose payments moved, or with an instalment whose grace may have run out, are read.
    due_soon = set(session.scalars(select(Instalment.schedule_id).where(
        Instalment.status != "paid", Instalment.due_on < today))) if customer_ids is None else None
    moved = {}
    for schedule_id, status, paid_before, at_start, owed_now in rows:
        paid = max(0, at_start - int(owed_now or 0))
        if paid != paid_before or (due_soon is not None and schedule_id in due_soon):
            moved[schedule_id] = paid
    if not moved:
        return []
    chosen = sorted(moved)
    heads, plans, links = {}, {}, []
    for start in range(0, len(chosen), CHUNK):
        part = chosen[start:start + CHUNK]
        for row in session.execute(
                select(PaymentSchedule.id, PaymentSchedule.customer_id, PaymentSchedule.currency,
                       PaymentSchedule.total_cents, PaymentSchedule.status, PaymentSchedule.paid_cents,
                       PaymentSchedule.grace_days, PaymentSchedule.broken_after, PaymentSchedule.created_by_id,
                       Customer.name, Customer.follow_up_plan_id, User.export_notifications)
                .join(Customer, Customer.id == PaymentSchedule.customer_id)
                .outerjoin(User, User.id == PaymentSchedule.created_by_id).where(PaymentSchedule.id.in_(part))):
            heads[row.id] = row
        for schedule_id, *instalment in session.execute(
                select(Instalment.schedule_id, Instalment.id, Instalment.number, Instalment.due_on,
                       Instalment.amount_cents, Instalment.paid_cents, Instalment.status)
                .where(Instalment.schedule_id.in_(part)).order_by(Instalment.schedule_id, Instalment.number)):
            plans.setdefault(schedule_id, []).append(tuple(instalment))
        links += session.execute(select(ScheduleEntry.schedule_id, Entry.id, Entry.is_open, Entry.scheduled)
                                 .join(Entry, Entry.id == ScheduleEntry.entry_id)
                                 .where(ScheduleEntry.schedule_id.in_(part))).all()
    schedule_rows, instalment_rows, changed, events, notes, held_by = [], [], [], [], [], {}
    for schedule_id in chosen:
        head = heads[schedule_id]
        paid = min(moved[schedule_id], head.total_cents)
        instalments = plans.get(schedule_id, [])
        allocated, late = _allocate([i[:4] for i in instalments], paid, head.grace_days, today)
        for (instalment_id, part, status), before in zip(allocated, instalments):
            if (part, status) == before[4:]:
                continue
            instalment_rows.append({"id": instalment_id, "paid_cents": part, "status": status})
            if "paid" in (status, before[5]) and status != before[5]:  # each instalment paid is in the history
                events.append({"action": "schedule.instalment", "customer_id": head.customer_id, "detail": (
                    say("Payment schedule #%(id)s: instalment %(number)s paid (%(amount)s)", id=schedule_id,
                        number=before[1], amount=Money(part, head.currency))
                    if status == "paid" else
                    say("Payment schedule #%(id)s: instalment %(number)s no longer paid (a payment was reversed)",
                        id=schedule_id, number=before[1]))})
        if paid >= head.total_cents:
            status, settled_on = "completed", today
        elif len(late) >= head.broken_after:
            status, settled_on = "broken", today
        else:
            status, settled_on = ("late" if late else "running"), None
        held_by[schedule_id] = holds_entries(status, head.follow_up_plan_id is not None)
        if (status, paid) != (head.status, head.paid_cents):
            schedule_rows.append({"id": schedule_id, "paid_cents": paid, "status": status, "settled_on": settled_on})
        if status != head.status:
            changed.append(Changed(schedule_id, head.customer_id, status))
            _tell(head, status, paid, late[0] if late else 0, events, notes)
    entry_rows = [{"id": entry_id, "scheduled": held} for schedule_id, entry_id, is_open, scheduled in links
                  if (held := held_by[schedule_id] and bool(is_open)) != bool(scheduled)]
    for model, values in ((PaymentSchedule, schedule_rows), (Instalment, instalment_rows), (Entry, entry_rows)):
        if values:
            session.execute(update(model), values)
            _forget(session, model, {value["id"] for value in values})
    if entry_rows:
        new_stamp(session)
    audit.record_many(session, events)
    if notes:
        session.execute(insert(Notification), notes)
    return changed


def _forget(session: Session, model, ids: set[int]) -> None:
    """Objects of the session written behind its back are read again when next used."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and obj.id in ids:
            session.expire(obj)


def _tell(head, status: str, paid: int, first_late: int, events: list, notes: list) -> None:
    if status == "completed":
        detail = say("Payment schedule #%(id)s completed: %(paid)s paid", id=head.id, paid=Money(paid, head.currency))
    elif status == "running":
        detail = say("Payment schedule #%(id)s caught up: the instalments pace the invoices again", id=head.id)
    elif status == "late" and head.follow_up_plan_id is not None:
        detail = say("Payment schedule #%(id)s late: instalment %(number)s was not paid in time; the follow-up plan "
                     "reminds the customer of that instalment", id=head.id, number=first_late)
    elif status == "late":
        detail = say("Payment schedule #%(id)s late: instalment %(number)s was not paid in time; the customer has no "
                     "follow-up plan: the invoices are reminded again until it is caught up", id=head.id,
                     number=first_late)
    else:
        detail = nsay("Payment schedule #%(id)s broken: %(num)s instalment missed; the invoices go back to their own "
                      "due dates", "Payment schedule #%(id)s broken: %(num)s instalments missed; the invoices go back "
                      "to their own due dates", head.broken_after, id=head.id)
    events.append({"action": f"schedule.{status}", "detail": detail, "customer_id": head.customer_id})
    if status in ("late", "broken") and head.created_by_id is not None and head.export_notifications in IN_APP:
        text, stored = i18n.kept(say("%(customer)s: %(what)s.", customer=head.name, what=detail))
        notes.append({"user_id": head.created_by_id, "customer_id": head.customer_id, "text": text[:500],
                      "text_i18n": stored, "created_at": clock.now(), "read_at": None, "export_id": None,
                      "bulk_run_id": None})


def follow_ledger_changes(session: Session, customer_ids: set[int]) -> bool:
    return bool(evaluate(session, customer_ids=customer_ids))


def track_schedule_upkeep() -> None:
    """Evaluate the schedules of every customer whose entries a commit changed (idempotent)."""
    follow_customer_changes(follow_ledger_changes)


def schedules_of(session: Session, customer: Customer) -> list[PaymentSchedule]:
    return list(session.scalars(select(PaymentSchedule).where(PaymentSchedule.customer_id == customer.id)
                                .order_by(PaymentSchedule.status.notin_(("running", "late")),
                                          PaymentSchedule.created_at.desc())))


# --- the Schedules overview -------------------------------------------------------------------

@dataclass(frozen=True)
class ScheduleFilters:
    status: str = "active"  # active | one of SCHEDULE_STATUSES | all
    q: str = ""
    page: int = 1

    def as_args(self) -> dict[str, str]:
        return {key: value for key, value in (("status", "" if self.status == "active" else self.status),
                                              ("q", self.q)) if value}


def parse_filters(args) -> ScheduleFilters:
    status = args.get("status", "active")
    try:
        page = max(1, int(args.get("page", 1)))
    except ValueError:
        page = 1
    return ScheduleFilters(status=status if status in SCHEDULE_STATUSES or status in ("active", "all") else "active",
                           q=(args.get("q") or "")[:100].strip(), page=page)


def _schedule_conditions(filters: ScheduleFilters) -> list:
    conditions = []
    if filters.status == "active":
        conditions.append(PaymentSchedule.status.in_(("running", "late")))
    elif filters.status != "all":
        conditions.append(PaymentSchedule.status == filters.status)
    if filters.q:
        pattern = f"%{like_escape(filters.q)}%"
        conditions.append(or_(Customer.name.ilike(pattern, escape="\\"), Customer.account.ilike(pattern, escape="\\")))
    return conditions


def schedule_keys(session: Session, filters: ScheduleFilters, cap: int) -> tuple[list[str], int]:
    """The schedules of the filtered view as ids (a monitoring point's)."""
    return keys_and_count(session, select(PaymentSchedule.id).join(Customer, Customer.id == PaymentSchedule.customer_id)
                          .where(*_schedule_conditions(filters)), cap)


def schedule_rows(session: Session, filters: ScheduleFilters, *, limit: int | None = PAGE_SIZE):
    conditions = _schedule_conditions(filters)
    base = select(PaymentSchedule).join(Customer, Customer.id == PaymentSchedule.customer_id).where(*conditions)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    stmt = base.options(selectinload(PaymentSchedule.instalments), selectinload(PaymentSchedule.entries)) \
        .order_by(PaymentSchedule.status != "late", PaymentSchedule.id)
    if limit is not None:
        stmt = stmt.limit(limit).offset((filters.page - 1) * limit)
    return list(session.scalars(stmt)), total


def expected_cash(session: Session, today: date | None = None, months: int = 6) -> list[tuple[date, dict[str, int]]]:
    """What the active schedules' instalments still expect, month by month (this month first):
    [(first day of the month, {currency: cents})]."""
    today = today or clock.today()
    start = today.replace(day=1)
    firsts = [_add_months(start, n) for n in range(months)]
    end = _add_months(start, months)
    rows = session.execute(select(Instalment.due_on, PaymentSchedule.currency,
                                  Instalment.amount_cents - Instalment.paid_cents)
                           .join(PaymentSchedule, PaymentSchedule.id == Instalment.schedule_id)
                           .where(PaymentSchedule.status.in_(("running", "late")), Instalment.status != "paid",
                                  Instalment.due_on < end))
    totals: dict[date, dict[str, int]] = {first: {} for first in firsts}
    for due_on, currency, left in rows:
        month = max(due_on, start).replace(day=1)  # a late instalment is still expected this month
        totals[month][currency] = totals[month].get(currency, 0) + int(left)
    return [(first, totals[first]) for first in firsts]
