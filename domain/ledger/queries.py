"""What the receivables screens read: filters parsed from plain strings, paged queries over the
maintained summaries (never the whole ledger), search, and one customer's account status."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache
from typing import Mapping, NamedTuple

from sqlalchemy import Select, and_, bindparam, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from domain import clock
from domain.i18n import _
from domain.i18n import lazy_gettext as _l
from domain.i18n import pgettext
from domain.ledger.aging import BUCKET_COLUMNS, BUCKET_KEYS, bucket_due_range
from domain.ledger.summaries import summaries_stamp, unfiltered_totals
from domain.listing import (COUNT_CAP, PAGE_SIZE, FilterError, Page, flag, keys_and_count, like_escape, parse_date,
                            parse_sort_and_page, prefix_range, query_string)
from domain.models import (CREDIT_NOTE, MAX_LEVEL, Contact, Customer, CustomerSummary, Entry, Payment, PaymentSchedule,
                           Promise, PromiseEntry, ScheduleEntry)


@dataclass(frozen=True)
class Filters:
    q: str = ""
    level: int | None = None  # minimum reminder level
    bucket: str | None = None
    in_collection: bool = False
    stopped: bool = False
    disputed: bool = False
    promise: str = ""  # "open": under an open promise to pay; "broken": one broken in the last 30 days
    scheduled: bool = False  # under a running (or late) payment schedule
    due_from: date | None = None
    due_to: date | None = None
    sort: str = ""
    direction: str = ""
    page: int = 1

    def query_args(self, **changes) -> dict[str, str]:
        """The query string of this view, with some values changed (for links)."""
        f = replace(self, **changes)
        args = {
            "q": f.q,
            "level": str(f.level) if f.level else "",
            "bucket": f.bucket or "",
            "collection": "1" if f.in_collection else "",
            "stopped": "1" if f.stopped else "",
            "disputed": "1" if f.disputed else "",
            "promise": f.promise,
            "scheduled": "1" if f.scheduled else "",
            "from": f.due_from.isoformat() if f.due_from else "",
            "to": f.due_to.isoformat() if f.due_to else "",
        }
        return query_string(args, f.sort, f.direction, f.page)

    @property
    def active(self) -> bool:
        return any((self.q, self.level, self.bucket, self.in_collection, self.stopped, self.disputed,
                    self.promise, self.scheduled, self.due_from, self.due_to))


def parse_filters(args: Mapping[str, str], sort_keys: tuple[str, ...]) -> Filters:
    """Read filters from a query string mapping; raise FilterError on a value that makes no sense."""
    level_text = (args.get("level") or "").strip().upper().removeprefix("R")
    level = None
    if level_text:
        if not level_text.isdigit() or not 1 <= int(level_text) <= MAX_LEVEL:
            raise FilterError(_("The reminder level must be R1 to R%(max)d, not %(value)s.", max=MAX_LEVEL,
                                value=repr(args.get("level"))))
        level = int(level_text)
    bucket = (args.get("bucket") or "").strip() or None
    if bucket is not None and bucket not in BUCKET_KEYS:
        raise FilterError(_("Unknown aging bucket %(value)s: choose one of %(choices)s.", value=repr(bucket),
                            choices=", ".join(BUCKET_KEYS)))
    sort, direction, page = parse_sort_and_page(args, sort_keys)
    due_from = parse_date(args, "from", pgettext("date filter", "from"))
    due_to = parse_date(args, "to", pgettext("date filter", "to"))
    if due_from and due_to and due_from > due_to:
        raise FilterError(_("The from date is after the to date."))
    promise = (args.get("promise") or "").strip()
    if promise not in PROMISE_FILTERS:
        raise FilterError(_("Unknown promise filter %(value)s: choose open or broken.", value=repr(promise)))
    return Filters(
        q=(args.get("q") or "").strip()[:100], level=level, bucket=bucket,
        in_collection=flag(args, "collection"), stopped=flag(args, "stopped"), disputed=flag(args, "disputed"),
        promise=promise, scheduled=flag(args, "scheduled"), due_from=due_from, due_to=due_to, sort=sort, direction=direction, page=page,
    )


PROMISE_FILTERS = {"": "", "open": _l("Promise open"), "broken": _l("Promise broken (30 days)")}
BROKEN_RECENTLY_DAYS = 30


def _promise_condition(kind: str, today: date, customer_id=None, entry_id=None):
    """EXISTS a promise of the customer (or on the entry) that is open, or broken lately."""
    if kind == "open":
        status = Promise.status == "open"
    else:
        status = and_(Promise.status.in_(("broken", "partly_kept")),
                      Promise.settled_on >= today - timedelta(days=BROKEN_RECENTLY_DAYS))
    found = select(literal(1)).select_from(Promise)
    if entry_id is not None:
        found = found.join(PromiseEntry, PromiseEntry.promise_id == Promise.id).where(PromiseEntry.entry_id == entry_id)
    else:
        found = found.where(Promise.customer_id == customer_id)
    return exists(found.where(status))


def _schedule_condition(customer_id=None, entry_id=None):
    """EXISTS a running or late payment schedule of the customer (or over the entry)."""
    found = select(literal(1)).select_from(PaymentSchedule).where(PaymentSchedule.status.in_(("running", "late")))
    if entry_id is not None:
        found = found.join(ScheduleEntry, ScheduleEntry.schedule_id == PaymentSchedule.id) \
            .where(ScheduleEntry.entry_id == entry_id)
    else:
        found = found.where(PaymentSchedule.customer_id == customer_id)
    return exists(found)


def what_customers_said(disputed: bool, promise: str, scheduled: bool, today: date) -> list:
    """The entry filters of what customers said: disputed, a promise open or broken lately, under a
    payment schedule (Due dates, and Collection)."""
    conditions = []
    if disputed:
        conditions.append(Entry.disputed.is_(True))
    if promise == "open":
        conditions.append(Entry.promised_until >= today)
    elif promise:
        conditions.append(_promise_condition(promise, today, entry_id=Entry.id))
    if scheduled:
        conditions.append(_schedule_condition(entry_id=Entry.id))
    return conditions


# --- Who owes you what? ------------------------------------------------------------------

BALANCE_SORTS = {
    "customer": Customer.name,
    "account": Customer.account,
    **{key: getattr(CustomerSummary, column) for key, column in BUCKET_COLUMNS.items()},
    "total": CustomerSummary.total_cents,
    "level": CustomerSummary.highest_level,
    "last_reminder": CustomerSummary.last_reminder_on,
}
BALANCE_DEFAULT_SORT = ("total", "desc")


def _balance_conditions(filters: Filters) -> list:
    conditions = []
    if filters.level:
        conditions.append(CustomerSummary.highest_level >= filters.level)
    if filters.bucket:
        conditions.append(getattr(CustomerSummary, BUCKET_COLUMNS[filters.bucket]) != 0)
    if filters.in_collection:
        conditions.append(CustomerSummary.in_collection_count > 0)
    if filters.stopped:
        conditions.append(CustomerSummary.reminders_stopped.is_(True))
    if filters.disputed:
        conditions.append(CustomerSummary.disputed_count > 0)
    if filters.promise:
        conditions.append(_promise_condition(filters.promise, clock.today(), customer_id=CustomerSummary.customer_id))
    if filters.scheduled:
        conditions.append(_schedule_condition(customer_id=CustomerSummary.customer_id))
    if filters.q:
        pattern = f"%{like_escape(filters.q)}%"
        conditions.append(or_(Customer.name.ilike(pattern, escape="\\"), Customer.account.ilike(pattern, escape="\\")))
    return conditions


def _balance_order(filters: Filters) -> list:
    sort_key = filters.sort or BALANCE_DEFAULT_SORT[0]
    direction = filters.direction or (BALANCE_DEFAULT_SORT[1] if not filters.sort else "asc")
    column = BALANCE_SORTS[sort_key]
    # The tie-breakers are the summary's key, the tail of every sort index, in the same direction
    # so the index is read straight (backwards for descending) instead of sorted.
    if direction == "desc":
        return [column.desc(), CustomerSummary.customer_id.desc(), CustomerSummary.currency.desc()]
    return [column.asc(), CustomerSummary.customer_id.asc(), CustomerSummary.currency.asc()]


def _needs_customer(filters: Filters) -> bool:
    return bool(filters.q) or (filters.sort in ("customer", "account"))


def _balances_select(filters: Filters):
    return (
        select(CustomerSummary, Customer)
        .join(Customer, Customer.id == CustomerSummary.customer_id)
        .where(*_balance_conditions(filters))
        .order_by(*_balance_order(filters))
    )


def balance_keys(session: Session, filters: Filters, cap: int) -> tuple[list[str], int]:
    """The rows of the filtered view as customer:currency keys (a monitoring point's)."""
    return keys_and_count(session, select(CustomerSummary.customer_id, CustomerSummary.currency)
                          .join(Customer, Customer.id == CustomerSummary.customer_id)
                          .where(*_balance_conditions(filters)), cap)


def due_entry_keys(session: Session, filters: Filters, cap: int) -> tuple[list[str], int]:
    """The entries of the filtered Due dates view as ids (a monitoring point's)."""
    return keys_and_count(session, select(Entry.id).join(Customer, Customer.id == Entry.customer_id)
                          .where(*_due_conditions(filters, clock.today())), cap)


def all_balances(session: Session, filters: Filters):
    """Every row of the filtered view, streamed (for the Excel export)."""
    return session.execute(_balances_select(filters).execution_options(yield_per=1000))


# The columns one row of the table shows, read as plain rows (no ORM objects to build).
BALANCE_ROW_COLUMNS = (
    Customer.account, Customer.name, CustomerSummary.currency,
    *(getattr(CustomerSummary, column) for column in BUCKET_COLUMNS.values()),
    CustomerSummary.total_cents, CustomerSummary.highest_level, CustomerSummary.last_reminder_on,
    CustomerSummary.in_collection_count, CustomerSummary.reminders_stopped, CustomerSummary.disputed_count,
    Customer.follow_up_plan_id.is_not(None),
)

class BalanceRow(NamedTuple):
    """One line of Who owes you what?, read as plain values (no ORM objects to build)."""

    account: str
    name: str
    currency: str
    buckets: tuple[int, ...]  # in the order of domain.ledger.BUCKETS
    total_cents: int
    highest_level: int
    last_reminder_on: date | None
    in_collection_count: int
    reminders_stopped: bool
    disputed_count: int
    on_follow_up: bool  # the customer has a follow-up plan (⚡)
    promised: bool = False  # an open promise to pay (🤝)
    scheduled: bool = False  # a payment schedule running or late (📅)

    @classmethod
    def from_row(cls, row) -> "BalanceRow":
        account, name, currency, *rest = row
        buckets, rest = tuple(rest[:len(BUCKET_COLUMNS)]), rest[len(BUCKET_COLUMNS):]
        return cls(account, name, currency, buckets, *rest)


# What the list views read is derived from entries and customers, and every committed change to
# those draws a new summaries stamp in the same transaction (domain.ledger). So a view computed
# once is cached in this process under (stamp, today, view) and is stale exactly when the stamp
# moves: repeated views cost one indexed read instead of their queries.
_view_cache: dict[tuple, object] = {}
_VIEW_CACHE_SIZE = 512


def _cached(session: Session, key: tuple, compute):
    stamp = summaries_stamp(session)
    if stamp is None:  # unknown (a database without its stamp row yet): never cache
        return compute()
    full_key = (stamp, clock.today(), *key)
    if full_key in _view_cache:
        return _view_cache[full_key]
    value = compute()
    if len(_view_cache) >= _VIEW_CACHE_SIZE:
        _view_cache.clear()
    _view_cache[full_key] = value
    return value


def _balance_totals(session: Session, filters: Filters) -> list[dict]:
    """Totals per currency of the filtered set; without a filter, the totals kept with the summaries."""
    conditions = _balance_conditions(filters)
    if not conditions:
        return [{"currency": currency, "count": n, "buckets": dict(zip(BUCKET_COLUMNS, amounts[:-2])),
                 "disputed": amounts[-2], "total": amounts[-1]}
                for currency, n, *amounts in unfiltered_totals(session)]
    stmt = select(
        CustomerSummary.currency,
        func.count(),
        *(func.sum(getattr(CustomerSummary, c)) for c in BUCKET_COLUMNS.values()),
        func.sum(CustomerSummary.disputed_cents),
        func.sum(CustomerSummary.total_cents),
    )
    if filters.q:
        stmt = stmt.join(Customer, Customer.id == CustomerSummary.customer_id)
    stmt = (stmt.where(*conditions).group_by(CustomerSummary.currency)
            .order_by(func.sum(CustomerSummary.total_cents).desc()))
    return [
        {"currency": currency, "count": n, "buckets": dict(zip(BUCKET_COLUMNS, amounts[:-2])), "disputed": amounts[-2],
         "total": amounts[-1]}
        for currency, n, *amounts in session.execute(stmt)
    ]


def balances(session: Session, filters: Filters) -> Page:
    """One row per customer (and currency) with a balance, plus totals of the filtered set."""
    return _cached(session, ("balances", filters), lambda: _balances(session, filters))


def _balances(session: Session, filters: Filters) -> Page:
    order = _balance_order(filters)
    # The page's keys first, straight from a sort index; then only those 50 rows are joined.
    keys = select(CustomerSummary.customer_id, CustomerSummary.currency)
    if _needs_customer(filters):
        keys = keys.join(Customer, Customer.id == CustomerSummary.customer_id)
    keys = (keys.where(*_balance_conditions(filters)).order_by(*order)
            .limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE).subquery())
    # 🤝 and 📅 for the page's rows only: two EXISTS on indexed customer ids, 50 times.
    said = (_promise_condition("open", clock.today(), customer_id=Customer.id),
            _schedule_condition(customer_id=Customer.id))
    rows = [BalanceRow.from_row(row) for row in session.execute(
        select(*BALANCE_ROW_COLUMNS, *said)
        .join_from(keys, CustomerSummary, and_(CustomerSummary.customer_id == keys.c.customer_id,
                                               CustomerSummary.currency == keys.c.currency))
        .join(Customer, Customer.id == CustomerSummary.customer_id)
        .order_by(*order)
    )]
    totals = _balance_totals(session, filters)
    return Page(rows=rows, page=filters.page, total=sum(t["count"] for t in totals), totals=totals)


