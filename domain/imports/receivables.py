"""Getting data in: customers, entries and payments from a CSV or XLSX file, all or nothing.

An import runs in two steps. First every line is checked in memory against the file itself and
against what the ledger already holds (looked up in bulk, a chunk of keys per query); every
problem becomes a `LineError` naming the file's line and the column. Only a file without a
single problem is then written, in the caller's transaction: the caller commits when
`report.written`, and a report with errors has added nothing to the session.

Importing the same file again changes nothing: customers are matched by account, entries by
number, payments by entry number + reference (a bank export read twice pays nothing twice).
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections import Counter, defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, NamedTuple, Union

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain import audit, clock
from domain.i18n import Joined, Number, Said, _
from domain.i18n import day as short_day
from domain.i18n import lazy_gettext as _l
from domain.i18n import ngettext, nsay, say
from domain.ledger import customers as customer_rules
from domain.ledger.payments import record_payment
from domain.ledger.summaries import mark_customers_dirty
from domain.models import ENTRY_KINDS, MAX_LEVEL, Customer, Entry, ImportMapping, Payment, User
from domain.money import plain

Source = Union[str, Path, IO[bytes]]

KINDS = ("customers", "entries", "payments")
EXTENSIONS = (".csv", ".xlsx")
CHUNK = 500  # keys per IN (...) lookup: well under every database's bound-parameter limit
MAX_ROWS = 1_000_000  # lines of a file, the header's included
MAX_COLUMNS = 100  # of a sheet: the import's own columns and room for others it ignores (A to CV)
# What one part of an .xlsx may unpack to: a sheet is streamed, but its shared strings are held
# in memory whole, and a zip bomb must not take the server down.
MAX_SHEET_BYTES = 1 << 30
MAX_PART_BYTES = 100 << 20
ANALYZE_AFTER = 1000  # rows inserted at once after which PostgreSQL's statistics are refreshed


@dataclass(frozen=True)
class Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


COLUMNS = {
    "customers": Columns(("account", "name"), ("registration_number", "email", "phone", "address", "language")),
    "entries": Columns(("account", "number", "kind", "issue_date", "due_date", "amount"),
                       ("open_amount", "currency", "reminder_level")),
    "payments": Columns(("number", "date", "amount", "reference")),
}


CONCURRENT_CHANGE = _l("Another import or user changed the same customers or entries at the same moment; "
                       "nothing was imported. Run the import again.")


class ImportFileError(ValueError):
    """The file cannot be read at all: wrong extension, not UTF-8, not a workbook, empty."""


class LineError(NamedTuple):
    """One problem in the file: its line (the header is line 1), the column and why."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        if not self.line:  # about the whole file
            return self.reason
        return _("line %(line)s, column %(column)s: %(reason)s", line=self.line, column=self.column,
                 reason=self.reason)


@dataclass
class ImportReport:
    kind: str
    filename: str
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # for payments: already imported
    errors: list[LineError] = field(default_factory=list)
    # How the file was read, to show before anything is written: its encoding and separator (CSV),
    # the decimal mark of its amounts, and its first lines as they will be imported.
    encoding: str | None = None
    separator: str | None = None
    decimal_mark: str | None = None
    decimal_mark_needed: bool = False  # the amounts could be read two ways: the user must choose
    # Headers of the file's own ("N° facture"): which header holds each column, as the user chose
    # or as remembered from the last import of this kind; when columns are missing, the file's
    # headers and a guess for each column, for the user to map.
    mapping: dict[str, str] = field(default_factory=dict)
    mapping_remembered: bool = False
    mapping_needed: bool = False
    headers: list[str] = field(default_factory=list)
    guesses: dict[str, str] = field(default_factory=dict)
    preview: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        """The import's changes are in the session, waiting for the caller's commit."""
        return self.ok and not self.dry_run

    def add_error(self, line: int, column: str, reason: str) -> None:
        self.errors.append(LineError(line, column, reason))

    def counts(self) -> Said:
        """What the import did, read in the reader's language (the history keeps it)."""
        if self.kind == "payments":
            return say("%(created)s created, %(unchanged)s already imported", created=Number(self.created),
                       unchanged=Number(self.unchanged))
        return say("%(created)s created, %(updated)s updated, %(unchanged)s unchanged", created=Number(self.created),
                   updated=Number(self.updated), unchanged=Number(self.unchanged))

    def summary(self) -> str:
        if not self.ok:
            return ngettext("%(kind)s: %(num)d error, nothing imported.", "%(kind)s: %(num)d errors, nothing imported.",
                            len(self.errors), kind=self.kind)
        text = _("%(kind)s: %(counts)s", kind=self.kind, counts=self.counts())
        return _("%(summary)s. Dry run: nothing written.", summary=text) if self.dry_run else text


# --- reading files -------------------------------------------------------------------------

Row = tuple[int, list[str]]  # (line number in the file, cell texts)


def read_rows(source: Source, filename: str) -> tuple[list[str], list[Row]]:
    """The header cells and the non-blank data rows of a .csv (its encoding and separator
    detected) or .xlsx (first sheet) file, every cell as trimmed text, each row with its line
    number in the file."""
    _, headers, rows = _read_table(source, filename)
    return headers, rows


def _read_table(source: Source, filename: str, report: ImportReport | None = None) -> tuple[int, list[str], list[Row]]:
    """Like read_rows, with the header's own line number (the first non-blank line); a CSV file's
    encoding and separator go in the report."""
    extension = Path(filename).suffix.lower()
    if extension == ".xls":
        raise ImportFileError(_("%(file)s is an old-style Excel file (.xls): save it as .xlsx or CSV UTF-8.",
                                file=repr(filename)))
    if extension not in EXTENSIONS:
        raise ImportFileError(_("%(file)s is neither a .csv nor an .xlsx file.", file=repr(filename)))
    lines = _csv_lines(source, filename, report) if extension == ".csv" else _xlsx_lines(source, filename)
    rows = [(number, cells) for number, cells in lines if any(cells)]
    if not rows:
        raise ImportFileError(_("%(file)s is empty.", file=repr(filename)))
    (header_line, headers), data = rows[0], rows[1:]
    return header_line, headers, data


