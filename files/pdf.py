"""PDF documents made with WeasyPrint: the reminder activity of a collection file.

One `ReminderPdfWriter` renders any number of reminders: the Jinja environment, the font
configuration and the parsed print stylesheet are made once and shared by every document, so
each PDF costs only its own layout. WeasyPrint is imported on first use (the worker imports it
before it forks; the web process never needs it).

The HTML is autoescaped: subjects and bodies are data, never markup.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from babel.dates import format_date, format_time
from flask import current_app, has_app_context
from flask_babel import force_locale, get_translations
from flask_babel import gettext as _
from flask_babel import pgettext
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.i18n import language_of, locale_for
from domain.money import format_money

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "pdf"
REMINDER_TEMPLATE = "reminder.html"
REMINDER_CSS = "reminder.css"


def instance_locale() -> str:
    """The instance's locale (RELANCE_LOCALE, the app's BABEL_LOCALE); en_GB outside the app (a script)."""
    return current_app.config["BABEL_LOCALE"] if has_app_context() else "en_GB"


def locale_of(language: str | None) -> str:
    """The locale a document for a reader of `language` is written and formatted in (None: the instance's)."""
    return locale_for(language, instance_locale())


def channel_label(channel: str) -> str:
    """How a reminder's channel is named on a document, in the current language."""
    return {"email": pgettext("channel", "E-mail"), "letter": pgettext("channel", "Letter")}.get(channel, channel)


@dataclass(frozen=True)
class Letterhead:
    """Who sends (the company using Relance) and about whom (the customer)."""

    company_name: str
    customer_name: str
    customer_account: str
    company_address: str = ""
    company_registration: str = ""
    company_email: str = ""
    customer_registration: str = ""


@dataclass(frozen=True)
class CoveredEntry:
    """One entry a reminder was about, with its open amount when the reminder went out."""

    number: str
    open_cents: int
    currency: str
    due_date: date | None = None
    in_file: bool = True  # among the entries of the collection file this reminder is printed for
    entry_id: int | None = None


@dataclass(frozen=True)
class ReminderDocument:
    """A reminder activity as it goes on paper: a summary page, then the message as sent."""

    id: int
    sent_at: datetime
    channel: str
    level: int
    sender: str
    recipient: str
    subject: str
    body: str
    covered: tuple[CoveredEntry, ...] = field(default_factory=tuple)
    sent_by: str | None = None

    def totals(self) -> list[tuple[str, int]]:
        """(currency, cents) per currency, in order of first appearance."""
        sums: dict[str, int] = {}
        for line in self.covered:
            sums[line.currency] = sums.get(line.currency, 0) + line.open_cents
        return list(sums.items())


@lru_cache(maxsize=1)
def _environment() -> Environment:
    """The documents' templates. Their words go through gettext ({{ _("Total") }}), as the app's pages do
    (newstyle, trimmed): they answer in the language of the locale a document is rendered in
    (`force_locale`), English outside the app."""
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              extensions=["jinja2.ext.i18n"])
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_callables(
        gettext=lambda message: get_translations().ugettext(message),
        ngettext=lambda singular, plural, n: get_translations().ungettext(singular, plural, n),
        newstyle=True,
        pgettext=lambda context, message: get_translations().upgettext(context, message),
        npgettext=lambda context, singular, plural, n: get_translations().unpgettext(context, singular, plural, n))
    return environment


money = format_money  # (cents, currency, locale): the app's one money format


class ReminderPdfWriter:
    """Renders reminder activities to PDF, sharing fonts and the stylesheet between documents."""

    def __init__(self, letterhead: Letterhead, locale: str = "en_GB"):
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self.letterhead = letterhead
        self.locale = locale
        self.language = language_of(locale)
        self.template = _environment().get_template(REMINDER_TEMPLATE)
        self.font_config = FontConfiguration()
        self.stylesheet = CSS(filename=str(TEMPLATES / REMINDER_CSS), font_config=self.font_config)
        self.url_fetcher = refusing_url_fetcher()

    def file_label(self, reminder: ReminderDocument) -> str:
        """The line naming this reminder in the page footer."""
        with force_locale(self.locale):
            return _("Reminder R%(level)s of %(day)s to %(customer)s", level=reminder.level,
                     customer=self.letterhead.customer_name,
                     day=format_date(reminder.sent_at.date(), "short", locale=self.locale))

    def html(self, reminder: ReminderDocument) -> str:
        locale = self.locale
        with force_locale(locale):
            return self.template.render(
                reminder=reminder,
                letterhead=self.letterhead,
                lang=self.language,
                channel=channel_label(reminder.channel),
                footer=self.file_label(reminder),
                money=lambda cents, currency: money(cents, currency, locale),
                day=lambda value: format_date(value, "medium", locale=locale) if value else "",
                moment=lambda value: f"{format_date(value, 'medium', locale=locale)} "
                                     f"{format_time(value, 'short', locale=locale)}",
            )

    def write(self, reminder: ReminderDocument, target: BinaryIO) -> None:
        """Render `reminder` into the binary stream `target` (a file, a zip member…)."""
        self.render_html(self.html(reminder), target)

    def render_html(self, html: str, target: BinaryIO | None = None) -> bytes | None:
        """HTML → PDF with the shared stylesheet and fonts; the bytes when there is no target."""
        from weasyprint import HTML

        return HTML(string=html, base_url=str(TEMPLATES), url_fetcher=self.url_fetcher).write_pdf(
            target, stylesheets=[self.stylesheet], font_config=self.font_config)


def refusing_url_fetcher():
    """A reminder needs no outside resource: nothing in a document may make WeasyPrint read a
    local file or call a URL. (WeasyPrint ≥ 70 takes a URLFetcher; older versions a function.)"""
    try:
        from weasyprint.urls import URLFetcher

        return URLFetcher(allowed_protocols=())
    except (ImportError, TypeError):
        def refuse(url, *args, **kwargs):
            raise ValueError(f"Reminder documents load no external resources ({url[:80]}).")

        return refuse