# --- Due dates ----------------------------------------------------------------------------

DUE_SORTS = {
    "due_date": Entry.due_date,
    "number": Entry.number,
    "open": Entry.open_cents,
}


def _due_conditions(filters: Filters, today: date) -> list:
    conditions = [Entry.is_open.is_(True)]
    if filters.due_from:
        conditions.append(Entry.due_date >= filters.due_from)
    if filters.due_to:
        conditions.append(Entry.due_date <= filters.due_to)
    if filters.bucket:
        low, high = bucket_due_range(filters.bucket, today)
        if low:
            conditions.append(Entry.due_date >= low)
        if high:
            conditions.append(Entry.due_date <= high)
    if filters.level:
        conditions.append(Entry.reminder_level >= filters.level)
    if filters.in_collection:
        conditions.append(Entry.in_collection.is_(True))
    conditions += what_customers_said(filters.disputed, filters.promise, filters.scheduled, today)
    if filters.stopped:
        conditions.append(or_(
            and_(Entry.reminders_stopped.is_(True), or_(Entry.stop_until.is_(None), Entry.stop_until >= today)),
            and_(Customer.reminders_stopped.is_(True), or_(Customer.stop_until.is_(None), Customer.stop_until >= today)),
        ))
    if filters.q:
        pattern = f"%{like_escape(filters.q)}%"
        conditions.append(or_(
            Customer.name.ilike(pattern, escape="\\"),
            Customer.account == filters.q,
            prefix_range(Entry.number, filters.q),
            prefix_range(Entry.number, filters.q.upper()),
        ))
    return conditions


