"""Promises to pay: "we'll pay on the 15th", recorded on one or several invoices of a customer.

    promise = record_promise(session, actor, customer, [entry.id], promised_on=date(2026, 7, 15), channel="phone")
    evaluate(session, today)  # daily, and on every change to the customers' entries

While a promise is open its entries carry `Entry.promised_until` (its date + the grace period of
Settings): every send holds them back until that day (domain.reminders.holds, bulk, follow_up),
then they resume by themselves. Nobody updates a promise by hand: what its entries owe less than
when it was made is what was paid toward it, however it was paid (a receipt, an import, an FEC,
a credit note); fully paid → kept, at once; at the date + grace, partly paid → partly kept (the rest
resumes), nothing → broken, which tells the user who recorded it (the bell, with the customer) and
goes in the history. A customer's reliability is its promises kept and broken over 12 months.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, NamedTuple

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from domain import audit, clock, i18n
from domain.i18n import Money, _
from domain.i18n import lazy_gettext as _l
from domain.i18n import lazy_pgettext, say
from domain.ledger.summaries import follow_customer_changes, new_stamp
from domain.listing import keys_and_count, like_escape
from domain.models import (INVOICE, PROMISE_CHANNELS, PROMISE_STATUSES, CompanySettings, Contact, Customer, Entry,
                           Notification, Promise, PromiseEntry, User)
from domain.money import format_money

DEFAULT_GRACE_DAYS = 3
MAX_NOTE = 5000
PAGE_SIZE = 50
CHUNK = 500
SETTLED = ("kept", "partly_kept", "broken")
IN_APP = ("app", "both")  # the user's notification preference (domain.notifications.PREFERENCES)


# How the customer promised, inside a sentence ("… (phone) on F-1").
CHANNEL_WORDS = {"phone": lazy_pgettext("promise channel, in a sentence", "phone"),
                 "email": lazy_pgettext("promise channel, in a sentence", "e-mail"),
                 "portal": lazy_pgettext("promise channel, in a sentence", "portal"),
                 "letter": lazy_pgettext("promise channel, in a sentence", "letter")}


class PromiseError(ValueError):
    """The promise cannot be recorded or changed as asked; the message says why."""


def grace_days(session: Session) -> int:
    days = session.scalar(select(CompanySettings.promise_grace_days))
    return DEFAULT_GRACE_DAYS if days is None else days


def _numbers(entries: Iterable[Entry]) -> str:
    return ", ".join(entry.number for entry in entries)


def _open_promises_of(session: Session, entry_ids: list[int]) -> dict[int, int]:
    rows = session.execute(select(PromiseEntry.entry_id, Promise.id).join(Promise, Promise.id == PromiseEntry.promise_id)
                           .where(PromiseEntry.entry_id.in_(entry_ids), Promise.status == "open"))
    return dict(rows.all())


def record_promise(session: Session, actor: User, customer: Customer, entry_ids: list[int], *, promised_on: date,
                   channel: str, amount_cents: int | None = None, contact_id: int | None = None,
                   note: str = "") -> Promise:
    """Record what the customer promised; the entries' reminders pause until the date + grace."""
    today = clock.today()
    ids = sorted(set(entry_ids))
    if not ids:
        raise PromiseError(_("Tick the invoices the customer promises to pay."))
    entries = list(session.scalars(select(Entry).where(Entry.id.in_(ids), Entry.customer_id == customer.id)
                                   .order_by(Entry.due_date, Entry.number)))
    if len(entries) != len(ids):
        raise PromiseError(_("Some of these entries are not this customer's: reload the page."))
    not_invoices = [e.number for e in entries if e.kind != INVOICE]
    if not_invoices:
        raise PromiseError(_("%(numbers)s: a promise is to pay invoices, not credit notes.",
                             numbers=", ".join(not_invoices)))
    closed = [e.number for e in entries if not e.is_open or e.cancelled_at is not None]
    if closed:
        raise PromiseError(_("%(numbers)s: paid or cancelled, nothing left to promise.", numbers=", ".join(closed)))
    if len({e.currency for e in entries}) > 1:
        raise PromiseError(_("These invoices are in different currencies: one promise per currency."))
    held = _open_promises_of(session, ids)
    if held:
        numbers = ", ".join(_("%(number)s (promise #%(id)s)", number=e.number, id=held[e.id])
                            for e in entries if e.id in held)
        raise PromiseError(_("Already promised: %(numbers)s. Cancel that promise first if the customer changed it.",
                             numbers=numbers))
    if channel not in PROMISE_CHANNELS:
        raise PromiseError(_("Choose how the customer promised: %(choices)s.",
                             choices=", ".join(str(label) for label in PROMISE_CHANNELS.values()).lower()))
    if promised_on < today:
        raise PromiseError(_("The promised date has passed: a promise is for today or later."))
    if promised_on > today + timedelta(days=366):
        raise PromiseError(_("A promise more than a year away is a payment schedule: record a schedule instead."))
    open_total = sum(e.open_cents for e in entries)
    amount = open_total if amount_cents is None else amount_cents
    currency = entries[0].currency
    if amount <= 0 or amount > open_total:
        raise PromiseError(_("The promised amount must be more than zero and at most what these invoices owe: "
                             "%(amount)s.", amount=format_money(open_total, currency)))
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise PromiseError(_("The note has at most %(count)s characters.", count=format(MAX_NOTE, ",")))
    if contact_id is not None and session.scalar(select(Contact.id).where(
            Contact.id == contact_id, Contact.customer_id == customer.id)) is None:
        raise PromiseError(_("This contact is not one of the customer's."))
    promise = Promise(customer=customer, amount_cents=amount, currency=currency, promised_on=promised_on,
                      grace_days=grace_days(session), channel=channel, contact_id=contact_id, note=note,
                      recorded_by=actor, recorded_at=clock.now(), open_at_start_cents=open_total, status="open",
                      paid_cents=0, entries=entries)
    session.add(promise)
    for entry in entries:
        entry.promised_until = max(promise.until, entry.promised_until or promise.until)
    session.flush()
    audit.record(session, actor, "promise.recorded",
                 say("Promise #%(id)s: %(amount)s by %(promised_on)s (%(channel)s) on %(numbers)s; reminders wait "
                     "until %(until)s.", id=promise.id, amount=Money(amount, currency), promised_on=promised_on,
                     channel=CHANNEL_WORDS.get(channel, channel), numbers=_numbers(entries), until=promise.until),
                 customer=customer, reason=note or None)
    return promise


