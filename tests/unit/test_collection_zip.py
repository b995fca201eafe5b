"""The collection file (.zip): built by the worker from the ORM data, read back with zipfile,
openpyxl and pypdf."""
from __future__ import annotations

import io
import re
import uuid
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from rq import SimpleWorker

import jobs.base
import jobs.exports
from domain.collection.files import start_collection_file
from domain.models import Attachment, CompanySettings, Export, ReminderActivity, ReminderEntry
from files.collection_zip import (CollectionFileContents, CompanyDetails, CustomerDetails, EntryLine,
                                  write_collection_file)
from files.names import UniqueNames, safe_name
from files.pdf import CoveredEntry, ReminderDocument

TODAY = date(2026, 6, 15)
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}
BODY = ("Dear Sir or Madam,\n\nAccording to our records the following invoices are still unpaid:\n\n"
        "  INV-2026-000123   €1,234.56\n  INV-2026-000124   €49.50\n\n"
        "Please pay <b>now</b> & quote the invoice number.\n\nKind regards,\nCredit Control")


# --- helpers ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def invoice_pdfs():
    """Two small, different, real PDFs made with WeasyPrint (once for the module)."""
    from weasyprint import HTML

    return [HTML(string=f"<h1>Invoice {n}</h1><p>Amount due: {n * 100} EUR</p>").write_pdf() for n in (1, 2)]


def attach_invoice(session, app, entry, pdf: bytes) -> Path:
    storage_name = f"{uuid.uuid4().hex}.pdf"
    path = Path(app.config["ATTACHMENT_DIR"]) / storage_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)
    session.add(Attachment(entry_id=entry.id, filename=f"{entry.number}.pdf", storage_name=storage_name,
                         content_type="application/pdf", size=len(pdf)))
    return path


def add_reminder(session, customer, entries, *, sent_at, level, channel="email", subject=None, body=BODY,
                 recipient="ap@acme.test"):
    activity = ReminderActivity(customer_id=customer.id, sent_at=sent_at, channel=channel, level=level,
                                sender="compta@dupont.test", recipient=recipient,
                                subject=subject or f"Reminder R{level} – {customer.name}", body=body)
    activity.covered = [ReminderEntry(entry_id=e.id, open_cents=e.open_cents) for e in entries]
    session.add(activity)
    session.flush()
    return activity


def assert_safe(path: str) -> None:
    for part in path.split("/"):
        assert part, path
        assert not re.search(r'[<>:"\\|?*\x00-\x1f]', part), path
        assert part == part.strip(" ") and not part.endswith("."), path
        assert part.split(".")[0].strip().upper() not in RESERVED, path
        assert len(part) <= 120, path


def build(app, export_id: int) -> None:
    jobs.base.use_app(app)
    try:
        jobs.exports.build_export(export_id)
    finally:
        jobs.base.use_app(None)


def ready_zip(session, app, export_id: int) -> tuple[Export, zipfile.ZipFile, Path]:
    session.expire_all()
    export = session.get(Export, export_id)
    assert export.status == "ready", export.message
    assert export.progress == 100
    path = Path(app.config["EXPORT_DIR"]) / str(export.id) / export.filename
    return export, zipfile.ZipFile(path), path


def sheet_rows(archive: zipfile.ZipFile, name: str, sheet: int = 0) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(archive.read(name)))
    return list(workbook.worksheets[sheet].iter_rows(values_only=True))


def pdf_pages(archive: zipfile.ZipFile, name: str) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(archive.read(name))).pages]


@pytest.fixture
def case(app, session, users, ledger_builder, invoice_pdfs):
    """Acme: 3 entries, 2 with an invoice PDF on disk; 2 reminders, the first covering two entries."""
    session.add(CompanySettings(name="Maison Dupont SAS", registration_number="552100554",
                                sender_email="compta@dupont.test", address="8 rue de la Paix\n75002 Paris"))
    acme = ledger_builder.customer("C100", "Acme SARL", registration_number="732829320",
                                   emails="ap@acme.test, boss@acme.test", phone="+33 1 23 45 67 89",
                                   address="1 rue Haute\n69001 Lyon", language="fr")
    first = ledger_builder.entry(acme, 90, "1234.56", level=3, number="INV-2026-000123")
    second = ledger_builder.entry(acme, 60, "99.00", open_amount="49.50", level=3, number="INV-2026-000124",
                                  disputed=True)
    third = ledger_builder.entry(acme, 30, "500.00", level=1, number="INV-2026-000125")
    files = {first.id: attach_invoice(session, app, first, invoice_pdfs[0]),
             second.id: attach_invoice(session, app, second, invoice_pdfs[1])}
    both = add_reminder(session, acme, [first, second], sent_at=datetime(2026, 5, 1, 9, 30), level=3,
                        subject="Third reminder – Acme SARL")
    one = add_reminder(session, acme, [third], sent_at=datetime(2026, 5, 20, 7, 5), level=1, channel="letter",
                       recipient="Acme SARL, 1 rue Haute, 69001 Lyon", subject="Payment reminder – Acme SARL",
                       body="Dear customer,\n\nInvoice INV-2026-000125 is overdue.\n\nRegards")
    session.commit()
    return {"customer": acme, "entries": [first, second, third], "files": files, "activities": [both, one]}


