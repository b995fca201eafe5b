"""The collection file: one .zip for a collection agency or a lawyer.

    <Customer> <date>.xlsx          the customer, the selected entries, the files below per entry;
                                    a sheet each for the disputes, promises and schedules
    invoices/<entry number>.pdf     the invoice PDF of each selected entry that has one
    reminders/<date> R<n> <channel>.pdf   each reminder activity about those entries:
                                    page 1 the summary, page 2 the message as sent
    history/<Dispute 12>.pdf        each dispute, promise to pay and payment schedule about those
                                    entries: what was said, and every step since (files/history.py)

`write_collection_file` knows no database: the job loads a `CollectionFileContents` (plain
dataclasses) and hands it over. Files are streamed into the zip one at a time (invoices copied
from disk, reminders rendered straight into their zip member), so memory stays flat however
many documents there are. Every name in the zip is safe on Windows and macOS and unique, case
folded, since both file systems ignore case.
"""
from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import pgettext
# At module level, like WeasyPrint in worker.py: a worker that imports this module before it forks
# spares every work horse the import (openpyxl alone is ~0.1 s of CPU).
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from domain.money import plain, to_decimal
from files import history as history_words
from files.cells import MONEY_FORMAT, xlsx_cell
from files.history import KINDS, CustomerSaid, HistoryPdfWriter
from files.names import UniqueNames, file_stem
from files.pdf import Letterhead, ReminderDocument, ReminderPdfWriter, channel_label

INVOICE_FOLDER = "invoices"
REMINDER_FOLDER = "reminders"
HISTORY_FOLDER = "history"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

# --- what goes in --------------------------------------------------------------------------

@dataclass(frozen=True)
class CompanyDetails:
    """The company using Relance (CompanySettings), at the top of every reminder."""

    name: str
    registration_number: str = ""
    sender_email: str = ""
    address: str = ""


@dataclass(frozen=True)
class CustomerDetails:
    account: str
    name: str
    registration_number: str = ""
    address: str = ""
    emails: tuple[str, ...] = ()
    phone: str = ""
    language: str = ""


@dataclass(frozen=True)
class InvoiceFile:
    """An invoice document on disk (ATTACHMENT_DIR / storage_name) and its uploaded name."""

    path: Path
    filename: str = ""


@dataclass(frozen=True)
class EntryLine:
    """A selected entry. Amounts are positive integer cents; `kind` says invoice or credit note."""

    id: int
    number: str
    kind: str
    issue_date: date
    due_date: date
    amount_cents: int
    open_cents: int
    currency: str
    reminder_level: int
    days_overdue: int
    in_collection: bool = False
    reminders_stopped: bool = False
    disputed: bool = False
    invoice: InvoiceFile | None = None
    # Late payment (domain.ledger.interest): what is not claimed yet, computed to the file's day (None:
    # unknown or not due), and what formal notices claimed that is still unpaid — never both for a day.
    interest_cents: int | None = None
    indemnity_cents: int | None = None
    claimed_cents: int = 0

    @property
    def sign(self) -> int:
        return -1 if self.kind == "credit_note" else 1


@dataclass(frozen=True)
class CollectionFileContents:
    customer: CustomerDetails
    company: CompanyDetails
    entries: list[EntryLine]
    reminders: list[ReminderDocument]  # each covered entry's `entry_id` ties it to the entries
    exported_on: date
    exported_at: datetime | None = None  # the time stamp of the zip members (default: exported_on, 00:00)
    locale: str = "en_GB"  # the language and formats of its sheets and documents: the requesting user's
    said: list[CustomerSaid] = field(default_factory=list)  # disputes, promises, schedules of those entries


@dataclass
class CollectionFileSummary:
    """What was written: zip paths by entry id / activity id, and entries without an invoice file."""

    workbook: str = ""
    invoices: dict[int, str] = field(default_factory=dict)
    reminders: dict[int, str] = field(default_factory=dict)
    history: dict[tuple[str, int], str] = field(default_factory=dict)  # (kind, number) → its PDF
    unavailable: list[str] = field(default_factory=list)


