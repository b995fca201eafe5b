"""Excel workbooks (openpyxl, write-only mode so a large ledger streams instead of filling memory).

Their sheet names and headers are in the current language: the job that writes one speaks the language of
the user who asked for it (jobs/exports.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Mapping

from flask_babel import gettext as _
from flask_babel import pgettext
from openpyxl import Workbook
from openpyxl.styles import Font

from domain.ledger.aging import BUCKETS
from domain.money import to_decimal
from files.cells import MONEY_FORMAT, xlsx_cell


def write_balances(path: Path, rows: Iterable, title: str, progress: Callable[[int], None] | None = None,
                   charges: Mapping[tuple[int, str], object] | None = None) -> int:
    """Who owes you what?: one row per customer and currency, amounts as numbers with 2 decimals;
    with `charges` (the daily run's late-payment totals by customer and currency: interest_cents,
    indemnity_cents, as_of), two more columns, empty where unknown or none."""
    charges = charges or {}
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Who owes you what")[:31])
    bold = Font(bold=True)
    sheet.append([xlsx_cell(sheet, title)])
    header = [_("Account"), _("Customer"), _("Currency"), *(str(label) for _key, label, _column in BUCKETS),
              _("Total"), _("Highest level"), _("Last reminder"), _("In collection"), _("Reminders stopped"),
              pgettext("customer", "Disputed")]
    as_of = next(iter(charges.values())).as_of.isoformat() if charges else None
    if as_of:
        header += [_("Late-payment interest to %(day)s", day=as_of), _("Recovery indemnities to %(day)s", day=as_of)]
    sheet.append([xlsx_cell(sheet, text, font=bold) for text in header])
    count, yes = 0, _("yes")
    for summary, customer in rows:
        values = [customer.account, customer.name, summary.currency]
        row = [xlsx_cell(sheet, v) for v in values]
        for _key, _label, column in BUCKETS:
            row.append(xlsx_cell(sheet, to_decimal(getattr(summary, column)), number_format=MONEY_FORMAT))
        row.append(xlsx_cell(sheet, to_decimal(summary.total_cents), number_format=MONEY_FORMAT))
        row += [xlsx_cell(sheet, f"R{summary.highest_level}"),
                xlsx_cell(sheet, summary.last_reminder_on, number_format="yyyy-mm-dd"),
                xlsx_cell(sheet, summary.in_collection_count),
                xlsx_cell(sheet, yes if summary.reminders_stopped else ""),
                xlsx_cell(sheet, summary.disputed_count)]
        if as_of:
            late = charges.get((summary.customer_id, summary.currency))
            for cents in (late.interest_cents, late.indemnity_cents) if late else (None, None):
                row.append(xlsx_cell(sheet, to_decimal(cents), number_format=MONEY_FORMAT) if cents is not None
                           else xlsx_cell(sheet, ""))
        sheet.append(row)
        count += 1
        if progress and count % 1000 == 0:
            progress(count)
    workbook.save(path)
    return count


def write_collection(path: Path, entries: Iterable, title: str, progress: Callable[[int], None] | None = None,
                     claimed: Mapping[int, int] | None = None) -> int:
    """The Collection page: one row per entry in collection, with its case and the file it went out in,
    and the interest and fees formal notices claimed on it, still unpaid (`claimed`, by entry id)."""
    claimed = claimed or {}
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(pgettext("sheet", "Collection")[:31])
    bold = Font(bold=True)
    sheet.append([xlsx_cell(sheet, title)])
    header = [_("Account"), _("Customer"), _("Entry"), _("Kind"), _("Currency"), _("Amount"), _("Open amount"),
              _("Due date"), _("Marked on"), _("Marked by"), pgettext("collection case", "Case"), _("Case status"),
              _("Collection file"), _("Interest and fees claimed (unpaid)")]
    sheet.append([xlsx_cell(sheet, text, font=bold) for text in header])
    count = 0
    kinds = {"credit_note": _("credit note"), "invoice": _("invoice")}
    for entry in entries:
        case = entry.collection_case
        row = [xlsx_cell(sheet, v) for v in (
            entry.customer.account, entry.customer.name, entry.number,
            kinds["credit_note" if entry.kind == "credit_note" else "invoice"], entry.currency)]
        for cents in (entry.sign * entry.amount_cents, entry.balance_cents):
            row.append(xlsx_cell(sheet, to_decimal(cents), number_format=MONEY_FORMAT))
        by = entry.collection_marked_by.display_name if entry.collection_marked_by else ""
        row += [xlsx_cell(sheet, entry.due_date, number_format="yyyy-mm-dd"),
                xlsx_cell(sheet, entry.collection_marked_at, number_format="yyyy-mm-dd hh:mm"),
                xlsx_cell(sheet, by),
                xlsx_cell(sheet, case.id if case else None),
                xlsx_cell(sheet, case.status_label if case else ""),
                xlsx_cell(sheet, case.export.filename if case and case.export else ""),
                xlsx_cell(sheet, to_decimal(claimed[entry.id]), number_format=MONEY_FORMAT) if entry.id in claimed
                else xlsx_cell(sheet, "")]
        sheet.append(row)
        count += 1
        if progress and count % 1000 == 0:
            progress(count)
    workbook.save(path)
    return count


def write_disputes(path: Path, rows: Iterable, title: str, progress: Callable[[int], None] | None = None) -> int:
    """The Disputes page: one row per dispute, its entries, amount still open, reason, status, owner, age."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Disputes")[:31])
    bold = Font(bold=True)
    sheet.append([xlsx_cell(sheet, title)])
    header = [_("Dispute"), _("Account"), _("Customer"), _("Entries"), _("Currency"), _("Open amount"), _("Reason"),
              _("Status"), _("Outcome"), _("Owner"), _("Opened on"), _("Age (days)"), _("Last activity"),
              _("Follow up on"), _("Note")]
    sheet.append([xlsx_cell(sheet, text, font=bold) for text in header])
    count = 0
    for row in rows:
        dispute = row.dispute
        sheet.append([
            xlsx_cell(sheet, dispute.id), xlsx_cell(sheet, dispute.customer.account),
            xlsx_cell(sheet, dispute.customer.name),
            xlsx_cell(sheet, ", ".join(entry.number for entry in dispute.entries)), xlsx_cell(sheet, row.currency),
            xlsx_cell(sheet, to_decimal(row.amount_cents), number_format=MONEY_FORMAT),
            xlsx_cell(sheet, dispute.reason_label), xlsx_cell(sheet, dispute.status_label),
            xlsx_cell(sheet, (dispute.outcome or "").replace("_", " ")),
            xlsx_cell(sheet, dispute.owner.display_name if dispute.owner else ""),
            xlsx_cell(sheet, dispute.opened_at, number_format="yyyy-mm-dd hh:mm"), xlsx_cell(sheet, row.age_days),
            xlsx_cell(sheet, dispute.last_activity_at, number_format="yyyy-mm-dd hh:mm"),
            xlsx_cell(sheet, dispute.follow_up_on, number_format="yyyy-mm-dd"), xlsx_cell(sheet, dispute.note)])
        count += 1
        if progress and count % 1000 == 0:
            progress(count)
    workbook.save(path)
    return count


