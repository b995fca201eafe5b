"""What every list page shares: pages of rows, sort and page from the query string, filter errors,
and index-friendly text matching. Knows no table of its own."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Mapping

from sqlalchemy import and_

from domain.i18n import _

PAGE_SIZE = 50
COUNT_CAP = 10_000  # counting past this on every page view costs more than it tells


class FilterError(ValueError):
    """A filter value in the URL that makes no sense; the page answers 400 with this message."""


def whole_number(text, highest: int = 2_000_000_000) -> int | None:
    """A whole number typed or sent as text (ASCII digits only, at most `highest`), or None: "²" and
    "٣" pass str.isdigit() yet are no number int() reads, and a huge one overflows the database."""
    text = str(text if text is not None else "").strip()
    if not text or len(text) > 12 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= highest else None


def flag(args: Mapping[str, str], name: str) -> bool:
    value = (args.get(name) or "").strip().lower()
    if value in ("", "0", "false", "off"):
        return False
    if value in ("1", "true", "on", "yes"):
        return True
    raise FilterError(_("'%(name)s' must be 1 or 0, not %(value)s.", name=name, value=repr(value)))


def parse_date(args: Mapping[str, str], name: str, label: str) -> date | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(_("The %(label)s date %(value)s is not a date (YYYY-MM-DD).", label=label,
                             value=repr(value))) from None


def parse_sort_and_page(args: Mapping[str, str], sort_keys) -> tuple[str, str, int]:
    """The sort column, direction and page every list view reads from its query string."""
    sort = (args.get("sort") or "").strip()
    if sort and sort not in sort_keys:
        raise FilterError(_("Cannot sort on %(sort)s: choose one of %(choices)s.", sort=repr(sort),
                             choices=", ".join(sort_keys)))
    direction = (args.get("dir") or "").strip()
    if direction not in ("", "asc", "desc"):
        raise FilterError(_("The sort direction must be asc or desc, not %(value)s.", value=repr(direction)))
    page_text = (args.get("page") or "1").strip()
    if not page_text.isdigit() or int(page_text) < 1:
        raise FilterError(_("The page must be a positive whole number, not %(value)s.", value=repr(page_text)))
    return sort, direction, int(page_text)


def query_string(args: dict[str, str], sort: str, direction: str, page: int) -> dict[str, str]:
    """A list view's query string for links: its filters `args`, then the sort and page every list
    shares (page 1 and empty values left out, so the URL stays short)."""
    args = {**args, "sort": sort, "dir": direction, "page": str(page) if page > 1 else ""}
    return {k: v for k, v in args.items() if v}


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def prefix_range(column, text: str):
    """`column` starts with `text`, as a range the column's index can serve (LIKE cannot on SQLite)."""
    return and_(column >= text, column < text + "\U0010ffff")


@dataclass
class Page:
    rows: list
    page: int
    total: int
    totals: list = field(default_factory=list)
    cap: int | None = None  # the count stopped at cap + 1

    @property
    def pages(self) -> int:
        counted = min(self.total, self.cap) if self.cap else self.total
        return max(1, -(-counted // PAGE_SIZE))

    @property
    def total_is_capped(self) -> bool:
        return self.cap is not None and self.total > self.cap

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_row(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last_row(self) -> int:
        return (self.page - 1) * PAGE_SIZE + len(self.rows)


def keys_and_count(session, ids_select, cap: int) -> tuple[list[str], int]:
    """The first `cap` keys of a list (a select of its rows' ids, in any order) as text, and how
    many rows it has: what a monitoring point remembers of a list from one day to the next."""
    from sqlalchemy import func, select

    total = session.scalar(select(func.count()).select_from(ids_select.subquery())) or 0
    keys = [":".join(str(part) for part in row) for row in session.execute(ids_select.limit(cap))]
    return keys, total