def start(session, users, customer, entries) -> int:
    started = start_collection_file(session, users["finance"], customer, [e.id for e in entries])
    session.commit()
    return started.export.id


# --- the whole file, through the queue ----------------------------------------------------

def test_collection_file_is_built_by_the_worker(app, session, users, case, redis_url):
    acme, entries = case["customer"], case["entries"]
    export_id = start(session, users, acme, entries)
    jobs.base.use_app(app)
    try:
        queue = jobs.base.queue(app)
        queue.empty()
        jobs.exports.enqueue_export(export_id)
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    finally:
        jobs.base.use_app(None)

    export, archive, path = ready_zip(session, app, export_id)
    assert export.filename == "Acme SARL 2026-06-15.zip"
    names = archive.namelist()
    assert sorted(names) == sorted([
        "Acme SARL 2026-06-15.xlsx",
        "invoices/INV-2026-000123.pdf",
        "invoices/INV-2026-000124.pdf",
        "reminders/2026-05-01 R3 email.pdf",
        "reminders/2026-05-20 R1 letter.pdf",
    ]), "one PDF per reminder activity, even when it covers two entries"
    for name in names:
        assert_safe(name)
    assert archive.testzip() is None
    assert archive.getinfo("invoices/INV-2026-000123.pdf").compress_type == zipfile.ZIP_STORED
    assert archive.getinfo("reminders/2026-05-01 R3 email.pdf").compress_type == zipfile.ZIP_DEFLATED
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no .partial-* file is left behind"


def test_the_excel_file_lists_the_customer_the_entries_and_their_files(app, session, users, case):
    export_id = start(session, users, case["customer"], case["entries"])
    build(app, export_id)
    _, archive, _ = ready_zip(session, app, export_id)
    names = set(archive.namelist())
    rows = sheet_rows(archive, "Acme SARL 2026-06-15.xlsx")
    details = {row[0]: row[1] for row in rows if row and row[0] and len([v for v in row if v is not None]) == 2}
    assert details["Name"] == "Acme SARL" and details["Account"] == "C100"
    assert details["Registration number"] == "732829320"
    assert details["E-mails"] == "ap@acme.test, boss@acme.test"
    assert details["Phone"] == "+33 1 23 45 67 89" and details["Address"] == "1 rue Haute\n69001 Lyon"
    assert details["Language"] == "fr"

    header_at = next(i for i, row in enumerate(rows) if row and row[0] == "Entry")
    header = rows[header_at]
    column = {name: i for i, name in enumerate(header)}
    lines = {row[0]: row for row in rows[header_at + 1:] if row and row[0] and row[0].startswith("INV-")}
    assert list(lines) == ["INV-2026-000123", "INV-2026-000124", "INV-2026-000125"], "by due date"
    first, second, third = lines.values()
    assert first[column["Amount"]] == pytest.approx(1234.56) and first[column["Open amount"]] == pytest.approx(1234.56)
    assert second[column["Amount"]] == pytest.approx(99.00) and second[column["Open amount"]] == pytest.approx(49.50)
    assert first[column["Currency"]] == "EUR" and first[column["Reminder level"]] == "R3"
    assert first[column["Days overdue"]] == 90 and first[column["Due date"]].date() == date(2026, 3, 17)
    assert first[column["In collection"]] == "yes" and first[column["Reminders stopped"]] == "yes"
    assert second[column["Disputed"]] == "yes" and not first[column["Disputed"]]

    assert first[column["Invoice PDF"]] == "invoices/INV-2026-000123.pdf"
    assert second[column["Invoice PDF"]] == "invoices/INV-2026-000124.pdf"
    assert third[column["Invoice PDF"]] == "not available"
    assert first[column["Reminder PDFs"]] == "reminders/2026-05-01 R3 email.pdf"
    assert second[column["Reminder PDFs"]] == "reminders/2026-05-01 R3 email.pdf"
    assert third[column["Reminder PDFs"]] == "reminders/2026-05-20 R1 letter.pdf"
    listed = {line[column["Invoice PDF"]] for line in lines.values()} - {"not available"}
    listed |= {name for line in lines.values() for name in line[column["Reminder PDFs"]].split("\n")}
    assert listed == names - {"Acme SARL 2026-06-15.xlsx"}, "every file in the zip is named in the Excel file"

    total = next(row for row in rows[header_at + 1:] if row and row[0] == "Total")
    assert total[column["Amount"]] == pytest.approx(1833.56) and total[column["Open amount"]] == pytest.approx(1784.06)

    reminders = sheet_rows(archive, "Acme SARL 2026-06-15.xlsx", sheet=1)
    assert reminders[1][6] == "INV-2026-000123, INV-2026-000124"
    assert reminders[1][7] == pytest.approx(1284.06) and reminders[1][9] == "reminders/2026-05-01 R3 email.pdf"


