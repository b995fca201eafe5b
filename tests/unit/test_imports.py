"""Imports: customers, entries and payments from CSV and XLSX files, all or nothing."""
from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import event, func, select

from domain.imports.receivables import ImportFileError, LineError, import_file, read_rows
from domain.models import AuditEvent, Customer, CustomerSummary, Entry, Payment

CUSTOMER_HEADER = ["account", "name", "registration_number", "email", "phone", "address", "language"]
ENTRY_HEADER = ["account", "number", "kind", "issue_date", "due_date", "amount", "open_amount", "currency",
                "reminder_level"]
PAYMENT_HEADER = ["number", "date", "amount", "reference"]


def write_csv(path: Path, rows, bom: bool = False) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(path: Path, rows) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def run(session, kind: str, path: Path, dry_run: bool = False):
    """What the CLI and the page do: import, then commit only a report that wrote."""
    report = import_file(session, kind, path, path.name, dry_run=dry_run)
    if report.written:
        session.commit()
    else:
        session.rollback()
    session.expire_all()
    return report


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def entry(session, number: str) -> Entry:
    return session.scalar(select(Entry).where(Entry.number == number))


def customer(session, account: str) -> Customer:
    return session.scalar(select(Customer).where(Customer.account == account))


@pytest.fixture
def two_customers(session):
    session.add_all([Customer(account="C001", name="Acme SA"), Customer(account="C002", name="Globex SARL")])
    session.commit()


ENTRIES = [
    ENTRY_HEADER,
    ["C001", "INV-1", "invoice", "2026-04-01", "2026-05-01", "1200.00", "", "", "2"],
    ["C001", "INV-2", "invoice", "2026-05-20", "2026-06-20", "300.5", "100.50", "EUR", ""],
    ["C001", "CN-1", "credit_note", "2026-06-01", "2026-06-01", "200", "", "", ""],
    ["C002", "INV-3", "invoice", "2026-01-01", "2026-02-01", "99.99", "", "USD", "5"],
]


# --- customers -----------------------------------------------------------------------------

def test_customers_from_csv_with_a_bom(session, tmp_path):
    path = write_csv(tmp_path / "customers.csv", [
        ["Name ", " ACCOUNT", "Registration_Number", "Email", "phone", "address", "language"],
        ["Acme SA", "C001", "732 829 320", "ar@acme.fr; boss@acme.fr,", "+33 1 23 45 67 89", "1 rue X\n75001 Paris", "FR"],
        ["Globex GmbH", "C002", "HRB 12345", "", "", "", ""],
        ["Initech", "C003", "73282932000074", "billing@initech.example", "", "", "en"],
    ], bom=True)

    report = run(session, "customers", path)

    assert report.ok and (report.created, report.updated, report.unchanged) == (3, 0, 0)
    assert report.summary() == "customers: 3 created, 0 updated, 0 unchanged"
    acme = customer(session, "C001")
    assert (acme.name, acme.registration_number, acme.language) == ("Acme SA", "732829320", "fr")
    assert acme.email_list == ["ar@acme.fr", "boss@acme.fr"]
    assert acme.address == "1 rue X\n75001 Paris"
    globex = customer(session, "C002")
    assert (globex.registration_number, globex.emails, globex.language) == ("HRB 12345", "", "en")
    assert customer(session, "C003").registration_number == "73282932000074"


def test_customers_from_xlsx_with_only_the_required_columns(session, tmp_path):
    path = write_xlsx(tmp_path / "customers.xlsx", [["account", "name"], [411001, "Acme SA"], ["C002", "Globex"]])

    report = run(session, "customers", path)

    assert (report.created, report.errors) == (2, [])
    assert customer(session, "411001").name == "Acme SA"
    assert customer(session, "C002").language == "en"


