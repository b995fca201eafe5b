"""Collection marks (⚖️), stop-reminders switches and dispute flags, each recorded in history."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from domain import audit, clock
from domain.i18n import Said, _, say
from domain.models import Customer, Entry, StopRemindersFlag, User


class FlagError(ValueError):
    pass


def mark_in_collection(session: Session, entry: Entry, actor: User | None, reason: str | Said | None = None) -> bool:
    """⚖️ on the entry; `actor` None: Relance did it (an automatic transfer to debt collection)."""
    if entry.in_collection:
        return False
    entry.in_collection = True
    entry.collection_marked_at = clock.now()
    entry.collection_marked_by_id = actor.id if actor else None
    entry.shown_collection_reason = reason
    audit.record(session, actor, "collection.marked", say("Entry %(number)s marked as in collection", number=entry.number),
                 entry=entry, reason=reason)
    return True


def remove_collection_mark(session: Session, entry: Entry, actor: User, reason: str | None = None) -> bool:
    """Remove ⚖️ from an entry. The stop-reminders switch is left as it is on purpose: removing a
    mark set by mistake must not silently restart reminders."""
    if not entry.in_collection:
        return False
    entry.in_collection = False
    entry.collection_marked_at = None
    entry.collection_marked_by_id = None
    entry.shown_collection_reason = None
    audit.record(session, actor, "collection.unmarked",
                 say("Collection mark removed from entry %(number)s", number=entry.number),
                 entry=entry, reason=reason)
    return True


def set_reminders_stopped(
    session: Session,
    target: Customer | Entry,
    actor: User | None,
    stopped: bool,
    reason: str | Said | None = None,
    until: date | None = None,
) -> bool:
    """Switch reminders off (with a reason — a person's words, or Relance's as a Said —, optionally until a
    date) or back on."""
    assert isinstance(target, StopRemindersFlag)
    if not isinstance(reason, Said):
        reason = (reason or "").strip() or None
    if stopped and not reason:
        raise FlagError(_("Give a reason for stopping reminders."))
    if stopped and until is not None and until < clock.today():
        raise FlagError(_("The until-date is in the past."))
    if not stopped and not target.reminders_stopped:
        return False
    target.reminders_stopped = stopped
    target.shown_stop_reason = reason if stopped else None
    target.stop_until = until if stopped else None
    target.stopped_at = clock.now() if stopped else None
    target.stopped_by_id = actor.id if stopped and actor else None
    if isinstance(target, Entry):
        if stopped:
            detail = (say("Reminders stopped for entry %(number)s until %(until)s", number=target.number, until=until)
                      if until else say("Reminders stopped for entry %(number)s", number=target.number))
        else:
            detail = say("Reminders restarted for entry %(number)s", number=target.number)
    elif stopped:
        detail = (say("Reminders stopped for customer until %(until)s", until=until) if until
                  else say("Reminders stopped for customer"))
    else:
        detail = say("Reminders restarted for customer")
    audit.record(session, actor, "reminders.stopped" if stopped else "reminders.restarted", detail,
                 customer=target if isinstance(target, Customer) else None,
                 entry=target if isinstance(target, Entry) else None, reason=reason)
    return True


def set_disputed(session: Session, entry: Entry, actor: User, disputed: bool, reason: str | None = None) -> bool:
    reason = (reason or "").strip() or None
    if disputed == entry.disputed:
        return False
    if disputed and not reason:
        raise FlagError(_("Give a reason for the dispute."))
    entry.disputed = disputed
    entry.disputed_at = clock.now() if disputed else None
    entry.disputed_by_id = actor.id if disputed else None
    entry.shown_dispute_reason = reason if disputed else None
    audit.record(session, actor, "dispute.opened" if disputed else "dispute.closed",
                 say("Entry %(number)s disputed", number=entry.number) if disputed
                 else say("Entry %(number)s no longer disputed", number=entry.number), entry=entry, reason=reason)
    return True
