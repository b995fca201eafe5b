"""The FEC (Fichier des Écritures Comptables, article A47 A-1 du LPF): the one file every French
accounting package exports, read into customers, invoices, credit notes and payments.

    report = import_fec(session, path, "FEC.txt", dry_run=True)

What the file says, in Relance's words:
- a customer is an auxiliary account (CompAuxNum, its name CompAuxLib) of the lines whose CompteNum
  starts with one of the customer accounts (411, 413, 416, 4191 unless told otherwise);
- a debit on a customer is an entry the customer owes: on a sales journal (one that credits a 70…
  revenue account) or an opening journal (AN, RAN…) it is the invoice PieceRef, elsewhere (a
  bounced cheque, a refund) the entry is named after its journal and EcritureNum;
- a credit on a sales journal is a credit note; elsewhere (bank, cash, OD, opening) it is a
  payment;
- the lines sharing a lettering code (EcritureLet) of one customer settle each other, credits to
  debits oldest first, on the lettering date (DateLet); a credit that no lettering uses is a
  payment on account, applied oldest-first only when the user asks.

The FEC has no due dates: due date = piece date + the customer's payment terms, else `terms_days`,
else Settings → Company (30 days unless changed).
Reading it again, or next month's FEC of the same year, adds what is new: entries are matched by
number, payments by (entry, reference) where the reference names the accounting line ("FEC BQ 42").
What an existing entry already has (its due date, completed by an entries import, its payments by
hand) is kept.

The report puts the FEC's own control total (debit − credit of every customer line) beside the
open total Relance holds for those entries after the import, and explains any difference line by
line: nothing is ever silently off by a cent.
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterator

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from domain import audit
from domain.i18n import Number, Said, _, ngettext, pgettext, say
from domain.imports.receivables import (ANALYZE_AFTER, SEPARATORS, ImportFileError, InvalidCell, LineError, Source,
                                        decode_text, in_chunks, parse_date, read_bytes, record_per_customer)
from domain.ledger.entries import default_terms_days
from domain.ledger.summaries import mark_customers_dirty
from domain.models import CREDIT_NOTE, INVOICE, Customer, Entry, Payment, User
from domain.money import plain

__all__ = ["DEFAULT_CUSTOMER_ACCOUNTS", "FecReport", "import_fec", "parse_accounts"]

STANDARD = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
            "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
            "ValidDate", "Montantdevise", "Idevise")
# The variant the standard allows instead of Debit and Credit: one amount and its direction.
SIGNED = ("Montant", "Sens")
NEEDED = ("JournalCode", "EcritureNum", "EcritureDate", "CompteNum", "CompAuxNum", "CompAuxLib", "PieceRef",
          "PieceDate", "EcritureLet", "DateLet")
DEFAULT_CUSTOMER_ACCOUNTS = ("411", "413", "416", "4191")
OPENING_JOURNALS = {"AN", "RAN", "ANO", "AN0", "ANOUV", "OUV", "OUVERTURE"}  # à-nouveaux: balances carried forward
REVENUE = "70"  # a journal that books on a 70… revenue account is a sales journal
SALES_JOURNALS = {"VT", "VE", "VEN", "VTE", "VENTE", "VENTES"}  # and so is one of the usual sales codes
MAX_LINES = 2_000_000
ON_ACCOUNT = " (on account)"  # the reference's end when a payment on account was applied oldest-first
NO_PIECE = {"", "-", "0", "NA", "N/A"}  # exporters that have no document number write one of these


def parse_accounts(text: str) -> tuple[str, ...]:
    """ "411, 416" -> ("411", "416"): the customer account prefixes, digits only."""
    prefixes = tuple(part for part in re.split(r"[\s,;]+", text or "") if part)
    if not prefixes or not all(part.isdigit() for part in prefixes):
        raise ValueError(_("%(value)s is not a list of account numbers like 411, 416", value=repr(text)))
    return prefixes


@dataclass(frozen=True)
class _Line:
    """One customer line of the file, read."""

    line: int
    journal: str
    ecriture: str
    day: date  # EcritureDate
    account: str  # CompteNum
    aux: str
    aux_name: str
    piece: str  # PieceRef as written
    piece_day: date | None
    cents: int  # debit − credit, in the book's currency
    letter: str
    letter_day: date | None


@dataclass
class _Item:
    """A debit (an entry) or a credit (a credit note or a payment) of one customer."""

    key: str  # the entry's number, or the payment's reference
    kind: str  # INVOICE | CREDIT_NOTE | "payment"
    aux: str
    day: date
    line: int  # its first line in the file
    cents: int = 0  # positive
    lines: list[_Line] = field(default_factory=list)

    @property
    def is_entry(self) -> bool:
        return self.kind != "payment"


@dataclass(frozen=True)
class _Allocation:
    """Part of a credit applied to a debit."""

    credit: _Item
    debit: _Item
    cents: int
    day: date
    lettered: bool  # by the file's lettering; else a payment on account applied oldest-first


@dataclass(frozen=True)
class Difference:
    """One reason why the FEC's control total and Relance's open total differ."""

    line: int | None
    text: str
    cents: int  # what the FEC counts and Relance does not (debit positive)


@dataclass
class FecReport:
    filename: str
    dry_run: bool = False
    apply_on_account: bool = False
    encoding: str | None = None
    separator: str | None = None
    layout: str = "Debit / Credit"
    accounts: tuple[str, ...] = DEFAULT_CUSTOMER_ACCOUNTS
    sales_journals: list[str] = field(default_factory=list)
    lines: int = 0
    customer_lines: int = 0
    customers_created: int = 0
    customers_known: int = 0
    invoices: int = 0
    credit_notes: int = 0
    entries_created: int = 0
    entries_known: int = 0
    payments: int = 0  # credits that are payments, in the file
    payments_recorded: int = 0  # Payment rows this import adds
    payments_already: int = 0  # already recorded by an earlier import
    lettered_groups: int = 0
    entries_open: int = 0
    open_by_currency: dict[str, int] = field(default_factory=dict)
    on_account_found: list[tuple[int, str, str, int]] = field(default_factory=list)  # (line, account, reference, cents)
    on_account: list[tuple[int, str, str, int]] = field(default_factory=list)  # of those, not applied
    on_account_open_cents: int | None = None  # the open total if the payments on account were applied
    control_cents: int = 0  # the FEC's: debit − credit of every customer line
    relance_cents: int = 0  # the open total Relance holds for the file's entries after this import
    differences: list[Difference] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    warnings: list[LineError] = field(default_factory=list)

    kind = "fec"

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    @property
    def difference_cents(self) -> int:
        return self.control_cents - self.relance_cents

    @property
    def on_account_cents(self) -> int:
        return sum(cents for *_, cents in self.on_account_found)

    def add_error(self, line: int, column: str, reason: str) -> None:
        self.errors.append(LineError(line, column, reason))

    def counts(self) -> Said:
        """What the import did, read in the reader's language (the history keeps it)."""
        return say("%(customers)s customers created, %(entries)s entries added, %(payments)s payments recorded, "
                   "%(already)s already imported", customers=Number(self.customers_created),
                   entries=Number(self.entries_created), payments=Number(self.payments_recorded),
                   already=Number(self.payments_already))

    def summary(self) -> str:
        if not self.ok:
            return ngettext("FEC: %(num)d error, nothing imported.", "FEC: %(num)d errors, nothing imported.",
                            len(self.errors))
        text = _("FEC: %(counts)s", counts=self.counts())
        return _("%(summary)s. Dry run: nothing written.", summary=text) if self.dry_run else text

    def control(self) -> str:
        """The line that says whether Relance holds what the accounts say."""
        if self.difference_cents == 0:
            return _("Control total %(control)s = open total in Relance %(relance)s.",
                     control=plain(self.control_cents), relance=plain(self.relance_cents))
        return _("Control total %(control)s, open total in Relance %(relance)s: a difference of %(difference)s, "
                 "explained below.", control=plain(self.control_cents), relance=plain(self.relance_cents),
                 difference=plain(self.difference_cents))


