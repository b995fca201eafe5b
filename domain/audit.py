"""History events: who did what, when, why."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from domain.models import AuditEvent, Customer, Entry, User


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


def customer_history(session: Session, customer_id: int, limit: int = 100) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.customer_id == customer_id)
            .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.entry))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )
