"""Formal notices (mise en demeure, letter before action): the last amicable step, with the figures
the law allows, and a deadline that starts the road to debt collection.

    found = draft(session, customer, entry_ids, today)     # what a notice would say, and why it cannot go
    notice, is_new = issue(session, user, customer, entry_ids, channel=…, claim=True, token=…, deadline=…)

A notice covers open, overdue invoices of one currency that nothing holds (stopped, disputed, under a
promise or a schedule, in collection, another notice still running, a claim in the debt collection
list). Claiming is a choice: with `claim`, the interest since the
last claim and the indemnity not claimed before become `ClaimedCharge` lines of their own — never
added to the invoice, never claimed twice (the notice and its claims are written together). A rate or
an indemnity that is unknown cannot be claimed: the notice says what to fix, or goes without the
charges. The notice keeps the basis and the rate of each half-year it claimed for, and earlier claims
still unpaid: its letter says what was computed, as it was on the day, and the total owed.

By e-mail the notice is an outbox message (kind formal_notice, key notice:{id}) the worker sends
with the letter attached; by letter, the PDF is for the user to post, and "sent by registered
letter" with its tracking number is recorded on the notice (then it can no longer be cancelled).
When the deadline passes with the invoices still open, the notice has expired: once it reached the
customer, its entries are ready for debt collection (domain.debt_collection).
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from domain import audit, clock
from domain.i18n import _
from domain.i18n import lazy_gettext as _l
from domain.i18n import lazy_pgettext, pgettext, say
from domain.ledger import interest
from domain.models import (CHARGE_KINDS, CHARGE_STATUSES, INVOICE, NOTICE_CHANNELS, ClaimedCharge, Customer,
                           DebtCollectionClaim, Entry, FormalNotice, FormalNoticeEntry, User)
from domain.reminders import outbox, sending, templates
from domain.reminders.default_templates import NOTICE_DEFAULTS
from domain.reminders.holds import holds
from domain.settings import company as saved_company

MAX_DEADLINE_DAYS = 90


class NoticeError(ValueError):
    """Why a formal notice cannot be issued, or a claimed charge not settled; nothing was written."""


class Line(NamedTuple):
    entry: Entry
    principal_cents: int
    interest_cents: int | None      # since the last claim (None: a rate is missing)
    interest_from: date
    indemnity_cents: int | None     # 0: claimed before; None: no indemnity set for the currency

    @property
    def after_a_claim(self) -> bool:
        """Its interest runs from the day after an earlier notice's, not from the due date."""
        return self.interest_from > self.entry.due_date + timedelta(days=1)


class Draft(NamedTuple):
    """What a notice would claim today, and what keeps it from going."""

    customer: Customer
    lines: list[Line]
    currency: str
    problems: list[str]             # nothing can be issued while there is one
    charge_problems: list[str]      # the charges cannot be claimed (the notice can go without them)
    deadline: date
    earlier_cents: int = 0          # interest and indemnities earlier notices claimed, still unpaid

    @property
    def principal_cents(self) -> int:
        return sum(line.principal_cents for line in self.lines)

    @property
    def interest_cents(self) -> int | None:
        values = [line.interest_cents for line in self.lines]
        return None if None in values else sum(values)

    @property
    def indemnity_cents(self) -> int | None:
        values = [line.indemnity_cents for line in self.lines]
        return None if None in values else sum(values)

    @property
    def total_cents(self) -> int | None:
        if self.interest_cents is None or self.indemnity_cents is None:
            return None
        return self.principal_cents + self.interest_cents + self.indemnity_cents + self.earlier_cents


def _overdue_invoices(session: Session, customer: Customer, today: date) -> list[Entry]:
    return list(session.scalars(
        select(Entry).where(Entry.customer_id == customer.id, Entry.is_open.is_(True), Entry.kind == INVOICE,
                            Entry.due_date < today).order_by(Entry.due_date, Entry.id)))


