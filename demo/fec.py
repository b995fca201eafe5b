"""A sample FEC, as a French accounting package exports it, for trying the FEC import and for tests.

    write_fec(path, year=2026, month=6)

A fiscal year from January to `month`: opening balances (journal AN), sales with revenue and VAT
lines (VT), a credit note, bank receipts (BQ) lettered in full and in part, a payment on account,
a line on 411 without an auxiliary account and a label holding the separator. Amounts are written
with a decimal comma, dates as YYYYMMDD, lines end with CRLF, as most exporters do. Deterministic:
the same arguments give the same bytes, and the file of a later month holds the earlier month's
lines unchanged (an FEC is cumulative over the year).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HEADER = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
          "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
          "ValidDate", "Montantdevise", "Idevise")

CUSTOMERS = (("C0001", "Boulangerie Martin SARL"), ("C0002", "Atelier Dupont & Fils"), ("C0003", "Garage du Centre"),
             ("C0004", "Pharmacie des Écoles"), ("C0005", "Café de la Gare"), ("C0006", "Menuiserie Leroy"))
JOURNALS = {"AN": "A nouveaux", "VT": "Ventes", "BQ": "Banque", "OD": "Opérations diverses"}


@dataclass(frozen=True)
class SampleLine:
    journal: str
    number: int
    day: date
    account: str
    account_name: str
    aux: str
    aux_name: str
    piece: str
    label: str
    debit: int
    credit: int
    letter: str = ""
    letter_day: date | None = None


def _sale(day: date, number: int, aux: str, name: str, piece: str, cents: int, credit_note: bool) -> list[SampleLine]:
    """A sale (or a credit note): the customer line, the revenue line and the VAT line (20 %)."""
    net = round(cents / 1.2)
    label = f"{'Avoir' if credit_note else 'Facture'} {piece} {name}"

    def line(account: str, account_name: str, cents: int, on_customer: bool) -> SampleLine:
        debit = on_customer != credit_note  # the customer is debited by an invoice, credited by a credit note
        return SampleLine("VT", number, day, account, account_name, aux if on_customer else "",
                          name if on_customer else "", piece, label, cents if debit else 0, 0 if debit else cents)

    return [line("411000", "Clients", cents, True), line("706000", "Prestations de services", net, False),
            line("445710", "TVA collectée", cents - net, False)]


def _receipt(day: date, number: int, aux: str, name: str, piece: str, cents: int) -> list[SampleLine]:
    label = f"Remise | chèque {name}" if piece.startswith("CHQ") else f"Virement {name}"
    return [SampleLine("BQ", number, day, "411000", "Clients", aux, name, piece, label, 0, cents),
            SampleLine("BQ", number, day, "512000", "Banque", "", "", piece, label, cents, 0)]


def sample_lines(year: int, month: int = 6) -> list[SampleLine]:
    """The lines of the year's FEC up to the end of `month` (1 to 12)."""
    (a, na), (b, nb), (c, nc), (d, nd), (e, ne), (f, nf) = CUSTOMERS
    names = dict(CUSTOMERS)
    opened = date(year, 1, 1)
    # Opening balances: an invoice of last year still owed, a customer's advance carried forward.
    lines = [SampleLine("AN", 1, opened, "411000", "Clients", a, na, f"F{year - 1}-0412",
                        f"Facture F{year - 1}-0412 reprise", 120000, 0),
             SampleLine("AN", 1, opened, "411000", "Clients", c, nc, f"AC{year - 1}-07", "Acompte reporté", 0, 15000),
             SampleLine("AN", 1, opened, "890000", "Bilan d'ouverture", "", "", "AN", "A nouveaux", 15000, 120000)]
    # (month, day, kind, customer, piece, amount in cents, the pieces a receipt is lettered with)
    events = [
        (1, 9, "sale", b, f"F{year}-0001", 240000, ()),
        (1, 16, "sale", a, f"F{year}-0002", 96000, ()),
        (2, 10, "receipt", a, "VIR-0210", 120000, (f"F{year - 1}-0412",)),
        (2, 12, "sale", c, f"F{year}-0003", 54000, ()),
        (2, 20, "sale", d, f"F{year}-0004", 360000, ()),
        (3, 5, "receipt", b, "VIR-0305", 240000, (f"F{year}-0001",)),
        (3, 18, "credit_note", d, f"AV{year}-0001", 60000, ()),
        # Partly lettered: the credit note and this cheque settle 1,600.00 of the 3,600.00 invoice.
        (4, 2, "receipt", d, "CHQ-1187", 100000, (f"F{year}-0004", f"AV{year}-0001")),
        (4, 14, "sale", e, f"F{year}-0005", 18000, ()),
        (4, 22, "receipt", e, "VIR-0422", 10000, ()),  # on account: nobody lettered it
        (5, 6, "sale", f, f"F{year}-0006", 432000, ()),
        (5, 19, "sale", b, f"F{year}-0007", 78000, ()),
        (6, 4, "receipt", a, "CB-0604", 96000, (f"F{year}-0002",)),
        (6, 15, "sale", c, f"F{year}-0008", 120000, ()),
        (7, 3, "receipt", b, "VIR-0703", 78000, (f"F{year}-0007",)),  # next month: F…-0007 becomes paid
        (7, 10, "sale", a, f"F{year}-0009", 60000, ()),
        (8, 12, "receipt", c, "CHQ-2231", 54000, (f"F{year}-0003",)),
    ]
    letters: dict[str, tuple[str, date]] = {}
    for number, (when, day_of_month, kind, aux, piece, cents, settles) in enumerate(events, start=2):
        if when > month:
            continue
        day = date(year, when, day_of_month)
        if kind == "receipt":
            lines += _receipt(day, number, aux, names[aux], piece, cents)
            if settles:
                code = "A" + chr(ord("A") + len({code for code, _ in letters.values()}))
                letters.update((settled, (code, day)) for settled in (*settles, piece))
        else:
            lines += _sale(day, number, aux, names[aux], piece, cents, kind == "credit_note")
    if month >= 3:  # a correction booked on 411 without an auxiliary account
        number, day = 100, date(year, 3, 31)
        lines += [SampleLine("OD", number, day, "411000", "Clients", "", "", "OD-0331", "Régularisation", 2500, 0),
                  SampleLine("OD", number, day, "658000", "Charges diverses", "", "", "OD-0331", "Régularisation",
                             0, 2500)]
    lines.sort(key=lambda line: (line.day, line.journal, line.number))
    return [SampleLine(**{**line.__dict__, "letter": letters[line.piece][0], "letter_day": letters[line.piece][1]})
            if line.aux and line.piece in letters else line for line in lines]


def _amount(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def fec_text(year: int, month: int = 6, separator: str = "|") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    for line in sample_lines(year, month):
        day = line.day.strftime("%Y%m%d")
        writer.writerow((line.journal, JOURNALS[line.journal], f"{line.journal}{line.number:05d}", day, line.account,
                         line.account_name, line.aux, line.aux_name, line.piece, day, line.label,
                         _amount(line.debit), _amount(line.credit), line.letter,
                         line.letter_day.strftime("%Y%m%d") if line.letter_day else "", day, "", ""))
    return out.getvalue()


def write_fec(path: Path, year: int, month: int = 6, separator: str = "|", encoding: str = "utf-8") -> None:
    Path(path).write_bytes(fec_text(year, month, separator).encode(encoding))
