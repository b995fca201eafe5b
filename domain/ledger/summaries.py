"""The per-customer summary upkeep: open amounts by aging bucket, per customer and currency.

The summary (CustomerSummary) is maintained, never computed on a page: every commit that
touched a customer's entries rebuilds that customer's rows in the same transaction (see
`track_summary_upkeep`), and `rebucket_all` moves amounts between aging buckets once a day.
"""
from __future__ import annotations

import secrets
from datetime import date
from functools import lru_cache
from typing import Callable, Iterable

from sqlalchemy import and_, bindparam, case, delete, event, func, insert, inspect, literal, or_, select, update
from sqlalchemy.orm import Session

from domain import clock
from domain.ledger.aging import bucket_due_range
from domain.models import CREDIT_NOTE, Customer, CustomerSummary, Entry, LedgerState, Payment, SummaryTotal

# --- summary upkeep ----------------------------------------------------------------------

def _summary_select(today: date, customer_ids: Iterable[int] | None):
    """One SELECT that aggregates open entries into summary rows (per customer and currency)."""
    signed = case((Entry.kind == CREDIT_NOTE, -Entry.open_cents), else_=Entry.open_cents)

    def in_bucket(key: str):
        low, high = bucket_due_range(key, today)
        conditions = []
        if low is not None:
            conditions.append(Entry.due_date >= low)
        if high is not None:
            conditions.append(Entry.due_date <= high)
        return func.coalesce(func.sum(case((and_(*conditions), signed), else_=0)), 0)

    entry_stopped = and_(
        Entry.reminders_stopped.is_(True), or_(Entry.stop_until.is_(None), Entry.stop_until >= today)
    )
    customer_stopped = and_(
        Customer.reminders_stopped.is_(True), or_(Customer.stop_until.is_(None), Customer.stop_until >= today)
    )
    overdue = Entry.due_date < today
    stmt = (
        select(
            Entry.customer_id,
            Entry.currency,
            in_bucket("not_due"),
            in_bucket("1-30"),
            in_bucket("31-60"),
            in_bucket("61-90"),
            in_bucket("90+"),
            func.sum(signed),
            func.coalesce(func.sum(case((overdue, signed), else_=0)), 0),
            func.count(),
            func.max(Entry.reminder_level),
            func.max(Entry.last_reminder_on),
            func.min(Entry.due_date),
            func.sum(case((Entry.in_collection.is_(True), 1), else_=0)),
            func.sum(case((Entry.disputed.is_(True), 1), else_=0)),
            func.coalesce(func.sum(case((Entry.disputed.is_(True), signed), else_=0)), 0),
            func.max(case((or_(entry_stopped, customer_stopped), 1), else_=0)) == 1,
            literal(today),
        )
        .join(Customer, Customer.id == Entry.customer_id)
        .where(Entry.is_open.is_(True))
        .group_by(Entry.customer_id, Entry.currency)
    )
    if customer_ids is not None:
        stmt = stmt.where(Entry.customer_id.in_(customer_ids))
    return stmt


_SUMMARY_COLUMNS = (
    "customer_id", "currency", "not_due_cents", "days_1_30_cents", "days_31_60_cents",
    "days_61_90_cents", "over_90_cents", "total_cents", "overdue_cents", "open_entries",
    "highest_level", "last_reminder_on", "oldest_due_on", "in_collection_count",
    "disputed_count", "disputed_cents", "reminders_stopped", "as_of",
)


def refresh_summaries(session: Session, customer_ids: Iterable[int] | None = None, today: date | None = None) -> None:
    """Rebuild the summary rows of these customers (all customers when None) from their open
    entries, inside the caller's transaction."""
    today = today or clock.today()
    ids = None if customer_ids is None else sorted(set(customer_ids))
    if ids == []:
        return
    table = CustomerSummary.__table__
    # The stamp first: every commit that touches the ledger takes ledger_state's row before a totals row,
    # so two of them on PostgreSQL wait for each other instead of deadlocking.
    new_stamp(session)
    if ids is None:
        session.execute(delete(table))
        session.execute(insert(table).from_select([table.c[name] for name in _SUMMARY_COLUMNS],
                                                  _summary_select(today, None)))
        _recount_totals(session)
    else:
        remove, rebuild = _customer_refresh_statements(today)
        sums = _sums_of_customers()
        for start in range(0, len(ids), 500):
            chunk = {"ids": ids[start:start + 500]}
            before = session.execute(sums, chunk).all()
            session.execute(remove, chunk)
            session.execute(rebuild, chunk)
            _move_totals(session, before, session.execute(sums, chunk).all())