class DueEntryRow(NamedTuple):
    """One line of the due-dates view, read as plain values. Amounts carry their sign: a credit
    note reduces the balance."""

    id: int
    number: str
    is_credit_note: bool
    issue_date: date
    due_date: date
    days_overdue: int
    amount_cents: int
    balance_cents: int
    currency: str
    reminder_level: int
    last_reminder_on: date | None
    in_collection: bool
    reminders_stopped: bool  # on the entry or on its customer, today
    disputed: bool
    on_follow_up: bool  # under the customer's follow-up plan (⚡)
    account: str
    customer_name: str
    promised_until: date | None = None  # under a promise to pay: reminders wait until then (🤝)
    scheduled: bool = False  # under a payment schedule on time: reminded by its instalments (📅)


def _stopped_on(flag, until, today: date):
    return and_(flag.is_(True), or_(until.is_(None), until >= today))


def due_entries(session: Session, filters: Filters) -> Page:
    """Open entries by due date, overdue first (the oldest due date leads)."""
    return _cached(session, ("due", filters), lambda: _due_entries(session, filters))


def _due_entries(session: Session, filters: Filters) -> Page:
    today = clock.today()
    conditions = _due_conditions(filters, today)
    column = DUE_SORTS[filters.sort or "due_date"]
    order = column.desc() if filters.direction == "desc" else column.asc()
    stopped = or_(_stopped_on(Entry.reminders_stopped, Entry.stop_until, today),
                  _stopped_on(Customer.reminders_stopped, Customer.stop_until, today))
    result = session.execute(
        select(Entry.id, Entry.number, Entry.kind, Entry.issue_date, Entry.due_date, Entry.amount_cents,
               Entry.open_cents, Entry.currency, Entry.reminder_level, Entry.last_reminder_on, Entry.in_collection,
               stopped, Entry.disputed,
               and_(Customer.follow_up_plan_id.is_not(None), Entry.follow_up_enabled.is_not(False)),
               Customer.account, Customer.name, Entry.promised_until, Entry.scheduled)
        .join(Customer, Customer.id == Entry.customer_id)
        .where(*conditions)
        .order_by(order, Entry.id)
        .limit(PAGE_SIZE)
        .offset((filters.page - 1) * PAGE_SIZE)
    )
    rows = []
    for (entry_id, number, kind, issued, due, amount, open_cents, currency, level, last_reminder, in_collection,
         is_stopped, disputed, on_follow_up, account, name, promised_until, scheduled) in result:
        sign = -1 if kind == CREDIT_NOTE else 1
        rows.append(DueEntryRow(entry_id, number, kind == CREDIT_NOTE, issued, due,
                                0 if kind == CREDIT_NOTE else max(0, (today - due).days),  # a credit note is never late
                                sign * amount, sign * open_cents, currency, level, last_reminder, in_collection,
                                bool(is_stopped), disputed, bool(on_follow_up), account, name,
                                promised_until if promised_until and promised_until >= today else None,
                                bool(scheduled)))
    counted = select(Entry.id)
    if filters.q or filters.stopped:  # only these filters read the customer
        counted = counted.join(Customer, Customer.id == Entry.customer_id)
    capped = counted.where(*conditions).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped))
    return Page(rows=rows, page=filters.page, total=total, cap=COUNT_CAP)


