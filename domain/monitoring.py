"""Monitoring points: a list with its filters that a user keeps an eye on ("Manual transfer — over
€5,000"), its count on the navigation, and what entered it since the day before.

    point = save(session, user, "debt_collection", "tab=manual&min=5000", "Manual transfer — over €5,000")
    refresh(session, today)      # daily: each point's items now, how many are new; the bell for those with new ones

A point keeps the keys of its list's rows (ids; customer:currency for Who owes you what?) up to CAP
when the daily run looks: the rows found next time and not kept then are new. Past CAP rows only the
count is compared (a point that large is a dashboard, not a watch list).
"""
from __future__ import annotations

from datetime import date
from typing import Callable, Mapping, NamedTuple
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import audit, clock, debt_collection, notifications
from domain.collection import cases
from domain.i18n import Number, _
from domain.i18n import lazy_gettext as _l
from domain.i18n import nsay, say
from domain.ledger import disputes, promises, queries, schedules
from domain.listing import FilterError
from domain.models import MonitoringPoint, User
from domain.money import parse_amount

CAP = 10_000
MAX_POINTS = 50  # per user
IGNORED = {"page", "csrf_token", "name", "list"}


class MonitoringError(ValueError):
    """Why a monitoring point cannot be saved; nothing was."""


class ListKind(NamedTuple):
    label: str
    keys: Callable[[Session, Mapping[str, str]], tuple[list[str], int]]


LISTS: dict[str, ListKind] = {
    "balances": ListKind(_l("Who owes you what?"), lambda session, args: queries.balance_keys(
        session, queries.parse_filters(args, tuple(queries.BALANCE_SORTS)), CAP)),
    "due_dates": ListKind(_l("Due dates"), lambda session, args: queries.due_entry_keys(
        session, queries.parse_filters(args, tuple(queries.DUE_SORTS)), CAP)),
    "collection": ListKind(_l("Collection"), lambda session, args: cases.collection_keys(
        session, cases.parse_case_filters(args), CAP)),
    "disputes": ListKind(_l("Disputes"), lambda session, args: disputes.dispute_keys(
        session, disputes.parse_filters(args), CAP)),
    "promises": ListKind(_l("Promises to pay"), lambda session, args: promises.promise_keys(
        session, promises.parse_filters(args, parse_amount), CAP)),
    "schedules": ListKind(_l("Payment schedules"), lambda session, args: schedules.schedule_keys(
        session, schedules.parse_filters(args), CAP)),
    "debt_collection": ListKind(_l("From reminder to debt collection"), lambda session, args: debt_collection.claim_keys(
        session, debt_collection.parse_filters(args), CAP)),
}


def clean_query(query: str) -> str:
    """The list's filters as a stable query string (no page, no empty values, sorted)."""
    pairs = [(k, v) for k, v in parse_qsl(query or "", keep_blank_values=False) if k not in IGNORED and v.strip()]
    return urlencode(sorted(pairs))


def args_of(point: MonitoringPoint) -> dict[str, str]:
    return dict(parse_qsl(point.query or ""))


def label_of(point: MonitoringPoint) -> str:
    """The list a point watches, in the reader's language: 'From reminder to debt collection — Manual transfer…'."""
    return str(list_label(point))


def list_label(point: MonitoringPoint):
    """label_of as a history line keeps it: translated when read."""
    if point.list_key not in LISTS:
        return point.list_key
    if point.list_key == "debt_collection":
        return say("%(list)s — %(tab)s", list=LISTS[point.list_key].label,
                   tab=debt_collection.TABS[debt_collection.parse_filters(args_of(point)).tab])
    return LISTS[point.list_key].label


def _look(session: Session, point: MonitoringPoint) -> tuple[list[str], int]:
    return LISTS[point.list_key].keys(session, args_of(point))