def read_bytes(source: Source, filename: str) -> bytes:
    try:
        if isinstance(source, (str, Path)):
            return Path(source).read_bytes()
        return source.read()
    except OSError as error:
        raise ImportFileError(_("Cannot read %(file)s: %(error)s.", file=repr(filename),
                                error=error.strerror or error)) from None


SEPARATORS = {",": _l("commas"), ";": _l("semicolons"), "\t": _l("tabs"), "|": _l("vertical bars")}


def decode_text(raw: bytes, filename: str) -> tuple[str, str]:
    """The text and the name of its encoding: UTF-8 (with or without the byte-order mark Excel's
    "CSV UTF-8" writes), else Windows-1252 when a byte only it prints is there (€ is 0x80), else
    ISO-8859-15 (Latin-9, € is 0xA4). Both are what French accounting software writes."""
    if raw.startswith(b"\xef\xbb\xbf"):
        encoding, label = "utf-8-sig", _("UTF-8 (with BOM)")
    else:
        encoding, label = "utf-8", "UTF-8"
    try:
        return raw.decode(encoding), label
    except UnicodeDecodeError as error:
        if encoding == "utf-8-sig":  # it says UTF-8 and is not
            line = raw[:error.start].count(b"\n") + 1
            raise ImportFileError(_("%(file)s starts as UTF-8 but is not UTF-8 text (line %(line)s).",
                                    file=repr(filename), line=line)) from None
    if any(0x80 <= byte <= 0x9F for byte in raw):
        try:
            return raw.decode("windows-1252"), "Windows-1252"
        except UnicodeDecodeError as error:
            line = raw[:error.start].count(b"\n") + 1
            raise ImportFileError(_("%(file)s is neither UTF-8 nor Windows-1252 text (line %(line)s): "
                                    "save it as CSV UTF-8.", file=repr(filename), line=line)) from None
    return raw.decode("iso-8859-15"), "ISO-8859-15"


def _separator(text: str) -> str:
    """The separator that splits the first non-blank line into the most columns (a comma when
    none splits it)."""
    first = next((line for line in text[:65536].splitlines() if line.strip()), "")
    counts = {sep: len(next(csv.reader([first], delimiter=sep), [])) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] > 1 else ","


def _csv_lines(source: Source, filename: str, report: ImportReport | None = None) -> Iterator[Row]:
    text, encoding = decode_text(read_bytes(source, filename), filename)
    separator = _separator(text)
    if report is not None:
        report.encoding, report.separator = encoding, str(SEPARATORS[separator])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        while True:
            # A quoted cell may span lines: a row is numbered by the line it starts on.
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            if start > MAX_ROWS:
                raise ImportFileError(_too_long(filename))
            yield start, [cell.strip() for cell in cells]
    except csv.Error as error:
        raise ImportFileError(_("%(file)s line %(line)s: %(error)s.", file=repr(filename), line=reader.line_num,
                                error=error)) from None


def _too_long(filename: str) -> str:
    return _("%(file)s has more than %(max)s rows: split it into smaller files.", file=repr(filename),
             max=format(MAX_ROWS, ","))


def _xlsx_lines(source: Source, filename: str) -> Iterator[Row]:
    """The first sheet's rows, one at a time: a sheet too wide or too long is refused before the
    first row comes out, and no row is ever wider than MAX_COLUMNS."""
    from openpyxl import load_workbook
    from openpyxl.worksheet._reader import WorkSheetParser

    if not isinstance(source, (str, Path)) and not (hasattr(source, "seekable") and source.seekable()):
        source = io.BytesIO(read_bytes(source, filename))  # openpyxl needs to seek
    unreadable = ImportFileError(_("%(file)s is not a readable Excel workbook (.xlsx).", file=repr(filename)))
    _check_parts(source, filename, unreadable)
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except OSError as error:
        raise ImportFileError(_("Cannot read %(file)s: %(error)s.", file=repr(filename),
                                error=error.strerror or error)) from None
    except Exception:  # zipfile, XML and openpyxl errors all mean the same to the user
        raise unreadable from None
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        # openpyxl's read-only rows are padded to the widest row (one cell at XFD makes every row
        # 16,384 cells) and leave an XML element behind per row: rows are read here instead, with
        # openpyxl's own cell parser set up as its read-only sheet sets it up (private names,
        # hence the <4 pin; tests/unit/test_imports.py covers dates, numbers and shared strings).
        with sheet._get_source() as xml:
            _check_bounds(xml, filename)
        cells = WorkSheetParser(None, sheet._shared_strings, data_only=True, epoch=workbook.epoch,
                                date_formats=workbook._date_formats, timedelta_formats=workbook._timedelta_formats)
        with sheet._get_source() as xml:
            yield from _sheet_rows(xml, cells, filename)
    except ImportFileError:
        raise
    except Exception:
        raise unreadable from None
    finally:
        workbook.close()


def _check_parts(source: Source, filename: str, unreadable: ImportFileError) -> None:
    """Refuse a workbook whose parts unpack to more than the limits, before anything is unpacked
    (a part that unpacks to more than it declares fails its checksum when read)."""
    try:
        with zipfile.ZipFile(source) as archive:
            parts = archive.infolist()
    except OSError as error:
        raise ImportFileError(_("Cannot read %(file)s: %(error)s.", file=repr(filename),
                                error=error.strerror or error)) from None
    except Exception:
        raise unreadable from None
    finally:
        if not isinstance(source, (str, Path)):
            source.seek(0)
    for part in parts:
        limit = MAX_SHEET_BYTES if part.filename.startswith("xl/worksheets/") else MAX_PART_BYTES
        if part.file_size > limit:
            raise ImportFileError(_("%(file)s is too large once unpacked (%(part)s: %(size)s MB): split it into "
                                    "smaller files or save it as CSV UTF-8.", file=repr(filename), part=part.filename,
                                    size=format(part.file_size >> 20, ",")))


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SHEET_DATA, _ROW, _CELL = f"{{{_MAIN}}}sheetData", f"{{{_MAIN}}}row", f"{{{_MAIN}}}c"


