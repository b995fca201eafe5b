"""Payments recorded by hand: a receipt (a cheque, a transfer… that came in once) spread over open
invoices of one customer, the oldest first unless the user says otherwise; and its reversal (a
cheque returned unpaid), which opens the amounts again. Both are in the customer's history.

    proposal = propose(invoices, amount_cents)                 # [(entry, cents)], oldest first
    receipt = record(session, actor, customer, ReceiptForm(…))  # ReceiptError says what is wrong
    reverse(session, actor, receipt, reason)

Each part is a Payment on its entry (payments.record_payment: the open amount moves in the same
transaction, the summaries follow on commit). Nothing is half-recorded: every check runs before
anything is written, and the caller rolls back on ReceiptError. The form's token makes a second
submission of the same form the same receipt."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from domain import audit, clock, i18n
from domain.i18n import Money, Said, _, lazy_pgettext, say
from domain.ledger.payments import PaymentError, record_payment, set_open_amount
from domain.models import INVOICE, PAYMENT_METHODS, Customer, Entry, Payment, Receipt, User
from domain.money import format_money


class ReceiptError(ValueError):
    """The receipt cannot be recorded (or reversed) as asked; the message says why."""


@dataclass
class ReceiptForm:
    """What the user typed, checked by `record`."""

    received_on: date
    amount_cents: int
    method: str
    reference: str = ""
    allocations: dict[int, int] = field(default_factory=dict)  # entry id → cents
    dedupe_key: str | None = None


def open_invoices(session: Session, customer: Customer) -> list[Entry]:
    """What a payment can settle: the customer's open invoices, the oldest due first."""
    return list(session.scalars(
        select(Entry).where(Entry.customer_id == customer.id, Entry.kind == INVOICE, Entry.is_open.is_(True),
                            Entry.open_cents > 0)
        .order_by(Entry.due_date, Entry.issue_date, Entry.id)))


def propose(invoices: list[Entry], amount_cents: int) -> dict[int, int]:
    """The amount spread over the invoices in their order (the oldest due first), each up to its
    open amount: entry id → cents (invoices it does not reach are left out)."""
    left, proposal = amount_cents, {}
    for entry in invoices:
        if left <= 0:
            break
        part = min(left, entry.open_cents)
        proposal[entry.id] = part
        left -= part
    return proposal


def _money(cents: int, currency: str) -> str:
    return format_money(cents, currency)


def record(session: Session, actor: User, customer: Customer, form: ReceiptForm) -> Receipt:
    """Record the receipt and its payments, or raise ReceiptError before anything is written."""
    if form.dedupe_key:
        earlier = session.scalar(select(Receipt).where(Receipt.dedupe_key == form.dedupe_key))
        if earlier is not None:
            return earlier  # the same form again: recorded once
    if form.method not in PAYMENT_METHODS:
        raise ReceiptError(_("Choose how it was paid."))
    if form.amount_cents <= 0:
        raise ReceiptError(_("The amount must be more than zero."))
    if form.received_on > clock.today():
        raise ReceiptError(_("The payment date %(date)s is in the future.",
                             date=i18n.day(form.received_on)))
    reference = form.reference.strip()
    if len(reference) > 100:
        raise ReceiptError(_("The reference is longer than 100 characters."))
    parts = {entry_id: cents for entry_id, cents in form.allocations.items() if cents}
    if not parts:
        raise ReceiptError(_("Allocate the payment to at least one invoice."))
    entries = {e.id: e for e in session.scalars(select(Entry).where(Entry.id.in_(parts)).with_for_update())}
    if len(entries) != len(parts) or any(e.customer_id != customer.id for e in entries.values()):
        raise ReceiptError(_("An invoice of this payment is not one of this customer's any more: reload the page."))
    currencies = {e.currency for e in entries.values()}
    if len(currencies) > 1:
        raise ReceiptError(_("A payment is in one currency: allocate it to invoices of one currency only."))
    currency = currencies.pop()
    problems = []
    for entry_id, cents in parts.items():
        entry = entries[entry_id]
        if cents < 0:
            problems.append(_("%(number)s: the amount allocated cannot be negative.", number=entry.number))
        elif entry.kind != INVOICE or not entry.is_open:
            problems.append(_("%(number)s is not an open invoice any more.", number=entry.number))
        elif cents > entry.open_cents:
            problems.append(_("%(number)s: %(amount)s is more than its open amount %(open)s.", number=entry.number,
                              amount=_money(cents, currency), open=_money(entry.open_cents, currency)))
    if problems:
        raise ReceiptError(" ".join(problems))
    allocated = sum(parts.values())
    if form.amount_cents > allocated:
        left = form.amount_cents - allocated
        owed = sum(e.open_cents for e in open_invoices(session, customer) if e.currency == currency)
        if form.amount_cents > owed:
            raise ReceiptError(_("The payment is %(excess)s more than everything this customer owes (%(owed)s): "
                                 "an overpayment is not recorded. Check the amount.",
                                 excess=_money(form.amount_cents - owed, currency), owed=_money(owed, currency)))
        raise ReceiptError(_("%(amount)s of the payment is not allocated: allocate it to invoices, or lower the "
                             "amount.", amount=_money(left, currency)))
    if allocated > form.amount_cents:
        raise ReceiptError(_("The invoices add up to %(allocated)s, more than the payment (%(amount)s).",
                             allocated=_money(allocated, currency), amount=_money(form.amount_cents, currency)))

    receipt = Receipt(customer=customer, received_on=form.received_on, amount_cents=form.amount_cents,
                      currency=currency, method=form.method, reference=reference, recorded_by_id=actor.id,
                      dedupe_key=form.dedupe_key or None)
    session.add(receipt)
    session.flush()
    # The payments' own reference: what the user wrote, or the receipt's number when they wrote none
    # (a second payment without reference on the same invoice is not a duplicate import).
    payment_reference = reference or f"receipt {receipt.id}"
    how = _how(form.amount_cents, currency, form.method, reference, form.received_on)
    for entry_id, cents in sorted(parts.items(), key=lambda item: (entries[item[0]].due_date, item[0])):
        entry = entries[entry_id]
        before = entry.open_cents
        try:
            result = record_payment(session, entry, form.received_on, cents, payment_reference)
        except PaymentError as error:
            raise ReceiptError(_("%(number)s: %(problem)s.", number=entry.number, problem=error)) from None
        if result.duplicate:
            raise ReceiptError(_("A payment with the reference %(reference)s is already recorded on %(number)s.",
                                 reference=repr(reference), number=entry.number))
        result.payment.receipt = receipt
        audit.record(session, actor, "payment.recorded",
                     say("Payment recorded: %(part)s of %(receipt)s. Open amount %(before)s → %(after)s.",
                         part=Money(cents, currency), receipt=how, before=Money(before, currency),
                         after=Money(entry.open_cents, currency)), entry=entry)
    return receipt