def test_an_invalid_siren_is_an_error_of_its_line(session, tmp_path):
    path = write_csv(tmp_path / "customers.csv", [
        ["account", "name", "registration_number"],
        ["C001", "Acme", "732829320"],
        ["C002", "Globex", "732829321"],
    ])

    report = run(session, "customers", path)

    assert report.errors == [LineError(3, "registration_number", "'732829321' is not a valid SIREN (check digit)")]
    assert count(session, Customer) == 0


def test_customer_reimport_is_a_no_op_and_changes_are_updated(session, tmp_path):
    rows = [CUSTOMER_HEADER, ["C001", "Acme SA", "", "a@acme.fr", "01", "", "fr"], ["C002", "Globex", "", "", "", "", ""]]
    run(session, "customers", write_csv(tmp_path / "customers.csv", rows))
    created_at = customer(session, "C001").created_at

    again = run(session, "customers", write_csv(tmp_path / "customers.csv", rows))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)

    renamed = run(session, "customers", write_csv(tmp_path / "renamed.csv", [
        ["account", "name"], ["C001", "Acme Group"], ["C002", "Globex"]]))
    assert (renamed.created, renamed.updated, renamed.unchanged) == (0, 1, 1)
    acme = customer(session, "C001")
    # Columns the file does not have are left alone.
    assert (acme.name, acme.emails, acme.phone, acme.language) == ("Acme Group", "a@acme.fr", "01", "fr")
    assert acme.created_at == created_at
    assert count(session, Customer) == 2


def test_customer_errors_are_all_reported(session, tmp_path):
    path = write_csv(tmp_path / "customers.csv", [
        CUSTOMER_HEADER,
        ["C001", "Acme", "", "not-an-address", "", "", ""],
        ["", "", "", "", "", "", "french"],
        ["C001", "Acme again", "", "", "", "", ""],
        ["C" * 41, "Long", "", "", "", "", ""],
    ])

    report = run(session, "customers", path)

    assert [str(error) for error in report.errors] == [
        "line 2, column email: 'not-an-address' is not an e-mail address",
        "line 3, column account: required",
        "line 3, column name: required",
        "line 3, column language: 'french' is not a language code like en or fr",
        "line 4, column account: account C001 already appears on line 2",
        "line 5, column account: longer than 40 characters",
    ]
    assert count(session, Customer) == 0


# --- entries -------------------------------------------------------------------------------

def test_entries_from_csv_and_the_summary_follows(session, tmp_path, two_customers):
    report = run(session, "entries", write_csv(tmp_path / "entries.csv", ENTRIES))

    assert report.ok and (report.created, report.updated, report.unchanged) == (4, 0, 0)
    assert report.summary() == "entries: 4 created, 0 updated, 0 unchanged"
    first = entry(session, "INV-1")
    assert (first.amount_cents, first.open_cents, first.is_open, first.currency, first.reminder_level) == (
        120000, 120000, True, "EUR", 2)
    assert (first.issue_date, first.due_date) == (date(2026, 4, 1), date(2026, 5, 1))
    assert (entry(session, "INV-2").amount_cents, entry(session, "INV-2").open_cents) == (30050, 10050)
    assert entry(session, "CN-1").kind == "credit_note"
    assert entry(session, "INV-3").currency == "USD"

    # Today is 2026-06-15: INV-1 is 45 days overdue, INV-2 not due, the credit note 14 days.
    acme = session.get(CustomerSummary, (customer(session, "C001").id, "EUR"))
    assert acme.total_cents == 120000 + 10050 - 20000
    assert (acme.not_due_cents, acme.days_1_30_cents, acme.days_31_60_cents) == (10050, -20000, 120000)
    assert (acme.open_entries, acme.highest_level) == (3, 2)
    globex = session.get(CustomerSummary, (customer(session, "C002").id, "USD"))
    assert (globex.total_cents, globex.over_90_cents, globex.highest_level) == (9999, 9999, 5)