def save(session: Session, user: User, list_key: str, query: str, name: str) -> MonitoringPoint:
    if list_key not in LISTS:
        raise MonitoringError(_("This list cannot be monitored."))
    name = " ".join((name or "").split())
    if not name:
        raise MonitoringError(_("Name the monitoring point, e.g. “Manual transfer — over €5,000”."))
    if len(name) > 100:
        raise MonitoringError(_("A monitoring point's name has at most 100 characters."))
    query = clean_query(query)
    if len(query) > 2000:
        raise MonitoringError(_("These filters are too long to keep."))
    owned = session.scalar(select(func.count()).select_from(MonitoringPoint).where(MonitoringPoint.user_id == user.id))
    if owned >= MAX_POINTS:
        raise MonitoringError(_("You have %(count)s monitoring points already: remove one first.", count=MAX_POINTS))
    point = MonitoringPoint(user_id=user.id, name=name, list_key=list_key, query=query)
    try:
        keys, count = _look(session, point)
    except (FilterError, ValueError) as problem:
        raise MonitoringError(_("These filters are not valid: %(problem)s", problem=problem)) from None
    point.keys, point.count, point.new_count, point.checked_on = keys, count, 0, clock.today()
    point.seen_at = clock.now()
    session.add(point)
    session.flush()
    audit.record(session, user, "monitoring.saved",
                 nsay("Monitoring point “%(name)s” on %(list)s (%(num)s item).",
                      "Monitoring point “%(name)s” on %(list)s (%(num)s items).", count, name=name,
                      list=list_label(point), num=Number(count)))
    return point


def delete(session: Session, user: User, point: MonitoringPoint) -> None:
    audit.record(session, user, "monitoring.deleted", say("Monitoring point “%(name)s” removed.", name=point.name))
    session.delete(point)


def points_of(session: Session, user: User) -> list[MonitoringPoint]:
    return list(session.scalars(select(MonitoringPoint).where(MonitoringPoint.user_id == user.id)
                                .order_by(MonitoringPoint.name, MonitoringPoint.id)))


def point_of(session: Session, user: User, point_id: int) -> MonitoringPoint | None:
    point = session.get(MonitoringPoint, point_id)
    return point if point is not None and point.user_id == user.id else None


def unseen_new(session: Session, user: User) -> int:
    """The new items of the user's points not opened since the daily look: the navigation's count."""
    return session.scalar(select(func.coalesce(func.sum(MonitoringPoint.new_count), 0)).where(
        MonitoringPoint.user_id == user.id, MonitoringPoint.new_count > 0)) or 0


def mark_seen(point: MonitoringPoint) -> None:
    point.seen_at, point.new_count = clock.now(), 0


def refresh(session: Session, today: date | None = None) -> list[MonitoringPoint]:
    """The daily look: every point's count, and how many of its rows are new since the last look;
    a bell for each point with new rows. Returns the points with new rows."""
    today = today or clock.today()
    with_new = []
    for point in session.scalars(select(MonitoringPoint).order_by(MonitoringPoint.id)):
        if point.checked_on == today or point.list_key not in LISTS:
            continue
        try:
            keys, count = _look(session, point)
        except (FilterError, ValueError):
            continue  # filters a newer version no longer reads: the point stays as it was
        before = point.keys
        if before is not None and len(before) < CAP:
            seen = set(before)
            new = sum(1 for key in keys if key not in seen)
        else:
            new = max(0, count - point.count)
        point.keys, point.count, point.checked_on, point.new_count = keys, count, today, new
        if new:
            with_new.append(point)
            notifications.notify(session, point.user_id, nsay(
                "Monitoring point “%(name)s”: %(num)s new since the last look (%(count)s in all).",
                "Monitoring point “%(name)s”: %(num)s new since the last look (%(count)s in all).",
                new, name=point.name, num=Number(new), count=Number(count)))
    return with_new


def digest_lines(session: Session, user: User, today: date) -> list[str]:
    """The user's points with new rows today, for the morning digest."""
    points = [p for p in points_of(session, user) if p.checked_on == today and p.new_count]
    if not points:
        return []
    return [_("Monitoring points with new items since yesterday:")] + [
        "  - " + str(say("%(name)s (%(list)s): %(new)s new, %(count)s in all", name=p.name, list=label_of(p),
                         new=Number(p.new_count), count=Number(p.count))) for p in points]
