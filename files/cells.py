"""Spreadsheet cells that cannot run anything: every writer of an Excel or CSV file goes through here.

A text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula when the file is opened ("CSV/formula injection"):
a customer named `=HYPERLINK(…)` would run in the accountant's spreadsheet. In .xlsx such text
is written as a string cell (openpyxl would otherwise store a str starting with `=` as a
formula, and `#N/A` as an error); in CSV, where every cell is text, it gets a leading `'`, the
quote spreadsheets show as "this is text". Numbers and dates are left alone: they stay numbers
and dates.
"""
from __future__ import annotations

from babel.support import LazyProxy

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "#,##0.00"  # amounts are Decimal cells (domain.money.to_decimal): numbers a sheet can sum


def xlsx_cell(sheet, value, *, font=None, number_format: str | None = None, alignment=None):
    """A write-only cell; text is always a string cell, never a formula or an error code."""
    # Imported here so that the CSV writers (and the web app through jobs/) do not load
    # openpyxl (~0.13 s); once loaded, this costs a tenth of making the cell.
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, LazyProxy):  # a label marked for translation at import time: its text now
        value = str(value)
    if isinstance(value, str):
        # Control characters XML cannot carry would make openpyxl refuse the whole export.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    if number_format:
        cell.number_format = number_format
    if alignment is not None:
        cell.alignment = alignment
    return cell


def csv_cell(value):
    """A CSV field: text that a spreadsheet would read as a formula gets a leading `'`."""
    if isinstance(value, LazyProxy):
        value = str(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