def draft(session: Session, customer: Customer, entry_ids: list[int] | None, today: date | None = None,
          terms: interest.Terms | None = None) -> Draft:
    """The notice for the ticked entries (`entry_ids`), or for every overdue invoice nothing holds."""
    today = today or clock.today()
    terms = terms or interest.terms(session)
    problems: list[str] = []
    overdue = _overdue_invoices(session, customer, today)
    if entry_ids:
        wanted = set(entry_ids)
        entries = [e for e in overdue if e.id in wanted]
        if len(entries) < len(wanted):
            problems.append(_("Only open invoices past their due date can be in a formal notice: untick the others."))
        problems += _held(session, customer, entries, today)
    else:
        entries = [e for e in overdue if not _held(session, customer, [e], today)]
        if customer.reminders_stopped_on(today):
            problems += _held(session, customer, [], today)
    if not entries:
        problems.append(_("No overdue invoice to put in a formal notice."))
    currencies = sorted({e.currency for e in entries})
    if len(currencies) > 1:
        either = currencies[0]
        for currency in currencies[1:]:
            either = pgettext("alternatives", "%(first)s or %(second)s", first=either, second=currency)
        problems.append(_("A formal notice is in one currency: tick the invoices in %(currencies)s separately.",
                          currencies=either))
    through, indemnity_claimed = interest.claimed_before(session, [e.id for e in entries])
    paid = interest.payments_by_entry(session, [e.id for e in entries])
    lines, charge_problems, missing = [], [], set()
    applies = customer.late_payment_charges
    for entry in entries:
        since = through[entry.id] + timedelta(days=1) if entry.id in through else None
        if applies:
            cents, gaps = interest.interest_cents(entry.open_cents, paid.get(entry.id, ()), entry.due_date, today,
                                                  terms, since=since)
            missing.update(gaps)
            indemnity = 0 if entry.id in indemnity_claimed else terms.indemnities.get(entry.currency)
        else:
            cents, indemnity = 0, 0
        lines.append(Line(entry, entry.open_cents, cents, since or entry.due_date + timedelta(days=1), indemnity))
    for start in sorted(missing):
        charge_problems.append(_("No rates for the %(half_year)s: add them in Settings → Late payment to claim the "
                                 "interest.", half_year=interest.half_year_label(start)))
    for currency in currencies:
        if applies and currency not in terms.indemnities:
            charge_problems.append(_("No recovery indemnity is set for %(currency)s: set it in Settings → Late payment.",
                                     currency=currency))
    deadline = today + timedelta(days=terms.notice_days)
    earlier = sum(open_claims_by_entry(session, [e.id for e in entries]).values()) if applies else 0
    return Draft(customer, lines, currencies[0] if currencies else "EUR", problems, charge_problems, deadline,
                 earlier)


def _held(session: Session, customer: Customer, entries: list[Entry], today: date) -> list[str]:
    found = [hold.text for hold in holds(session, customer, entries, today, kind="formal_notice")]
    found += [_("%(number)s is under a payment schedule: a notice would contradict it.", number=e.number)
              for e in entries if e.scheduled]
    ids = [e.id for e in entries]
    if ids:
        running = session.execute(
            select(Entry.number, FormalNotice.id, FormalNotice.deadline).join(FormalNoticeEntry,
                                                                           FormalNoticeEntry.entry_id == Entry.id)
            .join(FormalNotice, FormalNotice.id == FormalNoticeEntry.notice_id)
            .where(Entry.id.in_(ids), FormalNotice.cancelled_at.is_(None), FormalNotice.deadline >= today))
        found += [_("%(number)s has formal notice #%(notice)s running until %(day)s.", number=number, notice=notice_id,
                    day=deadline.isoformat()) for number, notice_id, deadline in running]
        listed = session.execute(
            select(Entry.number, DebtCollectionClaim.id).join(DebtCollectionClaim,
                                                              DebtCollectionClaim.entry_id == Entry.id)
            .where(Entry.id.in_(ids), DebtCollectionClaim.status.in_(("listed", "paused"))))
        found += [_("%(number)s is ready for debt collection (claim #%(claim)s): approve, pause or close it first.",
                    number=number, claim=claim_id) for number, claim_id in listed]
    return found


def notice_data(notice: FormalNotice, company) -> dict:
    """The notice as plain data for the e-mail's text (amounts as Decimal, dates as dates)."""
    def units(cents: int) -> Decimal:
        return (Decimal(cents) / 100).quantize(Decimal("0.01"))

    return {"number": notice.id, "currency": notice.currency, "deadline": notice.deadline,
            "principal": units(notice.principal_cents), "interest": units(notice.interest_cents),
            "indemnity": units(notice.indemnity_cents), "total": units(notice.total_cents),
            "claims_charges": notice.claims_charges}