def test_entries_from_xlsx_with_date_and_number_cells(session, tmp_path, two_customers):
    path = write_xlsx(tmp_path / "entries.xlsx", [
        ["Number", "Account", "Kind", "Issue_Date", "Due_Date", "Amount"],
        ["INV-1", "C001", "invoice", datetime(2026, 5, 1), date(2026, 5, 31), 1234.56],
        ["INV-2", "C002", "Invoice", "2026-06-01", "2026-07-01", 80],
    ])

    report = run(session, "entries", path)

    assert (report.created, report.errors) == (2, [])
    first = entry(session, "INV-1")
    assert (first.issue_date, first.due_date, first.amount_cents, first.open_cents) == (
        date(2026, 5, 1), date(2026, 5, 31), 123456, 123456)
    assert entry(session, "INV-2").amount_cents == 8000


def test_a_dry_run_writes_nothing(session, tmp_path, two_customers):
    report = run(session, "entries", write_csv(tmp_path / "entries.csv", ENTRIES), dry_run=True)

    assert report.ok and report.created == 4
    assert report.summary() == "entries: 4 created, 0 updated, 0 unchanged. Dry run: nothing written."
    assert count(session, Entry) == 0
    assert count(session, CustomerSummary) == 0
    assert count(session, AuditEvent) == 0


def test_every_bad_line_is_reported_and_nothing_is_written(session, tmp_path, two_customers):
    path = write_csv(tmp_path / "entries.csv", [
        ENTRY_HEADER,
        ["C001", "INV-1", "invoice", "2026-04-01", "2026-05-01", "100.00", "", "", ""],  # fine
        ["C001", "INV-2", "bill", "01-04-2026", "2026-02-30", "12,50", "", "EURO", "7"],
        ["C999", "INV-3", "invoice", "2026-04-01", "2026-03-01", "-5", "", "", ""],
        ["C001", "INV-1", "invoice", "2026-04-01", "2026-05-01", "1.234", "2000", "", ""],
        ["C002", "INV-4", "credit_note", "2026-04-01", "2026-05-01", "10", "20", "", "x"],
        ["C002", "INV-5", "invoice", "", "2026-05-01", "0", "", "", ""],
    ])

    report = run(session, "entries", path)

    assert [str(error) for error in report.errors] == [
        "line 3, column amount: '12,50' is not written like '100.00' on line 2: a file writes all its amounts one way",
        "line 3, column kind: 'bill' is not a kind: write invoice or credit_note",
        "line 3, column issue_date: '01-04-2026' is not a date like 2026-06-30 or 30/06/2026",
        "line 3, column due_date: '2026-02-30' is not a day of the calendar",
        "line 3, column currency: 'EURO' is not a currency code like EUR",
        "line 3, column reminder_level: '7' is not a reminder level from 0 to 5",
        "line 4, column amount: '-5' is negative: amounts are positive (a credit note has kind credit_note)",
        "line 4, column due_date: due date 01/03/2026 is before the issue date 01/04/2026",
        "line 4, column account: unknown account C999",
        "line 5, column amount: '1.234' has more than 2 decimals",
        "line 5, column number: entry INV-1 already appears on line 2",
        "line 6, column reminder_level: 'x' is not a reminder level from 0 to 5",
        "line 6, column open_amount: open amount 20.00 is larger than the amount 10.00",
        "line 7, column issue_date: required",
        "line 7, column amount: must be more than 0",
    ]
    assert report.summary() == "entries: 15 errors, nothing imported."
    assert count(session, Entry) == 0
    assert count(session, AuditEvent) == 0


def test_a_missing_column_is_an_error_of_the_header(session, tmp_path, two_customers):
    path = write_csv(tmp_path / "entries.csv", [
        ["account", "number", "kind", "amount", "Account"], ["C001", "INV-1", "invoice", "10"]])

    report = run(session, "entries", path)

    assert [str(error) for error in report.errors] == [
        "line 1, column account: the column appears twice",
        "line 1, column issue_date: missing column",
        "line 1, column due_date: missing column",
    ]
    assert count(session, Entry) == 0