def test_amounts_in_the_excel_file_are_exact_numbers_with_two_decimals(app, session, users, case):
    export_id = start(session, users, case["customer"], case["entries"])
    build(app, export_id)
    _, archive, _ = ready_zip(session, app, export_id)
    sheet = load_workbook(io.BytesIO(archive.read("Acme SARL 2026-06-15.xlsx"))).worksheets[0]
    money = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, (int, float))
             and c.number_format == "#,##0.00"]
    assert len(money) == 3 * 2 + 2 + 3 * 2, ("amount and open amount of each entry and of the totals row; interest "
                                             "to date and indemnity of each overdue invoice")
    xml = archive.open("Acme SARL 2026-06-15.xlsx")
    sheet_xml = zipfile.ZipFile(io.BytesIO(xml.read())).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>1234.56</v>" in sheet_xml and "<v>1784.06</v>" in sheet_xml, "written from Decimal, not float"


def test_reminder_pdfs_have_a_summary_page_and_the_message_as_sent(app, session, users, case):
    export_id = start(session, users, case["customer"], case["entries"])
    build(app, export_id)
    _, archive, _ = ready_zip(session, app, export_id)
    summary, message = pdf_pages(archive, "reminders/2026-05-01 R3 email.pdf")
    for text in ("Maison Dupont SAS", "Acme SARL", "ap@acme.test", "Third reminder – Acme SARL", "R3",
                 "INV-2026-000123", "INV-2026-000124", "€1,234.56", "€49.50", "€1,284.06"):
        assert text in summary, text
    assert "Message as sent" in message and "Third reminder – Acme SARL" in message
    assert "According to our records the following invoices are still unpaid:" in message
    assert "Please pay <b>now</b> & quote the invoice number." in message, "the body is text, not markup"
    lines = [line.strip() for line in message.splitlines()]
    assert "Kind regards," in lines and "Credit Control" in lines, "line breaks are kept"

    letter = pdf_pages(archive, "reminders/2026-05-20 R1 letter.pdf")
    assert len(letter) == 2
    assert "Acme SARL, 1 rue Haute, 69001 Lyon" in letter[0] and "€500.00" in letter[0] and "Letter" in letter[0]
    assert "Invoice INV-2026-000125 is overdue." in letter[1]


def test_invoice_pdfs_are_copied_byte_for_byte(app, session, users, case):
    first, second, _ = case["entries"]
    export_id = start(session, users, case["customer"], case["entries"])
    build(app, export_id)
    _, archive, _ = ready_zip(session, app, export_id)
    assert archive.read("invoices/INV-2026-000123.pdf") == case["files"][first.id].read_bytes()
    assert archive.read("invoices/INV-2026-000124.pdf") == case["files"][second.id].read_bytes()


def test_an_invoice_file_missing_from_disk_is_not_available(app, session, users, case):
    first, second, _ = case["entries"]
    case["files"][first.id].unlink()
    export_id = start(session, users, case["customer"], case["entries"])
    build(app, export_id)
    _, archive, _ = ready_zip(session, app, export_id)
    assert "invoices/INV-2026-000123.pdf" not in archive.namelist()
    assert "invoices/INV-2026-000124.pdf" in archive.namelist()
    rows = sheet_rows(archive, "Acme SARL 2026-06-15.xlsx")
    invoice_of = {row[0]: row[12] for row in rows if row and isinstance(row[0], str) and row[0].startswith("INV-")}
    assert invoice_of["INV-2026-000123"] == "not available"
    assert invoice_of["INV-2026-000125"] == "not available"


