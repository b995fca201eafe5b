"""Customers by hand: the fields' rules (shared with the imports), creating and changing a customer
and its contacts with before → after in the history, and the customers list (every customer,
those owing nothing too).

    values, errors = check_customer(form)            # field → message; nothing written
    customer = create(session, actor, values)        # CustomerError: the account is taken
    update(session, actor, customer, values)         # one history event naming each change
"""
from __future__ import annotations

import re
from typing import Mapping

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat
from stdnum.fr import siren, siret

from domain import audit
from domain.i18n import Joined, _
from domain.i18n import lazy_gettext as _l
from domain.i18n import lazy_pgettext, pgettext, say
from domain.listing import PAGE_SIZE, FilterError, Page, like_escape, parse_sort_and_page
from domain.models import Contact, Customer, CustomerSummary, User

MAX_TERMS_DAYS = 365


class FieldError(ValueError):
    """One field's value is wrong; the message says why, with the value."""


class CustomerError(ValueError):
    """The customer cannot be saved as asked; the message says why."""


def registration_number(value: str) -> str | None:
    """A 9-digit number must be a valid SIREN; a valid SIRET is stored compact; a European VAT
    number must be valid (FR12345678901); anything else (a foreign company number) is kept as given."""
    value = (value or "").strip()
    if not value:
        return None
    compact = siren.compact(value)
    if compact.isdigit() and len(compact) == 9:
        try:
            return siren.validate(compact)
        except stdnum_errors.ValidationError:
            raise FieldError(_("%(value)s is not a valid SIREN (check digit)", value=repr(value))) from None
    if compact.isdigit() and len(compact) == 14:
        try:
            return siret.validate(compact)
        except stdnum_errors.ValidationError:
            raise FieldError(_("%(value)s is not a valid SIRET (check digit)", value=repr(value))) from None
    try:
        candidate = vat.compact(value).upper()
    except stdnum_errors.ValidationError:  # no EU country prefix: not a VAT number
        candidate = ""
    # An EU VAT number: a country prefix and mostly digits (a register number like "HRB 12345" is not one).
    if (re.fullmatch(r"[A-Z]{2}[0-9A-Z+*]{8,13}", candidate) and sum(ch.isdigit() for ch in candidate) >= 7
            and candidate[:2].lower() in vat.MEMBER_STATES):
        try:
            return vat.validate(candidate)
        except stdnum_errors.ValidationError:
            raise FieldError(_("%(value)s is not a valid VAT number", value=repr(value))) from None
    return text(value, 40, pgettext("field", "registration number"))


_EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+")


def emails(value: str) -> str:
    """Addresses separated by commas or semicolons, each checked, stored comma-separated."""
    addresses = [part.strip() for part in re.split(r"[;,\s]+", value or "") if part.strip()]
    for address in addresses:
        if not _EMAIL.fullmatch(address):
            raise FieldError(_("%(value)s is not an e-mail address", value=repr(address)))
    return text(",".join(addresses), 500, pgettext("field", "list of e-mail addresses")) or ""


