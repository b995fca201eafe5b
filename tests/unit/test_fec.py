"""The FEC import: the file every French accounting package exports becomes customers, invoices,
credit notes and payments; its lettering settles them; its control total is met to the cent or the
difference is explained line by line; reading it again, or next month's, doubles nothing."""
from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from demo.fec import HEADER, fec_text
from domain.imports.fec import import_fec
from domain.models import AuditEvent, Customer, Entry, Payment


def load(session, content: bytes, name="FEC.txt", **options):
    report = import_fec(session, io.BytesIO(content), name, **options)
    if report.written:
        session.commit()
    else:
        session.rollback()
    return report


def ledger(session) -> dict[str, tuple[str, int, int]]:
    session.expire_all()
    return {e.number: (e.kind, e.amount_cents, e.open_cents) for e in session.scalars(select(Entry))}


def payments(session, number: str) -> list[tuple[str, date, int]]:
    entry = session.scalar(select(Entry).where(Entry.number == number))
    return [(p.reference, p.paid_on, p.amount_cents) for p in entry.payments]


def open_total(session) -> int:
    """What Relance says the customers owe: invoices less credit notes, open amounts."""
    session.expire_all()
    return sum(e.open_cents * (-1 if e.kind == "credit_note" else 1) for e in session.scalars(select(Entry)))


def fec(rows: list[tuple], separator="|", header=HEADER, end="\r\n") -> bytes:
    """A hand-made FEC: rows of the 18 columns (a short row is padded)."""
    lines = [separator.join(header)]
    for row in rows:
        cells = list(row) + [""] * (len(header) - len(row))
        lines.append(separator.join(cells))
    return (end.join(lines) + end).encode()


def sale(number, day, aux, name, piece, debit="", credit="", letter="", letter_day="", journal="VT"):
    return (journal, "Ventes", number, day, "411000", "Clients", aux, name, piece, day, f"Facture {piece}",
            debit, credit, letter, letter_day, day)


def revenue(number, day, piece, debit="", credit="", journal="VT"):
    return (journal, "Ventes", number, day, "706000", "Prestations", "", "", piece, day, f"Facture {piece}",
            debit, credit, "", "", day)


def bank(number, day, aux, name, piece, credit, letter="", letter_day="", journal="BQ"):
    return (journal, "Banque", number, day, "411000", "Clients", aux, name, piece, day, f"Virement {name}",
            "", credit, letter, letter_day, day)


EXPECTED_JUNE = {
    "F2025-0412": ("invoice", 120000, 0),  # opening balance (AN), paid in February
    "F2026-0001": ("invoice", 240000, 0),
    "F2026-0002": ("invoice", 96000, 0),
    "F2026-0003": ("invoice", 54000, 54000),
    "F2026-0004": ("invoice", 360000, 200000),  # partly lettered: a credit note and a cheque
    "AV2026-0001": ("credit_note", 60000, 0),
    "F2026-0005": ("invoice", 18000, 18000),  # a payment on account of 100.00 is not applied
    "F2026-0006": ("invoice", 432000, 432000),
    "F2026-0007": ("invoice", 78000, 78000),
    "F2026-0008": ("invoice", 120000, 120000),
}


@pytest.mark.parametrize("separator, encoding, bom, label", [
    ("|", "utf-8", False, "UTF-8"),
    ("\t", "iso-8859-15", False, "ISO-8859-15"),
    ("\t", "utf-8", True, "UTF-8 (with BOM)"),
    ("|", "iso-8859-15", False, "ISO-8859-15"),
])
def test_a_year_of_accounts_becomes_the_ledger_whatever_the_separator_and_encoding(session, separator, encoding,
                                                                                  bom, label):
    content = fec_text(2026, 6, separator).encode(encoding)
    report = load(session, b"\xef\xbb\xbf" + content if bom else content)

    assert report.ok, report.errors
    assert (report.encoding, report.separator) == (label, {"|": "vertical bars", "\t": "tabs"}[separator])
    assert report.sales_journals == ["VT"]
    assert ledger(session) == EXPECTED_JUNE
    customers = {c.account: c.name for c in session.scalars(select(Customer))}
    assert customers["C0004"] == "Pharmacie des Écoles" and len(customers) == 6
    # The opening invoice is settled by the February transfer, on the lettering date.
    assert payments(session, "F2025-0412") == [("FEC BQ BQ00004 VIR-0210", date(2026, 2, 10), 120000)]
    # The credit note settles part of the invoice; the cheque, whose label holds the separator, another part.
    assert payments(session, "F2026-0004") == [("Credit note AV2026-0001", date(2026, 4, 2), 60000),
                                               ("FEC BQ BQ00009 CHQ-1187", date(2026, 4, 2), 100000)]
    assert payments(session, "AV2026-0001") == [("Applied to F2026-0004", date(2026, 4, 2), 60000)]
    assert (report.invoices, report.credit_notes, report.payments, report.lettered_groups) == (9, 1, 6, 4)


def test_the_control_total_is_met_to_the_cent_or_every_difference_is_explained(session):
    report = load(session, fec_text(2026, 6).encode())

    # The file's own total: debit - credit of every customer line.
    assert report.control_cents == 879500
    assert report.relance_cents == open_total(session) == 902000
    assert [(d.line, d.cents) for d in report.differences] == [(3, -15000), (24, 2500), (31, -10000)]
    assert "payment on account" in report.differences[0].text
    assert "without an auxiliary account" in report.differences[1].text
    assert report.control_cents == report.relance_cents + sum(d.cents for d in report.differences)
    assert [w.line for w in report.warnings] == [24]


def test_a_clean_file_meets_the_control_total_exactly(session):
    rows = [sale("VT1", "20260105", "C1", "Alpha", "FA-1", debit="1200,00"),
            revenue("VT1", "20260105", "FA-1", credit="1200,00"),
            sale("VT2", "20260110", "C2", "Beta", "FA-2", debit="300,50", letter="A", letter_day="20260201"),
            revenue("VT2", "20260110", "FA-2", credit="300,50"),
            bank("BQ1", "20260201", "C2", "Beta", "REM-1", "300,50", letter="A", letter_day="20260201")]
    report = load(session, fec(rows))

    assert report.control_cents == report.relance_cents == open_total(session) == 120000
    assert report.differences == [] and report.difference_cents == 0
    # The same figure on "Who owes you what?", from the maintained summaries.
    from domain.ledger import queries
    page = queries.balances(session, queries.parse_filters({}, tuple(queries.BALANCE_SORTS)))
    assert [(total["currency"], total["total"]) for total in page.totals] == [("EUR", 120000)]
    assert "Control total 1200.00 = open total in Relance 1200.00" in report.control()


def test_importing_the_same_file_again_doubles_nothing_and_next_month_adds_what_is_new(session):
    load(session, fec_text(2026, 6).encode())
    before = session.scalar(select(func.count()).select_from(Payment))

    again = load(session, fec_text(2026, 6).encode())
    assert again.ok and (again.entries_created, again.customers_created, again.payments_recorded) == (0, 0, 0)
    assert session.scalar(select(func.count()).select_from(Payment)) == before
    assert ledger(session) == EXPECTED_JUNE

    august = load(session, fec_text(2026, 8).encode(), name="FEC-08.txt")
    assert august.ok, august.errors
    now = ledger(session)
    assert now["F2026-0009"] == ("invoice", 60000, 60000)  # new in July
    assert now["F2026-0007"] == ("invoice", 78000, 0)  # lettered in July
    assert payments(session, "F2026-0007") == [("FEC BQ BQ00016 VIR-0703", date(2026, 7, 3), 78000)]
    assert now["F2026-0003"] == ("invoice", 54000, 0)
    assert {k: v for k, v in now.items() if k not in ("F2026-0009", "F2026-0007", "F2026-0003")} == \
        {k: v for k, v in EXPECTED_JUNE.items() if k not in ("F2026-0007", "F2026-0003")}
    assert august.relance_cents == open_total(session)
    # One history event per customer the import touched, saying what it did.
    details = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "import.fec",
                                                              AuditEvent.customer_id.is_not(None))).all()
    assert "Imported from the FEC FEC-08.txt: 1 entry added." in details
    assert "Imported from the FEC FEC-08.txt: 1 payment recorded, 1 paid." in details


