"""What the customer said about the entries of a collection file — each dispute, promise to pay and
payment schedule — as plain data, and as a PDF of its history (WeasyPrint, reminder.css: the
collection file's other documents' page and letterhead). files/collection_zip.py puts them in the zip
and in the Excel file; jobs/collection.py loads them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

from babel.dates import format_date, format_time
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import pgettext

from files.pdf import Letterhead, ReminderPdfWriter, _environment, language_of, money

KINDS = ("dispute", "promise", "schedule")


def kind_label(kind: str) -> str:
    """"Dispute", "Promise to pay", "Payment schedule", in the current language."""
    return {"dispute": _("Dispute"), "promise": _("Promise to pay"), "schedule": _("Payment schedule")}[kind]


def sheet_name(kind: str) -> str:
    """The collection file's sheet of the disputes, promises or schedules, in the current language."""
    return {"dispute": _("Disputes"), "promise": pgettext("sheet", "Promises"),
            "schedule": _("Payment schedules")}[kind]


def sheet_columns() -> list[str]:
    return [_("No."), _("Opened on"), pgettext("opened by", "By"), _("Status"), _("What was said"), _("Entries"),
            _("Amount"), pgettext("amount", "Paid"), _("Currency"), _("History PDF")]


def nothing_listed() -> str:
    return pgettext("nothing listed", "None.")


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

    def stem(self, locale: str) -> str:
        """Its history PDF's name in the collection file: "Dispute 12", in `locale`'s language."""
        with force_locale(locale):
            return f"{kind_label(self.kind)} {self.number}"


class HistoryPdfWriter:
    """Renders the history of each dispute, promise and schedule, with the reminders' writer's fonts
    and stylesheet (one FontConfiguration for the whole file)."""

    def __init__(self, reminders: ReminderPdfWriter):
        self.reminders = reminders
        self.letterhead: Letterhead = reminders.letterhead
        self.locale = reminders.locale
        self.language = language_of(self.locale)
        self.template = _environment().get_template(HISTORY_TEMPLATE)

    def html(self, said: CustomerSaid) -> str:
        locale = self.locale
        with force_locale(locale):
            kind = kind_label(said.kind)
            return self.template.render(
                said=said, letterhead=self.letterhead, lang=self.language, kind=kind,
                footer=_("%(kind)s no. %(number)s – %(customer)s", kind=kind, number=said.number,
                         customer=self.letterhead.customer_name),
                money=lambda cents: money(cents, said.currency, locale),
                day=lambda value: format_date(value, "medium", locale=locale) if value else "",
                moment=lambda value: f"{format_date(value, 'medium', locale=locale)} "
                                     f"{format_time(value, 'short', locale=locale)}")

    def write(self, said: CustomerSaid, target: BinaryIO) -> None:
        self.reminders.render_html(self.html(said), target)