def test_reimporting_entries_changes_nothing(session, tmp_path, two_customers):
    path = write_csv(tmp_path / "entries.csv", ENTRIES)
    run(session, "entries", path)
    before = {e.number: (e.id, e.amount_cents, e.open_cents, e.reminder_level) for e in session.scalars(select(Entry))}

    again = run(session, "entries", path)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert {e.number: (e.id, e.amount_cents, e.open_cents, e.reminder_level)
            for e in session.scalars(select(Entry))} == before


def test_changed_entries_are_updated_and_the_summary_follows(session, tmp_path, two_customers):
    run(session, "entries", write_csv(tmp_path / "entries.csv", ENTRIES))
    entry(session, "INV-1").reminder_level = 4  # the reminders run raised it since
    session.commit()

    report = run(session, "entries", write_csv(tmp_path / "update.csv", [
        ["account", "number", "kind", "issue_date", "due_date", "amount", "open_amount", "reminder_level"],
        ["C001", "INV-1", "invoice", "2026-04-01", "2026-05-01", "1200.00", "0", ""],
        ["C001", "INV-2", "invoice", "2026-05-20", "2026-06-20", "300.50", "100.50", ""],
    ]))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    paid = entry(session, "INV-1")
    assert (paid.open_cents, paid.is_open, paid.reminder_level, paid.currency) == (0, False, 4, "EUR")
    summary = session.get(CustomerSummary, (customer(session, "C001").id, "EUR"))
    assert (summary.total_cents, summary.open_entries) == (10050 - 20000, 2)


def test_an_entry_of_another_customer_is_an_error(session, tmp_path, two_customers):
    run(session, "entries", write_csv(tmp_path / "entries.csv", ENTRIES))

    report = run(session, "entries", write_csv(tmp_path / "moved.csv", [
        ENTRY_HEADER, ["C002", "INV-1", "invoice", "2026-04-01", "2026-05-01", "1200.00", "", "", ""]]))

    assert [str(error) for error in report.errors] == ["line 2, column account: entry INV-1 belongs to account C001"]
    assert entry(session, "INV-1").customer.account == "C001"


def test_entries_reimported_after_payments_keep_what_was_paid(session, tmp_path, two_customers):
    entries = write_csv(tmp_path / "entries.csv", ENTRIES)
    run(session, "entries", entries)
    run(session, "payments", write_csv(tmp_path / "bank.csv", [PAYMENT_HEADER, ["INV-1", "2026-06-10", "200", "VIR-1"]]))

    report = run(session, "entries", entries)

    assert (report.updated, report.unchanged) == (0, 4)
    assert entry(session, "INV-1").open_cents == 100000


def test_entries_are_checked_and_written_in_bulk(app, session, tmp_path, two_customers):
    rows = [ENTRY_HEADER] + [
        [f"C00{1 + n % 2}", f"INV-{n:05d}", "invoice", "2026-05-01", "2026-05-31", f"{n}.25", "", "", ""]
        for n in range(1, 1201)
    ]
    path = write_csv(tmp_path / "entries.csv", rows)
    statements = []
    from extensions import db

    def note(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        report = run(session, "entries", path)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)

    assert report.created == 1200
    assert count(session, Entry) == 1200
    # Lookups go by chunks of keys and inserts by batches: nowhere near one query per line.
    assert len(statements) < 40
    total = sum(session.scalars(select(CustomerSummary.total_cents)))
    assert total == sum(n * 100 + 25 for n in range(1, 1201))


# --- payments ------------------------------------------------------------------------------

@pytest.fixture
def ledger(session, tmp_path, two_customers):
    run(session, "entries", write_csv(tmp_path / "ledger.csv", ENTRIES))