def cancel_promise(session: Session, actor: User, promise: Promise, reason: str) -> None:
    """Recorded by mistake, or replaced by another: taken off, with the reason; the pause ends."""
    reason = (reason or "").strip()
    if promise.status != "open":
        raise PromiseError(_("Promise #%(id)s is %(status)s: only an open one can be cancelled.", id=promise.id,
                             status=str(promise.status_label).lower()))
    if not reason:
        raise PromiseError(_("Say why the promise is cancelled."))
    promise.status, promise.cancelled_reason, promise.settled_on = "cancelled", reason[:500], clock.today()
    session.flush()
    _forget(session, Entry, _release_all(session, [promise.id]))
    audit.record(session, actor, "promise.cancelled",
                 say("Promise #%(id)s cancelled; reminders resume for %(numbers)s.", id=promise.id,
                     numbers=_numbers(promise.entries)), customer=promise.customer, reason=reason)


def _open_sums(session: Session, customer_ids: list[int] | None):
    """(promise id, amount, open when made, promised on, grace, what its entries owe now) of the
    open promises (of these customers): one grouped query, no object loaded."""
    query = (select(Promise.id, Promise.amount_cents, Promise.open_at_start_cents, Promise.promised_on,
                    Promise.grace_days, func.sum(Entry.open_cents))
             .join(PromiseEntry, PromiseEntry.promise_id == Promise.id).join(Entry, Entry.id == PromiseEntry.entry_id)
             .where(Promise.status == "open").group_by(Promise.id))
    if customer_ids is None:
        yield from session.execute(query)
        return
    for start in range(0, len(customer_ids), CHUNK):
        yield from session.execute(query.where(Promise.customer_id.in_(customer_ids[start:start + CHUNK])))


class Settled(NamedTuple):
    """A promise settled by evaluate: its id, customer and new status."""

    id: int
    customer_id: int
    status: str


