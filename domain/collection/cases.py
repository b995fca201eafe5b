"""Collection cases: what the Collection page reads, the status a user gives a case, and the
"paid" status a case takes by itself.

A case becomes "paid" when every one of its entries has an open amount of 0, checked in the
transaction that paid the last one (domain.ledger calls `refresh_case_status` before commit).
"paid" only moves forward automatically: an entry re-opened later (a corrected ERP import) leaves
the case paid, and a user sets it back to open by hand. A case the user closed stays closed.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Iterable, Iterator, Mapping

from sqlalchemy import case as sql_case
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from domain import audit, clock
from domain.i18n import Joined, _, pgettext, say
from domain.ledger import queries, summaries
from domain.listing import (COUNT_CAP, PAGE_SIZE, FilterError, Page, keys_and_count, like_escape, parse_date,
                            parse_sort_and_page, prefix_range, query_string)
from domain.models import CASE_STATUS_LABELS, CASE_STATUSES, CollectionCase, Customer, Entry, User

PAID = "paid"
# What a user may set from the Collection page; "sent to agency" comes with the agency hand-off.
MANUAL_STATUSES = ("open", "amicable", "legal", "closed")
# A case in one of these turns "paid" by itself; "closed" is the user's final word.
AUTO_PAID_FROM = ("open", "sent_to_agency", "amicable", "legal")
CHUNK = 500  # ids per IN (...): well under every database's bound-parameter limit


class CaseError(ValueError):
    """A status change that cannot be made; the message says why."""


# --- the Collection page ------------------------------------------------------------------

@dataclass(frozen=True)
class CaseFilters:
    q: str = ""
    status: str | None = None
    marked_from: date | None = None
    marked_to: date | None = None
    disputed: bool = False
    promise: str = ""  # "" | "open" | "broken" (queries.PROMISE_FILTERS)
    scheduled: bool = False
    sort: str = ""
    direction: str = ""
    page: int = 1

    def query_args(self, **changes) -> dict[str, str]:
        """The query string of this view, with some values changed (for links)."""
        f = replace(self, **changes)
        args = {
            "q": f.q,
            "status": f.status or "",
            "from": f.marked_from.isoformat() if f.marked_from else "",
            "to": f.marked_to.isoformat() if f.marked_to else "",
            "disputed": "1" if f.disputed else "",
            "promise": f.promise,
            "scheduled": "1" if f.scheduled else "",
        }
        return query_string(args, f.sort, f.direction, f.page)

    @property
    def active(self) -> bool:
        return any((self.q, self.status, self.marked_from, self.marked_to, self.disputed, self.promise,
                    self.scheduled))


# The workflow's order, so sorting on status reads open → … → closed rather than alphabetically.
_STATUS_ORDER = sql_case({status: n for n, status in enumerate(CASE_STATUSES)}, value=CollectionCase.status,
                         else_=len(CASE_STATUSES))
COLLECTION_SORTS = {
    "customer": Customer.name,
    "number": Entry.number,
    "amount": Entry.amount_cents,
    "open": Entry.open_cents,
    "marked": Entry.collection_marked_at,
    "status": _STATUS_ORDER,
}
COLLECTION_DEFAULT_SORT = ("marked", "desc")


def parse_case_filters(args: Mapping[str, str]) -> CaseFilters:
    """Read the Collection page's filters from a query string; FilterError on nonsense."""
    status = (args.get("status") or "").strip() or None
    if status is not None and status not in CASE_STATUSES:
        raise FilterError(_("Unknown case status %(status)s: choose one of %(statuses)s.", status=repr(status),
                            statuses=", ".join(CASE_STATUSES)))
    sort, direction, page = parse_sort_and_page(args, tuple(COLLECTION_SORTS))
    marked_from = parse_date(args, "from", pgettext("the … date", "marked from"))
    marked_to = parse_date(args, "to", pgettext("the … date", "marked to"))
    if marked_from and marked_to and marked_from > marked_to:
        raise FilterError(_("The from date is after the to date."))
    promise = (args.get("promise") or "").strip()
    if promise not in queries.PROMISE_FILTERS:
        raise FilterError(_("Unknown promise filter %(filter)s: choose open or broken.", filter=repr(promise)))
    return CaseFilters(q=(args.get("q") or "").strip()[:100], status=status, marked_from=marked_from,
                       marked_to=marked_to, disputed=args.get("disputed") == "1", promise=promise,
                       scheduled=args.get("scheduled") == "1", sort=sort, direction=direction, page=page)