# --- reading -------------------------------------------------------------------------------

def _split(text: str, separator: str) -> Iterator[tuple[int, list[str]]]:
    """The file's lines as cells. A label may hold the separator quoted ("a|b") or escaped (a\\|b):
    a line that splits into too many cells is read again with backslash escapes."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar='"')
    try:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            yield start, cells
    except csv.Error as error:
        raise ImportFileError(_("line %(line)s: %(error)s.", line=reader.line_num, error=error)) from None


def _unescaped(raw_line: str, separator: str) -> list[str]:
    return next(csv.reader([raw_line], delimiter=separator, quotechar='"', escapechar="\\"), [])


def _trimmed(cells: list[str]) -> list[str]:
    """Without the empty cells a trailing separator leaves."""
    while cells and not cells[-1].strip():
        cells = cells[:-1]
    return cells


_AMOUNT = re.compile(r"([+-]?)(\d+)(?:[.,](\d{1,2}))?")


def _amount(value: str) -> int:
    """ "1234,56", "1234.56", " 000000000007760,45", "-12,5" -> signed cents; empty is 0."""
    value = re.sub(r"[\s\u00a0\u202f]", "", value)
    if not value:
        return 0
    found = _AMOUNT.fullmatch(value)
    if not found:
        raise InvalidCell(_("%(value)s is not an amount like 1234,56", value=repr(value)))
    sign, units, decimals = found.groups()
    cents = int(units) * 100 + int((decimals or "0").ljust(2, "0"))
    return -cents if sign == "-" else cents


def _direction(value: str) -> int:
    """Sens: D / C (débit, crédit), or +1 / -1."""
    value = value.strip().upper()
    if value[:1] == "D" or value in ("+1", "1", "+"):
        return 1
    if value[:1] == "C" or value in ("-1", "-"):
        return -1
    raise InvalidCell(_("%(value)s is not a direction: D or C", value=repr(value)))


def _day(value: str, required: bool = True) -> date | None:
    value = value.strip()
    if not value:
        if required:
            raise InvalidCell(_("required"))
        return None
    return parse_date(value[:10] if len(value) > 10 and value[8:9] in (" ", "T") else value)


def _read(source: Source, filename: str, report: FecReport, accounts: tuple[str, ...]) -> list[_Line]:
    """The customer lines of the file, and what the report says about its shape. Lines of other
    accounts are only looked at to find the sales journals."""
    text, report.encoding = decode_text(read_bytes(source, filename), filename)
    first = next((line for line in text[:65536].splitlines() if line.strip()), "")
    separator = max(("\t", "|", ";"), key=first.count)
    if first.count(separator) < 10:
        raise ImportFileError(_("%(file)s is not an FEC file: its first line should be the header %(header)s|…, "
                                "separated by tabs or |.", file=repr(filename), header="|".join(STANDARD[:4])))
    report.separator = str(SEPARATORS[separator])
    raw_lines = text.split("\n")  # numbered as the csv reader numbers them
    rows = _split(text, separator)
    header = next((cells for _, cells in rows if any(cell.strip() for cell in cells)), [])
    positions = {}
    for index, name in enumerate(_trimmed(header)):
        positions.setdefault(name.strip().lstrip("\ufeff").lower(), index)
    signed = "debit" not in positions and all(name.lower() in positions for name in SIGNED)
    if signed:
        report.layout = "Montant / Sens"
    missing = [name for name in NEEDED + (SIGNED if signed else ("Debit", "Credit")) if name.lower() not in positions]
    if missing:
        raise ImportFileError(_("%(file)s is not an FEC file: the header has no %(missing)s (the 18 columns of "
                                "article A47 A-1 are expected).", file=repr(filename), missing=", ".join(missing)))
    width = len(_trimmed(header))
    at = {name: positions[name.lower()] for name in NEEDED + ("Debit", "Credit", "Montant", "Sens", "JournalLib")
          if name.lower() in positions}
    customer_lines: list[_Line] = []
    sales: set[str] = set()
    for number, cells in rows:
        if number > MAX_LINES:
            raise ImportFileError(_("%(file)s has more than %(max)s lines.", file=repr(filename),
                                    max=format(MAX_LINES, ",")))
        cells = _trimmed(cells)
        if not cells:
            continue
        report.lines += 1
        raw = raw_lines[number - 1] if number <= len(raw_lines) else ""
        if "\\" + separator in raw:  # a separator escaped with a backslash, inside a label
            cells = _trimmed(_unescaped(raw, separator))
        if len(cells) > width:
            report.add_error(number, "EcritureLib", _("%(cells)s cells where the header has %(width)s: a label "
                                                      "holds the separator without quotes", cells=len(cells),
                                                      width=width))
            continue

        def cell(name: str) -> str:
            index = at.get(name)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        account, journal = cell("CompteNum"), cell("JournalCode")
        if account.startswith(REVENUE) or journal.upper() in SALES_JOURNALS:
            sales.add(journal)
        if not account.startswith(accounts):
            continue
        report.customer_lines += 1
        problems = len(report.errors)
        read: dict = {}
        for name, parse in ((("Montant", _amount), ("Sens", _direction)) if signed else
                            (("Debit", _amount), ("Credit", _amount))):
            try:
                read[name] = parse(cell(name))
            except InvalidCell as problem:
                report.add_error(number, name, str(problem))
        days = {}
        for name, required in (("EcritureDate", True), ("PieceDate", False), ("DateLet", False)):
            try:
                days[name] = _day(cell(name), required)
            except InvalidCell as problem:
                report.add_error(number, name, str(problem))
        if len(report.errors) > problems:
            continue
        cents = read["Montant"] * read["Sens"] if signed else read["Debit"] - read["Credit"]
        aux = cell("CompAuxNum")
        if len(aux) > 40:
            report.add_error(number, "CompAuxNum", _("longer than %(max)d characters", max=40))
            continue
        customer_lines.append(_Line(number, journal, cell("EcritureNum"), days["EcritureDate"], account, aux,
                                    cell("CompAuxLib")[:200], cell("PieceRef"), days["PieceDate"], cents,
                                    cell("EcritureLet"), days["DateLet"]))
    report.sales_journals = sorted(sales)
    return customer_lines


# --- what the file says ----------------------------------------------------------------------

@dataclass
class _Ledger:
    """The file's customers, entries and payments, and how its lettering settles them."""

    names: dict[str, str] = field(default_factory=dict)  # aux -> name
    items: dict[tuple[str, str], _Item] = field(default_factory=dict)  # (kind class, key) -> item
    allocations: list[_Allocation] = field(default_factory=list)
    on_account: list[_Item] = field(default_factory=list)  # payments (parts) no lettering used
    on_account_left: dict[int, int] = field(default_factory=dict)  # id(item) -> cents left
    groups: int = 0

    def entries(self) -> list[_Item]:
        return [item for item in self.items.values() if item.is_entry]