def render_email(session: Session, notice: FormalNotice, sender: User | None) -> templates.RenderedMessage:
    language = templates.template_language(notice.language)
    default = NOTICE_DEFAULTS[language]["formal_notice"]
    data = templates.reminder_context(session, notice.customer, [line.entry for line in notice.lines], sender=sender)
    data["notice"] = notice_data(notice, saved_company(session))
    text = templates.TemplateText(level=0, channel="email", language=language, subject=default.subject,
                                  body=default.body)
    return templates.render(text, data)


def notice_key(notice: FormalNotice) -> str:
    return f"notice:{notice.id}"


def issue(session: Session, actor: User | None, customer: Customer, entry_ids: list[int] | None, *, channel: str,
          claim: bool, token: str, deadline: date | None = None, today: date | None = None, to: str = "",
          cc: str = "") -> tuple[FormalNotice, bool]:
    """Write the notice (and its claimed charges); by e-mail, queue it in the outbox (the caller hands
    the message to the worker once committed). The same `token` (a double click) gives back the
    notice already issued (and False)."""
    today = today or clock.today()
    token = (token or "").strip()[:100]
    if not token:
        raise NoticeError(_("The form has expired: open it again."))
    existing = session.scalar(select(FormalNotice).where(FormalNotice.token == token))
    if existing is not None:
        return existing, False
    if channel not in NOTICE_CHANNELS:
        raise NoticeError(_("Choose how the notice goes: a letter or an e-mail."))
    terms_now = interest.terms(session)
    found = draft(session, customer, entry_ids, today, terms_now)
    if found.problems:
        raise NoticeError(" ".join(found.problems))
    claim = claim and customer.late_payment_charges
    if claim and found.charge_problems:
        raise NoticeError(_("%(problems)s Or untick \"Claim the interest and the indemnity\".",
                            problems=" ".join(found.charge_problems)))
    deadline = deadline or found.deadline
    if not today < deadline <= today + timedelta(days=MAX_DEADLINE_DAYS):
        raise NoticeError(_("The deadline to pay is a day after today, at most %(days)s days away.",
                            days=MAX_DEADLINE_DAYS))
    if channel == "email":
        try:
            sending.company_sender(saved_company(session))
        except sending.ReminderError as error:
            raise NoticeError(str(error)) from None
    first = min((line.interest_from for line in found.lines), default=today)
    rates = []
    if claim:
        start = interest.half_year_of(first)
        while start <= today:
            rates.append([start.isoformat(), terms_now.annual_bp(start)])
            start = interest.next_half_year(start)
    notice = FormalNotice(
        customer_id=customer.id, customer=customer, channel=channel, language=customer.language or "en",
        currency=found.currency, issued_on=today, deadline=deadline, principal_cents=found.principal_cents,
        interest_cents=found.interest_cents if claim else 0, indemnity_cents=found.indemnity_cents if claim else 0,
        earlier_cents=found.earlier_cents, claims_charges=claim, basis=terms_now.basis if claim else None,
        rates=rates or None, created_by_id=actor.id if actor else None, token=token)
    notice.lines = [FormalNoticeEntry(entry_id=line.entry.id, entry=line.entry, principal_cents=line.principal_cents,
                                      interest_cents=line.interest_cents if claim else 0,
                                      interest_from=line.interest_from if claim else None,
                                      indemnity_cents=line.indemnity_cents if claim else 0) for line in found.lines]
    claims = [ClaimedCharge(customer_id=customer.id, entry_id=line.entry.id, kind=kind, amount_cents=cents,
                            currency=found.currency, from_day=start_day, through_day=today, status="open")
              for line in (found.lines if claim else ())
              for kind, cents, start_day in (("interest", line.interest_cents, line.interest_from),
                                             ("indemnity", line.indemnity_cents,
                                              line.entry.due_date + timedelta(days=1)))
              if cents]
    try:
        # The notice and its claims together: a claim the same instant by another notice (two tabs, the
        # daily run) fails them both here, never one without the other.
        with session.begin_nested():
            session.add(notice)
            session.flush()
            for claimed in claims:
                claimed.notice_id = notice.id
            session.add_all(claims)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(FormalNotice).where(FormalNotice.token == token))
        if existing is None:
            raise NoticeError(_("These invoices' charges were claimed a moment ago by another notice: open the "
                                "dialog again.")) from None
        return existing, False
    values = {"id": notice.id, "numbers": ", ".join(line.entry.number for line in found.lines), "deadline": deadline}
    if channel == "email":
        detail = (say("Formal notice #%(id)s (e-mail) for %(numbers)s: pay by %(deadline)s, interest and indemnity "
                      "claimed.", **values) if claim
                  else say("Formal notice #%(id)s (e-mail) for %(numbers)s: pay by %(deadline)s, no charges claimed.",
                           **values))
    else:
        detail = (say("Formal notice #%(id)s (letter) for %(numbers)s: pay by %(deadline)s, interest and indemnity "
                      "claimed.", **values) if claim
                  else say("Formal notice #%(id)s (letter) for %(numbers)s: pay by %(deadline)s, no charges claimed.",
                           **values))
    audit.record(session, actor, "notice.issued", detail, customer=customer)
    if channel == "email":
        rendered = render_email(session, notice, actor)
        message, _is_new = outbox.queue_message(
            session, customer=customer, entries=[line.entry for line in found.lines], level=0,
            to=to or ", ".join(customer.reminder_emails), cc=cc, subject=rendered.subject, body=rendered.body,
            sent_by=actor, copy_to_sender=True, dedupe_key=notice_key(notice), kind="formal_notice")
        notice.outbox_message = message
    return notice, True