def test_payments_from_csv_reduce_open_amounts(session, tmp_path, ledger):
    report = run(session, "payments", write_csv(tmp_path / "bank.csv", [
        ["Reference", "Number", "Date", "Amount", "Bank"],
        ["VIR-1", "INV-1", "2026-06-10", "1200.00", "BNP"],
        ["VIR-2", "INV-2", "2026-06-11", "50.50", "BNP"],
        ["VIR-3", "INV-2", "2026-06-12", "50", "BNP"],
    ]))

    assert report.ok and (report.created, report.unchanged) == (3, 0)
    assert report.summary() == "payments: 3 created, 0 already imported"
    first, second = entry(session, "INV-1"), entry(session, "INV-2")
    assert (first.open_cents, first.is_open) == (0, False)
    assert (second.open_cents, second.is_open) == (0, False)
    assert [p.reference for p in second.payments] == ["VIR-2", "VIR-3"]
    summary = session.get(CustomerSummary, (customer(session, "C001").id, "EUR"))
    assert (summary.total_cents, summary.open_entries) == (-20000, 1)


def test_payments_from_xlsx(session, tmp_path, ledger):
    path = write_xlsx(tmp_path / "bank.xlsx", [PAYMENT_HEADER, ["INV-3", datetime(2026, 6, 1), 9.99, "SEPA 77"]])

    report = run(session, "payments", path)

    assert (report.created, report.errors) == (1, [])
    payment = session.scalar(select(Payment))
    assert (payment.paid_on, payment.amount_cents, payment.reference) == (date(2026, 6, 1), 999, "SEPA 77")
    assert entry(session, "INV-3").open_cents == 9000


def test_a_bank_export_imported_twice_pays_once(session, tmp_path, ledger):
    path = write_csv(tmp_path / "bank.csv", [PAYMENT_HEADER, ["INV-1", "2026-06-10", "200.00", "VIR-1"],
                                             ["INV-3", "2026-06-10", "9.99", "VIR-2"]])
    run(session, "payments", path)

    again = run(session, "payments", path)

    assert again.ok and (again.created, again.unchanged) == (0, 2)
    assert again.summary() == "payments: 0 created, 2 already imported"
    assert count(session, Payment) == 2
    assert entry(session, "INV-1").open_cents == 100000


def test_a_payment_larger_than_the_open_amount_is_an_error(session, tmp_path, ledger):
    report = run(session, "payments", write_csv(tmp_path / "bank.csv", [
        PAYMENT_HEADER, ["INV-1", "2026-06-10", "100", "VIR-1"], ["INV-2", "2026-06-10", "100.51", "VIR-2"]]))

    assert [str(error) for error in report.errors] == [
        "line 3, column amount: payment of 100.51 is larger than the open amount of entry INV-2 (100.50)"]
    assert count(session, Payment) == 0
    assert entry(session, "INV-1").open_cents == 120000


def test_payments_adding_up_to_more_than_the_open_amount_are_an_error(session, tmp_path, ledger):
    report = run(session, "payments", write_csv(tmp_path / "bank.csv", [
        PAYMENT_HEADER,
        ["INV-2", "2026-06-10", "60", "VIR-1"],
        ["INV-2", "2026-06-11", "40.50", "VIR-2"],
        ["INV-2", "2026-06-12", "0.01", "VIR-3"],
    ]))

    assert [str(error) for error in report.errors] == [
        "line 4, column amount: payment of 0.01 is larger than the open amount left after the lines above "
        "of entry INV-2 (0.00)"]
    assert count(session, Payment) == 0
    assert entry(session, "INV-2").open_cents == 10050


def test_payment_errors_unknown_entry_duplicates_bad_values(session, tmp_path, ledger):
    report = run(session, "payments", write_csv(tmp_path / "bank.csv", [
        PAYMENT_HEADER,
        ["INV-1", "2026-06-10", "10", "VIR-1"],
        ["INV-404", "2026-06-10", "10", "VIR-2"],
        ["INV-1", "2026-06-11", "20", "VIR-1"],
        ["INV-2", "10/16/2026", "abc", ""],
    ]))

    assert [str(error) for error in report.errors] == [
        "line 3, column number: unknown entry INV-404",
        "line 4, column reference: payment VIR-1 on entry INV-1 already appears on line 2",
        "line 5, column date: '10/16/2026' is not a day of the calendar",
        "line 5, column amount: 'abc' is not an amount like 1234.56",
        "line 5, column reference: required",
    ]
    assert count(session, Payment) == 0