def _understand(lines: list[_Line], sales: set[str], report: FecReport) -> _Ledger:
    ledger = _Ledger()
    # Each line's item: an entry by number, a payment by the accounting line that paid.
    item_of: list[tuple[_Line, _Item]] = []
    numbers: dict[str, set[tuple[str, str]]] = defaultdict(set)  # number -> {(aux, kind)}
    drafts: list[tuple[_Line, str, str]] = []
    for line in lines:
        if not line.aux:
            report.warnings.append(LineError(line.line, "CompAuxNum", _(
                "account %(account)s without an auxiliary account: not imported (which customer is not guessed)",
                account=line.account)))
            report.differences.append(Difference(line.line, _(
                "account %(account)s without an auxiliary account, not imported", account=line.account), line.cents))
            continue
        if line.cents == 0:
            continue
        ledger.names.setdefault(line.aux, line.aux_name or line.aux)
        opening = line.journal.upper() in OPENING_JOURNALS
        is_sale = line.journal in sales
        piece = line.piece if line.piece.upper() not in NO_PIECE else line.ecriture
        if line.cents > 0:
            kind, key = INVOICE, piece if (is_sale or opening) and piece else f"{line.journal}-{line.ecriture}"
        elif is_sale and not opening:
            kind, key = CREDIT_NOTE, piece or f"{line.journal}-{line.ecriture}"
        else:
            # The accounting line that paid, and the bank's reference when there is one.
            kind, key = "payment", f"FEC {line.journal} {line.ecriture} {piece if piece != line.ecriture else ''}"
            key = key.strip()[:80]
        if kind != "payment":
            numbers[key].add((line.aux, kind))
        drafts.append((line, kind, key))
    # One number for two things (two customers, or an invoice and a credit note): each gets its
    # journal and line number after it, so none is merged into another.
    shared = {number for number, owners in numbers.items() if len(owners) > 1}
    payers: dict[str, set[str]] = defaultdict(set)  # a bank line may pay several customers
    for line, kind, key in drafts:
        if kind == "payment":
            payers[key].add(line.aux)
    for line, kind, key in drafts:
        if kind != "payment" and key in shared:
            key = f"{key} {line.journal}{line.ecriture}"[:60]
        if kind != "payment" and len(key) > 60:
            report.add_error(line.line, "PieceRef", _("longer than %(max)d characters", max=60))
            continue
        if kind == "payment" and len(payers[key]) > 1:
            key = f"{key} {line.aux}"[:86]
        slot = ("payment" if kind == "payment" else "entry", key)
        item = ledger.items.get(slot)
        if item is None:
            item = ledger.items[slot] = _Item(key, kind, line.aux, line.piece_day or line.day, line.line)
            if kind == INVOICE:
                report.invoices += 1
            elif kind == CREDIT_NOTE:
                report.credit_notes += 1
            else:
                report.payments += 1
        item.cents += abs(line.cents)
        item.lines.append(line)
        item_of.append((line, item))
    _settle(ledger, item_of)
    report.lettered_groups = ledger.groups
    return ledger


