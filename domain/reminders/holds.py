"""What holds a reminder back: the customer's or an entry's stop-reminders switch, a dispute, a
promise to pay until its date + grace, a
collection mark ⚖️, a reminder less than REMINDER_GAP_DAYS ago (a person may still send it anyway,
with a reason), and a message to the same
customer at the same level or above that is still on its way or whose outcome is unknown (nobody
may: it would remind them twice). Read by the compose window, the sends (domain/reminders/sending.py,
domain/reminders/outbox.py) and the bulk run (domain/reminders/bulk.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from domain import clock, i18n
from domain.i18n import Said, psay, say
from domain.models import Customer, Entry, OutboxMessage
from domain.reminders import templates

# A send job times out after 300 s (jobs.reminders.enqueue_outbox_message): a message "sending" for longer has
# lost its worker.
STALE_SENDING = timedelta(minutes=5)
UNSETTLED = ("queued", "sending", "unknown")
# An entry reminded less than this many days ago is not reminded again by a bulk run, and a manual
# reminder says so and needs "Send anyway": escalating R2 → R3 → R4 within minutes is never meant.
REMINDER_GAP_DAYS = 7


def reminded_recently(entry: Entry, today: date) -> bool:
    return entry.last_reminder_on is not None and (today - entry.last_reminder_on).days < REMINDER_GAP_DAYS


@dataclass(frozen=True)
class Hold:
    """Why a reminder should not go to this customer now, in the user's words. `overridable`:
    a person may still send it ("Send anyway", with a reason kept in the history); a message whose
    outcome is unknown or that is still on its way is not overridable (it would go twice). `said`: the
    sentence kept (a message's last error, a history line), read in each reader's language."""

    said: Said
    overridable: bool = True

    @property
    def text(self) -> str:
        """In the reader's language, now."""
        return str(self.said)


def _stop_text(subject, target, today: date) -> Said:
    reason, until = i18n.as_kept(target.stop_reason, target.stop_reason_i18n), target.stop_until
    if reason and until:
        return say("Reminders are stopped for %(subject)s: %(reason)s, until %(until)s.", subject=subject,
                   reason=reason, until=until)
    if reason:
        return say("Reminders are stopped for %(subject)s: %(reason)s.", subject=subject, reason=reason)
    if until:
        return say("Reminders are stopped for %(subject)s, until %(until)s.", subject=subject, until=until)
    return say("Reminders are stopped for %(subject)s.", subject=subject)


def _dispute_reason(entry: Entry):
    """The reason an entry is disputed as kept: its Said (read in the reader's language), or what a person typed."""
    return i18n.as_kept(entry.dispute_reason, entry.dispute_reason_i18n)


def holds(session: Session, customer: Customer, entries: Iterable[Entry], today: date | None = None,
          level: int | None = None, kind: str = "reminder") -> list[Hold]:
    """Everything that says "do not remind" for these entries of `customer`: the customer's or an
    entry's stop-reminders switch, a dispute, a collection mark ⚖️, and (at `level`) a message to
    the customer at that level or above that is still on its way or whose outcome is unknown.
    A message about an instalment (`kind` instalment_*) is what a schedule's entries are reminded
    by: the schedule and the last reminder of the invoices do not hold it back."""
    today = today or clock.today()
    reminder = kind == "reminder"
    found = []
    if customer.reminders_stopped_on(today):
        found.append(Hold(_stop_text(psay("reminders are stopped for…", "this customer"), customer, today)))
    for entry in entries:
        if entry.reminders_stopped_on(today):
            found.append(Hold(_stop_text(entry.number, entry, today)))
        if entry.disputed:
            found.append(Hold(say("%(number)s is disputed: %(reason)s.", number=entry.number,
                                  reason=_dispute_reason(entry))
                              if entry.dispute_reason else say("%(number)s is disputed.", number=entry.number)))
        if entry.scheduled and reminder:
            found.append(Hold(say("%(number)s is under a payment schedule: reminders follow its instalments.",
                                number=entry.number)))
        if entry.promised_on_hold(today):
            found.append(Hold(say("%(number)s is under a promise to pay: reminders resume after %(day)s.",
                                  number=entry.number, day=entry.promised_until)))
        if reminder and reminded_recently(entry, today):
            reached = templates.level_said(entry.reminder_level)  # not `level`: the level asked for, below
            if entry.last_reminder_on == today:
                text = say("%(number)s was reminded today (now at %(level)s), less than %(days)s days ago.",
                           number=entry.number, level=reached, days=REMINDER_GAP_DAYS)
            else:
                text = say("%(number)s was reminded on %(day)s (now at %(level)s), less than %(days)s days ago.",
                           number=entry.number, day=entry.last_reminder_on, level=reached, days=REMINDER_GAP_DAYS)
            found.append(Hold(text))
        if entry.in_collection:
            found.append(Hold(say("%(number)s is in collection (case #%(case)s).", number=entry.number,
                                  case=entry.collection_case_id) if entry.collection_case_id
                              else say("%(number)s is in collection.", number=entry.number)))
    if level is not None:
        pending = unsettled_message(session, customer.id, level)
        if pending is not None:
            found.append(Hold(pending_said(pending), overridable=False))
    return found


def pending_text(message) -> str:
    """Why a message still on its way (or of unknown outcome) blocks another one, in the reader's language."""
    return str(pending_said(message))


def pending_said(message) -> Said:
    level = templates.level_said(message.level)
    if is_unknown(message):
        return say("The %(level)s e-mail of %(at)s to this customer has an unknown outcome — check your sent mail, "
                   "then mark it on Deliveries as sent or not sent.", level=level,
                   at=message.attempted_at)
    if message.status == "sending":
        return say("The %(level)s e-mail to this customer is being sent right now: wait for its outcome.", level=level)
    return say("The %(level)s e-mail to this customer is still waiting to be delivered (see Deliveries): another "
               "one at this level or below would remind them twice.", level=level)


def is_unknown(message: OutboxMessage, now: datetime | None = None) -> bool:
    """Unknown outcome: marked so, or "sending" for longer than any send job lives."""
    if message.status == "unknown":
        return True
    return message.status == "sending" and message.attempted_at is not None and \
        message.attempted_at < (now or clock.now()) - STALE_SENDING


def unsettled_message(session: Session, customer_id: int, level: int) -> OutboxMessage | None:
    """A message to this customer at `level` or above that is still on its way (queued, sending,
    failed with a retry to come) or whose outcome is unknown: another one would remind twice."""
    return session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.customer_id == customer_id, OutboxMessage.level >= level, OutboxMessage.kind == "reminder",
            or_(OutboxMessage.status.in_(UNSETTLED),
                and_(OutboxMessage.status == "failed", OutboxMessage.next_attempt_at.is_not(None))))
        .order_by(OutboxMessage.id.desc()).limit(1))


def unsettled_levels(session: Session, customer_ids: list[int]) -> dict[int, int]:
    """customer id → the highest level of its unsettled messages (see unsettled_message), for a run
    that decides for many customers at once."""
    found: dict[int, int] = {}
    for start in range(0, len(customer_ids), 500):
        rows = session.execute(
            select(OutboxMessage.customer_id, func.max(OutboxMessage.level))
            .where(OutboxMessage.customer_id.in_(customer_ids[start:start + 500]), OutboxMessage.kind == "reminder",
                   or_(OutboxMessage.status.in_(UNSETTLED),
                       and_(OutboxMessage.status == "failed", OutboxMessage.next_attempt_at.is_not(None))))
            .group_by(OutboxMessage.customer_id))
        found.update({customer_id: level for customer_id, level in rows})
    return found
