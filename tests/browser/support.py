"""What the browser tests share: Playwright (imported only if installed), the seeded ledger and
small helpers that act like a user.

Seeded on the pinned day (2026-06-15), totals in EUR, default order (total, highest first):

    account  customer         highest level  total       markers
    E005     Echo Logistics   R5             €5,250.00   in collection and stopped: INV-E-120
    C003     Charlie Foods    R4             €2,000.00
    A001     Alpha Bakery     R1             €1,500.00
    B002     Bravo Metals     R3             €800.00     invoice F2026-0412
    D004     Delta Tools      none           €450.00     not due
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date
from babel.support import NullTranslations, Translations

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # the conftest skips (or fails) every browser test before one runs
    PlaywrightError = Exception
    Page = expect = sync_playwright = None

from domain.money import format_money
from tests.conftest import PASSWORD

# Every browser test runs once per interface language (conftest's `language` fixture): the browser
# asks for it (Accept-Language) and the test users have no language of their own, so the app speaks it.
LANGUAGES = ("en", "fr")
BROWSER_LOCALES = {"en": "en-GB", "fr": "fr-FR"}  # what the browser context says (Accept-Language)
FORMAT_LOCALES = {"en": "en_GB", "fr": "fr_FR"}  # how the app then writes amounts and dates
TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
_catalogues: dict[str, NullTranslations] = {}
_language = "en"


def use_language(language: str) -> None:
    """The language of the test being run: t(), tn(), tp(), money() and day() answer in it. The
    conftest's `page` fixture sets it (and puts English back after the test)."""
    global _language
    assert language in LANGUAGES, language
    _language = language


def current_language() -> str:
    return _language


def _translations() -> NullTranslations:
    if _language not in _catalogues:
        found = Translations.load(str(TRANSLATIONS), [_language])
        # English is the catalogues' source language: no catalogue, the msgid is the text.
        if _language != "en" and not isinstance(found, Translations):
            raise AssertionError(f"no compiled catalogue for {_language!r} under {TRANSLATIONS} (make translations)")
        _catalogues[_language] = found
    return _catalogues[_language]


def t(msgid: str, **values) -> str:
    """What the page shows for this message in the test's language: the msgid (today's English)
    through the compiled catalogue, %-formatted as the templates' gettext does (%% is a literal %)."""
    return _translations().gettext(msgid) % values


def tn(singular: str, plural: str, num: int, **values) -> str:
    """ngettext's twin of t(): `num` is given, as Jinja's ngettext gives it."""
    values.setdefault("num", num)
    return _translations().ngettext(singular, plural, num) % values


def tp(context: str, msgid: str, **values) -> str:
    """pgettext's twin of t(): a short word translated by where it stands."""
    return _translations().pgettext(context, msgid) % values


def money(amount: str | Decimal, currency: str = "EUR") -> str:
    """An amount as the app writes it in the test's language: money("1500") is €1,500.00 in
    English, 1 500,00 € in French (narrow no-break space between thousands, no-break space before €)."""
    return format_money(int(Decimal(amount) * 100), currency, FORMAT_LOCALES[_language])


def field_amount(amount: str) -> str:
    """An amount as a form field holds it in the test's language: "1500.00" / "1500,00"."""
    return amount.replace(".", ",") if _language == "fr" else amount


def day(value: date, fmt: str = "short") -> str:
    """A date as the app's `day` filter writes it in the test's language (short: 15/06/2026)."""
    return format_date(value, fmt, locale=FORMAT_LOCALES[_language])


BY_TOTAL = ["Echo Logistics", "Charlie Foods", "Alpha Bakery", "Bravo Metals", "Delta Tools"]
BY_NAME = sorted(BY_TOTAL)
LEVEL_3_UP = ["Echo Logistics", "Charlie Foods", "Bravo Metals"]  # by total, highest first


@dataclass(frozen=True)
class Ledger:
    """Plain values (no ORM objects), so tests never lazy-load across the live server's writes."""

    marked_entry_id: int
    marked_number: str
    active_entry_id: int
    active_number: str
    bravo_invoice: str


def seed_ledger(session, ledger_builder, users) -> Ledger:
    from domain.collection import marks

    b = ledger_builder
    alpha = b.customer("A001", "Alpha Bakery", emails="ap@alpha.test")
    b.entry(alpha, 10, "1200.00", level=1)
    b.entry(alpha, -5, "300.00")
    bravo = b.customer("B002", "Bravo Metals", registration_number="552100554")
    bravo_invoice = b.entry(bravo, 40, "800.00", level=3, number="F2026-0412")
    charlie = b.customer("C003", "Charlie Foods")
    b.entry(charlie, 70, "2000.00", level=4)
    delta = b.customer("D004", "Delta Tools")
    b.entry(delta, -10, "450.00")
    echo = b.customer("E005", "Echo Logistics")
    marked = b.entry(echo, 120, "5000.00", level=5, number="INV-E-120")
    active = b.entry(echo, 20, "250.00", level=2, number="INV-E-020")
    marks.mark_in_collection(session, marked, users["finance"], "Handed over to the agency")
    marks.set_reminders_stopped(session, marked, users["finance"], True, "In collection")
    seeded = Ledger(marked.id, marked.number, active.id, active.number, bravo_invoice.number)
    session.commit()
    session.close()
    return seeded


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Through the real login form, as a user would."""
    page.goto("/login")
    page.get_by_label(t("Email")).fill(email)
    page.get_by_label(t("Password")).fill(password)
    page.get_by_role("button", name=t("Log in")).click()
    # Until the page after login has loaded, htmx (a deferred script) has not wired the page: a
    # select changed before that does nothing. `goto`, `reload` and this wait for the load event.
    page.wait_for_url(lambda url: not url.split("?")[0].endswith("/login"), wait_until="load")
    expect(page.locator("details.user-menu > summary")).to_be_visible()  # Log out is in this menu


def plant_reload_marker(page: Page) -> None:
    """A value on `window` that survives htmx swaps and pushState, and dies with a page load."""
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page was reloaded instead of swapped"


def url_has(**params: str):
    """A URL matcher: every param=value is in the query string (in any order)."""
    lookaheads = "".join(rf"(?=.*[?&]{re.escape(k)}={re.escape(v)}(&|#|$))" for k, v in params.items())
    return re.compile("^" + lookaheads)


def answer_confirmation(page, yes: bool = True) -> str:
    """Answer the styled confirmation dialog (the app never uses the browser's own box): returns its
    question, after clicking Confirm (yes) or Cancel."""
    dialog = page.locator("dialog.confirm[open]")
    expect(dialog).to_be_visible()
    question = dialog.locator("#confirm-question").inner_text()
    expect(dialog.locator("button[value=yes]")).to_have_text(t("Confirm"))  # in the reader's language
    expect(dialog.locator("button[value=no]")).to_have_text(t("Cancel"))
    dialog.locator("button[value=yes]" if yes else "button[value=no]").click()
    expect(dialog).to_have_count(0)
    return question

