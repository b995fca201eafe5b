"""Settings: the company using Relance (one row) and each user's notification preference."""
from __future__ import annotations

import re

from sqlalchemy import event, select
from sqlalchemy.orm import Session
from stdnum import bic as bic_numbers
from stdnum import iban as iban_numbers
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError
from stdnum.fr import siren

from domain import audit
from domain.i18n import Joined, _
from domain.i18n import lazy_gettext as _l
from domain.i18n import lazy_pgettext, say
from domain.models import CompanySettings, User
from domain.notifications import PREFERENCES

EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
# Numbers of days the company sets: (label, lowest, highest, default).
DAY_SETTINGS = {
    "payment_terms_days": (_l("Payment terms"), 0, 365, 30),  # due date of entries without one (and of the FEC's)
    "promise_grace_days": (_l("Grace after a promised date"), 0, 60, 3),  # reminders wait that much longer
    "dispute_stale_days": (_l("A dispute is untouched after"), 1, 365, 14),  # flagged, and in the morning digest
    "schedule_broken_after": (_l("Missed instalments that break a schedule"), 1, 12, 2),
}
# What the history calls each setting it says was changed (SIREN, IBAN, BIC: the same in every language).
COMPANY_FIELDS = {"name": lazy_pgettext("company setting", "name"), "registration_number": "SIREN",
                  "sender_email": lazy_pgettext("company setting", "sender e-mail"),
                  "address": lazy_pgettext("company setting", "address"),
                  "payment_terms_days": lazy_pgettext("company setting", "payment terms"),
                  "promise_grace_days": lazy_pgettext("company setting", "promise grace"),
                  "dispute_stale_days": lazy_pgettext("company setting", "untouched disputes"),
                  "schedule_broken_after": lazy_pgettext("company setting", "missed instalments"),
                  "iban": "IBAN", "bic": "BIC"}


class SettingsError(ValueError):
    """What is wrong with the form, field by field; nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def is_email(text: str) -> bool:
    return bool(EMAIL.match(text or ""))


_COMPANY = "relance.company_settings"  # the company's row as this transaction read it (or None: none yet)


def company(session: Session) -> CompanySettings | None:
    """The company's row, read once per transaction (a page asks for it several times: the banner,
    the page itself); the end of the transaction forgets it (remember_company)."""
    if _COMPANY in session.info:
        return session.info[_COMPANY]
    found = session.scalar(select(CompanySettings).order_by(CompanySettings.id).limit(1))
    session.info[_COMPANY] = found
    return found


@event.listens_for(Session, "after_transaction_end")
def _forget_company(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction: a commit or a rollback
        session.info.pop(_COMPANY, None)


def sending_problems(session: Session, mail_server: bool) -> list[str]:
    """What keeps Relance from sending any reminder, for the banner admins and finance see on every
    page until it is fixed: no sender address for the company, no mail server."""
    problems = []
    found = company(session)
    if found is None or not (found.sender_email or "").strip():
        problems.append(_("The company has no sender e-mail address: no reminder can be e-mailed."))
    if not mail_server:
        problems.append(_("No mail server is configured (RELANCE_SMTP_URL): no e-mail can be sent."))
    return problems


def company_or_blank(session: Session) -> CompanySettings:
    """The saved company, or an empty one to fill the form with (not added to the session)."""
    return company(session) or CompanySettings(name="", registration_number="", sender_email="", address=None)


def compact_siren(text: str | None) -> str:
    """The SIREN as 9 digits (spaces are fine on input); empty stays empty."""
    text = (text or "").strip()
    if not text:
        return ""
    try:
        return siren.validate(text)
    except InvalidLength:
        problem = _("a SIREN has 9 digits")
    except InvalidChecksum:
        problem = _("its check digit is wrong: check for a typing mistake")
    except InvalidFormat:
        problem = _("a SIREN has digits only")
    raise SettingsError({"registration_number": _("%(text)s is not a valid SIREN: %(problem)s.", text=text,
                                                  problem=problem)})


def compact_iban(text: str | None) -> str | None:
    """Where customers pay, printed on formal notices: checked (country, length, check digits)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return iban_numbers.validate(text)
    except InvalidChecksum:
        problem = _("its check digits are wrong: check for a typing mistake")
    except (InvalidLength, InvalidComponent):
        problem = _("its length does not match its country")
    except ValidationError:
        problem = _("an IBAN starts with a country code, e.g. FR76 3000 6000 0112 3456 7890 189")
    raise SettingsError({"iban": _("%(text)s is not a valid IBAN: %(problem)s.", text=text, problem=problem)})


def compact_bic(text: str | None) -> str | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return bic_numbers.validate(text)
    except ValidationError:
        raise SettingsError({"bic": _("%(text)s is not a valid BIC: 8 or 11 letters and digits, e.g. BNPAFRPP.",
                                      text=text)}) from None


def save_company(
    session: Session,
    actor: User,
    *,
    name: str,
    registration_number: str,
    sender_email: str,
    address: str | None,
    iban: str | None = None,
    bic: str | None = None,
    **days: str | int | None,
) -> CompanySettings:
    """Check every field, then save them all (creating the row on the first save) or none.
    `days` are the numbers of days of DAY_SETTINGS; one not given (None) keeps its value, and so
    does an IBAN or BIC not given."""
    row = company(session)
    values = {"name": (name or "").strip(), "sender_email": (sender_email or "").strip(),
              "address": (address or "").strip() or None}
    errors: dict[str, str] = {}
    for field, given, check in (("iban", iban, compact_iban), ("bic", bic, compact_bic)):
        if given is None:
            values[field] = getattr(row, field) if row is not None else None
            continue
        try:
            values[field] = check(given)
        except SettingsError as problem:
            errors.update(problem.errors)
    unknown = set(days) - DAY_SETTINGS.keys()
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}")
    for field, (label, low, high, default) in DAY_SETTINGS.items():
        given = days.get(field)
        text = str(given if given is not None else "").strip()
        if given is None:
            current = getattr(row, field) if row is not None else None
            values[field] = default if current is None else current
        elif text.isdigit() and low <= int(text) <= high:
            values[field] = int(text)
        else:
            if field == "schedule_broken_after":
                errors[field] = _("%(label)s: a number of instalments from %(low)s to %(high)s.", label=label,
                                  low=low, high=high)
            else:
                errors[field] = _("%(label)s: a number of days from %(low)s to %(high)s.", label=label, low=low,
                                  high=high)
    if not values["name"]:
        errors["name"] = _("The company name is required: it signs the mail sent to agencies.")
    elif len(values["name"]) > 200:
        errors["name"] = _("The company name has at most 200 characters.")
    try:
        values["registration_number"] = compact_siren(registration_number)
    except SettingsError as problem:
        errors.update(problem.errors)
    if values["sender_email"] and not is_email(values["sender_email"]):
        errors["sender_email"] = _("%(email)s is not an e-mail address.", email=values["sender_email"])
    if errors:
        raise SettingsError(errors)

    if row is None:
        row = CompanySettings()
        session.add(row)
        session.info[_COMPANY] = row
    changed = [label for field, label in COMPANY_FIELDS.items() if (getattr(row, field) or None) != (values[field] or None)]
    for field, value in values.items():
        setattr(row, field, value)
    if changed:
        audit.record(session, actor, "settings.company_changed", say("Company settings changed: %(fields)s",
                                                                          fields=Joined(changed, ", ")))
    return row


def set_export_notifications(user: User, choice: str) -> None:
    if choice not in PREFERENCES:
        raise SettingsError({"export_notifications": _("Choose how you want to hear about your exports.")})
    user.export_notifications = choice