# --- Search -------------------------------------------------------------------------------

class CustomerMatch(NamedTuple):
    id: int
    account: str
    name: str
    registration_number: str | None


class EntryMatch(NamedTuple):
    id: int
    number: str
    balance_cents: int  # negative for a credit note
    currency: str


@dataclass
class SearchResult:
    customers: list[CustomerMatch]
    entries: list[tuple[EntryMatch, CustomerMatch]]

    @property
    def single_customer(self) -> CustomerMatch | None:
        """The customer to go straight to when every match points at one account."""
        accounts = {c.id: c for c in self.customers} | {c.id: c for _, c in self.entries}
        return next(iter(accounts.values())) if len(accounts) == 1 else None


_CUSTOMER_MATCH = (Customer.id, Customer.account, Customer.name, Customer.registration_number)


def search(session: Session, text: str, limit: int = 50) -> SearchResult:
    """Customers by name, account or registration number; entries by invoice number."""
    text = text.strip()
    if not text:
        return SearchResult([], [])
    return _cached(session, ("search", text, limit), lambda: _search(session, text, limit))


def _search(session: Session, text: str, limit: int) -> SearchResult:
    pattern = f"%{like_escape(text)}%"
    compact = text.replace(" ", "")
    # One query per way a customer matches: an OR across them would defeat every index. Names
    # are matched on the name index alone, SQLite's LIKE being case-insensitive already;
    # lower() on both sides would cost a call per customer.
    if session.get_bind().dialect.name == "sqlite":
        name_matches = Customer.name.like(pattern, escape="\\")
    else:
        name_matches = Customer.name.ilike(pattern, escape="\\")
    by_name = select(*_CUSTOMER_MATCH).where(name_matches).order_by(Customer.name).limit(limit)
    by_code = select(*_CUSTOMER_MATCH).where(or_(Customer.account.in_({text, text.upper()}),
                                                 prefix_range(Customer.registration_number, compact))).limit(limit)
    found = {row.id: CustomerMatch(*row) for query in (by_code, by_name) for row in session.execute(query)}
    customers = sorted(found.values(), key=lambda c: c.name)[:limit]
    signed = case((Entry.kind == CREDIT_NOTE, -Entry.open_cents), else_=Entry.open_cents)
    entries = [
        (EntryMatch(entry_id, number, balance, currency), CustomerMatch(*customer))
        for entry_id, number, balance, currency, *customer in session.execute(
            select(Entry.id, Entry.number, signed, Entry.currency, *_CUSTOMER_MATCH)
            .join(Customer, Customer.id == Entry.customer_id)
            .where(or_(prefix_range(Entry.number, text), prefix_range(Entry.number, text.upper())))
            .order_by(Entry.number)
            .limit(limit)
        )
    ]
    return SearchResult(customers, entries)


