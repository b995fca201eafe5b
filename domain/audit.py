"""History events: who did what, when, why."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, defer, joinedload

from domain.models import AuditEvent, Customer, Entry, ReminderActivity, ReminderEntry, User


def record(
    session: Session,
    actor: User | None,
    action: str,
    detail: str,
    *,
    customer: Customer | None = None,
    entry: Entry | None = None,
    reason: str | None = None,
) -> AuditEvent:
    if customer is None and entry is not None:
        customer = entry.customer
    event = AuditEvent(
        actor=actor, action=action, detail=detail, reason=reason or None,
        customer_id=customer.id if customer else None, entry_id=entry.id if entry else None,
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class TimelineItem:
    """One line of a history: a change (audit event) or a reminder that went out."""

    at: datetime
    change: AuditEvent | None = None
    reminder: ReminderActivity | None = None


def timeline(session: Session, customer_id: int, entry_id: int | None = None, limit: int = 100) -> list[TimelineItem]:
    """The customer's (or one entry's) changes and reminders sent, newest first, in one list."""
    changes = (
        select(AuditEvent)
        .where(AuditEvent.customer_id == customer_id)
        .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.entry))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    reminders = (
        select(ReminderActivity)
        .where(ReminderActivity.customer_id == customer_id)
        # Bodies are read only when one reminder is opened.
        .options(joinedload(ReminderActivity.covered), joinedload(ReminderActivity.sent_by),
                 defer(ReminderActivity.body))
        .order_by(ReminderActivity.sent_at.desc(), ReminderActivity.id.desc())
        .limit(limit)
    )
    if entry_id is not None:
        changes = changes.where(AuditEvent.entry_id == entry_id)
        reminders = reminders.where(ReminderActivity.id.in_(
            select(ReminderEntry.activity_id).where(ReminderEntry.entry_id == entry_id)))
    items = [TimelineItem(event.at, change=event) for event in session.scalars(changes)]
    items += [TimelineItem(activity.sent_at, reminder=activity) for activity in session.scalars(reminders).unique()]
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]