def _settle(ledger: _Ledger, item_of: list[tuple[_Line, _Item]]) -> None:
    """Lines of one customer sharing a lettering code settle each other: credits to debits, both
    oldest first. What a group's credits leave over is on account; what they leave of its debits
    stays open (a partial lettering)."""
    groups: dict[tuple[str, str], list[tuple[_Line, _Item]]] = defaultdict(list)
    loose: list[tuple[_Line, _Item]] = []
    for line, item in item_of:
        if line.letter:
            groups[(line.aux, line.letter.upper())].append((line, item))
        else:
            loose.append((line, item))
    ledger.groups = len(groups)
    for (_aux, _letter), members in sorted(groups.items()):
        day = max((line.letter_day for line, _ in members if line.letter_day), default=None)
        debits = _parts(members, 1)
        credits = _parts(members, -1)
        leftovers = _allocate(ledger, credits, debits, day, lettered=True)
        for credit, cents in leftovers:
            if credit.kind == "payment":
                ledger.on_account_left[id(credit)] = ledger.on_account_left.get(id(credit), 0) + cents
    for line, item in loose:
        if line.cents < 0 and item.kind == "payment":
            ledger.on_account_left[id(item)] = ledger.on_account_left.get(id(item), 0) - line.cents
    ledger.on_account = sorted((item for item in ledger.items.values() if ledger.on_account_left.get(id(item))),
                               key=lambda item: (item.day, item.line))