# --- the unfiltered totals (SummaryTotal) ----------------------------------------------------------

_TOTAL_SUMS = ("not_due_cents", "days_1_30_cents", "days_31_60_cents", "days_61_90_cents", "over_90_cents",
               "disputed_cents", "total_cents")


def _recount_totals(session: Session) -> None:
    """The totals from every summary (after a rebuild of all of them)."""
    summaries, totals = CustomerSummary.__table__, SummaryTotal.__table__
    session.execute(delete(totals))
    session.execute(insert(totals).from_select(
        ["currency", "customers", *_TOTAL_SUMS],
        select(summaries.c.currency, func.count(), *(func.coalesce(func.sum(summaries.c[n]), 0) for n in _TOTAL_SUMS))
        .group_by(summaries.c.currency)))


@lru_cache(maxsize=1)
def _sums_of_customers():
    """Some customers' summaries added up per currency: what they bring to the totals."""
    summaries = CustomerSummary.__table__
    return (select(summaries.c.currency, func.count(), *(func.sum(summaries.c[n]) for n in _TOTAL_SUMS))
            .where(summaries.c.customer_id.in_(bindparam("ids", expanding=True)))
            .group_by(summaries.c.currency))


def _move_totals(session: Session, before, after) -> None:
    """Move the totals by what these customers' summaries changed (an upsert adding the delta: two
    transactions that move the same currency's row wait for each other, neither loses the other's change)."""
    delta: dict[str, list[int]] = {}
    for rows, sign in ((before, -1), (after, 1)):
        for currency, count, *sums in rows:
            moved = delta.setdefault(currency, [0] * (1 + len(_TOTAL_SUMS)))
            for i, value in enumerate((count, *sums)):
                moved[i] += sign * int(value or 0)
    totals = SummaryTotal.__table__
    upsert = _upsert(session)
    for currency, moved in sorted(delta.items()):
        if not any(moved):
            continue
        # One statement: a currency's first customers, committed by two transactions at once, add up.
        row = upsert(totals).values(currency=currency, customers=moved[0],
                                    **{n: moved[i + 1] for i, n in enumerate(_TOTAL_SUMS)})
        session.execute(row.on_conflict_do_update(
            index_elements=[totals.c.currency],
            set_={name: totals.c[name] + row.excluded[name] for name in ("customers", *_TOTAL_SUMS)}))
    # A currency nobody owes in any more leaves the totals row, as it leaves the summaries.
    session.execute(delete(totals).where(totals.c.customers <= 0))


def _upsert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    return upsert


def unfiltered_totals(session: Session) -> list[tuple]:
    """(currency, customers, not_due, 1–30, 31–60, 61–90, > 90, disputed, total) per currency, largest total first."""
    totals = SummaryTotal.__table__
    return session.execute(select(totals.c.currency, totals.c.customers, *(totals.c[n] for n in _TOTAL_SUMS))
                           .order_by(totals.c.total_cents.desc())).all()


def new_stamp(session: Session) -> None:
    """Draw a new stamp: what was cached under the old one is stale. refresh_summaries does; so does
    a bulk write to entries that changes what the lists show but no summary (a promise's pause)."""
    stamp = secrets.randbits(62)
    if session.execute(update(LedgerState).where(LedgerState.id == 1).values(summaries_stamp=stamp)).rowcount == 0:
        session.execute(insert(LedgerState).values(id=1, summaries_stamp=stamp))


@lru_cache(maxsize=2)
def _customer_refresh_statements(today: date):
    """DELETE and INSERT … SELECT of some customers' summaries, built once a day with the ids as a
    parameter: every commit that touches entries runs them, and building them costs more than
    running them for one customer."""
    table = CustomerSummary.__table__
    ids = bindparam("ids", expanding=True)
    return (delete(table).where(table.c.customer_id.in_(ids)),
            insert(table).from_select([table.c[name] for name in _SUMMARY_COLUMNS], _summary_select(today, ids)))


