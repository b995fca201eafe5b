"""The one place the domain asks for "today", so tests and the demo can pin it."""
from datetime import date, datetime, timezone

_pinned: date | None = None


def today() -> date:
    return _pinned or date.today()


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def pin(day: date | None) -> None:
    """Pin today's date (tests); pin(None) releases it."""
    global _pinned
    _pinned = day