def evaluate(session: Session, today: date | None = None, customer_ids: Iterable[int] | None = None) -> list[Settled]:
    """Settle the open promises that are decided: kept as soon as fully paid; at the date + grace,
    partly kept or broken. Returns the promises settled now. Decided from sums in SQL and written in
    a few statements (the daily run settles thousands: no object is loaded)."""
    today = today or clock.today()
    ids = None
    if customer_ids is not None:
        ids = sorted({i for i in customer_ids if i is not None})
        if not ids:
            return []
    decided: dict[int, tuple[str, int]] = {}
    for promise_id, amount, at_start, promised_on, grace, owed_now in _open_sums(session, ids):
        paid = max(0, at_start - int(owed_now or 0))  # PostgreSQL sums to numeric
        if paid >= amount:
            decided[promise_id] = ("kept", amount)
        elif today > promised_on + timedelta(days=grace):
            decided[promise_id] = ("partly_kept" if paid else "broken", paid)
    if not decided:
        return []
    chosen = sorted(decided)
    rows = []
    for start in range(0, len(chosen), CHUNK):
        rows += session.execute(
            select(Promise.id, Promise.customer_id, Promise.currency, Promise.amount_cents, Promise.promised_on,
                   Promise.recorded_by_id, Customer.name, User.export_notifications)
            .join(Customer, Customer.id == Promise.customer_id)
            .outerjoin(User, User.id == Promise.recorded_by_id)
            .where(Promise.id.in_(chosen[start:start + CHUNK])).order_by(Promise.id)).all()
    session.execute(update(Promise), [{"id": promise_id, "status": status, "paid_cents": paid, "settled_on": today}
                                      for promise_id, (status, paid) in decided.items()])
    touched = _release_all(session, chosen)
    events, notes = [], []
    for promise_id, customer_id, currency, amount, promised_on, recorded_by, name, notifications in rows:
        status, paid = decided[promise_id]
        if status == "kept":
            detail = say("Promise #%(id)s kept: %(paid)s paid", id=promise_id, paid=Money(paid, currency))
        elif status == "partly_kept":
            detail = say("Promise #%(id)s partly kept: %(paid)s of %(amount)s paid by %(promised_on)s; reminders "
                         "resume for the rest", id=promise_id, paid=Money(paid, currency),
                         amount=Money(amount, currency), promised_on=promised_on)
        else:
            detail = say("Promise #%(id)s broken: nothing paid by %(promised_on)s; reminders resume", id=promise_id,
                         promised_on=promised_on)
        events.append({"action": f"promise.{status}", "detail": detail, "customer_id": customer_id})
        if status == "broken" and recorded_by is not None and notifications in IN_APP:
            # Written in bulk, without the model's attribute: the English text and the Said beside it.
            text, stored = i18n.kept(say("%(customer)s: %(what)s.", customer=name, what=detail))
            notes.append({"user_id": recorded_by, "customer_id": customer_id, "text": text[:500], "text_i18n": stored,
                          "created_at": clock.now(), "read_at": None, "export_id": None, "bulk_run_id": None})
    audit.record_many(session, events)
    if notes:
        session.execute(insert(Notification), notes)
    _forget(session, Promise, set(chosen))
    _forget(session, Entry, touched)
    return [Settled(row[0], row[1], decided[row[0]][0]) for row in rows]


def _forget(session: Session, model, ids: set[int]) -> None:
    """Objects of the session written behind its back are read again when next used."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and obj.id in ids:
            session.expire(obj)


def _release_all(session: Session, settled_ids: list[int]) -> set[int]:
    """The pause of their entries ends, except where another open promise still covers them; the
    lists showing 🤝 are stale (a new summaries stamp). Returns the entries written."""
    links = []
    for start in range(0, len(settled_ids), CHUNK):
        links += session.execute(select(PromiseEntry.entry_id).where(
            PromiseEntry.promise_id.in_(settled_ids[start:start + CHUNK]))).scalars()
    entry_ids = sorted(set(links))
    still: dict[int, date] = {}
    # Two index lookups, not a join: joined, SQLite walks every open promise for each chunk.
    for start in range(0, len(entry_ids), CHUNK):
        pairs = session.execute(select(PromiseEntry.entry_id, PromiseEntry.promise_id)
                                .where(PromiseEntry.entry_id.in_(entry_ids[start:start + CHUNK]))).all()
        open_ones = {promise_id: promised_on + timedelta(days=grace) for promise_id, promised_on, grace in session.execute(
            select(Promise.id, Promise.promised_on, Promise.grace_days)
            .where(Promise.id.in_(sorted({promise_id for _, promise_id in pairs})), Promise.status == "open"))}
        for entry_id, promise_id in pairs:
            until = open_ones.get(promise_id)
            if until is not None:
                still[entry_id] = max(until, still.get(entry_id, until))
    if entry_ids:
        session.execute(update(Entry), [{"id": entry_id, "promised_until": still.get(entry_id)}
                                        for entry_id in entry_ids])
        new_stamp(session)
    return set(entry_ids)


def follow_ledger_changes(session: Session, customer_ids: set[int]) -> bool:
    """Registered with the summaries' upkeep: a change to these customers' entries (a payment, an
    import) may keep a promise at once."""
    return bool(evaluate(session, customer_ids=customer_ids))


def track_promise_upkeep() -> None:
    """Evaluate the promises of every customer whose entries a commit changed (idempotent)."""
    follow_customer_changes(follow_ledger_changes)


@dataclass(frozen=True)
class Reliability:
    kept: int
    partly_kept: int
    broken: int

    @property
    def total(self) -> int:
        return self.kept + self.partly_kept + self.broken


def reliability(session: Session, customer: Customer, today: date | None = None) -> Reliability:
    """Promises kept, partly kept and broken over the last 12 months."""
    since = (today or clock.today()) - timedelta(days=365)
    counts = dict(session.execute(select(Promise.status, func.count()).where(
        Promise.customer_id == customer.id, Promise.status.in_(SETTLED), Promise.settled_on >= since)
        .group_by(Promise.status)).all())
    return Reliability(counts.get("kept", 0), counts.get("partly_kept", 0), counts.get("broken", 0))


def promises_of(session: Session, customer: Customer, limit: int = 50) -> list[Promise]:
    return list(session.scalars(select(Promise).where(Promise.customer_id == customer.id)
                                .order_by((Promise.status != "open"), Promise.promised_on.desc()).limit(limit)))


# --- the Promises page --------------------------------------------------------------------------

VIEWS = {"open": lazy_pgettext("promises", "Open"), "week": _l("Due this week"),
         "broken": lazy_pgettext("promises", "Broken"), "kept": lazy_pgettext("promises", "Kept"),
         "all": lazy_pgettext("promises", "All")}


@dataclass(frozen=True)
class PromiseFilters:
    view: str = "open"
    owner: str = ""  # a user id, or "" for anyone
    start: date | None = None  # promised on or after
    end: date | None = None
    min_cents: int | None = None
    q: str = ""
    page: int = 1

    def as_args(self) -> dict[str, str]:
        args = {"view": "" if self.view == "open" else self.view, "owner": self.owner, "q": self.q,
                "from": self.start.isoformat() if self.start else "", "to": self.end.isoformat() if self.end else "",
                "min": f"{self.min_cents / 100:.2f}" if self.min_cents is not None else ""}
        return {key: value for key, value in args.items() if value}


def parse_filters(args, parse_amount) -> PromiseFilters:
    """The page's filters from the address (a bad value is dropped, never an error page)."""
    def day(name):
        try:
            return date.fromisoformat(args.get(name, "")) if args.get(name) else None
        except ValueError:
            return None
    try:
        minimum = parse_amount(args["min"]) if args.get("min") else None
    except ValueError:
        minimum = None
    try:
        page = max(1, int(args.get("page", 1)))
    except ValueError:
        page = 1
    view = args.get("view", "open")
    owner = args.get("owner", "")
    return PromiseFilters(view=view if view in VIEWS else "open", owner=owner if owner.isdigit() else "",
                          start=day("from"), end=day("to"), min_cents=minimum, q=(args.get("q") or "")[:100].strip(),
                          page=page)