def record_registered(session: Session, actor: User, notice: FormalNotice, tracking: str, day: date | None) -> None:
    """"Sent by registered letter", with the tracking number the post office gave."""
    tracking = " ".join((tracking or "").split())
    if not tracking:
        raise NoticeError(_("Enter the registered letter's tracking number."))
    if len(tracking) > 60:
        raise NoticeError(_("A tracking number has at most 60 characters."))
    day = day or clock.today()
    if day < notice.issued_on or day > clock.today():
        raise NoticeError(_("The day it was posted is between the notice's date and today."))
    notice.registered_tracking, notice.registered_on = tracking, day
    audit.record(session, actor, "notice.registered",
                 say("Formal notice #%(id)s sent by registered letter on %(day)s, tracking %(tracking)s.",
                     id=notice.id, day=day, tracking=tracking),
                 customer=notice.customer)


def state(notice: FormalNotice, today: date | None = None) -> str:
    """cancelled, paid (every invoice settled), running, expired (the deadline passed, something open,
    it reached the customer: ready for debt collection) or unproven (expired, not known to have gone)."""
    today = today or clock.today()
    if notice.cancelled_at is not None:
        return "cancelled"
    if all(not line.entry.is_open for line in notice.lines):
        return "paid"
    if today <= notice.deadline:
        return "running"
    return "expired" if reached(notice) else "unproven"


def reached(notice: FormalNotice) -> bool:
    """It went: its e-mail was sent, or its letter recorded as sent by registered letter."""
    message = notice.outbox_message
    return bool(notice.registered_tracking) or (message is not None and message.status == "sent")


STATES = {"running": _l("Deadline running"), "expired": _l("Expired unpaid: ready for debt collection"),
          "paid": lazy_pgettext("formal notice", "Paid"), "cancelled": lazy_pgettext("formal notice", "Cancelled"),
          "unproven": _l("Expired unpaid, but not recorded as sent: record the registered letter (or check its e-mail "
                         "on Deliveries) to go on to debt collection")}


def notices_of(session: Session, customer: Customer) -> list[FormalNotice]:
    return list(session.scalars(
        select(FormalNotice).where(FormalNotice.customer_id == customer.id)
        .options(selectinload(FormalNotice.lines).joinedload(FormalNoticeEntry.entry),
                 selectinload(FormalNotice.outbox_message))
        .order_by(FormalNotice.id.desc())))


def claimed_charges(session: Session, customer: Customer) -> list[ClaimedCharge]:
    """The customer's claimed interest and indemnities, open first: "interest and fees outstanding"
    even once the invoices are paid."""
    return list(session.scalars(
        select(ClaimedCharge).where(ClaimedCharge.customer_id == customer.id)
        .options(selectinload(ClaimedCharge.entry))
        .order_by((ClaimedCharge.status != "open"), ClaimedCharge.id)))