def _conditions(filters: CaseFilters) -> list:
    conditions = [Entry.in_collection.is_(True)]
    if filters.status:
        conditions.append(CollectionCase.status == filters.status)
    if filters.marked_from:
        conditions.append(Entry.collection_marked_at >= datetime.combine(filters.marked_from, time.min))
    if filters.marked_to:
        # The whole of the last day counts: marked before the next midnight.
        conditions.append(Entry.collection_marked_at < datetime.combine(filters.marked_to + timedelta(days=1), time.min))
    conditions += queries.what_customers_said(filters.disputed, filters.promise, filters.scheduled, clock.today())
    if filters.q:
        pattern = f"%{like_escape(filters.q)}%"
        conditions.append(or_(
            Customer.name.ilike(pattern, escape="\\"),
            Customer.account == filters.q,
            prefix_range(Entry.number, filters.q),
            prefix_range(Entry.number, filters.q.upper()),
        ))
    return conditions


def _collection_select(filters: CaseFilters):
    sort_key = filters.sort or COLLECTION_DEFAULT_SORT[0]
    direction = filters.direction or (COLLECTION_DEFAULT_SORT[1] if not filters.sort else "asc")
    column = COLLECTION_SORTS[sort_key]
    order = column.desc() if direction == "desc" else column.asc()
    return (
        select(Entry)
        .join(Entry.customer)
        # An entry can carry the ⚖️ mark without a case (marked before cases existed, or by hand).
        .outerjoin(Entry.collection_case)
        .where(*_conditions(filters))
        .options(contains_eager(Entry.customer),
                 contains_eager(Entry.collection_case).joinedload(CollectionCase.export),
                 joinedload(Entry.collection_marked_by))
        .order_by(order, Entry.id)
    )


def collection_keys(session: Session, filters: CaseFilters, cap: int) -> tuple[list[str], int]:
    """The entries of the filtered Collection view as ids (a monitoring point's)."""
    return keys_and_count(session, select(Entry.id).join(Entry.customer).outerjoin(Entry.collection_case)
                          .where(*_conditions(filters)), cap)


def count_collection_entries(session: Session, filters: CaseFilters, cap: int = COUNT_CAP) -> int:
    """How many entries the view holds, counting no further than cap + 1."""
    capped = (
        select(Entry.id)
        .join(Customer, Customer.id == Entry.customer_id)
        .outerjoin(CollectionCase, CollectionCase.id == Entry.collection_case_id)
        .where(*_conditions(filters))
        .limit(cap + 1)
    ).subquery()
    return session.scalar(select(func.count()).select_from(capped))


def collection_entries(session: Session, filters: CaseFilters) -> Page:
    """One page of the entries in collection, with their customer, case, file and who marked them."""
    rows = list(session.scalars(
        _collection_select(filters).limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE)
    ).unique())
    return Page(rows=rows, page=filters.page, total=count_collection_entries(session, filters), cap=COUNT_CAP)


def all_collection_entries(session: Session, filters: CaseFilters) -> Iterator[Entry]:
    """Every entry of the filtered view, streamed (for the Excel export)."""
    return iter(session.scalars(_collection_select(filters).execution_options(yield_per=1000)))


def collection_entry(session: Session, entry_id: int) -> Entry | None:
    """One row of the Collection page, loaded like the page loads it."""
    return session.scalar(
        select(Entry).where(Entry.id == entry_id)
        .options(joinedload(Entry.customer), joinedload(Entry.collection_marked_by),
                 joinedload(Entry.collection_case).joinedload(CollectionCase.export))
    )


# --- status changes -----------------------------------------------------------------------

def status_choices(case: CollectionCase) -> list[tuple[str, str]]:
    """What the status control offers for this case: its current status and the manual ones."""
    statuses = [s for s in CASE_STATUSES if s == case.status or s in MANUAL_STATUSES]
    return [(s, CASE_STATUS_LABELS[s]) for s in statuses]