def _conditions(filters: PromiseFilters, today: date) -> list:
    conditions = []
    if filters.view == "open":
        conditions.append(Promise.status == "open")
    elif filters.view == "week":
        conditions += [Promise.status == "open", Promise.promised_on <= today + timedelta(days=6)]
    elif filters.view == "broken":
        conditions.append(Promise.status.in_(("broken", "partly_kept")))
    elif filters.view == "kept":
        conditions.append(Promise.status == "kept")
    if filters.owner:
        conditions.append(Promise.recorded_by_id == int(filters.owner))
    if filters.start:
        conditions.append(Promise.promised_on >= filters.start)
    if filters.end:
        conditions.append(Promise.promised_on <= filters.end)
    if filters.min_cents is not None:
        conditions.append(Promise.amount_cents >= filters.min_cents)
    if filters.q:
        pattern = f"%{like_escape(filters.q)}%"
        conditions.append(or_(Customer.name.ilike(pattern, escape="\\"), Customer.account.ilike(pattern, escape="\\")))
    return conditions


def promise_keys(session: Session, filters: PromiseFilters, cap: int) -> tuple[list[str], int]:
    """The promises of the filtered view as ids (a monitoring point's)."""
    return keys_and_count(session, select(Promise.id).join(Customer, Customer.id == Promise.customer_id)
                          .where(*_conditions(filters, clock.today())), cap)


def promise_rows(session: Session, filters: PromiseFilters, *, limit: int | None = PAGE_SIZE) -> tuple[list[Promise], int]:
    """The page's promises (the nearest date first while open, the latest settled first otherwise, then
    the open ones: PostgreSQL would put NULLs first, SQLite last)."""
    conditions = _conditions(filters, clock.today())
    base = select(Promise).join(Customer, Customer.id == Promise.customer_id).where(*conditions)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    order = (Promise.promised_on, Promise.id) if filters.view in ("open", "week") else \
        (Promise.settled_on.is_(None), Promise.settled_on.desc(), Promise.id.desc())  # open ones last, everywhere
    stmt = base.order_by(*order)
    if limit is not None:
        stmt = stmt.limit(limit).offset((filters.page - 1) * limit)
    return list(session.scalars(stmt)), total


__all__ = ["PROMISE_STATUSES", "PromiseError", "cancel_promise", "evaluate", "record_promise", "reliability"]