def _parts(members: list[tuple[_Line, _Item]], sign: int) -> list[list]:
    """The debits (sign 1) or credits (-1) of a lettering group, one part per item, oldest first."""
    parts: dict[int, list] = {}
    for line, item in members:
        if (line.cents > 0) == (sign > 0):
            part = parts.setdefault(id(item), [item, 0])
            part[1] += abs(line.cents)
    return sorted(parts.values(), key=lambda part: (part[0].day, part[0].line))


def _allocate(ledger: _Ledger, credits: list[list], debits: list[list], day: date | None, lettered: bool):
    """Credits to debits, oldest first; returns the credits' parts left over."""
    left = []
    debit_index = 0
    for credit, cents in credits:
        while cents and debit_index < len(debits):
            debit = debits[debit_index]
            applied = min(cents, debit[1])
            ledger.allocations.append(_Allocation(credit, debit[0], applied, day or max(credit.day, debit[0].day),
                                                  lettered))
            cents -= applied
            debit[1] -= applied
            if debit[1] == 0:
                debit_index += 1
        if cents:
            left.append((credit, cents))
    return left


def _apply_on_account(ledger: _Ledger) -> None:
    """Payments on account to each customer's debits still open, oldest first."""
    owed: dict[str, list[list]] = defaultdict(list)
    applied: Counter = Counter()
    for allocation in ledger.allocations:
        applied[id(allocation.debit)] += allocation.cents
    for item in ledger.entries():
        if item.kind == INVOICE and item.cents > applied[id(item)]:
            owed[item.aux].append([item, item.cents - applied[id(item)]])
    for debits in owed.values():
        debits.sort(key=lambda part: (part[0].day, part[0].line))
    for credit in ledger.on_account:
        cents = ledger.on_account_left[id(credit)]
        left = _allocate(ledger, [[credit, cents]], owed[credit.aux], None, lettered=False)
        owed[credit.aux] = [part for part in owed[credit.aux] if part[1]]
        ledger.on_account_left[id(credit)] = sum(cents for _, cents in left)