def test_payments_on_account_are_applied_oldest_first_only_when_asked(session):
    rows = [sale("VT1", "20260105", "C1", "Alpha", "FA-1", debit="100,00"),
            sale("VT2", "20260110", "C1", "Alpha", "FA-2", debit="200,00"),
            revenue("VT2", "20260110", "FA-2", credit="300,00"),
            bank("BQ1", "20260201", "C1", "Alpha", "REM-1", "150,00")]
    checked = load(session, fec(rows), dry_run=True)
    # Both views before anything is written: left on account, or applied oldest-first.
    assert checked.ok and checked.dry_run
    assert checked.relance_cents == 30000 and checked.on_account_open_cents == 15000
    assert [(line, reference, cents) for line, _, reference, cents in checked.on_account] == \
        [(5, "FEC BQ BQ1 REM-1", 15000)]
    assert ledger(session) == {}

    load(session, fec(rows))
    assert ledger(session) == {"FA-1": ("invoice", 10000, 10000), "FA-2": ("invoice", 20000, 20000)}

    applied = load(session, fec(rows), apply_on_account=True)
    assert applied.ok and applied.difference_cents == 0
    assert ledger(session) == {"FA-1": ("invoice", 10000, 0), "FA-2": ("invoice", 20000, 15000)}
    assert payments(session, "FA-1") == [("FEC BQ BQ1 REM-1 (on account)", date(2026, 2, 1), 10000)]

    # Next month the accountant letters that payment to FA-2: it is not spent a second time.
    rows[1] = sale("VT2", "20260110", "C1", "Alpha", "FA-2", debit="200,00", letter="B", letter_day="20260305")
    rows[3] = bank("BQ1", "20260201", "C1", "Alpha", "REM-1", "150,00", letter="B", letter_day="20260305")
    later = load(session, fec(rows))
    assert later.ok
    assert ledger(session) == {"FA-1": ("invoice", 10000, 0), "FA-2": ("invoice", 20000, 15000)}
    assert later.relance_cents + sum(d.cents for d in later.differences) == later.control_cents


def test_what_real_exporters_write_is_read(session):
    """Zero-padded amounts with a leading space, CRLF, a PieceRef of "-" (the number is in
    EcritureNum), a trailing separator on every line, a label holding an escaped separator."""
    header = HEADER + ("",)
    rows = [("VT", "Ventes", "000123", "20260105", "41100000", "Clients", "C1", "Alpha", "-", "20260105",
             "Facture", " 000000000007760,45", " 000000000000000,00", "", "", "20260105", "", "", ""),
            ("VT", "Ventes", "000123", "20260105", "70600000", "Ventes", "", "", "-", "20260105", "Facture",
             " 000000000000000,00", " 000000000007760,45", "", "", "20260105", "", "", ""),
            ("BQ", "Banque", "000200", "20260110", "41100000", "Clients", "C1", "Alpha", "", "20260110",
             "Virement Alpha \\| acompte", " 000000000000000,00", " 000000000000060,45", "", "", "20260110", "", "",
             "")]
    report = load(session, fec(rows, header=header))

    assert report.ok, report.errors
    assert ledger(session) == {"000123": ("invoice", 776045, 776045)}
    assert report.on_account[0][2:] == ("FEC BQ 000200", 6045)


def test_the_montant_and_sens_variant_is_read(session):
    header = HEADER[:11] + ("Montant", "Sens") + HEADER[13:]
    rows = [("VT", "Ventes", "1", "20260105", "411000", "Clients", "C1", "Alpha", "FA-1", "20260105", "Facture",
             "500.00", "D", "A", "20260120", "20260105"),
            ("VT", "Ventes", "1", "20260105", "706000", "Ventes", "", "", "FA-1", "20260105", "Facture", "500.00",
             "C", "", "", "20260105"),
            ("BQ", "Banque", "2", "20260120", "411000", "Clients", "C1", "Alpha", "R1", "20260120", "Virement",
             "200.00", "C", "A", "20260120", "20260120")]
    report = load(session, fec(rows, separator="\t", header=header))

    assert report.ok, report.errors
    assert report.layout == "Montant / Sens"
    assert ledger(session) == {"FA-1": ("invoice", 50000, 30000)}  # a partial lettering


def test_a_bad_customer_line_imports_nothing(session):
    rows = [sale("VT1", "20260105", "C1", "Alpha", "FA-1", debit="100,00"),
            sale("VT2", "2026-13-45", "C2", "Beta", "FA-2", debit="12,345")]
    report = load(session, fec(rows))

    assert not report.ok
    assert [(e.line, e.column) for e in report.errors] == [(3, "Debit"), (3, "EcritureDate"), (3, "PieceDate")]
    assert ledger(session) == {} and session.scalar(select(func.count()).select_from(Customer)) == 0


def test_a_file_that_is_not_an_fec_is_refused_with_a_reason(session):
    from domain.imports.receivables import ImportFileError

    with pytest.raises(ImportFileError, match="not an FEC file"):
        load(session, b"account,number,kind\nC1,FA-1,invoice\n")
    with pytest.raises(ImportFileError, match="no EcritureLet"):
        load(session, fec([], header=tuple(name for name in HEADER if name != "EcritureLet")))