def summaries_stamp(session: Session) -> int | None:
    """Changes whenever any summary row changes (in the same transaction); None when unknown."""
    return session.scalar(select(LedgerState.summaries_stamp).where(LedgerState.id == 1))


def rebucket_all(session: Session, today: date | None = None) -> None:
    """The daily run: amounts move between aging buckets as days pass, and stop-until dates lapse."""
    refresh_summaries(session, None, today)


_DIRTY = "relance.dirty_customers"
_DIRTY_CASES = "relance.dirty_cases"  # collection cases whose entries changed (see follow_case_changes)
_BULK_DIRTY = "relance.bulk_dirty_customers"  # customers whose entries changed behind the ORM's back


def mark_customers_dirty(session: Session, customer_ids: Iterable[int]) -> None:
    """For bulk writes that bypass the ORM: have these summaries rebuilt before commit."""
    ids = set(customer_ids)
    session.info.setdefault(_DIRTY, set()).update(ids)
    session.info.setdefault(_BULK_DIRTY, set()).update(ids)


def _collect_dirty_customers(session: Session, _flush_context) -> None:
    dirty = session.info.setdefault(_DIRTY, set())
    cases = session.info.setdefault(_DIRTY_CASES, set())
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Entry):
            dirty.add(obj.customer_id)
            cases.add(obj.collection_case_id)
            # An entry taken out of a case may leave the rest of that case paid.
            cases.update(inspect(obj).attrs.collection_case_id.history.deleted or ())
        elif isinstance(obj, Customer):
            dirty.add(obj.id)
        elif isinstance(obj, Payment) and obj.entry is not None:
            dirty.add(obj.entry.customer_id)
            cases.add(obj.entry.collection_case_id)


def _refresh_dirty_summaries(session: Session) -> None:
    session.flush()
    _refresh_dirty_cases(session)
    customers = {i for i in session.info.get(_DIRTY, ()) if i is not None}
    if customers and any([follow(session, customers) for follow in _CUSTOMER_FOLLOWERS]):
        session.flush()
    dirty = session.info.pop(_DIRTY, None)
    if dirty:
        refresh_summaries(session, {i for i in dirty if i is not None})


def _refresh_dirty_cases(session: Session) -> None:
    """Hand the collection cases whose entries changed to the rules that follow them
    (domain.collection.cases turns a case "paid" once all its entries are), in this transaction."""
    case_ids = {i for i in session.info.pop(_DIRTY_CASES, ()) if i is not None}
    bulk = session.info.pop(_BULK_DIRTY, None) or set()
    if (case_ids or bulk) and any([follow(session, case_ids, bulk) for follow in _CASE_FOLLOWERS]):
        session.flush()


# follow(session, case ids, customer ids written in bulk) → whether it changed anything. The
# collection rules register here (cases.track_case_upkeep): the ledger imports nothing above it.
_CASE_FOLLOWERS: list[Callable[[Session, set[int], set[int]], bool]] = []


def follow_case_changes(follow: Callable[[Session, set[int], set[int]], bool]) -> None:
    if follow not in _CASE_FOLLOWERS:
        _CASE_FOLLOWERS.append(follow)


# follow(session, customer ids whose entries changed) → whether it changed anything. The promises
# register here (promises.track_promise_upkeep): a payment may keep a promise at once.
_CUSTOMER_FOLLOWERS: list[Callable[[Session, set[int]], bool]] = []


def follow_customer_changes(follow: Callable[[Session, set[int]], bool]) -> None:
    if follow not in _CUSTOMER_FOLLOWERS:
        _CUSTOMER_FOLLOWERS.append(follow)


def _forget_dirty_customers(session: Session) -> None:
    for key in (_DIRTY, _DIRTY_CASES, _BULK_DIRTY):
        session.info.pop(key, None)


_HOOKS = (
    ("after_flush", _collect_dirty_customers),
    ("before_commit", _refresh_dirty_summaries),
    ("after_rollback", _forget_dirty_customers),
)


def track_summary_upkeep() -> None:
    """Keep summaries in step with every committed change, on every session (idempotent)."""
    for name, hook in _HOOKS:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