# --- against the ledger ------------------------------------------------------------------------

def _reference(allocation: _Allocation, on_credit_note: bool = False) -> str:
    """The payment's reference on the debit (or, for a credit note, on the credit note)."""
    credit, debit = allocation.credit, allocation.debit
    if on_credit_note:
        return f"Applied to {debit.key}"[:100]
    if credit.kind == CREDIT_NOTE:
        return f"Credit note {credit.key}"[:100]
    return credit.key if allocation.lettered else f"{credit.key}{ON_ACCOUNT}"


def import_fec(
    session: Session,
    source: Source,
    filename: str,
    *,
    dry_run: bool = False,
    actor: User | None = None,
    terms_days: int | None = None,
    accounts: tuple[str, ...] = DEFAULT_CUSTOMER_ACCOUNTS,
    apply_on_account: bool = False,
) -> FecReport:
    """Read an FEC file and, when every customer line is readable and this is not a dry run, write
    what it brings into the session (the caller commits when `report.written`). Raises
    ImportFileError when the file is not an FEC at all."""
    report = FecReport(filename=filename, dry_run=dry_run, apply_on_account=apply_on_account, accounts=accounts)
    lines = _read(source, filename, report, accounts)
    ledger = _understand(lines, set(report.sales_journals), report) if report.ok else _Ledger()
    if not report.ok:
        report.errors.sort(key=lambda error: error.line)
        return report
    # Both views of the payments on account, whichever is imported.
    report.on_account_open_cents = _open_if_applied(ledger)
    report.on_account_found = [(item.line, item.aux, item.key, ledger.on_account_left[id(item)])
                               for item in ledger.on_account]
    if apply_on_account:
        _apply_on_account(ledger)
    report.on_account = [(item.line, item.aux, item.key, ledger.on_account_left[id(item)])
                         for item in ledger.on_account if ledger.on_account_left.get(id(item))]
    report.control_cents = sum(line.cents for line in lines)
    _against_ledger(session, ledger, report, terms_days, actor)
    report.errors.sort(key=lambda error: error.line)
    return report


def _open_if_applied(ledger: _Ledger) -> int:
    """The file's open total if its payments on account were applied oldest-first (what Relance
    would hold for a new ledger): the other view the dry run shows."""
    applied: Counter = Counter()
    for allocation in ledger.allocations:
        applied[id(allocation.debit)] += allocation.cents
        if allocation.credit.kind == CREDIT_NOTE:
            applied[id(allocation.credit)] += allocation.cents
    total = sum((item.cents - applied[id(item)]) * (-1 if item.kind == CREDIT_NOTE else 1)
                for item in ledger.entries())
    owed: Counter = Counter()
    for item in ledger.entries():
        if item.kind == INVOICE:
            owed[item.aux] += item.cents - applied[id(item)]
    for credit in ledger.on_account:
        used = min(owed[credit.aux], ledger.on_account_left[id(credit)])
        owed[credit.aux] -= used
        total -= used
    return total


