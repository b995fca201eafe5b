"""History events: who did what, when, why."""
from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import Integer, bindparam, cast, func, insert, literal, null, select, union_all
from sqlalchemy.orm import Session

from domain import clock, i18n
from domain.i18n import Said
from domain.models import AuditEvent, Customer, Entry, ReminderActivity, ReminderEntry, User


def record(
    session: Session,
    actor: User | None,
    action: str,
    detail: str | Said,
    *,
    customer: Customer | None = None,
    entry: Entry | None = None,
    reason: str | Said | None = None,
    subject_user: User | None = None,
) -> AuditEvent:
    if customer is None and entry is not None:
        customer = entry.customer
    event = AuditEvent(
        actor=actor, action=action,
        customer_id=customer.id if customer else None, entry_id=entry.id if entry else None,
        subject_user=subject_user,
    )
    # A Said: each reader sees the line in their own language; `detail` keeps its English.
    event.shown_detail = detail
    event.shown_reason = reason or None
    session.add(event)
    return event


def record_many(session: Session, events: list[dict]) -> None:
    """History events written in one statement by a run that settles thousands at once (no actor:
    Relance did it). Each dict: action, detail (a str or a Said), customer_id, and optionally entry_id, reason."""
    if events:
        now = clock.now()
        rows = []
        for event in events:
            detail, detail_i18n = i18n.kept(event["detail"])
            reason, reason_i18n = i18n.kept(event["reason"]) if event.get("reason") else (None, None)
            rows.append({"at": now, "actor_id": None, "entry_id": None, "subject_user_id": None,
                         **event, "detail": detail, "detail_i18n": detail_i18n, "reason": reason,
                         "reason_i18n": reason_i18n})
        session.execute(insert(AuditEvent), rows)


class TimelineItem(NamedTuple):
    """One line of a history, read as plain values: a change (an audit event: `detail`, `reason`)
    or a reminder that went out (`level`, `channel`, `recipient`, `subject`, `entry_count`; `id`
    opens it). `who` is the user's name, None for Relance itself."""

    at: datetime
    kind: str  # "change" | "reminder"
    id: int
    who: str | None
    detail: str | None
    reason: str | None
    level: int | None
    channel: str | None
    recipient: str | None
    subject: str | None
    entry_count: int | None
    detail_i18n: str | None
    reason_i18n: str | None

    @property
    def is_reminder(self) -> bool:
        return self.kind == "reminder"

    @property
    def text(self) -> str | None:
        """The change in the reader's language."""
        return i18n.shown(self.detail, self.detail_i18n)

    @property
    def why(self) -> str | None:
        """Its reason in the reader's language (a person's words stay as typed)."""
        return i18n.shown(self.reason, self.reason_i18n)


def _user_name(user_id):
    """The name a user is shown by (User.display_name), as SQL: a history row needs no User object."""
    return (select(func.coalesce(func.nullif(User.name, ""), User.email)).where(User.id == user_id)
            .scalar_subquery())


def timeline(session: Session, customer_id: int, entry_id: int | None = None, limit: int = 100) -> list[TimelineItem]:
    """The customer's (or one entry's) changes and reminders sent, newest first, in one list."""
    statement = _timeline_statement(for_entry=entry_id is not None)
    rows = session.execute(statement, {"customer_id": customer_id, "entry_id": entry_id, "limit": limit})
    return [TimelineItem(*row) for row in rows]


def _none(column_or_type):
    """A typed NULL: PostgreSQL wants both sides of the UNION to agree on each column's type."""
    return cast(null(), getattr(column_or_type, "type", column_or_type))


@cache
def _timeline_statement(for_entry: bool):
    """One query over both kinds (each side newest-first and limited on its own index), read as
    plain rows. Built once: the account status shows it on every visit, and building this
    statement costs more than running it."""
    customer_id, limit = bindparam("customer_id"), bindparam("limit")
    changes = (
        select(AuditEvent.at.label("at"), literal("change").label("kind"), AuditEvent.id.label("id"),
               _user_name(AuditEvent.actor_id).label("who"), AuditEvent.detail, AuditEvent.reason,
               _none(ReminderActivity.level).label("level"), _none(ReminderActivity.channel).label("channel"),
               _none(ReminderActivity.recipient).label("recipient"), _none(ReminderActivity.subject).label("subject"),
               _none(Integer).label("entry_count"), AuditEvent.detail_i18n, AuditEvent.reason_i18n)
        .where(AuditEvent.customer_id == customer_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    covered = (select(func.count()).where(ReminderEntry.activity_id == ReminderActivity.id)
               .scalar_subquery())
    reminders = (
        select(ReminderActivity.sent_at, literal("reminder"), ReminderActivity.id,
               _user_name(ReminderActivity.sent_by_id), _none(AuditEvent.detail), _none(AuditEvent.reason),
               ReminderActivity.level, ReminderActivity.channel, ReminderActivity.recipient, ReminderActivity.subject, covered,
               _none(AuditEvent.detail_i18n), _none(AuditEvent.reason_i18n))
        .where(ReminderActivity.customer_id == customer_id)
        .order_by(ReminderActivity.sent_at.desc(), ReminderActivity.id.desc())
        .limit(limit)
    )
    if for_entry:
        entry_id = bindparam("entry_id")
        changes = changes.where(AuditEvent.entry_id == entry_id)
        reminders = reminders.where(ReminderActivity.id.in_(
            select(ReminderEntry.activity_id).where(ReminderEntry.entry_id == entry_id)))
    both = union_all(select(changes.subquery()), select(reminders.subquery())).subquery()
    return select(both).order_by(both.c.at.desc(), both.c.kind, both.c.id.desc()).limit(limit)


class AccountChange(NamedTuple):
    """One line of the Users page's history; `who` is None for the command line."""

    at: datetime
    who: str | None
    detail: str
    detail_i18n: str | None

    @property
    def text(self) -> str:
        return i18n.shown(self.detail, self.detail_i18n)


def account_history(session: Session, limit: int = 50) -> list[AccountChange]:
    """Changes to users (created, role, active, password, profile), newest first."""
    rows = session.execute(
        select(AuditEvent.at, _user_name(AuditEvent.actor_id), AuditEvent.detail, AuditEvent.detail_i18n)
        .where(AuditEvent.subject_user_id.is_not(None))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
    return [AccountChange(*row) for row in rows]