def _check_bounds(xml: IO[bytes], filename: str) -> None:
    """Refuse a sheet with a value beyond MAX_COLUMNS or MAX_ROWS wherever that value is, before
    a single row is held: a first reading of the XML that builds nothing, cells numbered as
    openpyxl numbers them."""
    from xml.parsers import expat

    from openpyxl.utils import coordinate_to_tuple

    row, cell, at = f"{_MAIN} row", f"{_MAIN} c", [0, 0, False]  # line, column, the cell still unchecked

    def start(name: str, attributes: dict) -> None:
        if name == row:
            at[:] = int(attributes.get("r", at[0] + 1)), 0, False
        elif name == cell:
            reference = attributes.get("r")
            at[:2] = coordinate_to_tuple(reference) if reference else (at[0], at[1] + 1)
            at[2] = True
        elif at[2] and name in (f"{_MAIN} v", f"{_MAIN} is"):  # the cell holds a value
            at[2] = False
            _within_bounds(filename, at[0], at[1])

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    parser.ParseFile(xml)


def _within_bounds(filename: str, line: int, column: int) -> None:
    from openpyxl.utils import get_column_letter

    if column > MAX_COLUMNS:
        raise ImportFileError(_(
            "%(file)s is too wide: line %(line)s has a value in column %(column)s, and an import reads the columns "
            "A to %(last)s only. Delete the columns after your data, or save the sheet as CSV UTF-8.",
            file=repr(filename), line=line, column=get_column_letter(column), last=get_column_letter(MAX_COLUMNS)))
    if line > MAX_ROWS:
        raise ImportFileError(_too_long(filename))


def _sheet_rows(xml: IO[bytes], cells, filename: str) -> Iterator[Row]:
    """A worksheet's rows as (line, cell texts), read by openpyxl's cell parser; each row leaves
    the XML tree once read."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.escape import unescape

    sheet_data = row = None
    values: list = []
    for event, element in iterparse(xml, events=("start", "end")):
        tag = element.tag
        if event == "start":
            if tag == _SHEET_DATA:
                sheet_data = element
            elif tag == _ROW and sheet_data is not None:
                row, values = element, []
                # As openpyxl numbers rows: by their r attribute, else the one after the last.
                cells.row_counter = int(element.get("r", cells.row_counter + 1))
                cells.col_counter = 0
            continue
        if tag == _CELL and row is not None:
            cell = cells.parse_cell(element)
            row.remove(element)
            value = cell["value"]
            if value is None:  # an empty cell (formatting only) holds nothing to import, wherever it is
                continue
            column = cell["column"]
            _within_bounds(filename, cell["row"], column)  # checked already: this keeps `values` bounded
            if isinstance(value, str):
                value = unescape(value)  # Excel writes control characters as _x0000_
            values.extend([None] * (column - len(values)))
            values[column - 1] = value
        elif tag == _ROW and row is not None:
            sheet_data.remove(element)
            yield cells.row_counter, [_cell_text(value) for value in values]
            row = None
        elif tag == _SHEET_DATA:
            return  # what follows the data (merged cells, page set-up…) is not needed


def _cell_text(value) -> str:
    """A spreadsheet cell as the text a CSV would hold (dates ISO, no float noise)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        # 1234.56 stays "1234.56"; a formula's 0.30000000000000004 becomes "0.3".
        return f"{value:.10f}".rstrip("0").rstrip(".")
    return str(value).strip()


# --- importing -----------------------------------------------------------------------------

def import_file(
    session: Session,
    kind: str,
    source: Source,
    filename: str,
    *,
    dry_run: bool = False,
    actor: User | None = None,
    decimal_mark: str | None = None,
    mapping: dict[str, str] | None = None,
) -> ImportReport:
    """Check a whole file and, when every line is right and this is not a dry run, write it into
    the session with one audit event (actor None = the command line), and one per customer it
    touched. A CSV file's encoding and separator are detected; the amounts' decimal mark is read
    from the file, or `decimal_mark` ("." or ",") when the file cannot tell. `mapping` says which of
    the file's headers holds each column (column -> header) when the file has headers of its own;
    without it, the mapping last imported for this kind is used when the file has those headers.
    The caller commits when `report.written`. Raises ImportFileError when the file cannot be read
    at all."""
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}")
    report = ImportReport(kind=kind, filename=filename, dry_run=dry_run)
    header_line, headers, rows = _read_table(source, filename, report)
    report.rows = len(rows)
    explicit = {column: header for column, header in (mapping or {}).items() if header}
    remembered = None if explicit else session.get(ImportMapping, kind)
    cells = _map_columns(header_line, headers, rows, COLUMNS[kind], report, explicit,
                         remembered.columns if remembered else {})
    if not report.ok:
        return report
    report.decimal_mark = _decimal_mark(cells, decimal_mark, report)
    if report.decimal_mark_needed:  # every amount would be read on a guess: ask first
        return report
    report.preview = [_as_read(line_cells, report.decimal_mark) for _, line_cells in cells[:PREVIEW_LINES]]
    plan = _CHECKS[kind](session, cells, report)
    report.errors.sort(key=lambda error: error.line)
    if report.ok and not dry_run:
        try:
            # All or nothing against an import running at the same moment: a savepoint on PostgreSQL. SQLite
            # serialises writers (no such race), and there pysqlite would make the savepoint the outermost
            # transaction, committing before the summaries' upkeep.
            racing = session.begin_nested() if session.get_bind().dialect.name == "postgresql" else nullcontext()
            with racing:
                plan.write(session, report)
                audit.record(session, actor, f"import.{kind}", say("%(filename)s: %(counts)s", filename=filename,
                                                                     counts=report.counts()))
                record_per_customer(session, actor, kind, filename, plan.tally)
                if report.mapping and not report.mapping_remembered:
                    _remember(session, kind, report.mapping)
                session.flush()
        except IntegrityError:
            # Another import (the same file from another tab, a colleague) wrote some of these lines since the
            # check: nothing of this one is written; imported again, it finds them there.
            report.created = report.updated = report.unchanged = 0
            report.add_error(0, "", _("Someone imported some of these lines at the same moment: nothing of this file "
                                      "was written. Import it again: what is already there is recognised."))
    return report