def test_due_dates_come_from_the_customers_terms_and_a_later_entries_import_completes_them(session, tmp_path):
    session.add(Customer(account="C2", name="Beta", payment_terms_days=45))
    session.commit()
    rows = [sale("VT1", "20260105", "C1", "Alpha", "FA-1", debit="100,00"),
            sale("VT2", "20260110", "C2", "Beta", "FA-2", debit="200,00", letter="A", letter_day="20260115"),
            bank("BQ1", "20260115", "C2", "Beta", "R1", "50,00", letter="A", letter_day="20260115")]
    load(session, fec(rows), terms_days=60)
    due = {e.number: e.due_date for e in session.scalars(select(Entry))}
    assert due == {"FA-1": date(2026, 3, 6), "FA-2": date(2026, 2, 24)}

    from domain.imports.receivables import import_file
    path = tmp_path / "entries.csv"
    path.write_text("account,number,kind,issue_date,due_date,amount\nC2,FA-2,invoice,2026-01-10,2026-01-31,200.00\n")
    assert import_file(session, "entries", path, "entries.csv").ok
    session.commit()
    entry = session.scalar(select(Entry).where(Entry.number == "FA-2"))
    assert (entry.due_date, entry.open_cents) == (date(2026, 1, 31), 15000)  # the FEC's payment is kept

    load(session, fec(rows))  # and the FEC again keeps the completed due date
    session.expire_all()
    assert session.scalar(select(Entry.due_date).where(Entry.number == "FA-2")) == date(2026, 1, 31)


def test_a_payment_recorded_by_hand_is_not_recorded_again_from_the_fec(session, users):
    from domain.ledger.receipts import ReceiptForm, record

    load(session, fec([sale("VT1", "20260105", "C1", "Alpha", "FA-1", debit="100,00")]))
    customer, entry = session.scalar(select(Customer)), session.scalar(select(Entry))
    record(session, users["finance"], customer, ReceiptForm(date(2026, 2, 1), 10000, "cheque", "CHQ 1",
                                                            {entry.id: 10000}))
    session.commit()

    # The accountant books the same cheque and letters it: Relance knows it is paid already.
    report = load(session, fec([sale("VT1", "20260105", "C1", "Alpha", "FA-1", debit="100,00", letter="A",
                                     letter_day="20260203"),
                                bank("BQ1", "20260202", "C1", "Alpha", "CHQ 1", "100,00", letter="A",
                                     letter_day="20260203")]))

    assert report.ok and report.payments_recorded == 0
    assert ledger(session) == {"FA-1": ("invoice", 10000, 0)}
    assert session.scalar(select(func.count()).select_from(Payment)) == 1
    assert report.control_cents == report.relance_cents == 0


def test_an_entry_of_another_customer_is_an_error(session):
    session.add(Customer(account="C9", name="Other", entries=[
        Entry(number="FA-1", kind="invoice", issue_date=date(2026, 1, 1), due_date=date(2026, 2, 1),
              amount_cents=100, open_cents=100)]))
    session.commit()
    report = load(session, fec([sale("VT1", "20260105", "C1", "Alpha", "FA-1", debit="100,00")]))

    assert [str(e) for e in report.errors] == ["line 2, column PieceRef: entry FA-1 belongs to account C9 in "
                                               "Relance, not C1"]


def test_the_command_line_reports_and_imports(app, session, tmp_path):
    path = tmp_path / "FEC.txt"
    runner = app.test_cli_runner()
    written = runner.invoke(args=["demo", "--fec", str(path)])
    assert written.exit_code == 0 and path.read_bytes().startswith(b"JournalCode|JournalLib|")

    checked = runner.invoke(args=["import", "fec", str(path), "--dry-run", "--terms-days", "45"])
    assert checked.exit_code == 0, checked.output
    assert "Dry run: nothing written." in checked.output
    assert "Control total 8795.00, open total in Relance 9020.00" in checked.output
    assert "line 24: account 411000 without an auxiliary account, not imported: 25.00" in checked.output
    assert session.scalar(select(func.count()).select_from(Entry)) == 0

    imported = runner.invoke(args=["import", "fec", str(path), "--accounts", "411"])
    assert imported.exit_code == 0, imported.output
    assert "6 customers created, 10 entries added" in imported.output
    refused = runner.invoke(args=["import", "fec", str(path), "--accounts", "clients"])
    assert refused.exit_code == 2 and "not a list of account numbers" in refused.output


def test_without_terms_days_the_company_payment_terms_apply(session):
    from domain.models import CompanySettings

    session.add(CompanySettings(name="Acme", registration_number="", sender_email="", payment_terms_days=10))
    session.commit()
    load(session, fec([sale("VT1", "20260105", "C1", "Alpha", "FA-1", debit="100,00")]))
    assert session.scalar(select(Entry.due_date)) == date(2026, 1, 15)
