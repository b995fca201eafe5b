"""Export records: who asked for which file, and where it stands (queued → running → ready | failed)."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import clock, i18n
from domain.i18n import lazy_gettext as _l
from domain.models import Export, User

KINDS = {"balances_xlsx": _l("Who owes you what? (Excel)"), "collection_xlsx": _l("Collection (Excel)"),
         "statement_pdf": _l("Statement (PDF)"), "statement_xlsx": _l("Statement (Excel)"),
         "disputes_xlsx": _l("Disputes (Excel)"), "promises_xlsx": _l("Promises to pay (Excel)"),
         "schedules_xlsx": _l("Payment schedules (Excel)"), "schedule_pdf": _l("Payment schedule for signature (PDF)"),
         "court_pack": _l("Court pack (injunction to pay)")}
STATEMENTS = ("statement_pdf", "statement_xlsx")  # a customer's statement of account (domain.ledger.statements)
DOUBLE_CLICK_WINDOW = timedelta(seconds=30)  # the same request again within this is the same export (or bulk run)
COLLECTION_FILE = "collection_file"  # the kind of a collection file's export (domain.collection.files)
LIFETIME = timedelta(days=7)  # an export's file (and a bulk run's report) is kept this long after it was asked for


def request_export(session: Session, user: User, kind: str, params: dict,
                   customer_id: int | None = None) -> tuple[Export, bool]:
    """A new export (of one customer's, when it is about one), or the same one again when the user
    just asked for it (a double click). The flag says whether it is new, i.e. whether it still has
    to be queued."""
    encoded = json.dumps(params, sort_keys=True)
    recent = session.scalar(
        select(Export)
        .where(Export.user_id == user.id, Export.kind == kind, Export.params == encoded,
               Export.status.in_(("queued", "running")), Export.created_at >= clock.now() - DOUBLE_CLICK_WINDOW)
        .order_by(Export.id.desc())
    )
    if recent is not None:
        return recent, False
    export = Export(user_id=user.id, kind=kind, params=encoded, status="queued", customer_id=customer_id,
                    locale=i18n.current_locale())
    session.add(export)
    session.flush()
    return export, True


def visible_export(session: Session, user: User, export_id: int) -> Export | None:
    """The export if this user may see it: its owner, or an admin."""
    export = session.get(Export, export_id)
    if export is None or (export.user_id != user.id and user.role != "admin"):
        return None
    return export


def user_exports(session: Session, user: User, limit: int = 50) -> list[Export]:
    return list(session.scalars(select(Export).where(Export.user_id == user.id).order_by(Export.id.desc()).limit(limit)))


def mark_running(export: Export) -> None:
    export.status, export.progress, export.shown_message = "running", 0, None


def mark_ready(export: Export, filename: str) -> None:
    export.status, export.progress, export.filename, export.finished_at = "ready", 100, filename, clock.now()


def mark_failed(export: Export, reason) -> None:
    """`reason`: a Said, or an error whose Said (or lazy) message is kept — each reader's language — or a str."""
    export.status, export.shown_message, export.finished_at = "failed", reason, clock.now()
    export.message = export.message[:500]  # the column's size; the Said is kept whole


def params_of(export: Export) -> dict:
    return json.loads(export.params or "{}")
