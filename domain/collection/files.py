"""Collection files: the entries a customer owes, handed to a collection agency or a lawyer.

Starting one applies the dialog's options at once (stop reminders, mark entries ⚖️), opens a
collection case for the marked entries and records an export that the worker turns into a .zip.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit, clock, i18n
from domain.collection import marks
from domain.exports import COLLECTION_FILE, DOUBLE_CLICK_WINDOW, LIFETIME
from domain.i18n import Joined, Said, _, nsay, say
from domain.models import CollectionCase, Customer, Entry, Export, User

KIND = COLLECTION_FILE


class CollectionFileError(ValueError):
    """The selection cannot make a collection file; the message says why."""


@dataclass
class CollectionFileStart:
    export: Export
    case: CollectionCase | None
    is_new: bool  # False for a double click: the same file is already on its way


def selected_entries(session: Session, customer: Customer, entry_ids: list[int]) -> list[Entry]:
    """The customer's open entries among `entry_ids`, by due date; anything else is refused."""
    ids = sorted({int(i) for i in entry_ids})
    if not ids:
        raise CollectionFileError(_("Tick at least one entry for the collection file."))
    entries = list(session.scalars(select(Entry).where(Entry.id.in_(ids)).order_by(Entry.due_date, Entry.id)))
    if len(entries) != len(ids) or any(e.customer_id != customer.id for e in entries):
        raise CollectionFileError(_("Some ticked entries do not belong to this customer's account."))
    closed = [e.number for e in entries if not e.is_open]
    if closed:
        raise CollectionFileError(_("These entries are already settled: %(numbers)s.", numbers=", ".join(closed)))
    return entries


def entry_ids_of(export: Export) -> list[int]:
    return [int(i) for i in json.loads(export.params or "{}").get("entry_ids", [])]


def start_collection_file(
    session: Session,
    actor: User | None,
    customer: Customer,
    entry_ids: list[int],
    *,
    stop_reminders: bool = True,
    mark_in_collection: bool = True,
    owner: User | None = None,
    reason: Said | None = None,
) -> CollectionFileStart:
    """`actor` None: Relance does it (an automatic transfer); the file then belongs to `owner`, who
    hears when it is ready. `reason`: why, when not asked for by hand (an automatic transfer), read
    in history, on the stop-reminders switch and on ⚖️ in each reader's language."""
    entries = selected_entries(session, customer, entry_ids)
    written = reason if reason is not None else say("Collection file")
    owner = actor or owner
    if owner is None:
        raise CollectionFileError(_("A collection file belongs to someone: nobody to give it to."))
    params = json.dumps({"entry_ids": [e.id for e in entries]}, sort_keys=True)
    recent = session.scalar(
        select(Export)
        .where(Export.user_id == owner.id, Export.kind == KIND, Export.customer_id == customer.id,
               Export.params == params, Export.created_at >= clock.now() - DOUBLE_CLICK_WINDOW)
        .order_by(Export.id.desc())
    )
    if recent is not None:
        case = session.scalar(select(CollectionCase).where(CollectionCase.export_id == recent.id))
        return CollectionFileStart(recent, case, is_new=False)

    if stop_reminders:
        if not customer.reminders_stopped_on(clock.today()):
            marks.set_reminders_stopped(session, customer, actor, True, written)
        for entry in entries:
            if not entry.reminders_stopped_on(clock.today()):
                marks.set_reminders_stopped(session, entry, actor, True, written)
    export = Export(user_id=owner.id, kind=KIND, params=params, status="queued", customer_id=customer.id,
                    locale=i18n.current_locale() if actor is not None else None,
                    expires_at=clock.now() + LIFETIME)
    session.add(export)
    session.flush()
    case = None
    if mark_in_collection:
        case = CollectionCase(customer_id=customer.id, status="open", opened_by_id=actor.id if actor else None,
                              export_id=export.id,
                              status_changed_at=clock.now())
        session.add(case)
        session.flush()
        for entry in entries:
            marks.mark_in_collection(session, entry, actor, written)
            entry.collection_case_id = case.id
    numbers = Joined([e.number for e in entries], ", ")
    if reason is None:
        detail = nsay("Collection file requested for %(num)s entry: %(numbers)s",
                      "Collection file requested for %(num)s entries: %(numbers)s", len(entries), numbers=numbers)
    else:
        detail = nsay("%(reason)s: Collection file requested for %(num)s entry: %(numbers)s",
                      "%(reason)s: Collection file requested for %(num)s entries: %(numbers)s", len(entries),
                      reason=reason, numbers=numbers)
    audit.record(session, actor, "collection_file.generated", detail, customer=customer)
    return CollectionFileStart(export, case, is_new=True)