def _tally_said(counts: Counter) -> Joined:
    """"3 entries added, 1 paid" / "changed: Name, E-mail": what an import did to one customer."""
    def n(key):
        return counts.get(key, 0)

    words = [say("customer created")] if n("created") else []
    words += [said for key, said in (
        ("added", nsay("%(num)s entry added", "%(num)s entries added", n("added"), num=Number(n("added")))),
        ("updated", nsay("%(num)s entry updated", "%(num)s entries updated", n("updated"), num=Number(n("updated")))),
        ("payments", nsay("%(num)s payment recorded", "%(num)s payments recorded", n("payments"),
                          num=Number(n("payments")))),
        ("paid", nsay("%(num)s paid", "%(num)s paid", n("paid"), num=Number(n("paid"))))) if n(key)]
    changed = sorted(key.removeprefix("changed ") for key in counts if key.startswith("changed "))
    if changed:
        words.append(say("changed: %(fields)s", fields=Joined([customer_rules.LABELS.get(name, name)
                                                                for name in changed], ", ")))
    return Joined(words, ", ")


def record_per_customer(session: Session, actor: User | None, kind: str, filename: str, tally: dict) -> None:
    """One history event per customer the file touched, written in bulk (a file may touch thousands)."""
    if not tally:
        return
    accounts = [key for key in tally if isinstance(key, str)]
    ids: dict[str, int] = {}
    for chunk in in_chunks(accounts):
        ids.update(session.execute(select(Customer.account, Customer.id).where(Customer.account.in_(chunk))).all())

    def detail(counts: Counter) -> Said:
        changes = _tally_said(counts)
        if kind == "fec":
            return say("Imported from the FEC %(filename)s: %(changes)s.", filename=filename, changes=changes)
        return say("Imported from %(filename)s: %(changes)s.", filename=filename, changes=changes)

    events = [{"actor_id": actor.id if actor else None, "action": f"import.{kind}",
               "customer_id": ids.get(key) if isinstance(key, str) else key, "detail": detail(counts)}
              for key, counts in tally.items()]
    audit.record_many(session, [event for event in events if event["customer_id"] is not None])


Cells = dict[str, str]  # canonical column name -> cell text, only for columns the file has
PREVIEW_LINES = 5
DATE_COLUMNS = ("issue_date", "due_date", "date")


def _as_read(cells: Cells, mark: str) -> dict[str, str]:
    """One line as the import will read it: dates as 2026-06-30, amounts as 1234.56 (a cell that
    cannot be read stays as written; its error is in the report)."""
    shown = {}
    for column, value in cells.items():
        try:
            if value and column in AMOUNT_COLUMNS:
                value = plain(_cents(value, mark))
            elif value and column in DATE_COLUMNS:
                value = parse_date(value).isoformat()
        except InvalidCell:
            pass
        shown[column] = value
    return shown


def _canonical(header: str) -> str:
    return re.sub(r"[\s-]+", "_", header.strip().lower())


def _plain_header(header: str) -> str:
    """ "N° facture" -> "n facture", "Date d'échéance" -> "date d echeance": headers compared
    without case, accents or punctuation."""
    text = unicodedata.normalize("NFKD", header.strip().lower())
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


# What the columns are called in the files people have (French and English accounting and
# invoicing software): only a first guess, which the user confirms on the upload page.
SYNONYMS = {
    "account": ("code client", "compte client", "n client", "numero client", "compte", "client", "customer",
                "customer account", "customer id", "account number"),
    "name": ("raison sociale", "nom client", "nom", "societe", "customer name", "company", "client"),
    "registration_number": ("siren", "siret", "n siren", "n siret", "n tva", "tva intracommunautaire", "vat number"),
    "email": ("e mail", "email", "courriel", "adresse e mail", "mail"),
    "phone": ("telephone", "tel", "n telephone"),
    "address": ("adresse", "adresse postale"),
    "language": ("langue",),
    "number": ("n facture", "numero facture", "numero de facture", "n piece", "numero piece", "facture", "piece",
               "invoice number", "invoice no", "invoice", "document number"),
    "kind": ("type", "type de piece", "type piece", "nature", "document type"),
    "issue_date": ("date facture", "date de facture", "date piece", "date d emission", "date emission",
                   "invoice date", "date"),
    "due_date": ("date d echeance", "date echeance", "echeance", "due date", "due"),
    "amount": ("montant ttc", "total ttc", "montant", "amount", "total", "amount incl tax"),
    "open_amount": ("reste du", "reste a payer", "montant restant", "solde", "open amount", "balance", "amount due"),
    "currency": ("devise", "monnaie"),
    "reminder_level": ("niveau de relance", "niveau relance"),
    "date": ("date de paiement", "date paiement", "date de reglement", "date reglement", "payment date", "date"),
    "reference": ("reference", "ref", "reference paiement", "reference du paiement", "libelle", "payment reference"),
}


def _guess(headers: list[str], columns: Columns, taken: set[int]) -> dict[str, str]:
    """A header for each column not found by name, from the synonyms; each header used once."""
    plain_headers = [_plain_header(header) for header in headers]
    guesses = {}
    for column in columns.all:
        for synonym in SYNONYMS.get(column, ()):
            if synonym in plain_headers and plain_headers.index(synonym) not in taken:
                index = plain_headers.index(synonym)
                guesses[column] = headers[index]
                taken.add(index)
                break
    return guesses


