"""Payments: a payment lowers its entry's open amount in the same transaction, once per reference."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.i18n import _
from domain.models import Entry, Payment
from domain.money import plain


class PaymentError(ValueError):
    pass


@dataclass(frozen=True)
class PaymentResult:
    payment: Payment | None
    duplicate: bool


def record_payment(session: Session, entry: Entry, paid_on: date, amount_cents: int, reference: str) -> PaymentResult:
    """Apply a payment to an entry; its open amount changes in the same transaction.

    The same (entry, reference) twice is one payment: a bank export imported again must not
    pay an invoice twice.
    """
    if amount_cents <= 0:
        raise PaymentError(_("the amount must be positive"))
    existing = session.scalar(select(Payment).where(Payment.entry_id == entry.id, Payment.reference == reference))
    if existing is not None:
        return PaymentResult(existing, duplicate=True)
    if amount_cents > entry.open_cents:
        raise PaymentError(_("payment of %(amount)s is larger than the open amount %(open)s",
                               amount=plain(amount_cents), open=plain(entry.open_cents)))
    payment = Payment(entry=entry, paid_on=paid_on, amount_cents=amount_cents, reference=reference)
    session.add(payment)
    set_open_amount(entry, entry.open_cents - amount_cents)
    return PaymentResult(payment, duplicate=False)


def set_open_amount(entry: Entry, open_cents: int) -> None:
    entry.open_cents = open_cents
    entry.is_open = open_cents != 0