# --- Account status -----------------------------------------------------------------------

ACCOUNT_ENTRY_LIMIT = 500


@dataclass
class AccountStatus:
    customer: Customer
    summaries: list[CustomerSummary]
    contacts: list[Contact]
    open_entries: list[Entry]
    open_entry_count: int


def find_customer(session: Session, account: str) -> Customer | None:
    return session.scalar(_account_statements().customer, {"account": account})


def account_status(session: Session, customer: Customer) -> AccountStatus:
    statements = _account_statements()
    summaries = list(session.scalars(statements.summaries, {"customer_id": customer.id}))
    entries = list(session.scalars(statements.open_entries, {"customer_id": customer.id}).unique())
    contacts = list(session.scalars(statements.contacts, {"customer_id": customer.id}))
    count = sum(s.open_entries for s in summaries)
    return AccountStatus(customer, summaries, contacts, entries, count)


class _AccountStatements(NamedTuple):
    customer: Select
    summaries: Select
    contacts: Select
    open_entries: Select


@cache
def _account_statements() -> _AccountStatements:
    """The account status's queries, built once with bound parameters: it is the page opened most,
    and building a statement with its loader options costs more than SQLite takes to run it."""
    customer_id = bindparam("customer_id")
    return _AccountStatements(
        customer=select(Customer).where(Customer.account == bindparam("account")),
        summaries=select(CustomerSummary).where(CustomerSummary.customer_id == customer_id)
        .order_by(CustomerSummary.currency),
        contacts=select(Contact).where(Contact.customer_id == customer_id).order_by(Contact.id),
        open_entries=select(Entry)
        .where(Entry.customer_id == customer_id, Entry.is_open.is_(True))
        .options(joinedload(Entry.attachments), joinedload(Entry.collection_marked_by), joinedload(Entry.stopped_by))
        .order_by(Entry.due_date, Entry.id)
        .limit(ACCOUNT_ENTRY_LIMIT),
    )


PAID_LIMIT = 100  # the paid entries an account status lists, the latest first


def paid_entries(session: Session, customer: Customer, limit: int = PAID_LIMIT) -> tuple[list[Entry], int]:
    """The customer's settled entries (nothing left open), the latest due first, each with its
    payments (reversed ones too, struck through on screen); and how many there are in all."""
    where = (Entry.customer_id == customer.id, Entry.is_open.is_(False))
    count = session.scalar(select(func.count()).select_from(Entry).where(*where)) or 0
    entries = list(session.scalars(
        select(Entry).where(*where).options(selectinload(Entry.payments).joinedload(Payment.receipt))
        .order_by(Entry.due_date.desc(), Entry.id.desc()).limit(limit)))
    return entries, count