def language(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return "en"
    match = re.fullmatch(r"([A-Za-z]{2,3})([-_][A-Za-z0-9]{2,4})?", value)
    if match is None:
        raise FieldError(_("%(value)s is not a language code like en or fr", value=repr(value)))
    return match[1].lower() + (match[2] or "")


def text(value: str, max_length: int, label: str) -> str | None:
    value = (value or "").strip()
    if len(value) > max_length:
        raise FieldError(_("the %(label)s is longer than %(max)d characters", label=label, max=max_length))
    return value or None


def terms_days(value: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > MAX_TERMS_DAYS:
        raise FieldError(_("%(value)s is not a number of days from 0 to %(max)d", value=repr(value),
                           max=MAX_TERMS_DAYS))
    return int(value)


def switch(value) -> bool:
    """A checkbox sent with a hidden "0" beside it; not sent at all: on (the default)."""
    return str(value).strip().lower() not in ("0", "false", "off")


def transfer_option(value) -> int | None:
    """10, 20 or 30 (domain.debt_collection); empty: the company's."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if text not in ("10", "20", "30"):
        raise FieldError(_("%(value)s is not a transfer option: 10, 20 or 30", value=repr(text)))
    return int(text)


# The form's fields: name → (the customer's attribute, the rule, required)
FIELDS = {
    "account": (lambda v: text(v, 40, pgettext("field", "account")), True),
    "name": (lambda v: text(v, 200, pgettext("field", "name")), True),
    "registration_number": (registration_number, False),
    "emails": (emails, False),
    "phone": (lambda v: text(v, 40, pgettext("field", "phone number")), False),
    "address": (lambda v: text(v, 2000, pgettext("field", "address")), False),
    "language": (language, False),
    "payment_terms_days": (terms_days, False),
    "late_payment_charges": (switch, False),
    "transfer_option": (transfer_option, False),
}
LABELS = {"account": _l("Account"), "name": _l("Name"), "registration_number": _l("Registration no."),
          "emails": _l("E-mail"), "phone": _l("Phone"), "address": _l("Address"), "language": _l("Language"),
          "payment_terms_days": _l("Payment terms"),
          "late_payment_charges": _l("Late-payment interest and indemnity"), "transfer_option": _l("Transfer option")}


def check_customer(form: Mapping[str, str], *, fields=tuple(FIELDS)) -> tuple[dict, dict[str, str]]:
    """The form's values as the customer keeps them, and what is wrong with each field."""
    values, errors = {}, {}
    for name in fields:
        rule, required = FIELDS[name]
        try:
            value = rule(form.get(name, ""))
        except FieldError as error:
            errors[name] = str(error)
            continue
        if required and not value:
            errors[name] = _("required")
        values[name] = value
    if values.get("account") and not re.fullmatch(r"[^\s/?#]+", values["account"]):
        errors["account"] = _("no spaces, slashes, ? or # in an account code")
    elif values.get("account") == "new":
        errors["account"] = _("\"new\" is not an account code Relance can use")
    return values, errors


SWITCHED = {True: lazy_pgettext("switch", "on"), False: lazy_pgettext("switch", "off")}


def _shown(value):
    """A field's value in a history line: a switch in the reader's words, the rest as typed."""
    if isinstance(value, bool):
        return SWITCHED[value]
    return "—" if value in (None, "") else value


def create(session: Session, actor: User, values: dict) -> Customer:
    if session.scalar(select(Customer.id).where(Customer.account == values["account"])) is not None:
        raise CustomerError(_("The account %(account)s already exists.", account=values["account"]))
    customer = Customer(**values)
    session.add(customer)
    session.flush()
    audit.record(session, actor, "customer.created",
                 say("Customer created: %(name)s (%(account)s).", name=customer.name, account=customer.account),
                 customer=customer)
    return customer


def update(session: Session, actor: User, customer: Customer, values: dict) -> list[str]:
    """Change what differs; one history event says each change, before → after. The account code
    is not changed here (imports and the ERP know the customer by it)."""
    changes = []
    for name, value in values.items():
        if name == "account" or getattr(customer, name) == value:
            continue
        changes.append(say("%(field)s: %(before)s → %(after)s", field=LABELS[name],
                           before=_shown(getattr(customer, name)), after=_shown(value)))
        setattr(customer, name, value)
    if changes:
        audit.record(session, actor, "customer.changed", say("Customer changed: %(changes)s.",
                                                              changes=Joined(changes, "; ")), customer=customer)
    return [str(change) for change in changes]


# --- Contacts ------------------------------------------------------------------------------------

CONTACT_FIELDS = {
    "name": (lambda v: text(v, 200, pgettext("field", "name")), True),
    "position": (lambda v: text(v, 100, pgettext("field", "position")), False),
    "email": (lambda v: _one_email(v), False),
    "phone": (lambda v: text(v, 40, pgettext("field", "phone number")), False),
}


def _one_email(value: str) -> str | None:
    value = (value or "").strip()
    if value and not _EMAIL.fullmatch(value):
        raise FieldError(_("%(value)s is not an e-mail address", value=repr(value)))
    return value or None


def check_contact(form: Mapping[str, str]) -> tuple[dict, dict[str, str]]:
    """The contact's values and what is wrong with each; `billing` (the one who receives the
    reminders) needs an e-mail address."""
    values, errors = {}, {}
    for name, (rule, required) in CONTACT_FIELDS.items():
        try:
            values[name] = rule(form.get(name, ""))
        except FieldError as error:
            errors[name] = str(error)
            continue
        if required and not values[name]:
            errors[name] = _("required")
    values["billing"] = form.get("billing") == "1"
    if values["billing"] and not values.get("email") and "email" not in errors:
        errors["email"] = _("the billing contact receives the reminders: give an e-mail address")
    return values, errors


def _contact_text(contact: Contact) -> Joined:
    """"Claire Martin, CFO, claire@alpha.test, billing": as typed, the role in the reader's words."""
    parts = [part for part in (contact.name, contact.position, contact.email, contact.phone) if part]
    return Joined(parts + ([BILLING] if contact.billing else []), ", ")


BILLING = lazy_pgettext("contact", "billing")


def _one_billing(customer: Customer, contact: Contact) -> None:
    """One billing contact per customer: this one takes the role from any other."""
    for other in customer.contacts:
        if other is not contact and other.billing:
            other.billing = False


def add_contact(session: Session, actor: User, customer: Customer, values: dict) -> Contact:
    contact = Contact(customer=customer, **values)
    session.add(contact)
    if contact.billing:
        _one_billing(customer, contact)
    audit.record(session, actor, "contact.added", say("Contact added: %(contact)s.", contact=_contact_text(contact)),
                 customer=customer)
    return contact


def update_contact(session: Session, actor: User, contact: Contact, values: dict) -> None:
    before = _contact_text(contact)
    for name, value in values.items():
        setattr(contact, name, value)
    if contact.billing:
        _one_billing(contact.customer, contact)
    after = _contact_text(contact)
    if after != before:
        audit.record(session, actor, "contact.changed",
                     say("Contact changed: %(before)s → %(after)s.", before=before, after=after),
                     customer=contact.customer)


def remove_contact(session: Session, actor: User, contact: Contact) -> None:
    audit.record(session, actor, "contact.removed",
                 say("Contact removed: %(contact)s.", contact=_contact_text(contact)), customer=contact.customer)
    session.delete(contact)


# --- The customers list ----------------------------------------------------------------------------

SORTS = {"name": Customer.name, "account": Customer.account, "created": Customer.created_at}
OWING = {"": _l("All customers"), "owing": _l("Owing something"), "settled": _l("Owing nothing")}


def list_customers(session: Session, args: Mapping[str, str]) -> tuple[Page, dict[str, str]]:
    """A page of customers: a search on account, name or registration number, whether they owe
    something, sorted by name (or account, or newest). And the filters as read, for the links."""
    sort, direction, page = parse_sort_and_page(args, tuple(SORTS))
    owing = (args.get("owing") or "").strip()
    if owing not in OWING:
        raise FilterError(_("'owing' must be one of %(choices)s, not %(value)s.",
                            choices=", ".join(k for k in OWING if k), value=repr(owing)))
    search = (args.get("q") or "").strip()[:100]  # as the other lists: a pasted page of text is no search
    query = select(Customer)
    if search:
        pattern = f"%{like_escape(search)}%"
        query = query.where(or_(Customer.account.ilike(pattern, escape="\\"), Customer.name.ilike(pattern, escape="\\"),
                                Customer.registration_number.ilike(pattern, escape="\\")))
    owes = exists().where(CustomerSummary.customer_id == Customer.id, CustomerSummary.total_cents != 0)
    if owing == "owing":
        query = query.where(owes)
    elif owing == "settled":
        query = query.where(~owes)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    column = SORTS[sort or "name"]
    order = column.desc() if (direction or ("desc" if sort == "created" else "asc")) == "desc" else column.asc()
    rows = list(session.scalars(query.order_by(order, Customer.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return Page(rows=rows, page=page, total=total), {"q": search, "owing": owing}


def totals_of(session: Session, customers: list[Customer]) -> dict[int, list[CustomerSummary]]:
    """What each listed customer owes, per currency (one query for the page)."""
    found: dict[int, list[CustomerSummary]] = {c.id: [] for c in customers}
    if customers:
        for summary in session.scalars(select(CustomerSummary).where(CustomerSummary.customer_id.in_(found))
                                       .order_by(CustomerSummary.currency)):
            found[summary.customer_id].append(summary)
    return found