def _map_columns(header_line: int, headers: list[str], rows: list[Row], columns: Columns, report: ImportReport,
                 mapping: dict[str, str], remembered: dict[str, str]) -> list[tuple[int, Cells]]:
    """Rows as {column: text}: by header name (any order, case-insensitive), or by the file's own
    header the mapping names for a column; extra columns are ignored. A file that lacks required
    columns asks for a mapping, with a guess for each."""
    positions: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = _canonical(header)
        if name not in columns.all:
            continue
        if name in positions:
            report.add_error(header_line, name, _("the column appears twice"))
        positions[name] = index
    plain_headers = [_plain_header(header) for header in headers]
    remembered = {column: header for column, header in remembered.items() if column in columns.all}
    if not mapping and remembered and all(_plain_header(header) in plain_headers for header in remembered.values()) \
            and any(name not in positions for name in columns.required):
        mapping, report.mapping_remembered = remembered, True  # the same software's file as last time
    mapped_from: dict[int, str] = {}
    for column, header in mapping.items():
        if column not in columns.all:
            continue
        wanted = _plain_header(header)
        if wanted not in plain_headers:
            report.add_error(header_line, column, _("the file has no column %(header)s", header=repr(header)))
            continue
        index = plain_headers.index(wanted)
        if index in mapped_from:
            report.add_error(header_line, column, _("%(header)s is already read as %(column)s", header=repr(header),
                                                    column=mapped_from[index]))
            continue
        mapped_from[index] = column
        positions[column] = index
        report.mapping[column] = headers[index]
    missing = [name for name in columns.required if name not in positions]
    for name in missing:
        report.add_error(header_line, name, _("missing column"))
    if missing:
        report.mapping_needed = True
        report.headers = [header for header in headers if header]
        report.guesses = {**{name: headers[index] for name, index in positions.items()},
                          **_guess(headers, columns, set(positions.values()))}
    return [(line, {name: values[i] if i < len(values) else "" for name, i in positions.items()})
            for line, values in rows]


def _remember(session: Session, kind: str, mapping: dict[str, str]) -> None:
    remembered = session.get(ImportMapping, kind)
    if remembered is None:
        session.add(ImportMapping(kind=kind, columns=dict(mapping), updated_at=clock.now()))
    else:
        remembered.columns, remembered.updated_at = dict(mapping), clock.now()


class InvalidCell(ValueError):
    """A cell that cannot be read; the message is the reason shown to the user."""


_MISSING = object()  # what a bad cell reads as, so later checks can tell it from an empty one


def _given(value) -> bool:
    return value is not None and value is not _MISSING


class _LineReader:
    """Reads one line's cells, noting a LineError for each bad cell instead of stopping at the first."""

    def __init__(self, line: int, cells: Cells, report: ImportReport):
        self.line, self.cells, self.report = line, cells, report
        self.errors = 0

    def has(self, column: str) -> bool:
        return column in self.cells

    def get(self, column: str, parse: Callable[[str], object]):
        try:
            return parse(_printable(self.cells.get(column, ""), column))
        except InvalidCell as problem:
            self.error(column, str(problem))
            return _MISSING

    def error(self, column: str, reason: str) -> None:
        self.errors += 1
        self.report.add_error(self.line, column, reason)

    @property
    def ok(self) -> bool:
        return self.errors == 0


# Control characters (C0, DEL, C1): invisible, they break e-mails, letters and exports. Tabs and
# line breaks are kept where a text may span lines.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MULTILINE = {"address"}


def _printable(value: str, column: str) -> str:
    found = (_CONTROL_BUT_LINES if column in _MULTILINE else _CONTROL).search(value)
    if found:
        raise InvalidCell(_("contains a control character (U+%(code)s): remove it", code=format(ord(found[0]), "04X")))
    return value


# Cell parsers: text in, value out, InvalidCell with the reason otherwise.

def _text(max_length: int, required: bool = False) -> Callable[[str], str | None]:
    def parse(value: str) -> str | None:
        if not value:
            if required:
                raise InvalidCell(_("required"))
            return None
        if len(value) > max_length:
            raise InvalidCell(_("longer than %(max)d characters", max=max_length))
        return value

    return parse


# The dates files really have: ISO, French (day first, / or .), and the FEC's compact form.
_DATES = ((re.compile(r"(\d{4})-(\d{2})-(\d{2})"), (1, 2, 3)), (re.compile(r"(\d{2})/(\d{2})/(\d{4})"), (3, 2, 1)),
          (re.compile(r"(\d{2})\.(\d{2})\.(\d{4})"), (3, 2, 1)), (re.compile(r"(\d{4})(\d{2})(\d{2})"), (1, 2, 3)))


def parse_date(value: str) -> date:
    """2026-06-30, 30/06/2026, 30.06.2026 or 20260630 (the day always before the month)."""
    if not value:
        raise InvalidCell(_("required"))
    for pattern, (year, month, day) in _DATES:
        found = pattern.fullmatch(value)
        if found:
            try:
                return date(int(found[year]), int(found[month]), int(found[day]))
            except ValueError:
                raise InvalidCell(_("%(value)s is not a day of the calendar", value=repr(value))) from None
    raise InvalidCell(_("%(value)s is not a date like 2026-06-30 or 30/06/2026", value=repr(value)))


_AMOUNT = re.compile(r"\d{1,13}(\.\d{1,2})?")
_SPACES = re.compile(r"[\s\u00a0\u202f']")
AMOUNT_COLUMNS = ("amount", "open_amount")
DECIMAL_MARKS = {".": _l("a point (1,234.56)"), ",": _l("a comma (1 234,56)")}


