"""Telling people their export is ready (or failed), or their bulk reminders were sent (or
failed): the bell in the app, and e-mail.

Each user chooses how these notifications reach them (User.export_notifications). This module
also holds the lifetime rules of the files the bell opens (an export's file, a bulk run's report):
a notification opens the download only while the file still exists.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from domain import clock
from domain.exports import COLLECTION_FILE, KINDS, LIFETIME
from domain.i18n import Said, _
from domain.i18n import lazy_gettext as _l
from domain.i18n import say
from domain.models import BackgroundWork, BulkRun, Export, Notification, User

PREFERENCES = {
    "app": _l("In the app (the bell)"),
    "email": _l("By e-mail"),
    "both": _l("In the app and by e-mail"),
    "none": _l("Do not notify me"),
}
IN_APP = {"app", "both"}
BY_EMAIL = {"email", "both"}
RECENT = 10


# --- File lifetime ---------------------------------------------------------------------------

def expires_at_of(work: BackgroundWork) -> datetime:
    """When the export's file (or the run's report) goes: its own date, or 7 days after it was
    asked for (exports made before expiry existed have none)."""
    return work.expires_at or work.created_at + LIFETIME


def is_expired(work: BackgroundWork, at: datetime | None = None) -> bool:
    return work.file_deleted or expires_at_of(work) <= (at or clock.now())


def expired(session: Session, model: type[BackgroundWork], at: datetime | None = None) -> list[BackgroundWork]:
    """Finished exports (or bulk runs) past their date whose file is still on disk. Queued or
    running ones are left alone: a worker may be writing into their folder."""
    at = at or clock.now()
    return list(session.scalars(
        select(model)
        .where(model.file_deleted.is_(False), model.status.in_(model.FINAL),
               or_(model.expires_at <= at, and_(model.expires_at.is_(None), model.created_at <= at - LIFETIME)))
        .order_by(model.id)
    ))


def can_download(work: BackgroundWork | None) -> bool:
    """Whether the export's file (or the run's report) can be downloaded now."""
    return (work is not None and work.status in ("ready", "done") and bool(work.filename)
            and not is_expired(work))


# --- What an export is called ----------------------------------------------------------------

def export_label(export: Export) -> str:
    """What the export is, in the reader's language."""
    return str(export_name(export))


def export_name(export: Export):
    """export_label as a notification keeps it: translated when read."""
    if export.kind == COLLECTION_FILE:
        if export.customer:
            return say("Collection file — %(name)s", name=export.customer.name)
        return _l("Collection file")
    label = KINDS.get(export.kind, export.kind)
    return say("%(label)s — %(name)s", label=label, name=export.customer.name) if export.customer else label


def _message(work: BackgroundWork):
    """The export's (or run's) message as kept: its Said when it has one, else as written."""
    return Said.loads(work.message_i18n) if work.message_i18n else work.message


def export_text(export: Export) -> Said:
    """The notification's sentence."""
    if export.status == "ready":
        return say("Your export “%(label)s” is ready: %(filename)s", label=export_name(export),
                   filename=export.filename)
    return say("Your export “%(label)s” failed: %(reason)s", label=export_name(export),
               reason=_message(export) or _l("unknown reason"))


def export_email_subject(export: Export) -> str:
    if export.status == "ready":
        return _("Your export “%(label)s” is ready", label=export_label(export))
    return _("Your export “%(label)s” failed", label=export_label(export))


RUN_LABEL = "Bulk reminders"


def run_text(run: BulkRun) -> str:
    """The sentence for a finished bulk run (its e-mail's subject), in the reader's language."""
    return str(run_said(run))


def run_said(run: BulkRun) -> Said:
    if run.status == "done":
        return say("Your bulk reminders were sent: %(summary)s", summary=_message(run))
    return say("Your bulk reminders failed: %(reason)s", reason=_message(run) or _l("unknown reason"))


def text_of(work: BackgroundWork) -> Said:
    """The notification's sentence, kept as a Said: each reader gets it in their language."""
    return run_said(work) if isinstance(work, BulkRun) else export_text(work)


# --- Notifications ---------------------------------------------------------------------------

def notify(session: Session, user_id: int, text: str | Said, work: BackgroundWork | None = None, *,
           customer_id: int | None = None) -> Notification:
    """A bell entry; a Said is read in each reader's language (a plain str: as written)."""
    notification = Notification(user_id=user_id, customer_id=customer_id)
    notification.shown_text = text
    notification.text = notification.text[:500]  # the column's size; the Said is kept whole
    if isinstance(work, BulkRun):
        notification.bulk_run_id = work.id
    elif work is not None:
        notification.export_id = work.id
    session.add(notification)
    return notification


def work_finished(session: Session, work: BackgroundWork) -> bool:
    """The export (or bulk run) reached its final state: put it on the owner's bell if they want
    that, and say whether they also want an e-mail."""
    preference = work.user.export_notifications
    if preference in IN_APP:
        notify(session, work.user_id, text_of(work), work)
    return preference in BY_EMAIL


def email_failed(session: Session, work: BackgroundWork, reason: str) -> Notification | None:
    """The e-mail could not go out. Someone who only wanted e-mail would never hear of the
    export (or run) otherwise, so the bell tells them instead (and why)."""
    if work.user.export_notifications in IN_APP:
        return None
    return notify(session, work.user_id, say("%(notification)s (the e-mail could not be sent: %(reason)s)",
                                             notification=text_of(work), reason=reason), work)


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
