"""Collection agencies, and handing a collection file over to one.

The hand-off is an e-mail from the company's sender address with the .zip attached and the
company's SIREN in the subject: agencies file their clients' cases under it.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit, clock
from domain.collection.files import KIND as COLLECTION_FILE
from domain.i18n import Joined, _, say
from domain.models import CASE_STATUS_LABELS, CollectionAgency, CollectionCase, CompanySettings, Export, User
from domain.notifications import expires_at_of, is_expired
from domain.settings import company, is_email

# A case still with the company, or already with an agency (a lost e-mail can be sent again).
SENDABLE_STATUSES = ("open", "sent_to_agency")


class AgencyError(ValueError):
    """What is wrong with the agency form, field by field; nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class SendRefused(ValueError):
    """The file cannot go to an agency now; the message says why and what to do."""


# --- Agencies --------------------------------------------------------------------------------

def all_agencies(session: Session) -> list[CollectionAgency]:
    return list(session.scalars(select(CollectionAgency).order_by(CollectionAgency.active.desc(),
                                                                 CollectionAgency.name, CollectionAgency.id)))


def active_agencies(session: Session) -> list[CollectionAgency]:
    return list(session.scalars(select(CollectionAgency).where(CollectionAgency.active.is_(True))
                                .order_by(CollectionAgency.name, CollectionAgency.id)))


def _checked(name: str, email: str) -> tuple[str, str]:
    name, email = (name or "").strip(), (email or "").strip()
    errors = {}
    if not name:
        errors["name"] = _("The agency's name is required.")
    elif len(name) > 200:
        errors["name"] = _("The agency's name has at most 200 characters.")
    if not is_email(email):
        errors["email"] = _("%(email)s is not an e-mail address.", email=email) if email \
            else _("The agency's e-mail address is required.")
    if errors:
        raise AgencyError(errors)
    return name, email


def add_agency(session: Session, actor: User, name: str, email: str) -> CollectionAgency:
    name, email = _checked(name, email)
    agency = CollectionAgency(name=name, email=email, active=True)
    session.add(agency)
    audit.record(session, actor, "agency.added",
                 say("Collection agency added: %(name)s <%(email)s>", name=name, email=email))
    return agency


def update_agency(session: Session, actor: User, agency: CollectionAgency, name: str, email: str) -> None:
    name, email = _checked(name, email)
    if (agency.name, agency.email) != (name, email):
        audit.record(session, actor, "agency.changed",
                     say("Collection agency changed: %(old_name)s <%(old_email)s> → %(name)s <%(email)s>",
                         old_name=agency.name, old_email=agency.email, name=name, email=email))
    agency.name, agency.email = name, email


def set_agency_active(session: Session, actor: User, agency: CollectionAgency, active: bool) -> None:
    """Deactivate rather than delete: cases sent to the agency still name it."""
    if agency.active != active:
        agency.active = active
        audit.record(session, actor, "agency.activated" if active else "agency.deactivated",
                     say("Collection agency reactivated: %(name)s", name=agency.name) if active
                     else say("Collection agency deactivated: %(name)s", name=agency.name))


# --- Sending a collection file ---------------------------------------------------------------

def case_of_export(session: Session, export: Export) -> CollectionCase | None:
    if export.kind != COLLECTION_FILE:
        return None
    return session.scalar(select(CollectionCase).where(CollectionCase.export_id == export.id)
                          .order_by(CollectionCase.id.desc()).limit(1))


def cases_by_export(session: Session, exports: list[Export]) -> dict[int, CollectionCase]:
    ids = [e.id for e in exports if e.kind == COLLECTION_FILE]
    if not ids:
        return {}
    return {case.export_id: case for case in session.scalars(
        select(CollectionCase).where(CollectionCase.export_id.in_(ids)).order_by(CollectionCase.id))}


def check_send(
    session: Session,
    user: User,
    export: Export,
    case: CollectionCase | None,
    agency: CollectionAgency | None = None,
    *,
    agency_chosen: bool = True,
) -> CompanySettings:
    """Refuse, with the reason, anything that would make the hand-off go wrong; the company
    settings the e-mail needs when all is well. With agency_chosen=False only the file and the
    settings are checked (the dialog before an agency is picked). The reasons are Said: a failed
    send keeps its reason in the user's bell, read in their language."""
    if not user.can("edit"):
        raise SendRefused(say("Your role does not allow sending collection files to an agency."))
    if export.user_id != user.id and user.role != "admin":
        raise SendRefused(say("Only the person who made this collection file, or an admin, may send it."))
    if export.kind != COLLECTION_FILE or case is None:
        raise SendRefused(say("This file has no collection case (its entries were not marked as in collection): "
                              "make a new collection file with “Mark entries as in collection” ticked."))
    if export.status != "ready":
        raise SendRefused(say("The collection file is not ready yet."))
    if is_expired(export):
        raise SendRefused(say("This collection file expired on %(day)s and was deleted: make a new one from the "
                              "customer's account.", day=expires_at_of(export)))
    if case.status not in SENDABLE_STATUSES:
        raise SendRefused(say("This case is “%(status)s”: it is not sent to an agency any more.",
                              status=CASE_STATUS_LABELS[case.status]))
    settings = company(session)
    if settings is None or not settings.registration_number:
        raise SendRefused(say("Set the company's SIREN in Settings → Company first: agencies file cases under it."))
    if not settings.sender_email:
        raise SendRefused(say("Set the company's sender e-mail in Settings → Company first: the file is sent from it."))
    if not active_agencies(session):
        raise SendRefused(say("There is no collection agency yet: add one in Settings → Collection agencies."))
    if agency_chosen and (agency is None or not agency.active):
        raise SendRefused(say("Choose one of the active collection agencies."))
    return settings


def subject(settings: CompanySettings) -> str:
    """The hand-off e-mail's subject, in the sender's language."""
    return _("Collection file — %(company)s — SIREN %(siren)s", company=settings.name,
             siren=settings.registration_number)


def record_sent(session: Session, case: CollectionCase, agency: CollectionAgency, user: User) -> None:
    """The agency has the file: the case says so, and the customer's history too."""
    now = clock.now()
    case.status, case.agency_id, case.sent_at, case.status_changed_at = "sent_to_agency", agency.id, now, now
    numbers = [e.number for e in case.entries]
    audit.record(session, user, "collection_file.sent",
                 say("Collection file sent to %(agency)s <%(email)s> for %(numbers)s", agency=agency.name,
                     email=agency.email, numbers=Joined(numbers, ", ")) if numbers
                 else say("Collection file sent to %(agency)s <%(email)s>", agency=agency.name, email=agency.email),
                 customer=case.customer)
