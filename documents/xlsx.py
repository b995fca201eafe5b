"""Excel workbooks (openpyxl, write-only mode so a large ledger streams instead of filling memory)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from domain.ledger import BUCKETS

MONEY_FORMAT = "#,##0.00"


def _amount(cents: int) -> Decimal:
    return Decimal(cents) / 100


def write_balances(path: Path, rows: Iterable, title: str, progress: Callable[[int], None] | None = None) -> int:
    """Who owes you what?: one row per customer and currency, amounts as numbers with 2 decimals."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Who owes you what")
    bold = Font(bold=True)
    sheet.append([WriteOnlyCell(sheet, value=title)])
    header = ["Account", "Customer", "Currency", *(label for _, label, _ in BUCKETS), "Total",
              "Highest level", "Last reminder", "In collection", "Reminders stopped", "Disputed"]
    cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    count = 0
    for summary, customer in rows:
        values = [customer.account, customer.name, summary.currency]
        row = [WriteOnlyCell(sheet, value=v) for v in values]
        for _, _, column in BUCKETS:
            cell = WriteOnlyCell(sheet, value=_amount(getattr(summary, column)))
            cell.number_format = MONEY_FORMAT
            row.append(cell)
        total = WriteOnlyCell(sheet, value=_amount(summary.total_cents))
        total.number_format = MONEY_FORMAT
        row.append(total)
        last = WriteOnlyCell(sheet, value=summary.last_reminder_on)
        last.number_format = "yyyy-mm-dd"
        row += [WriteOnlyCell(sheet, value=f"R{summary.highest_level}"), last,
                WriteOnlyCell(sheet, value=summary.in_collection_count),
                WriteOnlyCell(sheet, value="yes" if summary.reminders_stopped else ""),
                WriteOnlyCell(sheet, value=summary.disputed_count)]
        sheet.append(row)
        count += 1
        if progress and count % 1000 == 0:
            progress(count)
    workbook.save(path)
    return count


def write_collection(path: Path, entries: Iterable, title: str, progress: Callable[[int], None] | None = None) -> int:
    """The Collection page: one row per entry in collection, with its case and the file it went out in."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Collection")
    bold = Font(bold=True)
    sheet.append([WriteOnlyCell(sheet, value=title)])
    header = ["Account", "Customer", "Entry", "Kind", "Currency", "Amount", "Open amount", "Due date",
              "Marked on", "Marked by", "Case", "Case status", "Collection file"]
    cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    count = 0
    for entry in entries:
        case = entry.collection_case
        row = [WriteOnlyCell(sheet, value=v) for v in (
            entry.customer.account, entry.customer.name, entry.number,
            "credit note" if entry.kind == "credit_note" else "invoice", entry.currency)]
        for cents in (entry.sign * entry.amount_cents, entry.balance_cents):
            cell = WriteOnlyCell(sheet, value=_amount(cents))
            cell.number_format = MONEY_FORMAT
            row.append(cell)
        due = WriteOnlyCell(sheet, value=entry.due_date)
        due.number_format = "yyyy-mm-dd"
        marked = WriteOnlyCell(sheet, value=entry.collection_marked_at)
        marked.number_format = "yyyy-mm-dd hh:mm"
        by = entry.collection_marked_by.display_name if entry.collection_marked_by else ""
        row += [due, marked, WriteOnlyCell(sheet, value=by),
                WriteOnlyCell(sheet, value=case.id if case else None),
                WriteOnlyCell(sheet, value=case.status_label if case else ""),
                WriteOnlyCell(sheet, value=case.export.filename if case and case.export else "")]
        sheet.append(row)
        count += 1
        if progress and count % 1000 == 0:
            progress(count)
    workbook.save(path)
    return count