def write_promises(path: Path, promises: Iterable, title: str, progress: Callable[[int], None] | None = None) -> int:
    """The Promises page: one row per promise, what was promised, by when, and what came of it."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Promises to pay")[:31])
    bold = Font(bold=True)
    sheet.append([xlsx_cell(sheet, title)])
    header = [_("Promise"), _("Account"), _("Customer"), _("Entries"), _("Currency"), _("Amount promised"),
              _("Promised on"), _("Reminders wait until"), _("Channel"), pgettext("promise", "Recorded by"),
              pgettext("promise", "Recorded on"), _("Status"), _("Paid toward it"), _("Note")]
    sheet.append([xlsx_cell(sheet, text, font=bold) for text in header])
    count = 0
    for promise in promises:
        sheet.append([
            xlsx_cell(sheet, promise.id), xlsx_cell(sheet, promise.customer.account), xlsx_cell(sheet, promise.customer.name),
            xlsx_cell(sheet, ", ".join(entry.number for entry in promise.entries)), xlsx_cell(sheet, promise.currency),
            xlsx_cell(sheet, to_decimal(promise.amount_cents), number_format=MONEY_FORMAT),
            xlsx_cell(sheet, promise.promised_on, number_format="yyyy-mm-dd"),
            xlsx_cell(sheet, promise.until, number_format="yyyy-mm-dd"), xlsx_cell(sheet, promise.channel_label),
            xlsx_cell(sheet, promise.recorded_by.display_name if promise.recorded_by else ""),
            xlsx_cell(sheet, promise.recorded_at, number_format="yyyy-mm-dd hh:mm"),
            xlsx_cell(sheet, promise.status_label),
            xlsx_cell(sheet, to_decimal(promise.paid_cents), number_format=MONEY_FORMAT) if promise.status != "open"
            else xlsx_cell(sheet, None),
            xlsx_cell(sheet, promise.note)])
        count += 1
        if progress and count % 1000 == 0:
            progress(count)
    workbook.save(path)
    return count


def write_schedules(path: Path, schedules: Iterable, title: str, progress: Callable[[int], None] | None = None) -> int:
    """The Schedules overview: a sheet of schedules, and a sheet of their instalments."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Payment schedules")[:31])
    lines = workbook.create_sheet(_("Instalments")[:31])
    bold = Font(bold=True)
    sheet.append([xlsx_cell(sheet, title)])
    sheet.append([xlsx_cell(sheet, text, font=bold) for text in (
        pgettext("payment schedule", "Schedule"), _("Account"), _("Customer"), _("Entries"), _("Currency"), _("Total"),
        pgettext("amount", "Paid"), _("Remaining"), _("Next instalment"), _("Next amount"), _("Status"),
        _("Agreed on"))])
    lines.append([xlsx_cell(lines, text, font=bold) for text in (
        pgettext("payment schedule", "Schedule"), _("Account"), _("Instalment"), _("Due on"), _("Amount"),
        pgettext("amount", "Paid"), _("Status"))])
    count = 0
    for schedule in schedules:
        upcoming = schedule.next_instalment if schedule.is_active else None
        money = {"number_format": MONEY_FORMAT}
        sheet.append([
            xlsx_cell(sheet, schedule.id), xlsx_cell(sheet, schedule.customer.account),
            xlsx_cell(sheet, schedule.customer.name), xlsx_cell(sheet, ", ".join(e.number for e in schedule.entries)),
            xlsx_cell(sheet, schedule.currency), xlsx_cell(sheet, to_decimal(schedule.total_cents), **money),
            xlsx_cell(sheet, to_decimal(schedule.paid_cents), **money),
            xlsx_cell(sheet, to_decimal(schedule.remaining_cents), **money),
            xlsx_cell(sheet, upcoming.due_on if upcoming else None, number_format="yyyy-mm-dd"),
            xlsx_cell(sheet, to_decimal(upcoming.amount_cents - upcoming.paid_cents) if upcoming else None, **money),
            xlsx_cell(sheet, schedule.status_label),
            xlsx_cell(sheet, schedule.created_at, number_format="yyyy-mm-dd")])
        for instalment in schedule.instalments:
            lines.append([xlsx_cell(lines, schedule.id), xlsx_cell(lines, schedule.customer.account),
                          xlsx_cell(lines, instalment.number),
                          xlsx_cell(lines, instalment.due_on, number_format="yyyy-mm-dd"),
                          xlsx_cell(lines, to_decimal(instalment.amount_cents), **money),
                          xlsx_cell(lines, to_decimal(instalment.paid_cents), **money),
                          xlsx_cell(lines, instalment.status_label)])
        count += 1
        if progress and count % 1000 == 0:
            progress(count)
    workbook.save(path)
    return count
