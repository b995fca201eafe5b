"""Entries by hand: an invoice or a credit note added to a customer, changed (an amount change is in
the history, before → after, and moves the open amount by as much), or cancelled (kept, struck
through, out of every balance).

    values, errors = check_entry(form, customer)       # field → message; nothing written
    entry = add(session, actor, customer, values)      # EntryError: the number is taken
    change(session, actor, entry, values)
    cancel(session, actor, entry, reason)
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import audit, clock
from domain.i18n import Joined, Money, Said, _
from domain.i18n import lazy_gettext as _l
from domain.i18n import say
from domain.ledger.payments import set_open_amount
from domain.models import CREDIT_NOTE, ENTRY_KINDS, INVOICE, CompanySettings, Customer, Entry, Payment, User
from domain.money import AmountError, format_money, parse_amount

DEFAULT_TERMS_DAYS = 30  # due date = issue date + this, when neither the customer nor Settings → Company say


def default_terms_days(session: Session) -> int:
    """The payment terms of customers without their own: Settings → Company, else 30 days."""
    terms = session.scalar(select(CompanySettings.payment_terms_days))
    return DEFAULT_TERMS_DAYS if terms is None else terms
KIND_LABELS = {INVOICE: _l("Invoice"), CREDIT_NOTE: _l("Credit note")}
LABELS = {"number": _l("Number"), "kind": _l("Kind"), "issue_date": _l("Issue date"), "due_date": _l("Due date"),
          "amount": _l("Amount"), "currency": _l("Currency")}


class EntryError(ValueError):
    """The entry cannot be saved (or cancelled) as asked; the message says why."""


def _date(value: str, label: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise EntryError(_("%(value)s is not a date", value=repr(value))) from None


def check_entry(form: Mapping[str, str], customer: Customer, *, new: bool = True,
                default_terms: int = DEFAULT_TERMS_DAYS) -> tuple[dict, dict[str, str]]:
    """The form's values as the entry keeps them (amount in cents), and what is wrong with each field.
    Without a due date: the issue date plus the customer's payment terms (else `default_terms`)."""
    values, errors = {}, {}
    if new:
        number = (form.get("number") or "").strip()
        if not number:
            errors["number"] = _("required")
        elif len(number) > 60:
            errors["number"] = _("longer than %(max)d characters", max=60)
        values["number"] = number
        kind = form.get("kind") or INVOICE
        if kind not in ENTRY_KINDS:
            errors["kind"] = _("choose invoice or credit note")
        values["kind"] = kind
    for name in ("issue_date", "due_date"):
        try:
            values[name] = _date(form.get(name, ""), LABELS[name])
        except EntryError as error:
            errors[name] = str(error)
    if "issue_date" not in errors and values["issue_date"] is None:
        errors["issue_date"] = _("required")
    if not errors.get("issue_date") and not errors.get("due_date"):
        if values["due_date"] is None:
            terms = customer.payment_terms_days
            values["due_date"] = values["issue_date"] + timedelta(days=default_terms if terms is None else terms)
        elif values["due_date"] < values["issue_date"]:
            errors["due_date"] = _("before the issue date")
    try:
        values["amount_cents"] = parse_amount(form.get("amount", ""))
        if values["amount_cents"] == 0:
            errors["amount"] = _("must be more than zero")
    except AmountError as error:
        errors["amount"] = str(error)
    currency = (form.get("currency") or "EUR").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors["currency"] = _("%(value)s is not a currency code like EUR", value=repr(currency))
    values["currency"] = currency
    return values, errors


def _money(cents: int, currency: str) -> str:
    return format_money(cents, currency)


def add(session: Session, actor: User, customer: Customer, values: dict) -> Entry:
    if session.scalar(select(Entry.id).where(Entry.number == values["number"])) is not None:
        raise EntryError(_("An entry numbered %(number)s already exists: entry numbers are unique.",
                           number=values["number"]))
    entry = Entry(customer=customer, number=values["number"], kind=values["kind"], issue_date=values["issue_date"],
                  due_date=values["due_date"], amount_cents=values["amount_cents"], currency=values["currency"],
                  open_cents=values["amount_cents"], is_open=True, reminder_level=0)
    session.add(entry)
    session.flush()
    values = {"number": entry.number, "amount": Money(entry.amount_cents, entry.currency),
              "issued": entry.issue_date, "due": entry.due_date}
    detail = (say("Credit note %(number)s added: %(amount)s, issued %(issued)s, due %(due)s.", **values)
              if entry.kind == CREDIT_NOTE else
              say("Invoice %(number)s added: %(amount)s, issued %(issued)s, due %(due)s.", **values))
    audit.record(session, actor, "entry.added", detail, entry=entry)
    return entry


