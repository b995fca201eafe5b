"""What the customer said about the entries of a collection file — each dispute, promise to pay and
payment schedule — as plain data, and as a PDF of its history (WeasyPrint, reminder.css: the
collection file's other documents' page and letterhead). files/collection_zip.py puts them in the zip
and in the Excel file; jobs/collection.py loads them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

from babel.dates import format_date, format_time

from files.pdf import Letterhead, ReminderPdfWriter, _environment, language_of, money

KINDS = ("dispute", "promise", "schedule")
LABELS = {
    "en": {"dispute": "Dispute", "promise": "Promise to pay", "schedule": "Payment schedule",
           "sheets": {"dispute": "Disputes", "promise": "Promises", "schedule": "Payment schedules"},
           "columns": ["No.", "Opened on", "By", "Status", "What was said", "Entries", "Amount", "Paid", "Currency",
                       "History PDF"],
           "opened": "Opened on", "by": "By", "status": "Status", "what": "What was said", "entries": "Entries",
           "amount": "Amount", "paid": "Paid", "history": "History", "when": "Date", "who": "Who",
           "step": "Step", "instalments": "Instalments", "instalment": "Instalment", "due": "Date",
           "relance": "Relance", "customer": "Customer", "account": "Account", "registration": "Registration no.",
           "none": "None.", "footer": "{kind} no. {number} – {customer}"},
    "fr": {"dispute": "Litige", "promise": "Promesse de règlement", "schedule": "Échéancier",
           "sheets": {"dispute": "Litiges", "promise": "Promesses", "schedule": "Échéanciers"},
           "columns": ["N°", "Ouvert le", "Par", "Statut", "Ce qui a été dit", "Écritures", "Montant", "Réglé",
                       "Devise", "Historique PDF"],
           "opened": "Ouvert le", "by": "Par", "status": "Statut", "what": "Ce qui a été dit", "entries": "Écritures",
           "amount": "Montant", "paid": "Réglé", "history": "Historique", "when": "Date", "who": "Qui",
           "step": "Étape", "instalments": "Échéances", "instalment": "Échéance", "due": "Date",
           "relance": "Relance", "customer": "Client", "account": "Compte", "registration": "SIREN",
           "none": "Aucun.", "footer": "{kind} n° {number} – {customer}"},
}
HISTORY_TEMPLATE = "history.html"


@dataclass(frozen=True)
class HistoryStep:
    at: datetime
    who: str | None  # None: Relance itself
    text: str


@dataclass(frozen=True)
class InstalmentLine:
    number: int
    due_on: date
    amount_cents: int
    paid_cents: int
    status: str


@dataclass(frozen=True)
class CustomerSaid:
    """A dispute, a promise to pay or a payment schedule about entries of the file, with its steps."""

    kind: str  # KINDS
    number: int
    status: str  # in the users' words
    opened_at: datetime
    opened_by: str | None
    what: str  # the reason and note, the date and channel promised, the instalments' rhythm
    entries: tuple[str, ...]
    amount_cents: int
    paid_cents: int | None
    currency: str
    steps: tuple[HistoryStep, ...]
    instalments: tuple[InstalmentLine, ...] = ()

    def stem(self, language: str) -> str:
        return f"{LABELS[language][self.kind]} {self.number}"


class HistoryPdfWriter:
    """Renders the history of each dispute, promise and schedule, with the reminders' writer's fonts
    and stylesheet (one FontConfiguration for the whole file)."""

    def __init__(self, reminders: ReminderPdfWriter):
        self.reminders = reminders
        self.letterhead: Letterhead = reminders.letterhead
        self.locale = reminders.locale
        self.language = language_of(self.locale)
        self.labels = LABELS[self.language]
        self.template = _environment().get_template(HISTORY_TEMPLATE)

    def html(self, said: CustomerSaid) -> str:
        locale, labels = self.locale, self.labels
        return self.template.render(
            said=said, letterhead=self.letterhead, labels=labels, lang=self.language, kind=labels[said.kind],
            footer=labels["footer"].format(kind=labels[said.kind], number=said.number,
                                           customer=self.letterhead.customer_name),
            money=lambda cents: money(cents, said.currency, locale),
            day=lambda value: format_date(value, "medium", locale=locale) if value else "",
            moment=lambda value: f"{format_date(value, 'medium', locale=locale)} "
                                 f"{format_time(value, 'short', locale=locale)}")

    def write(self, said: CustomerSaid, target: BinaryIO) -> None:
        self.reminders.render_html(self.html(said), target)