# How a receipt was paid, inside a history line: "by cheque", "en espèces" (the preposition varies).
PAID_BY = {"transfer": lazy_pgettext("paid", "by transfer"), "cheque": lazy_pgettext("paid", "by cheque"),
           "card": lazy_pgettext("paid", "by card"), "direct_debit": lazy_pgettext("paid", "by direct debit"),
           "cash": lazy_pgettext("paid", "by cash")}


def _how(cents: int, currency: str, method: str, reference: str, received_on: date) -> Said:
    """"€1,500.00 by cheque 1234 received 01/12/2026": a receipt, in the history."""
    if reference:
        return say("%(amount)s %(paid_by)s %(reference)s received %(received)s", amount=Money(cents, currency),
                   paid_by=PAID_BY.get(method, method), reference=reference, received=received_on)
    return say("%(amount)s %(paid_by)s received %(received)s", amount=Money(cents, currency),
               paid_by=PAID_BY.get(method, method), received=received_on)


def reverse(session: Session, actor: User, receipt: Receipt, reason: str) -> None:
    """The payment did not come through (a cheque returned unpaid): its payments are reversed and
    the invoices owe those amounts again. Kept, struck through, with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ReceiptError(_("Say why the payment is reversed (e.g. cheque returned unpaid)."))
    if receipt.reversed_at is not None:
        raise ReceiptError(_("This payment was already reversed."))
    now = clock.now()
    how = _how(receipt.amount_cents, receipt.currency, receipt.method, receipt.reference, receipt.received_on)
    for payment in receipt.payments:
        if payment.reversed_at is not None:
            continue
        entry = session.get(Entry, payment.entry_id, with_for_update=True, populate_existing=True)
        before = entry.open_cents
        set_open_amount(entry, entry.open_cents + payment.amount_cents)
        payment.reversed_at = now
        audit.record(session, actor, "payment.reversed",
                     say("Payment reversed: %(part)s of %(receipt)s. Open amount %(before)s → %(after)s.",
                         part=Money(payment.amount_cents, receipt.currency), receipt=how,
                         before=Money(before, receipt.currency), after=Money(entry.open_cents, receipt.currency)),
                     entry=entry, reason=reason)
    receipt.reversed_at, receipt.reversed_by_id, receipt.reversal_reason = now, actor.id, reason[:500]


def customer_receipts(session: Session, customer: Customer, limit: int = 50) -> list[Receipt]:
    """The customer's payments recorded by hand, the newest first, with what each settled."""
    return list(session.scalars(
        select(Receipt).where(Receipt.customer_id == customer.id)
        .options(selectinload(Receipt.payments).selectinload(Payment.entry))
        .order_by(Receipt.received_on.desc(), Receipt.id.desc()).limit(limit)))


def customer_receipt(session: Session, customer: Customer, receipt_id: int) -> Receipt | None:
    receipt = session.get(Receipt, receipt_id)
    return receipt if receipt is not None and receipt.customer_id == customer.id else None