def _mark_of(value: str) -> str | None:
    """The decimal mark this amount shows ("." or ","), "?" when it could be either ("1,234"),
    None when it has none."""
    value = _SPACES.sub("", value)
    if "." in value and "," in value:
        return "." if value.rfind(".") > value.rfind(",") else ","
    for mark in ".,":
        if mark in value:
            if value.count(mark) > 1:  # "1.234.567": groups of thousands, the other mark is the decimal one
                return "," if mark == "." else "."
            return "?" if len(value.rsplit(mark, 1)[1]) == 3 else mark
    return None


def _decimal_mark(lines: list[tuple[int, Cells]], chosen: str | None, report: ImportReport) -> str:
    """The one way this file writes its amounts, read from all its amount cells: each line is read
    the same way. A file mixing both ways is refused; one whose amounts could be read either way
    ("1,234") needs the user's choice (`chosen`)."""
    first: dict[str, tuple[int, str, str]] = {}
    ambiguous = None
    for line, cells in lines:
        for column in AMOUNT_COLUMNS:
            mark = _mark_of(cells.get(column, ""))
            if mark == "?":
                ambiguous = ambiguous or (line, column, cells[column])
            elif mark is not None and mark not in first:
                first[mark] = (line, column, cells[column])
    if len(first) == 2:  # read as its first lines are: the lines written the other way are the errors
        (line_a, _column_a, value_a), (line_b, column_b, value_b) = sorted(first.values())
        report.add_error(line_b, column_b, _("%(value)s is not written like %(first)s on line %(line)s: a file writes "
                                             "all its amounts one way", value=repr(value_b), first=repr(value_a),
                                             line=line_a))
        return min(first, key=lambda mark: first[mark][0])
    if first:
        return next(iter(first))
    if ambiguous and chosen is None:
        line, column, value = ambiguous
        report.decimal_mark_needed = True
        report.add_error(line, column, _("%(value)s could mean thousands or decimals: choose whether this file's "
                                         "decimal mark is a point or a comma", value=repr(value)))
        return "."
    return chosen or "."


def _cents(value: str, mark: str = ".") -> int:
    """A positive amount with at most 2 decimals, written with the file's decimal mark (spaces and
    the other mark may group thousands), as integer cents."""
    if not value:
        raise InvalidCell(_("required"))
    if value.startswith("-"):
        raise InvalidCell(_("%(value)s is negative: amounts are positive (a credit note has kind credit_note)",
                            value=repr(value)))
    thousands = "," if mark == "." else "."
    plain_value = _SPACES.sub("", value).replace(thousands, "").replace(mark, ".")
    if not _AMOUNT.fullmatch(plain_value):
        if re.fullmatch(r"\d+\.\d{3,}", plain_value):
            raise InvalidCell(_("%(value)s has more than 2 decimals", value=repr(value)))
        raise InvalidCell(_("%(value)s is not an amount like 1234.56", value=repr(value)))
    return int(Decimal(plain_value) * 100)


_ACCOUNT, _ENTRY_NUMBER, _REFERENCE = _text(40, required=True), _text(60, required=True), _text(100, required=True)


def _positive_cents(value: str, mark: str = ".") -> int:
    cents = _cents(value, mark)
    if cents == 0:
        raise InvalidCell(_("must be more than 0"))
    return cents


def _optional_cents(value: str, mark: str = ".") -> int | None:
    return _cents(value, mark) if value else None


_KIND_WORDS = {"invoice": "invoice", "credit note": "credit_note", "facture": "invoice", "avoir": "credit_note"}


def _kind(value: str) -> str:
    kind = _KIND_WORDS.get(_plain_header(value), value.lower())  # "Facture", "Avoir" as French software writes
    if kind not in ENTRY_KINDS:
        raise InvalidCell(_("%(value)s is not a kind: write invoice or credit_note", value=repr(value)) if value
                          else _("required"))
    return kind


def _currency(value: str) -> str:
    if not value:
        return "EUR"
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise InvalidCell(_("%(value)s is not a currency code like EUR", value=repr(value)))
    return value.upper()


def _reminder_level(value: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) > MAX_LEVEL:
        raise InvalidCell(_("%(value)s is not a reminder level from 0 to %(max)d", value=repr(value), max=MAX_LEVEL))
    return int(value)


def _shared(rule: Callable[[str], object]) -> Callable[[str], object]:
    """A field rule of the customers' own (domain.ledger.customers), as an import cell's parser."""
    def parse(value: str):
        try:
            return rule(value)
        except customer_rules.FieldError as error:
            raise InvalidCell(str(error)) from None

    return parse


_registration_number = _shared(customer_rules.registration_number)
_emails = _shared(customer_rules.emails)
_language = _shared(customer_rules.language)


def in_chunks(keys: Iterable) -> Iterator[list]:
    keys = sorted(set(keys))
    for start in range(0, len(keys), CHUNK):
        yield keys[start:start + CHUNK]


def _first_seen(seen: dict, key, line: int, reader: _LineReader, column: str, said: Callable[[int], str]) -> None:
    """A key met twice in one file is an error of the later line."""
    if key in seen:
        reader.error(column, said(seen[key]))  # said(the earlier line): "… already appears on line 3"
    else:
        seen[key] = line


# --- customers -----------------------------------------------------------------------------

_CUSTOMER_FIELDS = {
    # column -> (Customer attribute, parser)
    "name": ("name", _text(200, required=True)),
    "registration_number": ("registration_number", _registration_number),
    "email": ("emails", _emails),
    "phone": ("phone", _text(40)),
    "address": ("address", _text(5000)),
    "language": ("language", _language),
}
_CUSTOMER_DEFAULTS = {"registration_number": None, "emails": "", "phone": None, "address": None, "language": "en"}


