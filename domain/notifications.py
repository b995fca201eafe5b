"""Telling people their export is ready (or failed): the bell in the app, and e-mail.

Each user chooses how export notifications reach them (User.export_notifications). This module
also holds the export lifetime rules the bell relies on: a notification opens the download only
while the file still exists.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from domain import clock
from domain.exports import COLLECTION_FILE, KINDS, LIFETIME
from domain.models import Export, Notification, User

PREFERENCES = {
    "app": "In the app (the bell)",
    "email": "By e-mail",
    "both": "In the app and by e-mail",
    "none": "Do not notify me",
}
IN_APP = {"app", "both"}
BY_EMAIL = {"email", "both"}
RECENT = 10


# --- Export lifetime -------------------------------------------------------------------------

def expires_at_of(export: Export) -> datetime:
    """When the export's file goes: its own date, or 7 days after it was asked for (exports
    made before expiry existed have none)."""
    return export.expires_at or export.created_at + LIFETIME


def is_expired(export: Export, at: datetime | None = None) -> bool:
    return export.file_deleted or expires_at_of(export) <= (at or clock.now())


def expired_exports(session: Session, at: datetime | None = None) -> list[Export]:
    """Finished exports past their date whose file is still on disk. Queued or running ones are
    left alone: a worker may be writing into their folder."""
    at = at or clock.now()
    return list(session.scalars(
        select(Export)
        .where(Export.file_deleted.is_(False), Export.status.in_(("ready", "failed")),
               or_(Export.expires_at <= at,
                   and_(Export.expires_at.is_(None), Export.created_at <= at - LIFETIME)))
        .order_by(Export.id)
    ))


def can_download(export: Export | None) -> bool:
    return export is not None and export.status == "ready" and bool(export.filename) and not is_expired(export)


# --- What an export is called ----------------------------------------------------------------

def export_label(export: Export) -> str:
    if export.kind == COLLECTION_FILE:
        return f"Collection file — {export.customer.name}" if export.customer else "Collection file"
    return KINDS.get(export.kind, export.kind)


def export_text(export: Export) -> str:
    """The notification's sentence, also the e-mail's subject."""
    if export.status == "ready":
        return f"Your export “{export_label(export)}” is ready: {export.filename}"
    return f"Your export “{export_label(export)}” failed: {export.message or 'unknown reason'}"


def export_email_subject(export: Export) -> str:
    return f"Your export “{export_label(export)}” {'is ready' if export.status == 'ready' else 'failed'}"


# --- Notifications ---------------------------------------------------------------------------

def notify(session: Session, user_id: int, text: str, export: Export | None = None) -> Notification:
    notification = Notification(user_id=user_id, text=text[:500], export_id=export.id if export else None)
    session.add(notification)
    return notification


def export_finished(session: Session, export: Export) -> bool:
    """The export reached its final state: put it on the owner's bell if they want that, and say
    whether they also want an e-mail."""
    preference = export.user.export_notifications
    if preference in IN_APP:
        notify(session, export.user_id, export_text(export), export)
    return preference in BY_EMAIL


def email_failed(session: Session, export: Export, reason: str) -> Notification | None:
    """The e-mail could not go out. Someone who only wanted e-mail would never hear of the
    export otherwise, so the bell tells them instead (and why)."""
    if export.user.export_notifications in IN_APP:
        return None
    return notify(session, export.user_id, f"{export_text(export)} (the e-mail could not be sent: {reason})"[:500], export)


def unread_count(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def recent_notifications(session: Session, user: User, limit: int = RECENT) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.id.desc()).limit(limit)))


def open_notification(session: Session, user: User, notification_id: int) -> Notification | None:
    """The user's notification, now read; None when it is not theirs (nobody else's business)."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        return None
    if notification.read_at is None:
        notification.read_at = clock.now()
    return notification


def mark_all_read(session: Session, user: User) -> int:
    result = session.execute(update(Notification)
                             .where(Notification.user_id == user.id, Notification.read_at.is_(None))
                             .values(read_at=clock.now()))
    return result.rowcount or 0