# --- files, audit, command line -------------------------------------------------------------

def test_line_numbers_count_lines_inside_quoted_cells(tmp_path):
    path = write_csv(tmp_path / "customers.csv", [["account", "name", "address"], ["C1", "Acme", "1 rue X\nParis"],
                                                  [], ["C2", "Globex", ""]])
    headers, rows = read_rows(path, path.name)
    assert headers == ["account", "name", "address"]
    assert [line for line, _ in rows] == [2, 5]


@pytest.mark.parametrize("name, content, message", [
    ("customers.txt", b"account,name\n", "'customers.txt' is neither a .csv nor an .xlsx file."),
    ("customers.xls", b"\xd0\xcf", "'customers.xls' is an old-style Excel file (.xls): save it as .xlsx or CSV UTF-8."),
    ("customers.csv", b"", "'customers.csv' is empty."),
    ("customers.csv", b"\n \n,,\n", "'customers.csv' is empty."),
    ("customers.csv", b"account,name\nC1,Soci\x81t\x80\n",
     "'customers.csv' is neither UTF-8 nor Windows-1252 text (line 2): save it as CSV UTF-8."),
    ("customers.csv", b"\xef\xbb\xbfaccount,name\nC1,Soci\xe9t\xe9\n",
     "'customers.csv' starts as UTF-8 but is not UTF-8 text (line 2)."),
    ("customers.xlsx", b"PK\x03\x04 not really a workbook", "'customers.xlsx' is not a readable Excel workbook (.xlsx)."),
])
def test_unreadable_files_say_why(session, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError) as raised:
        import_file(session, "customers", path, name)
    assert str(raised.value) == message


def test_an_import_that_wrote_is_in_the_history_once_and_on_each_customer_it_touched(session, tmp_path):
    customers = write_csv(tmp_path / "customers.csv", [["account", "name"], ["C001", "Acme"]])
    broken = write_csv(tmp_path / "broken.csv", [["account", "name"], ["", "Acme"]])
    run(session, "customers", customers, dry_run=True)
    run(session, "customers", broken)
    run(session, "customers", customers)
    acme = session.scalar(select(Customer))

    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_id, e.customer_id, e.detail) for e in events] == [
        ("import.customers", None, None, "customers.csv: 1 created, 0 updated, 0 unchanged"),
        ("import.customers", None, acme.id, "Imported from customers.csv: customer created.")]


def test_each_customer_hears_what_an_entries_and_a_payments_file_did_to_it(session, tmp_path):
    run(session, "customers", write_csv(tmp_path / "customers.csv", [["account", "name", "email"],
                                                                      ["C001", "Acme", ""], ["C002", "Bravo", ""]]))
    run(session, "entries", write_csv(tmp_path / "entries.csv", [
        ["account", "number", "kind", "issue_date", "due_date", "amount"],
        ["C001", "A-1", "invoice", "2026-05-01", "2026-05-31", "100.00"],
        ["C001", "A-2", "invoice", "2026-05-02", "2026-06-01", "200.00"],
        ["C002", "B-1", "invoice", "2026-05-03", "2026-06-02", "50.00"]]))
    run(session, "payments", write_csv(tmp_path / "bank.csv", [
        ["number", "date", "amount", "reference"], ["A-1", "2026-06-01", "100.00", "VIR-1"],
        ["A-2", "2026-06-01", "20.00", "VIR-2"]]))
    run(session, "customers", write_csv(tmp_path / "again.csv", [["account", "name", "email"],
                                                                  ["C001", "Acme SAS", "ap@acme.test"],
                                                                  ["C002", "Bravo", ""]]))
    acme, bravo = session.scalars(select(Customer).order_by(Customer.account)).all()

    def history(customer):
        return [e.detail for e in session.scalars(select(AuditEvent).where(AuditEvent.customer_id == customer.id)
                                                  .order_by(AuditEvent.id))]

    assert history(acme) == ["Imported from customers.csv: customer created.",
                             "Imported from entries.csv: 2 entries added.",
                             "Imported from bank.csv: 2 payments recorded, 1 paid.",
                             "Imported from again.csv: changed: E-mail, Name."]
    assert history(bravo) == ["Imported from customers.csv: customer created.",
                              "Imported from entries.csv: 1 entry added."], "nothing changed: nothing said"