def settle_charge(session: Session, actor: User, charge: ClaimedCharge, status: str, reason: str) -> None:
    """A claimed charge paid, waived (a gesture, a negotiation) or written off, with why."""
    if status not in CHARGE_STATUSES or status == "open":
        raise NoticeError(_("Choose paid, waived or written off."))
    if charge.status != "open":
        raise NoticeError(_("This %(kind)s is already %(status)s.", kind=CHARGE_KINDS[charge.kind].lower(),
                            status=CHARGE_STATUSES[charge.status].lower()))
    reason = " ".join((reason or "").split())
    if status != "paid" and not reason:
        raise NoticeError(_("Say why it is waived or written off."))
    charge.status, charge.reason, charge.settled_at, charge.settled_by_id = status, reason[:500] or None, clock.now(), \
        actor.id
    values = {"kind": CHARGE_KINDS[charge.kind], "number": charge.entry.number, "id": charge.notice_id}
    if status == "paid" and reason:
        detail = say("%(kind)s claimed on %(number)s (formal notice #%(id)s): paid — %(reason)s.", reason=reason,
                     **values)
    elif status == "paid":
        detail = say("%(kind)s claimed on %(number)s (formal notice #%(id)s): paid.", **values)
    elif status == "waived":
        detail = say("%(kind)s claimed on %(number)s (formal notice #%(id)s): waived — %(reason)s.", reason=reason,
                     **values)
    else:
        detail = say("%(kind)s claimed on %(number)s (formal notice #%(id)s): written off — %(reason)s.",
                     reason=reason, **values)
    audit.record(session, actor, "notice.charge_settled", detail, customer=charge.entry.customer, entry=charge.entry)


def cancel(session: Session, actor: User, notice: FormalNotice, reason: str) -> None:
    """Withdraw a notice (issued by mistake, or its e-mail never went): its claims are withdrawn
    with it, so a later notice may claim them; an e-mail still on its way is cancelled."""
    reason = " ".join((reason or "").split())
    if notice.cancelled_at is not None:
        raise NoticeError(_("This formal notice is already cancelled."))
    if not reason:
        raise NoticeError(_("Say why the notice is cancelled."))
    claims = list(session.scalars(select(ClaimedCharge).where(ClaimedCharge.notice_id == notice.id)))
    if any(c.status != "open" for c in claims):
        raise NoticeError(_("Some of its charges were already paid, waived or written off: the notice stays."))
    if notice.registered_tracking:
        raise NoticeError(_("It was sent by registered letter: the customer has it. Waive its charges instead."))
    message = notice.outbox_message
    if message is not None and message.status in ("sending", "sent", "unknown"):
        raise NoticeError(_("Its e-mail has gone (or may have): the customer has it. Waive its charges instead."))
    if message is not None and message.status in ("queued", "failed"):
        message.status, message.next_attempt_at = "cancelled", None
        message.shown_last_error = say("The formal notice was cancelled.")
    for claim in claims:
        session.delete(claim)
    # Its invoices leave the debt collection list: a notice withdrawn starts nothing.
    for listed in session.scalars(select(DebtCollectionClaim).where(
            DebtCollectionClaim.notice_id == notice.id, DebtCollectionClaim.status.in_(("listed", "paused")))):
        listed.status, listed.closed_at, listed.close_reason = "closed", clock.now(), "withdrawn"
        listed.close_note, listed.closed_by_id = reason[:500], actor.id
    notice.cancelled_at, notice.cancel_reason = clock.now(), reason[:500]
    audit.record(session, actor, "notice.cancelled",
                 say("Formal notice #%(id)s cancelled — %(reason)s.", id=notice.id, reason=reason),
                 customer=notice.customer)


def open_claims_by_entry(session: Session, entry_ids: list[int] | None) -> dict[int, int]:
    """The claimed interest and indemnity still open per invoice (what goes with it to the agency);
    `entry_ids` None: of every invoice (claims are few: one grouped read)."""
    if entry_ids is not None and not entry_ids:
        return {}
    where = [ClaimedCharge.status == "open"]
    if entry_ids is not None:
        where.append(ClaimedCharge.entry_id.in_(entry_ids))
    return dict(session.execute(select(ClaimedCharge.entry_id, func.sum(ClaimedCharge.amount_cents))
                                .where(*where).group_by(ClaimedCharge.entry_id)).all())