def _all_entries_paid(session: Session, case: CollectionCase) -> bool:
    return not session.scalar(
        select(exists().where(Entry.collection_case_id == case.id, Entry.open_cents != 0)))


def set_case_status(session: Session, case: CollectionCase, status: str, actor: User) -> bool:
    """A user moves a case along (amicable, legal, closed, or back to open); recorded in history.
    False when the case already has that status."""
    if status not in MANUAL_STATUSES:
        labels = ", ".join(str(CASE_STATUS_LABELS[s]) for s in MANUAL_STATUSES)
        raise CaseError(_("A case can be set to %(labels)s; %(status)s is not one of them.", labels=labels,
                          status=CASE_STATUS_LABELS.get(status, repr(status))))
    if status == case.status:
        return False
    if status != "closed" and _all_entries_paid(session, case):
        raise CaseError(_("Every entry of this case is paid: it can only be closed."))
    before = CASE_STATUS_LABELS[case.status]
    case.status = status
    case.status_changed_at = clock.now()
    audit.record(session, actor, "collection_case.status",
                 say("Collection case #%(case)s (%(numbers)s): %(before)s → %(after)s", case=case.id,
                     numbers=_numbers(session, case), before=before, after=CASE_STATUS_LABELS[status]),
                 customer=case.customer)
    return True


def _numbers(session: Session, case: CollectionCase) -> Joined:
    return Joined(list(session.scalars(select(Entry.number).where(Entry.collection_case_id == case.id)
                                       .order_by(Entry.number))), ", ")


# --- the automatic "paid" -----------------------------------------------------------------

def case_ids_of_customers(session: Session, customer_ids: Iterable[int]) -> set[int]:
    """The cases of these customers that could still turn paid: for writes that bypass the ORM
    (bulk imports), where the touched entries are not known one by one."""
    ids = sorted({i for i in customer_ids if i is not None})
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        found.update(session.scalars(
            select(CollectionCase.id)
            .where(CollectionCase.customer_id.in_(ids[start:start + CHUNK]),
                   CollectionCase.status.in_(AUTO_PAID_FROM))
        ))
    return found


def refresh_case_status(session: Session, case_ids: Iterable[int]) -> list[CollectionCase]:
    """Cases among `case_ids` whose entries are all paid become "paid", with a history event by
    Relance (no actor). Returns the cases that changed. Runs inside the caller's transaction."""
    ids = sorted({i for i in case_ids if i is not None})
    entry_of_case = Entry.collection_case_id == CollectionCase.id
    changed: list[CollectionCase] = []
    for start in range(0, len(ids), CHUNK):
        cases = session.scalars(
            select(CollectionCase)
            .where(CollectionCase.id.in_(ids[start:start + CHUNK]),
                   CollectionCase.status.in_(AUTO_PAID_FROM),
                   exists().where(entry_of_case),
                   ~exists().where(entry_of_case, Entry.open_cents != 0))
            .order_by(CollectionCase.id)
        ).all()
        for case in cases:
            case.status = PAID
            case.status_changed_at = clock.now()
            audit.record(session, None, "collection_case.paid",
                         say("Case paid: every entry of collection case #%(case)s (%(numbers)s) is paid",
                             case=case.id, numbers=_numbers(session, case)), customer=case.customer)
            changed.append(case)
    return changed


def _follow_ledger(session: Session, case_ids: set[int], bulk_customer_ids: set[int]) -> bool:
    if bulk_customer_ids:
        case_ids = case_ids | case_ids_of_customers(session, bulk_customer_ids)
    return bool(case_ids and refresh_case_status(session, case_ids))


def track_case_upkeep() -> None:
    """Cases follow their entries: the ledger's commit hook hands over the cases it saw change."""
    summaries.follow_case_changes(_follow_ledger)


def case_sizes(session: Session, entries) -> dict[int, int]:
    """case id → how many entries are in collection in it, for the cases of these entries (one
    query): a status change applies to the whole case, and the confirmation says how much that is."""
    ids = {e.collection_case_id for e in entries if e.collection_case_id}
    if not ids:
        return {}
    return dict(session.execute(select(Entry.collection_case_id, func.count())
                                .where(Entry.collection_case_id.in_(ids), Entry.in_collection.is_(True))
                                .group_by(Entry.collection_case_id)).all())
