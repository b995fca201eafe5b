"""From reminder to debt collection: the invoices whose formal notice expired unpaid, by rule.

    report = run(session, today)          # daily: list, transfer, close — the caller queues report.exports
    pause(session, user, claims, reason, until) · resume · close(session, user, claims, reason, note)
    approve(session, user, claims)        # option 30: transferred at once

When a formal notice reached the customer (its e-mail went, or its letter was recorded as sent by
registered letter), its deadline has passed and an invoice of it is still open, nothing holds it
(stopped, disputed, under a promise or a schedule, already in collection), it is the invoice's
latest notice and the invoice has no claim from it yet, it becomes a claim, by the transfer option of its customer (else the company's):
10 — transferred at once, never listed; 20 — under the Automatic transfer tab, transferred after
N working days (weekends and public holidays of the company's calendar) unless paused or closed;
30 — under the Manual transfer tab until a user approves it. A listed claim whose invoice is held
meanwhile stays listed but is not transferred while the hold lasts. A claim paused or listed longer
than the company's claim_auto_close_days is closed automatically (history event, the bell of the
user who issued the notice, or of the admins for a plan's notice); a pause cannot outlast that. A
paid invoice closes its claim; a cancelled notice, its claims.

"Transferred" puts the invoices of one customer into their collection case (the open one not yet
sent to an agency, else a new one) with ⚖️ and reminders stopped, and asks for the collection file
(an export the worker builds, its owner the approver, or the notice's author for an automatic
transfer); the interest and indemnity claimed go with it (the file's entries sheet).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Iterable, NamedTuple

from sqlalchemy import Date, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from domain import audit, clock, i18n, notifications
from domain import settings as settings_rules
from domain import working_days
from domain.collection import files as collection_files
from domain.collection import marks
from domain.i18n import Said, _
from domain.i18n import lazy_gettext as _l
from domain.i18n import lazy_pgettext, ngettext, nsay, say
from domain.listing import PAGE_SIZE, Page, keys_and_count, whole_number
from domain.models import (CLOSE_REASONS, TRANSFER_OPTIONS, ClaimedCharge, CollectionCase, CompanySettings, Customer,
                           DebtCollectionClaim, Entry, FormalNotice, FormalNoticeEntry, OutboxMessage, User)
from domain.reminders.holds import holds

TABS = {"automatic": _l("Automatic transfer to debt collection"), "manual": _l("Manual transfer to debt collection")}
REASON = say("Transferred to debt collection")


class ClaimError(ValueError):
    """Why an action on claims was refused; nothing was changed."""


class Calendar(NamedTuple):
    option: int
    working_days: int
    auto_close_days: int
    country: str
    region: str | None

    def transfer_day(self, listed_on: date) -> date:
        return working_days.add_working_days(listed_on, self.working_days, self.country, self.region)


def calendar(session: Session) -> Calendar:
    company = settings_rules.company(session)
    if company is None:
        return Calendar(30, 3, 60, "FR", None)
    return Calendar(company.transfer_option or 30, company.transfer_working_days or 3,
                    company.claim_auto_close_days or 60, company.holiday_country or "FR", company.holiday_region)


def option_of(customer: Customer, rules: Calendar) -> int:
    return customer.transfer_option or rules.option


def save_settings(session: Session, actor: User, *, option: str, working_days_text: str, auto_close: str,
                  country: str, region: str) -> CompanySettings:
    """Settings → Debt collection: checked together, saved together."""
    errors = {}
    chosen = whole_number(option)
    chosen = chosen if chosen in TRANSFER_OPTIONS else None
    if chosen is None:
        errors["transfer_option"] = _("Choose transfer option 10, 20 or 30.")
    text = (working_days_text or "").strip()
    if not 1 <= (whole_number(text) or 0) <= 30:
        errors["transfer_working_days"] = _("Working days before an automatic transfer: a number from 1 to 30.")
    close = (auto_close or "").strip()
    if not 7 <= (whole_number(close) or 0) <= 365:
        errors["claim_auto_close_days"] = _("Closed automatically after: a number of days from 7 to 365.")
    try:
        country, region = working_days.check(country, region)
    except working_days.CalendarError as problem:
        errors["holiday_country"] = str(problem)
    if errors:
        raise settings_rules.SettingsError(errors)
    company = settings_rules.company(session)
    if company is None:
        raise settings_rules.SettingsError({"transfer_option": _("Fill in the company first (Settings → Company).")})
    before = calendar(session)
    company.transfer_option, company.transfer_working_days = chosen, int(text)
    company.claim_auto_close_days, company.holiday_country, company.holiday_region = int(close), country, region
    after = calendar(session)
    if before != after:
        what = {"option": TRANSFER_OPTIONS[chosen], "days": int(text), "country": country, "close": int(close)}
        audit.record(session, actor, "settings.debt_collection",
                     say("Debt collection: %(option)s; automatic transfer after %(days)s working days "
                         "(%(country)s %(region)s); closed automatically after %(close)s days.", **what, region=region)
                     if region else say("Debt collection: %(option)s; automatic transfer after %(days)s working days "
                                        "(%(country)s); closed automatically after %(close)s days.", **what))
    return company


# --- What holds a claim ---------------------------------------------------------------------------

def hold_of(session: Session, entry: Entry, today: date) -> str | None:
    """Why this invoice may not go to debt collection now (its first hold), or None."""
    if entry.scheduled:
        return _("%(number)s is under a payment schedule.", number=entry.number)
    found = holds(session, entry.customer, [entry], today, kind="formal_notice")
    return found[0].text if found else None


# --- The daily run -----------------------------------------------------------------------------------

@dataclass
class Report:
    listed: list[int] = field(default_factory=list)        # claim ids
    transferred: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    exports: list[int] = field(default_factory=list)       # collection files to build


def run(session: Session, today: date | None = None) -> Report:
    today = today or clock.today()
    rules = calendar(session)
    report = Report()
    _close_paid(session, report)
    _resume_due(session, today)
    _auto_close(session, today, rules, report)
    _list_expired_notices(session, today, rules, report)
    due = list(session.scalars(
        select(DebtCollectionClaim).where(DebtCollectionClaim.status == "listed", DebtCollectionClaim.tab == "automatic",
                                          DebtCollectionClaim.transfer_on <= today)
        .options(joinedload(DebtCollectionClaim.entry))))
    ready = [claim for claim in due if hold_of(session, claim.entry, today) is None]
    report.exports += transfer(session, None, ready, today)
    report.transferred += [claim.id for claim in ready]
    return report


def _close_paid(session: Session, report: Report) -> None:
    for claim in session.scalars(
            select(DebtCollectionClaim).join(Entry, Entry.id == DebtCollectionClaim.entry_id)
            .where(DebtCollectionClaim.status.in_(("listed", "paused")), Entry.is_open.is_(False))):
        _closed(session, None, claim, "paid", say("The invoice is paid."))
        report.closed.append(claim.id)


def _resume_due(session: Session, today: date) -> None:
    for claim in session.scalars(select(DebtCollectionClaim).where(
            DebtCollectionClaim.status == "paused", DebtCollectionClaim.paused_until.is_not(None),
            DebtCollectionClaim.paused_until < today)):
        claim.status, claim.since_on = "listed", today
        if claim.tab == "automatic" and (claim.transfer_on is None or claim.transfer_on < today):
            claim.transfer_on = today
        audit.record(session, None, "debt_collection.resumed",
                     say("%(number)s: the pause ended (%(day)s), back in the list.", number=claim.entry.number,
                         day=claim.paused_until), entry=claim.entry)


def _auto_close(session: Session, today: date, rules: Calendar, report: Report) -> None:
    limit = today - timedelta(days=rules.auto_close_days)
    for claim in session.scalars(select(DebtCollectionClaim).where(
            DebtCollectionClaim.status.in_(("listed", "paused")), DebtCollectionClaim.since_on < limit)):
        days, paused = rules.auto_close_days, claim.status == "paused"
        _closed(session, None, claim, "expired",
                nsay("Paused for more than %(num)s day.", "Paused for more than %(num)s days.", days) if paused
                else nsay("In the debt collection list for more than %(num)s day.",
                          "In the debt collection list for more than %(num)s days.", days))
        report.closed.append(claim.id)
        # Told to whoever issued its notice; a notice of a follow-up plan has nobody: the admins then.
        owners = [claim.notice.created_by_id] if claim.notice.created_by_id else list(session.scalars(
            select(User.id).where(User.role == "admin", User.active.is_(True))))
        who = {"customer": claim.customer.name, "number": claim.entry.number}
        told = (nsay("%(customer)s: %(number)s was paused for more than %(num)s day and was closed automatically.",
                     "%(customer)s: %(number)s was paused for more than %(num)s days and was closed automatically.",
                     days, **who) if paused
                else nsay("%(customer)s: %(number)s was in the debt collection list for more than %(num)s day and was "
                          "closed automatically.", "%(customer)s: %(number)s was in the debt collection list for more "
                          "than %(num)s days and was closed automatically.", days, **who))
        for owner in owners:
            notifications.notify(session, owner, told)


def _list_expired_notices(session: Session, today: date, rules: Calendar, report: Report) -> None:
    """Every open invoice of an expired notice without a claim from it, nothing holding it."""
    has_claim = select(DebtCollectionClaim.id).where(DebtCollectionClaim.entry_id == FormalNoticeEntry.entry_id,
                                                     DebtCollectionClaim.notice_id == FormalNoticeEntry.notice_id)
    # An invoice with a claim still running (from an earlier notice) is not listed twice.
    running = select(DebtCollectionClaim.id).where(DebtCollectionClaim.entry_id == FormalNoticeEntry.entry_id,
                                                   DebtCollectionClaim.status.in_(("listed", "paused")))
    # Only the latest notice of an invoice counts (a newer one gave a new deadline).
    later = aliased(FormalNoticeEntry)
    newer = (select(later.notice_id).join(FormalNotice, FormalNotice.id == later.notice_id)
             .where(later.entry_id == FormalNoticeEntry.entry_id, later.notice_id > FormalNoticeEntry.notice_id,
                    FormalNotice.cancelled_at.is_(None)))
    # A notice starts nothing until it reached the customer: its e-mail went, or its letter was
    # recorded as sent by registered letter.
    reached = or_(FormalNotice.registered_tracking.is_not(None),
                  FormalNotice.outbox_message_id.in_(select(OutboxMessage.id).where(OutboxMessage.status == "sent")))
    rows = session.execute(
        select(FormalNoticeEntry.entry_id, FormalNotice.id).join(FormalNotice)
        .join(Entry, Entry.id == FormalNoticeEntry.entry_id)
        .where(FormalNotice.cancelled_at.is_(None), FormalNotice.deadline < today, Entry.is_open.is_(True), reached,
               ~has_claim.exists(), ~running.exists(), ~newer.exists())
        .order_by(FormalNotice.id, FormalNoticeEntry.entry_id)).all()
    immediate = []
    for entry_id, notice_id in rows:
        entry = session.get(Entry, entry_id)
        if hold_of(session, entry, today) is not None or entry.in_collection:
            continue  # listed once the hold is lifted (the rule runs every day)
        option = option_of(entry.customer, rules)
        claim = DebtCollectionClaim(entry_id=entry.id, entry=entry, customer_id=entry.customer_id,
                                    customer=entry.customer, notice_id=notice_id, option=option,
                                    tab="manual" if option == 30 else "automatic", status="listed", listed_on=today,
                                    since_on=today,
                                    transfer_on=rules.transfer_day(today) if option == 20 else None)
        session.add(claim)
        session.flush()
        report.listed.append(claim.id)
        notice = session.get(FormalNotice, notice_id)
        what = {"number": entry.number, "notice": notice_id, "deadline": notice.deadline,
                "option": TRANSFER_OPTIONS[option]}
        audit.record(session, None, "debt_collection.listed",
                     say("%(number)s: formal notice #%(notice)s expired unpaid on %(deadline)s: ready for debt "
                         "collection (%(option)s, transfer on %(day)s).", **what, day=claim.transfer_on)
                     if claim.transfer_on else
                     say("%(number)s: formal notice #%(notice)s expired unpaid on %(deadline)s: ready for debt "
                         "collection (%(option)s).", **what), entry=entry)
        if option == 10:
            immediate.append(claim)
    if immediate:
        report.exports += transfer(session, None, immediate, today)
        report.transferred += [claim.id for claim in immediate]


# --- Transfer ---------------------------------------------------------------------------------------

def transfer(session: Session, actor: User | None, claims: list[DebtCollectionClaim], today: date) -> list[int]:
    """Put the claims' invoices into their customer's collection case and ask for its file; the ids
    of the exports the caller queues once committed."""
    by_customer: dict[int, list[DebtCollectionClaim]] = {}
    for claim in claims:
        by_customer.setdefault(claim.customer_id, []).append(claim)
    exports = []
    for customer_id, group in by_customer.items():
        customer = group[0].customer
        owner = actor or group[0].notice.created_by
        if owner is None:
            owner = session.scalar(select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id))
        case = session.scalar(select(CollectionCase).where(
            CollectionCase.customer_id == customer_id, CollectionCase.status == "open",
            CollectionCase.sent_at.is_(None)).order_by(CollectionCase.id.desc()))
        entries = [claim.entry for claim in group]
        option = group[0].option
        if case is None:
            reason = (say("Transferred to debt collection (approved)") if actor
                      else say("Transferred to debt collection (automatic, %(option)s)", option=option))
            started = collection_files.start_collection_file(
                session, actor, customer, [e.id for e in entries], owner=owner, reason=reason)
            case = started.case
            exports.append(started.export.id)
        else:
            # Added to the case not yet sent: its file is made again with every one of its entries.
            for entry in entries:
                marks.mark_in_collection(session, entry, actor, REASON)
                entry.collection_case_id = case.id
                if not entry.reminders_stopped_on(today):
                    marks.set_reminders_stopped(session, entry, actor, True, REASON)
            session.flush()
            case_entries = [e.id for e in session.scalars(select(Entry).where(
                Entry.collection_case_id == case.id, Entry.is_open.is_(True)))]
            reason = (say("Transferred to debt collection (approved), added to case #%(case)s", case=case.id)
                      if actor else say("Transferred to debt collection (automatic, %(option)s), added to case "
                                        "#%(case)s", option=option, case=case.id))
            started = collection_files.start_collection_file(
                session, actor, customer, case_entries, owner=owner, mark_in_collection=False,
                stop_reminders=False, reason=reason)
            case.export_id = started.export.id
            exports.append(started.export.id)
        for claim in group:
            claim.status, claim.transferred_at, claim.case_id = "transferred", clock.now(), case.id
            audit.record(session, actor, "debt_collection.transferred",
                         say("%(number)s: transferred to debt collection (approved), case #%(case)s.",
                             number=claim.entry.number, case=case.id) if actor
                         else say("%(number)s: transferred to debt collection (automatic, %(option)s), case #%(case)s.",
                                  number=claim.entry.number, option=option, case=case.id), entry=claim.entry)
    return exports


# --- Actions on claims -----------------------------------------------------------------------------

def claims_by_ids(session: Session, ids: Iterable[int]) -> list[DebtCollectionClaim]:
    wanted = sorted({number for i in ids if (number := whole_number(i)) is not None})
    if not wanted:
        raise ClaimError(_("Tick at least one claim."))
    found = list(session.scalars(select(DebtCollectionClaim).where(DebtCollectionClaim.id.in_(wanted))
                                 .options(joinedload(DebtCollectionClaim.entry))))
    if len(found) != len(wanted):
        raise ClaimError(_("Some ticked claims no longer exist: reload the page."))
    return found


def _require(claims: list[DebtCollectionClaim], statuses: tuple[str, ...], action: str) -> None:
    """Refuse the action (pause, resume, close, approve) unless every claim is in one of `statuses`."""
    wrong = [c.entry.number for c in claims if c.status not in statuses]
    if not wrong:
        return
    numbers, count = ", ".join(wrong), len(wrong)
    if action == "pause":
        problem = ngettext("Cannot pause %(numbers)s: it is not listed.", "Cannot pause %(numbers)s: they are not listed.",
                           count, numbers=numbers)
    elif action == "resume":
        problem = ngettext("Cannot resume %(numbers)s: it is not paused.",
                           "Cannot resume %(numbers)s: they are not paused.", count, numbers=numbers)
    elif action == "close":
        problem = ngettext("Cannot close %(numbers)s: it is not listed or paused.",
                           "Cannot close %(numbers)s: they are not listed or paused.", count, numbers=numbers)
    else:
        problem = ngettext("Cannot approve %(numbers)s: it is not listed.",
                           "Cannot approve %(numbers)s: they are not listed.", count, numbers=numbers)
    raise ClaimError(problem)


def pause(session: Session, actor: User, claims: list[DebtCollectionClaim], reason: str, until: date | None,
          today: date | None = None) -> None:
    today = today or clock.today()
    reason = " ".join((reason or "").split())
    if not reason:
        raise ClaimError(_("Say why the claims are paused."))
    if until is not None and until <= today:
        raise ClaimError(_("A pause ends after today."))
    limit = calendar(session).auto_close_days
    if until is not None and until > today + timedelta(days=limit):
        raise ClaimError(_("A claim paused for more than %(days)s days is closed automatically: pause until %(day)s "
                           "at the latest, or close it.", days=limit,
                           day=i18n.day(today + timedelta(days=limit))))
    _require(claims, ("listed",), "pause")
    for claim in claims:
        claim.status, claim.since_on, claim.pause_reason, claim.paused_until = "paused", today, reason[:500], until
        claim.paused_by_id = actor.id
        audit.record(session, actor, "debt_collection.paused",
                     say("%(number)s: debt collection paused until %(day)s — %(reason)s.", number=claim.entry.number,
                         day=until, reason=reason) if until
                     else say("%(number)s: debt collection paused — %(reason)s.", number=claim.entry.number,
                              reason=reason), entry=claim.entry)


def resume(session: Session, actor: User, claims: list[DebtCollectionClaim], today: date | None = None) -> None:
    today = today or clock.today()
    rules = calendar(session)
    _require(claims, ("paused",), "resume")
    for claim in claims:
        claim.status, claim.since_on, claim.paused_until = "listed", today, None
        if claim.tab == "automatic":
            claim.transfer_on = rules.transfer_day(today)
        audit.record(session, actor, "debt_collection.resumed",
                     say("%(number)s: back in the debt collection list, transfer on %(day)s.",
                         number=claim.entry.number, day=claim.transfer_on) if claim.tab == "automatic"
                     else say("%(number)s: back in the debt collection list.", number=claim.entry.number),
                     entry=claim.entry)


def close(session: Session, actor: User, claims: list[DebtCollectionClaim], reason: str, note: str) -> None:
    if reason not in CLOSE_REASONS or reason == "expired":
        raise ClaimError(_("Choose why the claims are closed: paid, settled, written off or not worth pursuing."))
    _require(claims, ("listed", "paused"), "close")
    for claim in claims:
        _closed(session, actor, claim, reason, " ".join((note or "").split()))


def _closed(session: Session, actor: User | None, claim: DebtCollectionClaim, reason: str, note: str | Said) -> None:
    """`note`: the user's words, or Relance's Said (an automatic close), which history alone keeps: the
    list's note is a plain column, and the reason's label (paid, closed automatically) says it there."""
    claim.status, claim.closed_at, claim.close_reason = "closed", clock.now(), reason
    claim.close_note = (note[:500] or None) if isinstance(note, str) else None
    claim.closed_by_id = actor.id if actor else None
    audit.record(session, actor, "debt_collection.closed",
                 say("%(number)s: claim closed — %(reason)s: %(note)s", number=claim.entry.number,
                     reason=CLOSE_REASONS[reason], note=note) if note
                 else say("%(number)s: claim closed — %(reason)s.", number=claim.entry.number,
                          reason=CLOSE_REASONS[reason]), entry=claim.entry)


def approve(session: Session, actor: User, claims: list[DebtCollectionClaim], today: date | None = None) -> list[int]:
    """Approve for debt collection (the Manual transfer tab): transferred at once. Refused while an
    invoice is held. The export ids to queue."""
    today = today or clock.today()
    _require(claims, ("listed",), "approve")
    held = [text for claim in claims if (text := hold_of(session, claim.entry, today))]
    if held:
        raise ClaimError(_("Not approved: %(holds)s", holds=" ".join(held)))
    for claim in claims:
        claim.approved_at, claim.approved_by_id = clock.now(), actor.id
    return transfer(session, actor, claims, today)


# --- The list ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClaimFilters:
    tab: str = "manual"
    status: str = "active"        # active (listed or paused), listed, paused, transferred, closed
    min_cents: int | None = None
    q: str = ""
    page: int = 1

    def as_args(self) -> dict[str, str]:
        args = {"tab": self.tab, "status": self.status, "q": self.q,
                "min": str(self.min_cents // 100) if self.min_cents else ""}
        return {k: v for k, v in args.items() if v}


STATUS_FILTERS = {"active": _l("In the list or paused"), "listed": lazy_pgettext("claim status", "In the list"),
                  "paused": lazy_pgettext("claim status", "Paused"),
                  "transferred": lazy_pgettext("claim status", "Transferred"),
                  "closed": lazy_pgettext("claim status", "Closed")}


def parse_filters(args) -> ClaimFilters:
    tab = args.get("tab", "manual")
    status = args.get("status", "active")
    minimum = (args.get("min") or "").strip()
    page = (args.get("page") or "1").strip()
    return ClaimFilters(tab=tab if tab in TABS else "manual", status=status if status in STATUS_FILTERS else "active",
                        min_cents=(whole_number(minimum, 10**12) or 0) * 100 or None, q=(args.get("q") or "")[:100],
                        page=max(1, whole_number(page, 1_000_000) or 1))


def _where(filters: ClaimFilters) -> list:
    where = [DebtCollectionClaim.tab == filters.tab]
    if filters.status == "active":
        where.append(DebtCollectionClaim.status.in_(("listed", "paused")))
    else:
        where.append(DebtCollectionClaim.status == filters.status)
    if filters.min_cents:
        where.append(Entry.open_cents >= filters.min_cents)
    if filters.q.strip():
        like = f"%{filters.q.strip().lower()}%"
        where.append(or_(func.lower(Customer.name).like(like), func.lower(Entry.number).like(like),
                         func.lower(Customer.account).like(like)))
    return where


def claim_keys(session: Session, filters: ClaimFilters, cap: int) -> tuple[list[str], int]:
    """The claims of the filtered tab as ids (a monitoring point's)."""
    return keys_and_count(session, select(DebtCollectionClaim.id).join(Entry, Entry.id == DebtCollectionClaim.entry_id)
                          .join(Customer, Customer.id == DebtCollectionClaim.customer_id).where(*_where(filters)), cap)


class ClaimRow(NamedTuple):
    """One row of a debt-collection tab, read as plain columns (no ORM objects: the list is opened often)."""

    id: int
    status: str
    listed_on: date
    transfer_on: date | None
    paused_until: date | None
    pause_reason: str | None
    close_reason: str | None
    close_note: str | None
    case_id: int | None
    notice_id: int
    approved_at: datetime | None
    entry_id: int
    account: str
    customer_name: str
    number: str
    due_date: date
    open_cents: int
    currency: str
    is_open: bool
    notice_deadline: date
    approver_name: str | None
    approver_email: str | None
    hold: str | None  # what holds it now (a listed claim): shown, and the daily run does not transfer it
    claimed_cents: int | None  # the interest and indemnity formal notices claimed on it, unpaid

    @property
    def approver(self) -> str | None:
        return self.approver_name or self.approver_email


def _stopped(flag, until, today: date):
    return and_(flag.is_(True), or_(until.is_(None), until >= today))


# What _hold_column says (English, as SQL gives it), in the reader's words.
HOLD_WORDS = {"reminders are stopped for the customer": _l("reminders are stopped for the customer"),
              "reminders are stopped": _l("reminders are stopped"), "disputed": lazy_pgettext("a claim's hold", "disputed"),
              "under a promise to pay": _l("under a promise to pay"),
              "under a payment schedule": _l("under a payment schedule"),
              "in collection": lazy_pgettext("a claim's hold", "in collection")}


def _hold_column(today: date):
    """The first hold of domain.reminders.holds a formal notice respects, as one SQL expression: the
    list shows it (HOLD_WORDS); the transfer itself asks hold_of, the rule's own code."""
    return case(
        (_stopped(Customer.reminders_stopped, Customer.stop_until, today), "reminders are stopped for the customer"),
        (_stopped(Entry.reminders_stopped, Entry.stop_until, today), "reminders are stopped"),
        (Entry.disputed.is_(True), "disputed"),
        (Entry.promised_until >= today, "under a promise to pay"),
        (Entry.scheduled.is_(True), "under a payment schedule"),
        (Entry.in_collection.is_(True), "in collection"),
        else_=None)


@cache
def _claim_rows_select(single_status: bool):
    """A tab's rows, built once with bound parameters (tab, status, today, offset, limit): building a
    statement this size costs about what SQLite takes to run it."""
    c = DebtCollectionClaim
    today = bindparam("today", type_=Date)
    # Two equalities, not IN (…): an expanding IN is rendered again at every execution.
    status = c.status == bindparam("status") if single_status else or_(c.status == "listed", c.status == "paused")
    return (select(c.id, c.status, c.listed_on, c.transfer_on, c.paused_until, c.pause_reason, c.close_reason,
                   c.close_note, c.case_id, c.notice_id, c.approved_at, c.entry_id, Customer.account, Customer.name,
                   Entry.number, Entry.due_date, Entry.open_cents, Entry.currency, Entry.is_open, FormalNotice.deadline,
                   User.name, User.email, case((c.status == "listed", _hold_column(today)), else_=None),
                   select(func.sum(ClaimedCharge.amount_cents))
                   .where(ClaimedCharge.entry_id == c.entry_id, ClaimedCharge.status == "open").scalar_subquery())
            .join(Entry, Entry.id == c.entry_id).join(Customer, Customer.id == c.customer_id)
            .join(FormalNotice, FormalNotice.id == c.notice_id).outerjoin(User, User.id == c.approved_by_id)
            .where(c.tab == bindparam("tab"), status)
            .order_by(c.listed_on, c.id).offset(bindparam("offset")).limit(bindparam("limit")))


def claim_rows(session: Session, filters: ClaimFilters, counts: dict[str, int] | None = None) -> Page:
    """A page of a tab; `counts` (tab_counts, which the page shows anyway) spares the count of an
    unfiltered tab."""
    params = {"tab": filters.tab, "status": filters.status, "today": clock.today(),
              "offset": (filters.page - 1) * PAGE_SIZE, "limit": PAGE_SIZE}
    stmt = _claim_rows_select(filters.status != "active")
    extra = _where(filters)[2:] if filters.min_cents or filters.q.strip() else []  # the amount, the search
    if extra:
        stmt = stmt.where(*extra)
        total = session.scalar(select(func.count()).select_from(DebtCollectionClaim)
                               .join(Entry, Entry.id == DebtCollectionClaim.entry_id)
                               .join(Customer, Customer.id == DebtCollectionClaim.customer_id)
                               .where(*_where(filters))) or 0
    elif filters.status == "active":
        total = (counts or tab_counts(session))[filters.tab]
    else:
        total = session.scalar(select(func.count()).select_from(DebtCollectionClaim).where(*_where(filters))) or 0
    # Core, not the ORM's execute: plain rows, and a statement compiled once.
    rows = [ClaimRow(*row) for row in session.connection().execute(stmt, params)]
    rows = [row._replace(hold=str(HOLD_WORDS[row.hold])) if row.hold in HOLD_WORDS else row for row in rows]
    return Page(rows, filters.page, total)


@cache
def _tab_counts_select():
    status = DebtCollectionClaim.status
    return (select(DebtCollectionClaim.tab, func.count()).where(or_(status == "listed", status == "paused"))
            .group_by(DebtCollectionClaim.tab))


def tab_counts(session: Session) -> dict[str, int]:
    """The claims under each tab (in the list or paused), which the page's tabs show."""
    counts = dict(session.connection().execute(_tab_counts_select()).all())
    return {tab: counts.get(tab, 0) for tab in TABS}