def test_a_customer_name_full_of_forbidden_characters_gives_safe_names(app, session, users, ledger_builder,
                                                                      invoice_pdfs):
    odd = ledger_builder.customer("C200", 'A/B:C*?"<>|.')
    entry = ledger_builder.entry(odd, 40, "10.00", number="INV/2026:7*")
    attach_invoice(session, app, entry, invoice_pdfs[0])
    add_reminder(session, odd, [entry], sent_at=datetime(2026, 5, 2, 8, 0), level=2)
    session.commit()
    export_id = start(session, users, odd, [entry])
    build(app, export_id)
    export, archive, path = ready_zip(session, app, export_id)
    assert_safe(export.filename)
    assert export.filename.endswith(" 2026-06-15.zip")
    for name in archive.namelist():
        assert_safe(name)
    assert "invoices/INV_2026_7_.pdf" in archive.namelist()
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_two_reminders_on_the_same_day_and_level_get_unique_names(app, session, users, case):
    acme, (first, _, third) = case["customer"], case["entries"]
    add_reminder(session, acme, [third], sent_at=datetime(2026, 5, 1, 15, 0), level=3, subject="Again")
    add_reminder(session, acme, [first], sent_at=datetime(2026, 5, 1, 16, 0), level=3, subject="And again")
    session.commit()
    export_id = start(session, users, acme, case["entries"])
    build(app, export_id)
    _, archive, _ = ready_zip(session, app, export_id)
    reminders = sorted(n for n in archive.namelist() if n.startswith("reminders/"))
    assert reminders == ["reminders/2026-05-01 R3 email (2).pdf", "reminders/2026-05-01 R3 email (3).pdf",
                         "reminders/2026-05-01 R3 email.pdf", "reminders/2026-05-20 R1 letter.pdf"]
    assert "And again" in pdf_pages(archive, "reminders/2026-05-01 R3 email (3).pdf")[0]


def test_an_entry_without_reminders_or_invoice_still_gives_a_file(app, session, users, ledger_builder):
    bare = ledger_builder.customer("C300", "Bare Ltd")
    entry = ledger_builder.entry(bare, 10, "12.34")
    session.commit()
    export_id = start(session, users, bare, [entry])
    build(app, export_id)
    _, archive, _ = ready_zip(session, app, export_id)
    assert archive.namelist() == ["Bare Ltd 2026-06-15.xlsx"]


# --- names and the builder on its own -------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ('A/B:C*?"<>|.', "A_B_C_"),
    ("  report. . ", "report"),
    ("CON", "_CON"),
    ("con.txt", "_con.txt"),
    ("LPT1", "_LPT1"),
    ("COM10", "COM10"),
    ("tab\tand\nnew line", "tab and new line"),
    ("...", "file"),
    ("", "file"),
    ("Café", "Café"),
])
def test_safe_name(text, expected):
    assert safe_name(text) == expected


def test_safe_name_is_length_limited_in_characters_and_bytes():
    assert len(safe_name("x" * 500)) == 80
    assert len(safe_name("é" * 500).encode()) <= 180
    assert not safe_name("a" * 79 + " .b").endswith((" ", "."))


def test_unique_names_ignore_case():
    names = UniqueNames()
    assert names.claim("invoices", "INV-1", ".PDF") == "invoices/INV-1.pdf"
    assert names.claim("invoices", "inv-1", ".pdf") == "invoices/inv-1 (2).pdf"
    assert names.claim("invoices", "Inv-1", ".pdf") == "invoices/Inv-1 (3).pdf"
    assert names.claim("reminders", "INV-1", ".pdf") == "reminders/INV-1.pdf"


def test_progress_goes_from_0_to_99_without_going_back(tmp_path):
    reminder = ReminderDocument(id=1, sent_at=datetime(2026, 5, 1, 9, 0), channel="email", level=1,
                                sender="a@b.test", recipient="c@d.test", subject="S", body="B",
                                covered=(CoveredEntry("N1", 1000, "EUR", date(2026, 4, 1), entry_id=1),))
    entries = [EntryLine(id=i, number=f"N{i}", kind="invoice", issue_date=date(2026, 3, 1), due_date=date(2026, 4, 1),
                         amount_cents=1000, open_cents=1000, currency="EUR", reminder_level=1, days_overdue=75)
               for i in range(1, 4)]
    contents = CollectionFileContents(customer=CustomerDetails("C1", "Solo"), company=CompanyDetails("Us"),
                                      entries=entries, reminders=[reminder], exported_on=TODAY)
    seen = []
    summary = write_collection_file(tmp_path / "file.zip", contents, seen.append)
    assert seen[0] == 0 and seen[-1] == 99 and seen == sorted(seen) and len(seen) == len(set(seen))
    assert summary.unavailable == ["N1", "N2", "N3"] and summary.reminders == {1: "reminders/2026-05-01 R1 email.pdf"}


