"""Aging buckets: how overdue an amount is, seen on a given day (not due, 1–30, 31–60, 61–90, > 90)."""
from __future__ import annotations

from datetime import date, timedelta

from domain.i18n import lazy_gettext as _l

BUCKETS = (
    # key, label (lazy: str() it for a library that wants text), summary column
    ("not_due", _l("Not due"), "not_due_cents"),
    ("1-30", "1–30", "days_1_30_cents"),
    ("31-60", "31–60", "days_31_60_cents"),
    ("61-90", "61–90", "days_61_90_cents"),
    ("90+", "> 90", "over_90_cents"),
)
BUCKET_KEYS = tuple(key for key, _, _ in BUCKETS)
BUCKET_COLUMNS = {key: column for key, _, column in BUCKETS}


def bucket_of(due_date: date, today: date) -> str:
    """The aging bucket of an entry due on `due_date`, seen on `today`."""
    days = (today - due_date).days
    if days <= 0:
        return "not_due"
    if days <= 30:
        return "1-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    return "90+"


def bucket_due_range(key: str, today: date) -> tuple[date | None, date | None]:
    """The due dates (inclusive, None = open) that fall into a bucket on `today`."""
    return {
        "not_due": (today, None),
        "1-30": (today - timedelta(days=30), today - timedelta(days=1)),
        "31-60": (today - timedelta(days=60), today - timedelta(days=31)),
        "61-90": (today - timedelta(days=90), today - timedelta(days=61)),
        "90+": (None, today - timedelta(days=91)),
    }[key]
