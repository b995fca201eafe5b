"""Working days: weekends and the public holidays of a country (and region), from the `holidays`
library — France by default; "57" (Moselle) or "6AE" (Alsace) add Good Friday and 26 December."""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

from domain.i18n import _


class CalendarError(ValueError):
    pass


def check(country: str, region: str | None) -> tuple[str, str | None]:
    """The country code and region as the library knows them; a clear message otherwise."""
    country = (country or "").strip().upper()
    region = (region or "").strip() or None
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise CalendarError(_("%(country)s is not a country code the holiday calendar knows, e.g. FR.",
                              country=country or _("(empty)")))
    if region is not None and region not in supported[country]:
        raise CalendarError(_("%(region)s is not a region of %(country)s: one of %(regions)s.", region=region,
                              country=country, regions=", ".join(supported[country])))
    return country, region


@lru_cache(maxsize=64)
def _holidays(country: str, region: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=region, years=year))


def is_working_day(day: date, country: str = "FR", region: str | None = None) -> bool:
    return day.weekday() < 5 and day not in _holidays(country, region, day.year)


def add_working_days(day: date, count: int, country: str = "FR", region: str | None = None) -> date:
    """The working day `count` working days after `day` (Friday + 1 → Monday, unless a holiday)."""
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day, country, region):
            count -= 1
    return day