# --- the .zip --------------------------------------------------------------------------------

def write_collection_file(target: Path, contents: CollectionFileContents,
                          progress: Callable[[int], None] | None = None) -> CollectionFileSummary:
    """Write the collection file to `target` (a .zip). `progress` receives 0–99 as documents are
    added (only when the figure changes)."""
    summary = CollectionFileSummary()
    names = UniqueNames()
    stamp = (contents.exported_at or datetime.combine(contents.exported_on, datetime.min.time())).timetuple()[:6]
    steps = len(contents.entries) + len(contents.reminders) + len(contents.said) + 1
    reported = [-1]

    def step(done: int) -> None:
        percent = min(99, done * 100 // steps)
        if progress is not None and percent != reported[0]:
            reported[0] = percent
            progress(percent)

    def member(path: str, compress: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=stamp)
        info.compress_type = compress
        info.external_attr = 0o644 << 16
        return info

    done = 0
    step(done)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for entry in contents.entries:
            copied = _copy_invoice(archive, entry, names, member)
            if copied:
                summary.invoices[entry.id] = copied
            else:
                summary.unavailable.append(entry.number)
            done += 1
            step(done)

        writer = ReminderPdfWriter(letterhead_of(contents), contents.locale) \
            if contents.reminders or contents.said else None
        for reminder in contents.reminders:
            path = names.claim(REMINDER_FOLDER, _reminder_stem(reminder), ".pdf")
            # Rendered straight into the zip: no PDF is ever held whole in memory.
            with archive.open(member(path, zipfile.ZIP_DEFLATED), "w") as out:
                writer.write(reminder, out)
            summary.reminders[reminder.id] = path
            done += 1
            step(done)

        if contents.said:
            history = HistoryPdfWriter(writer)
            for said in contents.said:
                path = names.claim(HISTORY_FOLDER, said.stem(history.locale), ".pdf")
                with archive.open(member(path, zipfile.ZIP_DEFLATED), "w") as out:
                    history.write(said, out)
                summary.history[(said.kind, said.number)] = path
                done += 1
                step(done)

        summary.workbook = names.claim("", file_stem(contents.customer.name, contents.exported_on), ".xlsx")
        with archive.open(member(summary.workbook, zipfile.ZIP_DEFLATED), "w") as out:
            write_workbook(out, contents, summary)
        step(steps)
    return summary


def _copy_invoice(archive: zipfile.ZipFile, entry: EntryLine, names: UniqueNames, member) -> str | None:
    """Copy the entry's invoice file into the zip (stored: PDFs are compressed already). A missing
    or unreadable file means "not available", never a failed collection file."""
    if entry.invoice is None:
        return None
    try:
        source = open(entry.invoice.path, "rb")
    except OSError:
        return None
    with source:
        extension = Path(entry.invoice.filename).suffix.lower() or ".pdf"
        path = names.claim(INVOICE_FOLDER, entry.number, extension)
        with archive.open(member(path, zipfile.ZIP_STORED), "w") as out:
            shutil.copyfileobj(source, out, 1 << 16)
    return path


def _reminder_stem(reminder: ReminderDocument) -> str:
    return f"{reminder.sent_at.date().isoformat()} R{reminder.level} {reminder.channel}"


def letterhead_of(contents: CollectionFileContents) -> Letterhead:
    company, customer = contents.company, contents.customer
    return Letterhead(company_name=company.name, customer_name=customer.name, customer_account=customer.account,
                      company_address=company.address, company_registration=company.registration_number,
                      company_email=company.sender_email, customer_registration=customer.registration_number)


# --- the Excel file ------------------------------------------------------------------------

def _entry_columns() -> list[str]:
    return [_("Entry"), _("Kind"), pgettext("collection file", "Issue date"), pgettext("document", "Due date"),
            _("Amount"), pgettext("collection file", "Open amount"), _("Currency"), _("Reminder level"),
            _("Days overdue"), _("In collection"), _("Reminders stopped"),
            pgettext("collection file", "Disputed"), pgettext("collection file", "Invoice PDF"), _("Reminder PDFs"),
            _("Late-payment interest not claimed yet"), _("Recovery indemnity not claimed yet"),
            _("Interest and fees claimed (unpaid)")]


def _reminder_columns() -> list[str]:
    return [pgettext("reminder", "Sent on"), _("Channel"), _("Level"), _("Sender"), _("Recipient"), _("Subject"),
            _("Entries"), _("Amount covered"), _("Currency"), "PDF"]


def write_workbook(out, contents: CollectionFileContents, summary: CollectionFileSummary) -> None:
    """The Excel file: customer details, one row per entry with its files in the zip, totals per
    currency; a second sheet lists the reminders. Write-only openpyxl: rows stream out. In the language of
    `contents.locale`."""
    with force_locale(contents.locale):
        _write_workbook(out, contents, summary)


def _write_workbook(out, contents: CollectionFileContents, summary: CollectionFileSummary) -> None:
    title = _("Collection file")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    bold, title_font, wrap = Font(bold=True), Font(bold=True, size=14), Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")

    def cell(value, *, font=None, number_format=None, alignment=top):
        return xlsx_cell(sheet, value, font=font, number_format=number_format, alignment=alignment)

    for letter, width in zip("ABCDEFGHIJKLMNOPQ", (22, 12, 12, 12, 14, 14, 9, 10, 10, 10, 10, 9, 34, 44, 14, 14, 14)):
        sheet.column_dimensions[letter].width = width

    customer = contents.customer
    sheet.append([cell(f"{title} – {customer.name}", font=title_font, alignment=None)])
    sheet.append([cell(_("Exported on")), cell(contents.exported_on, number_format=DATE_FORMAT)])
    if contents.company.name:
        sheet.append([cell(_("Creditor")), cell(contents.company.name)])
    sheet.append([])
    sheet.append([cell(_("Customer"), font=bold)])
    for label, value in ((_("Account"), customer.account), (_("Name"), customer.name),
                         (pgettext("document", "Registration number"), customer.registration_number),
                         (_("Address"), customer.address), (_("E-mails"), ", ".join(customer.emails)),
                         (_("Phone"), customer.phone), (_("Language"), customer.language)):
        sheet.append([cell(label), cell(value or "", alignment=wrap)])
    sheet.append([])
    sheet.append([cell(_("Entries"), font=bold)])
    sheet.append([cell(text, font=bold, alignment=wrap) for text in _entry_columns()])

    reminders_of: dict[int, list[str]] = {}
    for reminder in contents.reminders:
        for line in reminder.covered:
            if line.entry_id is not None and reminder.id in summary.reminders:
                reminders_of.setdefault(line.entry_id, []).append(summary.reminders[reminder.id])

    totals: dict[str, list[int]] = {}
    kinds = {"invoice": _("Invoice"), "credit_note": _("Credit note")}
    yes, not_available = _("yes"), _("not available")
    for entry in contents.entries:
        amount, open_amount = entry.sign * entry.amount_cents, entry.sign * entry.open_cents
        total = totals.setdefault(entry.currency, [0, 0])
        total[0] += amount
        total[1] += open_amount
        sheet.append([
            cell(entry.number), cell(kinds.get(entry.kind, entry.kind)),
            cell(entry.issue_date, number_format=DATE_FORMAT), cell(entry.due_date, number_format=DATE_FORMAT),
            cell(to_decimal(amount), number_format=MONEY_FORMAT), cell(to_decimal(open_amount), number_format=MONEY_FORMAT),
            cell(entry.currency), cell(f"R{entry.reminder_level}"), cell(entry.days_overdue),
            cell(yes if entry.in_collection else ""), cell(yes if entry.reminders_stopped else ""),
            cell(yes if entry.disputed else ""),
            cell(summary.invoices.get(entry.id, not_available)),
            cell("\n".join(dict.fromkeys(reminders_of.get(entry.id, []))), alignment=wrap),
            *(cell(to_decimal(cents), number_format=MONEY_FORMAT) if cents is not None else cell("")
              for cents in (entry.interest_cents, entry.indemnity_cents, entry.claimed_cents or None)),
        ])
    for currency, (amount, open_amount) in totals.items():
        label = _("Total") if len(totals) == 1 else f"{_('Total')} {currency}"
        sheet.append([cell(label, font=bold), None, None, None,
                      cell(to_decimal(amount), font=bold, number_format=MONEY_FORMAT),
                      cell(to_decimal(open_amount), font=bold, number_format=MONEY_FORMAT), cell(currency, font=bold)])

    if contents.reminders:
        _reminder_sheet(workbook, contents, summary)
    for kind in KINDS:
        _said_sheet(workbook, kind, [s for s in contents.said if s.kind == kind], summary)
    workbook.save(out)


def _said_sheet(workbook, kind: str, said: list[CustomerSaid], summary: CollectionFileSummary) -> None:
    """One sheet of disputes, promises or schedules: one row each, its history PDF named."""
    sheet = workbook.create_sheet(history_words.sheet_name(kind)[:31])
    for letter, width in zip("ABCDEFGHIJ", (7, 17, 18, 16, 50, 26, 14, 14, 9, 30)):
        sheet.column_dimensions[letter].width = width
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    sheet.append([xlsx_cell(sheet, text, font=bold) for text in history_words.sheet_columns()])
    for item in said:
        sheet.append([xlsx_cell(sheet, item.number), xlsx_cell(sheet, item.opened_at, number_format=DATETIME_FORMAT),
                      xlsx_cell(sheet, item.opened_by or ""), xlsx_cell(sheet, item.status),
                      xlsx_cell(sheet, item.what, alignment=wrap), xlsx_cell(sheet, ", ".join(item.entries)),
                      xlsx_cell(sheet, to_decimal(item.amount_cents), number_format=MONEY_FORMAT),
                      xlsx_cell(sheet, to_decimal(item.paid_cents), number_format=MONEY_FORMAT)
                      if item.paid_cents is not None else None,
                      xlsx_cell(sheet, item.currency), xlsx_cell(sheet, summary.history.get((item.kind, item.number), ""))])
    if not said:
        sheet.append([xlsx_cell(sheet, history_words.nothing_listed())])


def _reminder_sheet(workbook, contents: CollectionFileContents, summary: CollectionFileSummary) -> None:
    sheet = workbook.create_sheet(_("Reminders")[:31])
    for letter, width in zip("ABCDEFGHIJ", (17, 9, 7, 28, 34, 44, 30, 15, 9, 40)):
        sheet.column_dimensions[letter].width = width
    bold = Font(bold=True)
    sheet.append([xlsx_cell(sheet, text, font=bold) for text in _reminder_columns()])
    for reminder in contents.reminders:
        totals = reminder.totals()
        if len(totals) == 1:
            amount, currency = xlsx_cell(sheet, to_decimal(totals[0][1]), number_format=MONEY_FORMAT), totals[0][0]
        else:
            amount, currency = xlsx_cell(sheet, ", ".join(f"{plain(c)} {cur}" for cur, c in totals)), ""
        texts = (channel_label(reminder.channel), f"R{reminder.level}",
                 reminder.sender, reminder.recipient, reminder.subject,
                 ", ".join(line.number for line in reminder.covered))
        sheet.append([xlsx_cell(sheet, reminder.sent_at, number_format=DATETIME_FORMAT),
                      *(xlsx_cell(sheet, text) for text in texts), amount,
                      xlsx_cell(sheet, currency), xlsx_cell(sheet, summary.reminders.get(reminder.id, ""))])