def test_cli_imports_and_prints_a_summary(app, session, tmp_path, two_customers):
    path = write_csv(tmp_path / "entries.csv", ENTRIES)
    runner = app.test_cli_runner()

    checked = runner.invoke(args=["import", "entries", str(path), "--dry-run"])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.strip() == "entries: 4 created, 0 updated, 0 unchanged. Dry run: nothing written."
    assert count(session, Entry) == 0

    imported = runner.invoke(args=["import", "entries", str(path)])
    assert imported.exit_code == 0, imported.output
    assert imported.stdout.strip() == "entries: 4 created, 0 updated, 0 unchanged"
    assert count(session, Entry) == 4

    again = runner.invoke(args=["import", "entries", str(path)])
    assert again.stdout.strip() == "entries: 0 created, 0 updated, 4 unchanged"
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events if e.customer_id is None] == ["import.entries", "import.entries"]
    assert len([e for e in events if e.customer_id is not None]) == 2, "the first run, once per customer; the second, none"


def test_cli_reports_every_error_on_stderr_and_exits_1(app, session, tmp_path, two_customers):
    path = write_csv(tmp_path / "entries.csv", [
        ENTRY_HEADER,
        ["C001", "INV-1", "invoice", "2026-04-01", "2026-05-01", "10", "", "", ""],
        ["C404", "INV-2", "invoice", "2026-04-01", "2026-13-01", "10", "", "", ""],
    ])

    result = app.test_cli_runner().invoke(args=["import", "entries", str(path)])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "line 3, column due_date: '2026-13-01' is not a day of the calendar",
        "line 3, column account: unknown account C404",
        "entries: 2 errors, nothing imported.",
    ]
    assert count(session, Entry) == 0


@pytest.mark.parametrize("name, content", [("missing.csv", None), ("entries.txt", b"x"), ("entries.csv", b"")])
def test_cli_unreadable_file_exits_1(app, tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)

    result = app.test_cli_runner().invoke(args=["import", "entries", str(path)])

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.output


def test_cli_payments_import_twice(app, session, tmp_path, ledger):
    path = write_csv(tmp_path / "bank.csv", [PAYMENT_HEADER, ["INV-1", "2026-06-10", "200", "VIR-1"]])
    runner = app.test_cli_runner()

    assert runner.invoke(args=["import", "payments", str(path)]).stdout.strip() == "payments: 1 created, 0 already imported"
    assert runner.invoke(args=["import", "payments", str(path)]).stdout.strip() == "payments: 0 created, 1 already imported"
    session.expire_all()
    assert entry(session, "INV-1").open_cents == 100000


# --- hostile files ---------------------------------------------------------------------------

def test_control_characters_are_errors_of_their_line(session, tmp_path, two_customers):
    path = write_csv(tmp_path / "customers.csv", [
        CUSTOMER_HEADER,
        ["C010", "Acme\x00 SA", "", "", "", "1 rue X\r\n\t75001 Paris", ""],  # the address may span lines
        ["C\x1b011", "Globex", "", "", "01\x7f23", "", ""],
        ["C012", "Initech\nLtd", "", "", "", "Bâtiment\x0bB", ""],
    ])

    report = run(session, "customers", path)

    assert [str(error) for error in report.errors] == [
        "line 2, column name: contains a control character (U+0000): remove it",
        # The address of line 2 spans two lines of the file.
        "line 4, column account: contains a control character (U+001B): remove it",
        "line 4, column phone: contains a control character (U+007F): remove it",
        "line 5, column name: contains a control character (U+000A): remove it",
        "line 5, column address: contains a control character (U+000B): remove it",
    ]
    assert count(session, Customer) == 2