@dataclass
class _BulkPlan:
    """Rows to insert and rows to update by primary key, written without loading objects."""

    model: type
    creates: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    touched_customers: set[int] = field(default_factory=set)
    # What the file did to each customer (its id, or its account when the file creates it), for
    # one history event per customer: {"added": 3, "paid": 1, …} or the customer's changed fields.
    tally: dict[int | str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def write(self, session: Session, report: ImportReport) -> None:
        if self.creates:
            session.execute(insert(self.model), self.creates)
            if len(self.creates) >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
                # PostgreSQL plans by its statistics, and its cached plans of the lookups above were
                # made for the table before this load: an immediate re-import would scan the whole
                # table per chunk. "Run ANALYZE afterwards" (PostgreSQL docs, Populating a Database).
                session.execute(text(f"ANALYZE {self.model.__tablename__}"))
        if self.updates:
            session.execute(update(self.model), self.updates)
        # Bulk statements bypass the flush events that keep summaries in step: name the customers.
        mark_customers_dirty(session, self.touched_customers)


def _check_customers(session: Session, lines: list[tuple[int, Cells]], report: ImportReport) -> _BulkPlan:
    seen: dict[str, int] = {}
    parsed: list[tuple[str, dict]] = []
    for line, cells in lines:
        reader = _LineReader(line, cells, report)
        account = reader.get("account", _ACCOUNT)
        if _given(account):
            _first_seen(seen, account, line, reader, "account", lambda earlier: _(
                "account %(account)s already appears on line %(line)s", account=account, line=earlier))
        values = {attribute: reader.get(column, parse)
                  for column, (attribute, parse) in _CUSTOMER_FIELDS.items() if reader.has(column)}
        if reader.ok:
            parsed.append((account, values))

    existing = {}
    compared = [getattr(Customer, attribute) for attribute, _ in _CUSTOMER_FIELDS.values()]
    for chunk in in_chunks(account for account, _ in parsed):
        rows = session.execute(select(Customer.id, Customer.account, *compared).where(Customer.account.in_(chunk)))
        existing.update((row.account, row) for row in rows)

    plan = _BulkPlan(Customer)
    for account, values in parsed:
        customer = existing.get(account)
        if customer is None:
            plan.creates.append({"account": account, **_CUSTOMER_DEFAULTS, **values})
            plan.tally[account]["created"] += 1
            report.created += 1
            continue
        # Only the columns the file has are compared: a file without phones keeps the phones.
        changes = {name: value for name, value in values.items() if getattr(customer, name) != value}
        if changes:
            plan.updates.append({"id": customer.id, **changes})
            plan.touched_customers.add(customer.id)
            plan.tally[customer.id].update(f"changed {name}" for name in changes)
            report.updated += 1
        else:
            report.unchanged += 1
    return plan


# --- entries -------------------------------------------------------------------------------

_ENTRY_FIELDS = ("kind", "issue_date", "due_date", "amount_cents", "open_cents", "currency", "reminder_level")


def _check_entries(session: Session, lines: list[tuple[int, Cells]], report: ImportReport) -> _BulkPlan:
    seen: dict[str, int] = {}
    readers: list[tuple[_LineReader, dict]] = []
    for line, cells in lines:
        reader = _LineReader(line, cells, report)
        entry = {
            "account": reader.get("account", _ACCOUNT),
            "number": reader.get("number", _ENTRY_NUMBER),
            "kind": reader.get("kind", _kind),
            "issue_date": reader.get("issue_date", parse_date),
            "due_date": reader.get("due_date", parse_date),
            "amount_cents": reader.get("amount", partial(_positive_cents, mark=report.decimal_mark or ".")),
            "open_cents": reader.get("open_amount", partial(_optional_cents, mark=report.decimal_mark or ".")),
            # An absent currency column leaves existing entries' currencies alone.
            "currency": reader.get("currency", _currency) if reader.has("currency") else None,
            "reminder_level": reader.get("reminder_level", _reminder_level),
        }
        if _given(entry["number"]):
            _first_seen(seen, entry["number"], line, reader, "number", lambda earlier: _(
                "entry %(number)s already appears on line %(line)s", number=entry["number"], line=earlier))
        issue, due = entry["issue_date"], entry["due_date"]
        if isinstance(issue, date) and isinstance(due, date) and due < issue:
            reader.error("due_date", _("due date %(due)s is before the issue date %(issue)s", due=short_day(due),
                                       issue=short_day(issue)))
        amount, open_cents = entry["amount_cents"], entry["open_cents"]
        if isinstance(amount, int) and isinstance(open_cents, int) and open_cents > amount:
            reader.error("open_amount", _("open amount %(open)s is larger than the amount %(amount)s",
                                          open=plain(open_cents), amount=plain(amount)))
        readers.append((reader, entry))

    customer_ids: dict[str, int] = {}
    for chunk in in_chunks(e["account"] for _, e in readers if _given(e["account"])):
        customer_ids.update(session.execute(select(Customer.account, Customer.id).where(Customer.account.in_(chunk))).all())
    existing = {}
    for chunk in in_chunks(e["number"] for _, e in readers if _given(e["number"])):
        rows = session.execute(select(Entry.id, Entry.number, Entry.customer_id, Entry.cancelled_at,
                                      *(getattr(Entry, f) for f in _ENTRY_FIELDS))
                               .where(Entry.number.in_(chunk)))
        existing.update((row.number, row) for row in rows)
    # The accounts of entries the file puts under another customer, to say whose they are.
    owners = {current.customer_id for _, e in readers if (current := existing.get(e["number"])) is not None}
    account_of = {customer_id: account for account, customer_id in customer_ids.items()}
    for chunk in in_chunks(owners - account_of.keys()):
        account_of.update(session.execute(select(Customer.id, Customer.account).where(Customer.id.in_(chunk))).all())
    paid: dict[int, int] = {}
    for chunk in in_chunks(row.id for row in existing.values()):
        totals = session.execute(select(Payment.entry_id, func.sum(Payment.amount_cents))
                                 .where(Payment.entry_id.in_(chunk), Payment.reversed_at.is_(None))
                                 .group_by(Payment.entry_id))
        paid.update((entry_id, int(total)) for entry_id, total in totals)  # PostgreSQL sums to numeric

    plan = _BulkPlan(Entry)
    for reader, entry in readers:
        account, number = entry["account"], entry["number"]
        if _given(account) and account not in customer_ids:
            reader.error("account", _("unknown account %(account)s", account=account))
        current = existing.get(number) if _given(number) else None
        if current is not None and _given(account) and account_of[current.customer_id] != account:
            reader.error("account", _("entry %(number)s belongs to account %(account)s", number=number,
                                      account=account_of[current.customer_id]))
        if current is not None and reader.ok and entry["open_cents"] is None:
            # No open amount in the file: the amount less what Relance has recorded as paid, so
            # re-reading an ERP export does not undo the payments imported since.
            if paid.get(current.id, 0) > entry["amount_cents"]:
                reader.error("amount", _("payments of %(paid)s are already recorded on entry %(number)s, more than "
                                         "this amount", paid=plain(paid[current.id]), number=number))
        if not reader.ok:
            continue
        if current is not None and current.cancelled_at is not None:
            report.unchanged += 1  # cancelled in Relance: a file that still lists it does not bring it back
            continue
        values = {name: entry[name] for name in _ENTRY_FIELDS}
        if current is None:
            values["open_cents"] = values["amount_cents"] if values["open_cents"] is None else values["open_cents"]
            values["currency"] = values["currency"] or "EUR"
            values["reminder_level"] = values["reminder_level"] or 0
            values["is_open"] = values["open_cents"] != 0
            plan.creates.append({"customer_id": customer_ids[account], "number": number, **values})
            plan.touched_customers.add(customer_ids[account])
            plan.tally[customer_ids[account]]["added"] += 1
            report.created += 1
            continue
        if values["open_cents"] is None:
            values["open_cents"] = values["amount_cents"] - paid.get(current.id, 0)
        # Once an entry exists its reminder level is Relance's (the reminders raise it): an empty
        # cell keeps it, and so does a file without a currency column keep the currency.
        for kept in ("currency", "reminder_level"):
            if values[kept] is None:
                values[kept] = getattr(current, kept)
        if all(getattr(current, name) == value for name, value in values.items()):
            report.unchanged += 1
            continue
        values["is_open"] = values["open_cents"] != 0
        plan.updates.append({"id": current.id, **values})
        plan.touched_customers.add(current.customer_id)
        newly_paid = values["open_cents"] == 0 and current.open_cents != 0
        plan.tally[current.customer_id]["paid" if newly_paid else "updated"] += 1
        report.updated += 1
    return plan


# --- payments ------------------------------------------------------------------------------

@dataclass
class _PaymentPlan:
    payments: list[tuple[Entry, date, int, str]] = field(default_factory=list)
    tally: dict[int | str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def write(self, session: Session, report: ImportReport) -> None:
        # The ledger's own rule applies each payment, so the open amount changes with it.
        with session.no_autoflush:
            for entry, paid_on, cents, reference in self.payments:
                if record_payment(session, entry, paid_on, cents, reference).duplicate:
                    # Recorded by someone else since the check: still "already imported".
                    report.created -= 1
                    report.unchanged += 1
                    continue
                self.tally[entry.customer_id]["payments"] += 1
                if not entry.is_open:
                    self.tally[entry.customer_id]["paid"] += 1


def _check_payments(session: Session, lines: list[tuple[int, Cells]], report: ImportReport) -> _PaymentPlan:
    seen: dict[tuple[str, str], int] = {}
    readers: list[tuple[_LineReader, dict]] = []
    for line, cells in lines:
        reader = _LineReader(line, cells, report)
        payment = {
            "number": reader.get("number", _ENTRY_NUMBER),
            "date": reader.get("date", parse_date),
            "amount": reader.get("amount", partial(_positive_cents, mark=report.decimal_mark or ".")),
            "reference": reader.get("reference", _REFERENCE),
        }
        if _given(payment["number"]) and _given(payment["reference"]):
            key = (payment["number"], payment["reference"])
            _first_seen(seen, key, line, reader, "reference", lambda earlier: _(
                "payment %(reference)s on entry %(number)s already appears on line %(line)s", reference=key[1],
                number=key[0], line=earlier))
        readers.append((reader, payment))

    entries: dict[str, Entry] = {}
    for chunk in in_chunks(p["number"] for _, p in readers if _given(p["number"])):
        entries.update((entry.number, entry) for entry in session.scalars(select(Entry).where(Entry.number.in_(chunk))))
    recorded: set[tuple[int, str]] = set()
    for chunk in in_chunks(entry.id for entry in entries.values()):
        rows = session.execute(select(Payment.entry_id, Payment.reference).where(Payment.entry_id.in_(chunk)))
        recorded.update((entry_id, reference) for entry_id, reference in rows)

    plan = _PaymentPlan()
    left: dict[int, int] = {}  # open amount left on each entry after the lines above
    for reader, payment in readers:
        number = payment["number"]
        entry = entries.get(number) if _given(number) else None
        if _given(number) and entry is None:
            reader.error("number", _("unknown entry %(number)s", number=number))
        if not reader.ok:
            continue
        if (entry.id, payment["reference"]) in recorded:
            report.unchanged += 1
            continue
        open_cents = left.get(entry.id, entry.open_cents)
        if payment["amount"] > open_cents:
            if entry.id not in left:
                problem = _("payment of %(amount)s is larger than the open amount of entry %(number)s (%(open)s)",
                            amount=plain(payment["amount"]), number=number, open=plain(open_cents))
            else:
                problem = _("payment of %(amount)s is larger than the open amount left after the lines above of "
                            "entry %(number)s (%(open)s)", amount=plain(payment["amount"]), number=number,
                            open=plain(open_cents))
            reader.error("amount", problem)
            continue
        left[entry.id] = open_cents - payment["amount"]
        plan.payments.append((entry, payment["date"], payment["amount"], payment["reference"]))
        report.created += 1
    return plan


_CHECKS = {"customers": _check_customers, "entries": _check_entries, "payments": _check_payments}