def _against_ledger(session: Session, ledger: _Ledger, report: FecReport, terms_days: int | None,
                    actor: User | None) -> None:
    entries = ledger.entries()
    # Customers, by account.
    known: dict[str, tuple[int, int | None]] = {}
    for chunk in in_chunks(ledger.names):
        rows = session.execute(select(Customer.account, Customer.id, Customer.payment_terms_days)
                               .where(Customer.account.in_(chunk)))
        known.update((account, (customer_id, terms)) for account, customer_id, terms in rows)
    report.customers_known = len(known)
    report.customers_created = len(ledger.names) - len(known)
    # Entries, by number.
    existing: dict[str, object] = {}
    for chunk in in_chunks(item.key for item in entries):
        rows = session.execute(select(Entry.id, Entry.number, Entry.customer_id, Entry.kind, Entry.open_cents,
                                      Entry.amount_cents, Entry.cancelled_at, Entry.currency)
                               .where(Entry.number.in_(chunk)))
        existing.update((row.number, row) for row in rows)
    accounts_by_id = {customer_id: account for account, (customer_id, _) in known.items()}
    for item in entries:
        row = existing.get(item.key)
        if row is None:
            continue
        owner = accounts_by_id.get(row.customer_id)
        if owner != item.aux:
            owner = owner or session.scalar(select(Customer.account).where(Customer.id == row.customer_id))
            report.add_error(item.line, "PieceRef", _("entry %(number)s belongs to account %(account)s in Relance, "
                                                      "not %(aux)s", number=item.key, account=owner, aux=item.aux))
        elif row.kind != item.kind:
            kind = {INVOICE: pgettext("entry kind", "invoice"), CREDIT_NOTE: pgettext("entry kind", "credit note")}
            report.add_error(item.line, "PieceRef", _("entry %(number)s is a %(kind)s in Relance", number=item.key,
                                                      kind=kind.get(row.kind, row.kind)))
    if not report.ok:
        return
    report.entries_known = sum(item.key in existing for item in entries)
    report.entries_created = len(entries) - report.entries_known
    # Payments already recorded on these entries, and what each of the file's credits has paid
    # so far (a payment on account applied last month, lettered to another invoice this month,
    # is not paid twice).
    recorded: set[tuple[int, str]] = set()
    spent: Counter = Counter()
    for chunk in in_chunks(row.id for row in existing.values()):
        rows = session.execute(select(Payment.entry_id, Payment.reference, Payment.amount_cents, Payment.reversed_at)
                               .where(Payment.entry_id.in_(chunk)))
        for entry_id, reference, cents, reversed_at in rows:
            recorded.add((entry_id, reference))
            if reversed_at is None:
                spent[reference.removesuffix(ON_ACCOUNT)] += cents
    available = {item.key: item.cents - spent[item.key] for item in ledger.items.values() if item.kind == "payment"}

    open_now = {item.key: (existing[item.key].open_cents if item.key in existing else item.cents) for item in entries}
    cancelled = {item.key for item in entries if item.key in existing and existing[item.key].cancelled_at is not None}
    fec_open = {item.key: item.cents for item in entries}
    new_payments: list[tuple[str, date, int, str]] = []  # (entry number, day, cents, reference)

    def already(number: str, reference: str) -> bool:
        entry = existing.get(number)
        return entry is not None and (entry.id, reference) in recorded

    def pay(number: str, reference: str, day: date, cents: int) -> int:
        """Record up to `cents` on the entry, as far as it is open; what was recorded."""
        cents = 0 if number in cancelled else min(cents, open_now[number])
        if cents > 0:
            open_now[number] -= cents
            new_payments.append((number, day, cents, reference))
        return cents

    for allocation in ledger.allocations:
        credit, debit = allocation.credit, allocation.debit
        fec_open[debit.key] -= allocation.cents
        if credit.is_entry:
            fec_open[credit.key] -= allocation.cents
        reference = _reference(allocation)
        if already(debit.key, reference):
            report.payments_already += 1
            continue
        if credit.kind == CREDIT_NOTE:  # both sides: the invoice is settled, the credit note used
            cents = 0 if credit.key in cancelled else min(allocation.cents, open_now[credit.key])
            paid = pay(debit.key, reference, allocation.day, cents)
            if paid and not already(credit.key, _reference(allocation, on_credit_note=True)):
                pay(credit.key, _reference(allocation, on_credit_note=True), allocation.day, paid)
        else:
            available[credit.key] -= pay(debit.key, reference, allocation.day,
                                         min(allocation.cents, available[credit.key]))

    # What Relance holds for the file's entries, and why it differs from the file.
    relance = 0
    for item in entries:
        sign = -1 if item.kind == CREDIT_NOTE else 1
        held = 0 if item.key in cancelled else open_now[item.key]
        relance += sign * held
        if held != fec_open[item.key]:
            if item.key in cancelled:
                why = _("%(number)s: cancelled in Relance, open %(open)s in the FEC", number=item.key,
                        open=plain(fec_open[item.key]))
            elif held < fec_open[item.key]:
                why = _("%(number)s: %(amount)s more settled in Relance than in the FEC (a payment recorded in "
                        "Relance, or a payment on account applied)", number=item.key,
                        amount=plain(fec_open[item.key] - held))
            else:
                why = _("%(number)s: %(amount)s settled in the FEC and not in Relance (a payment already used "
                        "elsewhere in Relance)", number=item.key, amount=plain(held - fec_open[item.key]))
            report.differences.append(Difference(item.line, why, sign * (fec_open[item.key] - held)))
        if held:
            report.entries_open += 1
            report.open_by_currency["EUR"] = report.open_by_currency.get("EUR", 0) + sign * held
    for line, account, reference, cents in report.on_account:
        report.differences.append(Difference(line, _("payment on account %(reference)s (%(account)s) not applied "
                                                     "to an invoice", reference=reference, account=account), -cents))
    # A payment on account applied oldest-first counts in Relance and not in the FEC: it is
    # already in the entries' differences above.
    report.relance_cents = relance
    explained = sum(difference.cents for difference in report.differences)
    if explained != report.difference_cents:  # never silently off: say what is not understood
        report.differences.append(Difference(None, _("not explained by the lines above"),
                                             report.difference_cents - explained))
    report.differences.sort(key=lambda difference: (difference.line is None, difference.line or 0))
    report.payments_recorded = len(new_payments)
    if report.dry_run:
        return
    _write(session, ledger, report, known, existing, new_payments, open_now, terms_days, actor)


