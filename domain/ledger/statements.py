"""A customer's statement (relevé de compte) for a period, in one currency: the opening balance,
every invoice, credit note, payment and reversal of the period by date with a running balance,
and the closing balance.

    found = statement(session, customer, start, end, "EUR")

Amounts are what the ledger knows. An entry whose open amount went down without a payment in
Relance (an ERP file gave the open amount) was settled on a day nobody told us: that part is one
line "settled outside Relance" on the day the statement is made, so the closing balance is the
account's balance today; a statement that ends before today says so instead (`undated_cents`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import clock
from domain.i18n import _
from domain.models import CREDIT_NOTE, PAYMENT_METHODS, Customer, Entry, Payment, Receipt

MAX_LINES = 5000  # a statement longer than this asks for a shorter period


class StatementError(ValueError):
    """The period asked for cannot be stated; the message says why."""


@dataclass(frozen=True)
class StatementLine:
    day: date
    kind: str  # "invoice" | "credit_note" | "payment" | "reversal" | "cancelled" | "settled"
    number: str  # the entry's
    label: str
    debit_cents: int  # what the customer owes more
    credit_cents: int  # what the customer owes less
    balance_cents: int  # after this line


@dataclass
class Statement:
    customer: Customer
    currency: str
    start: date
    end: date
    opening_cents: int
    lines: list[StatementLine] = field(default_factory=list)
    undated_cents: int = 0  # settled outside Relance, on no known day, left out of a statement ending before today

    @property
    def closing_cents(self) -> int:
        return self.lines[-1].balance_cents if self.lines else self.opening_cents

    @property
    def debit_cents(self) -> int:
        return sum(line.debit_cents for line in self.lines)

    @property
    def credit_cents(self) -> int:
        return sum(line.credit_cents for line in self.lines)


def currencies(session: Session, customer: Customer) -> list[str]:
    """The currencies of the customer's entries, the most used first."""
    rows = session.execute(select(Entry.currency, func.count()).where(Entry.customer_id == customer.id)
                           .group_by(Entry.currency).order_by(func.count().desc(), Entry.currency))
    return [currency for currency, _count in rows] or ["EUR"]


def _movements(session: Session, customer: Customer, currency: str, today: date):
    """Every dated movement of the account in this currency: (day, order, line without balance)."""
    entries = list(session.execute(
        select(Entry.id, Entry.number, Entry.kind, Entry.issue_date, Entry.amount_cents, Entry.open_cents,
               Entry.cancelled_at, Entry.cancel_reason)
        .where(Entry.customer_id == customer.id, Entry.currency == currency)))
    paid_by_hand: dict[int, int] = {}
    payments = session.execute(
        select(Payment.entry_id, Payment.paid_on, Payment.amount_cents, Payment.reference, Payment.reversed_at,
               Payment.receipt_id, Receipt.method, Receipt.reference, Receipt.reversal_reason, Entry.number, Entry.kind)
        .join(Entry, Entry.id == Payment.entry_id).outerjoin(Receipt, Receipt.id == Payment.receipt_id)
        .where(Entry.customer_id == customer.id, Entry.currency == currency))
    moves = []
    for entry_id, paid_on, cents, reference, reversed_at, receipt_id, method, receipt_reference, why, number, kind \
            in payments:
        sign = -1 if kind == CREDIT_NOTE else 1  # a refund of a credit note raises the balance
        if receipt_id is not None:  # recorded by hand: its method and the reference the user wrote, if any
            how, reference = PAYMENT_METHODS.get(method, method), receipt_reference
        else:
            how = _("Payment")
        moves.append((paid_on, 2, "payment", number, f"{how} {reference}".strip(), -sign * cents))
        if reversed_at is not None:
            moves.append((reversed_at.date(), 3, "reversal", number,
                          _("Reversed: %(reason)s", reason=why) if why else _("Payment reversed"), sign * cents))
        else:
            paid_by_hand[entry_id] = paid_by_hand.get(entry_id, 0) + cents
    for entry_id, number, kind, issued, amount, open_cents, cancelled_at, why in entries:
        sign = -1 if kind == CREDIT_NOTE else 1
        moves.append((issued, 1, kind, number, _("Credit note") if kind == CREDIT_NOTE else _("Invoice"),
                      sign * amount))
        if cancelled_at is not None:  # what was still open when it was cancelled leaves the balance that day
            cancelled = amount - paid_by_hand.get(entry_id, 0)
            moves.append((cancelled_at.date(), 3, "cancelled", number,
                          _("Cancelled: %(reason)s", reason=why) if why else _("Cancelled"), -sign * cancelled))
            continue
        settled = amount - open_cents - paid_by_hand.get(entry_id, 0)
        if settled:
            moves.append((today, 4, "settled", number, _("Settled outside Relance (no payment recorded)"),
                          -sign * settled))
    moves.sort(key=lambda move: (move[0], move[1], move[3]))
    return moves


def statement(session: Session, customer: Customer, start: date, end: date, currency: str) -> Statement:
    if end < start:
        raise StatementError(_("The period ends before it starts."))
    today = clock.today()
    found = Statement(customer=customer, currency=currency, start=start, end=end, opening_cents=0)
    balance = 0
    for day, _order, kind, number, label, cents in _movements(session, customer, currency, today):
        if kind == "settled" and end < today:
            found.undated_cents += cents
            continue
        if day < start:
            balance += cents
            found.opening_cents = balance
            continue
        if day > end:
            continue
        if len(found.lines) >= MAX_LINES:
            raise StatementError(_("More than %(count)s lines: choose a shorter period.", count=format(MAX_LINES, ",")))
        balance += cents
        found.lines.append(StatementLine(day, kind, number, label, max(cents, 0), max(-cents, 0), balance))
    return found