def test_control_characters_in_xlsx_cells_are_errors_of_their_line(session, tmp_path, ledger):
    path = write_xlsx(tmp_path / "bank.xlsx", [
        PAYMENT_HEADER,
        ["INV-1", "2026-06-10", 10, "VIR_x0000_1"],  # how Excel writes a NUL in a cell
        ["INV-2", "2026-06-10", 10, "VIR\x9b2"],
        ["INV-3", "2026-06-10", 1, "VIR 3"],
    ])

    report = run(session, "payments", path)

    assert [str(error) for error in report.errors] == [
        "line 2, column reference: contains a control character (U+0000): remove it",
        "line 3, column reference: contains a control character (U+009B): remove it",
    ]
    assert count(session, Payment) == 0


def test_a_sheet_wider_than_the_import_reads_is_refused(session, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["account", "name"])
    for n in range(2, 2000):
        sheet.append([f"C{n:04d}", f"Customer {n}"])
    sheet.cell(row=1500, column=16384, value="stray")  # XFD, far down the sheet
    workbook.save(tmp_path / "customers.xlsx")

    with pytest.raises(ImportFileError) as raised:
        run(session, "customers", tmp_path / "customers.xlsx")

    assert str(raised.value) == (
        "'customers.xlsx' is too wide: line 1500 has a value in column XFD, and an import reads the columns "
        "A to CV only. Delete the columns after your data, or save the sheet as CSV UTF-8.")
    assert count(session, Customer) == 0


def test_other_columns_and_formatted_empty_cells_are_ignored(session, tmp_path):
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["account", "name"])
    sheet.append(["C001", "Acme SA"])
    sheet.cell(row=1, column=100, value="Notes")  # CV: the last column read
    sheet.cell(row=2, column=100, value="pays late")
    sheet.cell(row=2, column=16384).font = Font(bold=True)  # formatted, nothing in it

    workbook.save(tmp_path / "customers.xlsx")
    report = run(session, "customers", tmp_path / "customers.xlsx")

    assert (report.created, report.errors) == (1, [])
    assert customer(session, "C001").name == "Acme SA"


@pytest.mark.parametrize("extension", [".csv", ".xlsx"])
def test_a_file_longer_than_the_limit_is_refused(session, tmp_path, monkeypatch, extension):
    import domain.imports.receivables

    monkeypatch.setattr(domain.imports.receivables, "MAX_ROWS", 3)
    rows = [["account", "name"], ["C001", "Acme"], ["C002", "Globex"], ["C003", "Initech"]]
    path = (write_csv if extension == ".csv" else write_xlsx)(tmp_path / f"customers{extension}", rows)

    with pytest.raises(ImportFileError) as raised:
        run(session, "customers", path)

    assert str(raised.value) == f"'customers{extension}' has more than 3 rows: split it into smaller files."
    assert count(session, Customer) == 0


def test_a_zip_bomb_of_shared_strings_is_refused(session, tmp_path):
    import zipfile

    path = tmp_path / "customers.xlsx"
    write_xlsx(path, [["account", "name"], ["C001", "Acme"]])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            chunk = b"<si><t>" + b"A" * (1 << 20) + b"</t></si>"
            for _ in range(120):
                part.write(chunk)
    assert path.stat().st_size < 1 << 20

    with pytest.raises(ImportFileError) as raised:
        run(session, "customers", path)

    assert str(raised.value) == ("'customers.xlsx' is too large once unpacked (xl/sharedStrings.xml: 120 MB): "
                                 "split it into smaller files or save it as CSV UTF-8.")
    assert count(session, Customer) == 0
