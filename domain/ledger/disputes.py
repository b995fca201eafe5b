"""Disputes: what a customer contests, on one or several of its entries, worked until resolved.

    dispute = open_dispute(session, actor, customer, [entry.id], "not_received", note="Never got it")
    add_note(session, actor, dispute, "Proof of delivery sent", file=("pod.pdf", data), directory=…)
    resolve(session, actor, dispute, "not_justified")

While a dispute is unresolved its entries carry `Entry.disputed`, which every send already honours
(manual, bulk, follow-up plans and the outbox at send time, through domain.reminders.holds): the
reminders stop at once. The amounts stay in every balance and aging bucket; the summaries count
them apart (`disputed_cents`) for the "disputed" sub-totals. Resolving releases the entries no other
unresolved dispute holds, and their follow-up plan continues from the level they had reached.

A justified dispute with a credit note to come stays "waiting for us" until the credit note is
recorded: it is applied to the disputed invoices, then the dispute is resolved. Every step is on
the dispute's timeline and in the account's history.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from domain import audit, clock
from domain.attachments import display_name, store_bytes
from domain.i18n import Money, Said, _, lazy_pgettext, say
from domain.ledger import entries as entry_rules
from domain.ledger.payments import record_payment
from domain.listing import keys_and_count, like_escape
from domain.models import (CREDIT_NOTE, CREDIT_NOTE_PAYMENT, DISPUTE_OUTCOMES, DISPUTE_REASONS, DISPUTE_STATUSES,
                           INVOICE, CompanySettings, Contact, Customer, Dispute, DisputeEntry, DisputeEvent, Entry,
                           User)
from domain.money import format_money

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_NOTE = 5000
DEFAULT_STALE_DAYS = 14
PAGE_SIZE = 50
# What a dispute's files may be: the credit-note request, a delivery proof, a photo of the goods.
FILE_TYPES = {b"%PDF-": (".pdf", "application/pdf"), b"\x89PNG\r\n\x1a\n": (".png", "image/png"),
              b"\xff\xd8\xff": (".jpg", "image/jpeg")}


class DisputeError(ValueError):
    """The dispute cannot be opened or changed as asked; the message says why."""


def _money(cents: int, currency: str) -> str:
    return format_money(cents, currency)


def _numbers(entries: list[Entry]) -> str:
    return ", ".join(entry.number for entry in entries)


# How a dispute ended, inside a sentence ("Resolved: not justified").
OUTCOME_WORDS = {"justified": lazy_pgettext("dispute outcome, in a sentence", "justified"),
                 "not_justified": lazy_pgettext("dispute outcome, in a sentence", "not justified"),
                 "paid": lazy_pgettext("dispute outcome, in a sentence", "paid")}


def _step(session: Session, actor: User | None, dispute: Dispute, kind: str, text: str | Said,
          **file) -> DisputeEvent:
    """A line of the timeline: a Said (each reader's language) or a note as the person typed it."""
    event = DisputeEvent(dispute=dispute, actor=actor, kind=kind, at=clock.now(), **file)
    event.shown_text = text
    session.add(event)
    dispute.last_activity_at = event.at
    return event


def _hold(entries: list[Entry], actor: User | None, dispute: Dispute) -> None:
    for entry in entries:
        if not entry.disputed:
            entry.disputed, entry.disputed_at = True, clock.now()
            entry.disputed_by_id = actor.id if actor else None
        entry.shown_dispute_reason = _reason(dispute)


def _reason(dispute: Dispute):
    """Why the customer disputes, as a label each reader gets in their language."""
    return DISPUTE_REASONS.get(dispute.reason, dispute.reason)


def _release(session: Session, dispute: Dispute) -> list[Entry]:
    """Entries no other unresolved dispute holds stop being disputed; which were released."""
    released = []
    for entry in dispute.entries:
        held_elsewhere = session.scalar(select(exists().where(
            DisputeEntry.entry_id == entry.id, DisputeEntry.dispute_id != dispute.id,
            Dispute.id == DisputeEntry.dispute_id, Dispute.status != "resolved")))
        if not held_elsewhere and entry.disputed:
            entry.disputed, entry.disputed_at, entry.disputed_by_id = False, None, None
            entry.shown_dispute_reason = None
            released.append(entry)
    return released


def _open_disputes_of(session: Session, entry_ids: list[int]) -> dict[int, int]:
    """entry id -> the unresolved dispute holding it."""
    rows = session.execute(select(DisputeEntry.entry_id, Dispute.id).join(Dispute, Dispute.id == DisputeEntry.dispute_id)
                           .where(DisputeEntry.entry_id.in_(entry_ids), Dispute.status != "resolved"))
    return dict(rows.all())


def open_dispute(session: Session, actor: User, customer: Customer, entry_ids: list[int], reason: str, *,
                 note: str = "", contact_id: int | None = None, follow_up_on: date | None = None,
                 owner_id: int | None = None) -> Dispute:
    """Open a dispute on entries of one customer; their reminders stop at once."""
    if reason not in DISPUTE_REASONS:
        raise DisputeError(_("Choose why the customer disputes: %(choices)s.",
                             choices=", ".join(str(label) for label in DISPUTE_REASONS.values()).lower()))
    note = (note or "").strip()
    if reason == "other" and not note:
        raise DisputeError(_("Say what the customer disputes: the reason is \"other\"."))
    if len(note) > MAX_NOTE:
        raise DisputeError(_("The note has at most %(count)s characters.", count=format(MAX_NOTE, ",")))
    ids = sorted(set(entry_ids))
    if not ids:
        raise DisputeError(_("Tick the entries the customer disputes."))
    entries = list(session.scalars(select(Entry).where(Entry.id.in_(ids), Entry.customer_id == customer.id)
                                   .order_by(Entry.due_date, Entry.number)))
    if len(entries) != len(ids):
        raise DisputeError(_("Some of these entries are not this customer's: reload the page."))
    closed = [entry.number for entry in entries if not entry.is_open or entry.cancelled_at is not None]
    if closed:
        raise DisputeError(_("%(numbers)s: paid or cancelled, nothing left to dispute.", numbers=", ".join(closed)))
    held = _open_disputes_of(session, ids)
    if held:
        numbers = ", ".join(_("%(number)s (dispute #%(id)s)", number=entry.number, id=held[entry.id])
                            for entry in entries if entry.id in held)
        raise DisputeError(_("Already disputed: %(numbers)s. Add a note to that dispute instead.", numbers=numbers))
    if contact_id is not None and session.scalar(select(Contact.id).where(
            Contact.id == contact_id, Contact.customer_id == customer.id)) is None:
        raise DisputeError(_("This contact is not one of the customer's."))
    if owner_id is not None and session.get(User, owner_id) is None:
        raise DisputeError(_("This user does not exist."))
    now = clock.now()
    dispute = Dispute(customer=customer, reason=reason, note=note, contact_id=contact_id, follow_up_on=follow_up_on,
                      status="open", owner_id=owner_id, opened_at=now, opened_by=actor, last_activity_at=now,
                      entries=entries)
    session.add(dispute)
    _hold(entries, actor, dispute)
    total = sum(entry.balance_cents for entry in entries)
    values = {"reason": _reason(dispute), "numbers": _numbers(entries), "amount": Money(total, entries[0].currency)}
    _step(session, actor, dispute, "opened",
          say("%(reason)s on %(numbers)s (%(amount)s): %(note)s", note=note, **values) if note
          else say("%(reason)s on %(numbers)s (%(amount)s)", **values))
    session.flush()
    audit.record(session, actor, "dispute.opened",
                 say("Dispute #%(id)s opened on %(numbers)s: %(reason)s; reminders stop for them.", id=dispute.id,
                     numbers=_numbers(entries), reason=_reason(dispute)), customer=customer, reason=note or None)
    return dispute


def _check_open(dispute: Dispute) -> None:
    if not dispute.is_open:
        raise DisputeError(_("Dispute #%(id)s is resolved.", id=dispute.id))


def add_note(session: Session, actor: User, dispute: Dispute, text: str, *, file: tuple[str, bytes] | None = None,
             directory: str | Path | None = None) -> DisputeEvent:
    """A note on the timeline, with a file (PDF, PNG or JPEG) or not. Notes are welcome after the
    resolution too (what the customer said when told)."""
    text = (text or "").strip()
    if not text and file is None:
        raise DisputeError(_("Write a note or choose a file."))
    if len(text) > MAX_NOTE:
        raise DisputeError(_("A note has at most %(count)s characters.", count=format(MAX_NOTE, ",")))
    stored = {}
    if file is not None:
        name, data = display_name(file[0]), file[1]
        if len(data) > MAX_FILE_BYTES:
            raise DisputeError(_("%(name)s is larger than %(size)s MB.", name=name,
                                 size=MAX_FILE_BYTES // (1024 * 1024)))
        kind = next((kind for magic, kind in FILE_TYPES.items() if data.startswith(magic)), None)
        if kind is None:
            raise DisputeError(_("%(name)s is not a PDF, PNG or JPEG file.", name=name))
        stored = {"filename": name, "storage_name": store_bytes(Path(directory), data, suffix=kind[0]),
                  "size": len(data)}
    event = _step(session, actor, dispute, "note", text, **stored)
    if stored and text:
        detail = say("Dispute #%(id)s: note with %(file)s: %(text)s", id=dispute.id, file=stored["filename"], text=text)
    elif stored:
        detail = say("Dispute #%(id)s: note with %(file)s", id=dispute.id, file=stored["filename"])
    else:
        detail = say("Dispute #%(id)s: note: %(text)s", id=dispute.id, text=text)
    audit.record(session, actor, "dispute.note", detail, customer=dispute.customer)
    return event


def file_type(event: DisputeEvent) -> str:
    """The content type of a note's file, from its stored name."""
    suffix = Path(event.storage_name or "").suffix
    return next((kind[1] for kind in FILE_TYPES.values() if kind[0] == suffix), "application/octet-stream")


def set_status(session: Session, actor: User, dispute: Dispute, status: str) -> None:
    """Open, waiting for the customer, waiting for us (resolving goes through `resolve`)."""
    _check_open(dispute)
    if status not in DISPUTE_STATUSES or status == "resolved":
        raise DisputeError(_("Choose open, waiting for the customer or waiting for us (resolve it to close it)."))
    if status == dispute.status:
        return
    before = DISPUTE_STATUSES.get(dispute.status, dispute.status)
    dispute.status = status
    after = DISPUTE_STATUSES[status]
    _step(session, actor, dispute, "status", say("%(before)s → %(after)s", before=before, after=after))
    audit.record(session, actor, "dispute.status",
                 say("Dispute #%(id)s: %(before)s → %(after)s", id=dispute.id, before=before, after=after),
                 customer=dispute.customer)


def assign(session: Session, actor: User, dispute: Dispute, owner_id: int | None) -> None:
    owner = session.get(User, owner_id) if owner_id is not None else None
    if owner_id is not None and (owner is None or not owner.active):
        raise DisputeError(_("Choose an active user."))
    if dispute.owner_id == owner_id:
        return
    dispute.owner = owner
    if owner:
        _step(session, actor, dispute, "owner", say("Assigned to %(name)s", name=owner.display_name))
        detail = say("Dispute #%(id)s: assigned to %(name)s", id=dispute.id, name=owner.display_name)
    else:
        _step(session, actor, dispute, "owner", say("No longer assigned"))
        detail = say("Dispute #%(id)s: no longer assigned", id=dispute.id)
    audit.record(session, actor, "dispute.owner", detail, customer=dispute.customer)


def set_follow_up(session: Session, actor: User, dispute: Dispute, day: date | None) -> None:
    if dispute.follow_up_on == day:
        return
    dispute.follow_up_on = day
    _step(session, actor, dispute, "status", say("Follow up on %(day)s", day=day) if day else say("No follow-up date"))


def resolve(session: Session, actor: User, dispute: Dispute, outcome: str, *, note: str = "",
            credit_note_cents: int | None = None) -> list[Entry]:
    """Resolve: "justified" (with a credit note to come: its amount, the entries held until it is
    recorded), "not_justified" or "paid". Returns the entries whose reminders resume."""
    _check_open(dispute)
    if outcome not in DISPUTE_OUTCOMES:
        raise DisputeError(_("Choose how the dispute ends: justified, not justified or paid."))
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise DisputeError(_("The note has at most %(count)s characters.", count=format(MAX_NOTE, ",")))
    currency = dispute.entries[0].currency if dispute.entries else "EUR"
    if outcome == "justified" and credit_note_cents:
        disputed = sum(entry.open_cents for entry in dispute.entries if entry.kind == INVOICE)
        if credit_note_cents < 0 or credit_note_cents > disputed:
            raise DisputeError(_("The credit note is at most what is disputed and still open: %(amount)s.",
                                 amount=_money(disputed, currency)))
        dispute.outcome, dispute.credit_note_cents, dispute.status = outcome, credit_note_cents, "waiting_us"
        amount = Money(credit_note_cents, currency)
        _step(session, actor, dispute, "resolved", say(
            "Justified: a credit note of %(amount)s is to be issued; reminders stay stopped until it is recorded. "
            "%(note)s", amount=amount, note=note) if note else say(
            "Justified: a credit note of %(amount)s is to be issued; reminders stay stopped until it is recorded",
            amount=amount))
        audit.record(session, actor, "dispute.justified",
                     say("Dispute #%(id)s justified: credit note of %(amount)s to come", id=dispute.id, amount=amount),
                     customer=dispute.customer, reason=note or None)
        return []
    dispute.outcome, dispute.status = outcome, "resolved"
    dispute.resolved_at, dispute.resolved_by_id = clock.now(), actor.id
    released = _release(session, dispute)
    word, numbers = OUTCOME_WORDS[outcome], _numbers(released)
    if released:
        text = (say("Resolved: %(outcome)s; reminders resume for %(numbers)s. %(note)s", outcome=word,
                    numbers=numbers, note=note) if note
                else say("Resolved: %(outcome)s; reminders resume for %(numbers)s", outcome=word, numbers=numbers))
        detail = say("Dispute #%(id)s resolved (%(outcome)s); reminders resume for %(numbers)s", id=dispute.id,
                     outcome=word, numbers=numbers)
    else:
        text = (say("Resolved: %(outcome)s. %(note)s", outcome=word, note=note) if note
                else say("Resolved: %(outcome)s", outcome=word))
        detail = say("Dispute #%(id)s resolved (%(outcome)s)", id=dispute.id, outcome=word)
    _step(session, actor, dispute, "resolved", text)
    audit.record(session, actor, "dispute.resolved", detail, customer=dispute.customer, reason=note or None)
    return released


def record_credit_note(session: Session, actor: User, dispute: Dispute, number: str, issue_date: date,
                       amount_cents: int) -> Entry:
    """The credit note a justified dispute waited for: added to the customer, applied to the
    disputed invoices (the oldest due first), then the dispute is resolved."""
    if dispute.status == "resolved" or dispute.outcome != "justified":
        raise DisputeError(_("Dispute #%(id)s is not waiting for a credit note.", id=dispute.id))
    number = (number or "").strip()
    if not number or len(number) > 60:
        raise DisputeError(_("Give the credit note's number (at most 60 characters)."))
    invoices = [entry for entry in dispute.entries if entry.kind == INVOICE and entry.is_open]
    open_total = sum(entry.open_cents for entry in invoices)
    currency = dispute.entries[0].currency
    if amount_cents <= 0 or amount_cents > open_total:
        raise DisputeError(_("The credit note is more than zero and at most what the invoices still owe: "
                             "%(amount)s.", amount=_money(open_total, currency)))
    try:
        credit_note = entry_rules.add(session, actor, dispute.customer, {
            "number": number, "kind": CREDIT_NOTE, "issue_date": issue_date, "due_date": issue_date,
            "amount_cents": amount_cents, "currency": currency})
    except entry_rules.EntryError as error:
        raise DisputeError(str(error)) from None
    left = amount_cents
    for invoice in invoices:
        applied = min(left, invoice.open_cents)
        if applied <= 0:
            break
        record_payment(session, invoice, issue_date, applied, f"{CREDIT_NOTE_PAYMENT}{number}")
        record_payment(session, credit_note, issue_date, applied, f"Applied to {invoice.number}")
        left -= applied
    dispute.credit_note_id = credit_note.id
    _step(session, actor, dispute, "credit_note",
          say("Credit note %(number)s of %(amount)s recorded and applied to %(numbers)s", number=number,
              amount=Money(amount_cents, currency), numbers=_numbers(invoices)))
    dispute.status, dispute.resolved_at, dispute.resolved_by_id = "resolved", clock.now(), actor.id
    released = _release(session, dispute)
    word, numbers = OUTCOME_WORDS["justified"], _numbers(released)
    if released:
        text = say("Resolved: %(outcome)s; reminders resume for what is still open of %(numbers)s", outcome=word,
                   numbers=numbers)
        detail = say("Dispute #%(id)s resolved (justified): credit note %(number)s applied; reminders resume for "
                     "what is still open of %(numbers)s", id=dispute.id, number=number, numbers=numbers)
    else:
        text = say("Resolved: %(outcome)s", outcome=word)
        detail = say("Dispute #%(id)s resolved (justified): credit note %(number)s applied", id=dispute.id,
                     number=number)
    _step(session, actor, dispute, "resolved", text)
    audit.record(session, actor, "dispute.resolved", detail, customer=dispute.customer)
    return credit_note


# --- the Disputes page --------------------------------------------------------------------------

def stale_days(session: Session) -> int:
    days = session.scalar(select(CompanySettings.dispute_stale_days))
    return DEFAULT_STALE_DAYS if days is None else days


@dataclass(frozen=True)
class DisputeFilters:
    status: str = "unresolved"  # unresolved | one of DISPUTE_STATUSES | all
    reason: str = ""
    owner: str = ""  # a user id, "none", or "" for anyone
    q: str = ""  # customer account or name
    stale: bool = False
    page: int = 1

    def as_args(self) -> dict[str, str]:
        status = "" if self.status == "unresolved" else self.status  # the default stays out of the address
        return {key: value for key, value in (("status", status), ("reason", self.reason), ("owner", self.owner),
                                              ("q", self.q), ("stale", "1" if self.stale else "")) if value}


def parse_filters(args) -> DisputeFilters:
    status = args.get("status", "unresolved")
    if status not in DISPUTE_STATUSES and status not in ("unresolved", "all"):
        status = "unresolved"
    reason = args.get("reason", "")
    owner = args.get("owner", "")
    try:
        page = max(1, int(args.get("page", 1)))
    except ValueError:
        page = 1
    return DisputeFilters(status=status, reason=reason if reason in DISPUTE_REASONS else "",
                          owner=owner if owner == "none" or owner.isdigit() else "", q=(args.get("q") or "")[:100].strip(),
                          stale=args.get("stale") == "1", page=page)


@dataclass(frozen=True)
class DisputeRow:
    dispute: Dispute
    amount_cents: int  # the disputed entries' open total
    currency: str
    age_days: int
    idle_days: int
    stale: bool


def _conditions(filters: DisputeFilters, stale_before: datetime) -> list:
    conditions = []
    if filters.status == "unresolved":
        conditions.append(Dispute.status != "resolved")
    elif filters.status != "all":
        conditions.append(Dispute.status == filters.status)
    if filters.reason:
        conditions.append(Dispute.reason == filters.reason)
    if filters.owner == "none":
        conditions.append(Dispute.owner_id.is_(None))
    elif filters.owner:
        conditions.append(Dispute.owner_id == int(filters.owner))
    if filters.q:
        pattern = f"%{like_escape(filters.q)}%"
        conditions.append(or_(Customer.name.ilike(pattern, escape="\\"), Customer.account.ilike(pattern, escape="\\")))
    if filters.stale:
        conditions.append(and_(Dispute.status != "resolved", Dispute.last_activity_at < stale_before))
    return conditions


def dispute_keys(session: Session, filters: DisputeFilters, cap: int) -> tuple[list[str], int]:
    """The disputes of the filtered view as ids (a monitoring point's)."""
    stale_before = clock.now() - timedelta(days=stale_days(session))
    return keys_and_count(session, select(Dispute.id).join(Customer, Customer.id == Dispute.customer_id)
                          .where(*_conditions(filters, stale_before)), cap)


def dispute_rows(session: Session, filters: DisputeFilters, *, limit: int | None = PAGE_SIZE) -> tuple[list[DisputeRow], int]:
    """The page's disputes (the longest untouched first among the unresolved), and how many match."""
    now = clock.now()
    days = stale_days(session)
    stale_before = now - timedelta(days=days)
    conditions = _conditions(filters, stale_before)
    total = session.scalar(select(func.count()).select_from(Dispute).join(Customer, Customer.id == Dispute.customer_id)
                           .where(*conditions))
    stmt = (select(Dispute).join(Customer, Customer.id == Dispute.customer_id).where(*conditions)
            .order_by((Dispute.status == "resolved"), Dispute.last_activity_at, Dispute.id))
    if limit is not None:
        stmt = stmt.limit(limit).offset((filters.page - 1) * limit)
    disputes = list(session.scalars(stmt))
    amounts: dict[int, tuple[int, str]] = {}
    if disputes:
        for dispute_id, kind, currency, open_cents in session.execute(
                select(DisputeEntry.dispute_id, Entry.kind, Entry.currency, Entry.open_cents)
                .join(Entry, Entry.id == DisputeEntry.entry_id)
                .where(DisputeEntry.dispute_id.in_([d.id for d in disputes]))):
            cents, _currency = amounts.get(dispute_id, (0, currency))
            amounts[dispute_id] = (cents + (-open_cents if kind == CREDIT_NOTE else open_cents), currency)
    rows = []
    for dispute in disputes:
        cents, currency = amounts.get(dispute.id, (0, "EUR"))
        rows.append(DisputeRow(dispute, cents, currency, (now - dispute.opened_at).days,
                               (now - dispute.last_activity_at).days,
                               dispute.is_open and dispute.last_activity_at < stale_before))
    return rows, total


def disputes_of(session: Session, customer: Customer) -> list[Dispute]:
    """A customer's disputes, the unresolved first."""
    return list(session.scalars(select(Dispute).where(Dispute.customer_id == customer.id)
                                .order_by((Dispute.status == "resolved"), Dispute.opened_at.desc())))