def test_credit_notes_reduce_the_totals_which_are_kept_per_currency(tmp_path):
    def line(i, kind, cents, currency):
        return EntryLine(id=i, number=f"N{i}", kind=kind, issue_date=date(2026, 3, 1), due_date=date(2026, 4, i),
                         amount_cents=cents, open_cents=cents, currency=currency, reminder_level=0, days_overdue=0)

    contents = CollectionFileContents(
        customer=CustomerDetails("C1", "Mixed"), company=CompanyDetails("Us"), reminders=[], exported_on=TODAY,
        entries=[line(1, "invoice", 10_000, "EUR"), line(2, "credit_note", 2_550, "EUR"), line(3, "invoice", 999, "USD")])
    write_collection_file(tmp_path / "file.zip", contents)
    with zipfile.ZipFile(tmp_path / "file.zip") as archive:
        assert archive.namelist() == ["Mixed 2026-06-15.xlsx"]
        rows = sheet_rows(archive, "Mixed 2026-06-15.xlsx")
    by_label = {row[0]: row for row in rows if row and isinstance(row[0], str)}
    assert by_label["N2"][1] == "Credit note" and by_label["N2"][5] == pytest.approx(-25.50)
    assert by_label["Total EUR"][4] == pytest.approx(74.50) and by_label["Total EUR"][5] == pytest.approx(74.50)
    assert by_label["Total USD"][5] == pytest.approx(9.99)


def test_disputes_promises_and_schedules_get_a_sheet_each_and_a_history_pdf(app, session, users, case):
    from domain.ledger import disputes, promises, schedules

    first, second, third = case["entries"]
    acme = case["customer"]
    dispute = disputes.open_dispute(session, users["finance"], acme, [first.id], "not_received",
                                    note="Never received: sent to the old address")
    promise = promises.record_promise(session, users["finance"], acme, [third.id], promised_on=date(2026, 6, 30),
                                      channel="phone", note="The CFO promised on the phone")
    schedule = schedules.create_schedule(session, users["finance"], acme, [second.id],
                                         schedules.Plan("monthly", first=date(2026, 7, 1), count=2))
    session.commit()
    export_id = start(session, users, acme, case["entries"])
    build(app, export_id)
    _, archive, _ = ready_zip(session, app, export_id)

    workbook = load_workbook(io.BytesIO(archive.read("Acme SARL 2026-06-15.xlsx")))
    assert workbook.sheetnames[2:] == ["Disputes", "Promises", "Payment schedules"]
    [header, disputed] = list(workbook["Disputes"].iter_rows(values_only=True))
    row = dict(zip(header, disputed))
    assert row["No."] == dispute.id and row["Entries"] == "INV-2026-000123" and row["Status"] == "Open"
    assert row["What was said"] == "Invoice not received: Never received: sent to the old address"
    assert row["History PDF"] == f"history/Dispute {dispute.id}.pdf"
    [_, promised] = list(workbook["Promises"].iter_rows(values_only=True))
    assert promised[5] == "INV-2026-000125" and promised[6] == pytest.approx(500.00)
    assert "30/06/2026 (phone): The CFO promised on the phone" == promised[4]
    [_, scheduled] = list(workbook["Payment schedules"].iter_rows(values_only=True))
    assert scheduled[4] == "2 × monthly" and scheduled[6] == pytest.approx(49.50)

    [page] = pdf_pages(archive, f"history/Dispute {dispute.id}.pdf")
    assert "Dispute" in page and "Never received: sent to the old address" in page and "Finance" in page
    promise_text = " ".join(pdf_pages(archive, f"history/Promise to pay {promise.id}.pdf"))
    assert f"Promise #{promise.id}: €500.00 by 30/06/2026" in " ".join(promise_text.split())
    schedule_text = " ".join(" ".join(pdf_pages(archive, f"history/Payment schedule {schedule.id}.pdf")).split())
    assert "Instalments" in schedule_text and "€24.75" in schedule_text and "Due" in schedule_text