def _write(session: Session, ledger: _Ledger, report: FecReport, known: dict, existing: dict,
           new_payments: list, open_now: dict, terms_days: int | None, actor: User | None) -> None:
    tally: dict[int | str, Counter] = defaultdict(Counter)
    new_customers = [{"account": aux, "name": name, "registration_number": None, "emails": "", "phone": None,
                      "address": None, "language": "fr"}
                     for aux, name in ledger.names.items() if aux not in known]
    if new_customers:
        session.execute(insert(Customer), new_customers)
        for chunk in in_chunks(row["account"] for row in new_customers):
            rows = session.execute(select(Customer.account, Customer.id, Customer.payment_terms_days)
                                   .where(Customer.account.in_(chunk)))
            known.update((account, (customer_id, terms)) for account, customer_id, terms in rows)
        for row in new_customers:
            tally[known[row["account"]][0]]["created"] += 1
    default_terms = default_terms_days(session) if terms_days is None else terms_days
    paid_now = defaultdict(int)
    for number, _day, cents, _reference in new_payments:
        paid_now[number] += cents
    creates = []
    for item in ledger.entries():
        if item.key in existing:
            continue
        customer_id, terms = known[item.aux]
        open_cents = item.cents - paid_now[item.key]
        creates.append({"customer_id": customer_id, "number": item.key, "kind": item.kind, "issue_date": item.day,
                        "due_date": item.day + timedelta(days=default_terms if terms is None else terms),
                        "amount_cents": item.cents, "open_cents": open_cents, "currency": "EUR",
                        "reminder_level": 0, "is_open": open_cents != 0})
        tally[customer_id]["added"] += 1
    if creates:
        session.execute(insert(Entry), creates)
        if len(creates) >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE entries"))  # see receivables._BulkPlan.write
    ids = {number: row.id for number, row in existing.items()}
    for chunk in in_chunks(row["number"] for row in creates):
        ids.update(session.execute(select(Entry.number, Entry.id).where(Entry.number.in_(chunk))).all())
    updates = [{"id": existing[number].id, "open_cents": open_now[number], "is_open": open_now[number] != 0}
               for number in paid_now if number in existing]
    if updates:
        session.execute(update(Entry), updates)
    customer_of = {item.key: known[item.aux][0] for item in ledger.entries()}
    if new_payments:
        session.execute(insert(Payment), [{"entry_id": ids[number], "paid_on": day, "amount_cents": cents,
                                           "reference": reference} for number, day, cents, reference in new_payments])
        for number, *_rest in new_payments:
            tally[customer_of[number]]["payments"] += 1
        for number in paid_now:
            if open_now[number] == 0:
                tally[customer_of[number]]["paid"] += 1
    touched = {customer_id for customer_id in tally}
    mark_customers_dirty(session, touched)
    audit.record(session, actor, "import.fec", say("%(filename)s: %(counts)s", filename=report.filename,
                                                   counts=report.counts()))
    record_per_customer(session, actor, "fec", report.filename, tally)
    session.flush()