def paid_cents(session: Session, entry: Entry) -> int:
    """What payments recorded in Relance have settled of this entry (reversed ones are not counted)."""
    return session.scalar(select(func.coalesce(func.sum(Payment.amount_cents), 0))
                          .where(Payment.entry_id == entry.id, Payment.reversed_at.is_(None))) or 0


def _changes(entry: Entry, values: dict) -> list[Said]:
    """What `values` change on the entry, before → after (each reader's language)."""
    changes = []
    for name in ("issue_date", "due_date"):
        if getattr(entry, name) != values[name]:
            changes.append(say("%(field)s: %(before)s → %(after)s", field=LABELS[name], before=getattr(entry, name),
                               after=values[name]))
    if values["currency"] != entry.currency:
        changes.append(say("%(field)s: %(before)s → %(after)s", field=LABELS["currency"], before=entry.currency,
                           after=values["currency"]))
    if values["amount_cents"] != entry.amount_cents:
        currency = values["currency"]
        open_after = entry.open_cents + values["amount_cents"] - entry.amount_cents
        changes.append(say("%(field)s: %(before)s → %(after)s (open amount %(open_before)s → %(open_after)s)",
                           field=LABELS["amount"], before=Money(entry.amount_cents, currency),
                           after=Money(values["amount_cents"], currency), open_before=Money(entry.open_cents, currency),
                           open_after=Money(open_after, currency)))
    return changes


def change(session: Session, actor: User, entry: Entry, values: dict) -> list[str]:
    """Change the dates, the amount or the currency; the open amount moves by the amount's change.
    An amount below what is already paid, or a currency change once something is paid, is refused.
    Returns the changes, in the current language (the history keeps them for each reader's)."""
    if entry.cancelled_at is not None:
        raise EntryError(_("%(number)s is cancelled: it cannot be changed.", number=entry.number))
    paid = paid_cents(session, entry)
    if values["amount_cents"] != entry.amount_cents and values["amount_cents"] < entry.amount_cents - entry.open_cents:
        raise EntryError(_("%(amount)s of %(number)s is already paid: the amount cannot be less.",
                           amount=_money(entry.amount_cents - entry.open_cents, entry.currency), number=entry.number))
    if values["currency"] != entry.currency and paid:
        raise EntryError(_("%(number)s has payments in %(currency)s: its currency cannot change.",
                           number=entry.number, currency=entry.currency))
    history = _changes(entry, values)
    for name in ("issue_date", "due_date", "currency"):
        if getattr(entry, name) != values[name]:
            setattr(entry, name, values[name])
    if values["amount_cents"] != entry.amount_cents:
        set_open_amount(entry, entry.open_cents + values["amount_cents"] - entry.amount_cents)
        entry.amount_cents = values["amount_cents"]
    if history:
        audit.record(session, actor, "entry.changed",
                     say("%(number)s changed: %(changes)s.", number=entry.number, changes=Joined(history, "; ")),
                     entry=entry)
    return [str(change) for change in history]


def cancel(session: Session, actor: User, entry: Entry, reason: str) -> None:
    """Cancelled (issued by mistake, replaced): kept and listed, out of every balance and reminder.
    An entry with payments recorded is refused: reverse them first, or record a credit note."""
    reason = (reason or "").strip()
    if not reason:
        raise EntryError(_("Say why the entry is cancelled."))
    if entry.cancelled_at is not None:
        raise EntryError(_("%(number)s is already cancelled.", number=entry.number))
    if paid_cents(session, entry):
        raise EntryError(_("%(number)s has payments recorded: reverse them first, or record a credit note.",
                           number=entry.number))
    before = entry.open_cents
    entry.cancelled_at, entry.cancelled_by_id, entry.cancel_reason = clock.now(), actor.id, reason[:500]
    set_open_amount(entry, 0)
    values = {"number": entry.number, "before": Money(before, entry.currency), "after": Money(0, entry.currency)}
    detail = (say("Credit note %(number)s cancelled: open amount %(before)s → %(after)s.", **values)
              if entry.kind == CREDIT_NOTE else
              say("Invoice %(number)s cancelled: open amount %(before)s → %(after)s.", **values))
    audit.record(session, actor, "entry.cancelled", detail, entry=entry, reason=reason)
