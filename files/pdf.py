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
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.money import format_money

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "pdf"
REMINDER_TEMPLATE = "reminder.html"
REMINDER_CSS = "reminder.css"

CHANNELS = {"en": {"email": "E-mail", "letter": "Letter"}, "fr": {"email": "E-mail", "letter": "Courrier"}}

# The words of the printed documents, in the language of the user's locale (BABEL_LOCALE).
LABELS = {
    "en": {
        "summary": "Reminder activity", "message": "Message as sent", "sent_on": "Sent on",
        "channel": "Channel", "level": "Reminder level", "sender": "Sender", "recipient": "Recipient",
        "subject": "Subject", "sent_by": "Sent by", "automatic": "Automatic (daily reminder run)",
        "customer": "Customer", "account": "Account", "registration": "Registration number",
        "entries": "Entries covered by this reminder", "entry": "Entry", "due": "Due date",
        "open_then": "Open amount at the time", "in_file": "In this file", "total": "Total",
        "in_file_note": "✓ marks the entries included in this collection file.",
        "from": "From", "to": "To", "date": "Date", "page": "Page", "of": "of",
        "footer": "Reminder {level} of {day} to {customer}",
    },
    "fr": {
        "summary": "Activité de relance", "message": "Message tel qu'envoyé", "sent_on": "Envoyée le",
        "channel": "Canal", "level": "Niveau de relance", "sender": "Expéditeur", "recipient": "Destinataire",
        "subject": "Objet", "sent_by": "Envoyée par", "automatic": "Automatique (relance quotidienne)",
        "customer": "Client", "account": "Compte", "registration": "SIREN",
        "entries": "Écritures concernées par cette relance", "entry": "Écriture", "due": "Échéance",
        "open_then": "Restant dû à la date", "in_file": "Dans ce dossier", "total": "Total",
        "in_file_note": "✓ indique les écritures incluses dans ce dossier de recouvrement.",
        "from": "De", "to": "À", "date": "Date", "page": "Page", "of": "sur",
        "footer": "Relance {level} du {day} à {customer}",
    },
}


def language_of(locale: str) -> str:
    language = (locale or "en").replace("-", "_").split("_")[0].lower()
    return language if language in LABELS else "en"


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
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


money = format_money  # (cents, currency, locale): the app's one money format


class ReminderPdfWriter:
    """Renders reminder activities to PDF, sharing fonts and the stylesheet between documents."""

    def __init__(self, letterhead: Letterhead, locale: str = "en_GB"):
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self.letterhead = letterhead
        self.locale = locale
        self.language = language_of(locale)
        self.labels = LABELS[self.language]
        self.template = _environment().get_template(REMINDER_TEMPLATE)
        self.font_config = FontConfiguration()
        self.stylesheet = CSS(filename=str(TEMPLATES / REMINDER_CSS), font_config=self.font_config)
        self.url_fetcher = refusing_url_fetcher()

    def file_label(self, reminder: ReminderDocument) -> str:
        """The line naming this reminder in the page footer."""
        return self.labels["footer"].format(level=f"R{reminder.level}", customer=self.letterhead.customer_name,
                                            day=format_date(reminder.sent_at.date(), "short", locale=self.locale))

    def html(self, reminder: ReminderDocument) -> str:
        locale = self.locale
        return self.template.render(
            reminder=reminder,
            letterhead=self.letterhead,
            labels=self.labels,
            lang=self.language,
            channel=CHANNELS[self.language].get(reminder.channel, reminder.channel),
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
