"""The import page: check (dry run) or import an uploaded file; errors are shown and nothing is written."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from domain.models import AuditEvent, Customer, Entry, Payment

ENTRIES_CSV = (
    "account,number,kind,issue_date,due_date,amount,open_amount,currency,reminder_level\r\n"
    "C001,INV-1,invoice,2026-04-01,2026-05-01,1200.00,,,2\r\n"
    "C001,CN-1,credit_note,2026-06-01,2026-06-01,200,,,\r\n"
).encode()


def upload(client, kind: str, content: bytes, filename: str, action: str = "import", **headers):
    data = {"kind": kind, "action": action, "file": (io.BytesIO(content), filename)}
    return client.post("/imports/", data=data, content_type="multipart/form-data", headers=headers)


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def acme(session):
    customer = Customer(account="C001", name="Acme SA")
    session.add(customer)
    session.commit()
    return customer


def test_the_form(finance_client):
    response = finance_client.get("/imports/")

    assert response.status_code == 200
    html = response.text
    assert 'enctype="multipart/form-data"' in html and 'type="file" name="file"' in html
    assert 'name="csrf_token"' in html
    for kind in ("customers", "entries", "payments"):
        assert f'name="kind" value="{kind}"' in html
    assert 'name="action" value="check"' in html and 'name="action" value="import"' in html
    assert 'href="/imports/"' in html  # the nav link


def test_support_may_not_import(support_client, acme, session):
    assert support_client.get("/imports/").status_code == 403
    assert upload(support_client, "entries", ENTRIES_CSV, "entries.csv").status_code == 403
    assert count(session, Entry) == 0
    assert 'href="/imports/"' not in support_client.get("/").text


def test_logged_out_goes_to_login(client):
    response = client.get("/imports/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_check_shows_the_counts_and_writes_nothing(finance_client, acme, session):
    response = upload(finance_client, "entries", ENTRIES_CSV, "entries.csv", action="check")

    assert response.status_code == 200
    assert 'data-testid="import-checked"' in response.text
    assert "entries.csv is ready to import" in response.text
    assert "2 to create" in response.text
    assert count(session, Entry) == 0
    assert count(session, AuditEvent) == 0


def test_import_writes_and_shows_the_counts(finance_client, acme, session, users):
    response = upload(finance_client, "entries", ENTRIES_CSV, "entries.csv")

    assert response.status_code == 200
    assert 'data-testid="import-done"' in response.text
    assert "2 created" in response.text
    assert count(session, Entry) == 2
    event = session.scalar(select(AuditEvent))
    assert (event.action, event.actor_id) == ("import.entries", users["finance"].id)

    again = upload(finance_client, "entries", ENTRIES_CSV, "entries.csv")
    assert "0 created" in again.text and "2 unchanged" in again.text
    assert count(session, Entry) == 2


def test_an_htmx_upload_gets_the_result_fragment(finance_client, acme, session):
    response = upload(finance_client, "entries", ENTRIES_CSV, "entries.csv", action="check",
                      **{"HX-Request": "true"})

    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'data-testid="import-checked"' in response.text
    assert "HX-Request" in response.headers.get("Vary", "")


def test_xlsx_payments_are_imported_once(finance_client, acme, session):
    upload(finance_client, "entries", ENTRIES_CSV, "entries.csv")
    bank = xlsx_bytes([["number", "date", "amount", "reference"], ["INV-1", "2026-06-10", 200, "VIR-1"]])

    first = upload(finance_client, "payments", bank, "bank.xlsx")
    second = upload(finance_client, "payments", bank, "bank.xlsx")

    assert "1 recorded" in first.text
    assert "0 recorded" in second.text and "1 already imported" in second.text
    assert count(session, Payment) == 1
    assert session.scalar(select(Entry.open_cents).where(Entry.number == "INV-1")) == 100000


def test_errors_are_listed_and_nothing_is_written(finance_client, acme, session):
    content = (
        "account,number,kind,issue_date,due_date,amount\n"
        "C001,INV-1,invoice,2026-04-01,2026-05-01,100\n"
        "C404,INV-2,invoice,2026-04-01,2026-05-01,1O0\n"
    ).encode()

    response = upload(finance_client, "entries", content, "entries.csv")

    assert response.status_code == 400
    html = response.text
    assert 'data-testid="import-errors"' in html
    assert "2 problems" in html and "nothing was imported" in html
    assert '<td class="num">3</td><td class="mono">amount</td><td>&#39;1O0&#39; is not an amount like 1234.56</td>' in html
    assert '<td class="num">3</td><td class="mono">account</td><td>unknown account C404</td>' in html
    assert count(session, Entry) == 0


def test_errors_in_an_htmx_upload_come_with_200_so_htmx_shows_them(finance_client, acme, session):
    content = b"account,number\nC001,INV-1\n"

    response = upload(finance_client, "entries", content, "entries.csv", **{"HX-Request": "true"})

    assert response.status_code == 200
    assert "and choose kind, issue_date, due_date, amount, then check entries.csv again." in response.text
    assert count(session, Entry) == 0


@pytest.mark.parametrize("kind, content, filename, message", [
    ("entries", None, None, "Choose a .csv or .xlsx file."),
    ("ledger", ENTRIES_CSV, "entries.csv", "Choose what the file holds"),
    ("entries", ENTRIES_CSV, "entries.pdf", "is neither a .csv nor an .xlsx file"),
    ("entries", b"account,number\nC001,Soci\x81t\x80\n", "entries.csv", "is neither UTF-8 nor Windows-1252 text (line 2)"),
    ("entries", b"PK\x03\x04garbage", "entries.xlsx", "is not a readable Excel workbook"),
    ("entries", b"", "entries.csv", "is empty"),
])
def test_bad_uploads_answer_with_a_message_not_a_crash(finance_client, acme, session, kind, content, filename, message):
    data = {"kind": kind, "action": "import"}
    if content is not None:
        data["file"] = (io.BytesIO(content), filename)

    response = finance_client.post("/imports/", data=data, content_type="multipart/form-data")

    assert response.status_code == 400
    assert 'data-testid="import-problem"' in response.text
    assert message in response.text.replace("&#39;", "'")
    assert count(session, Entry) == 0


def wide_xlsx(target_size: int, wide_rows: int = 3) -> bytes:
    """An .xlsx of about `target_size` bytes of customers whose last rows have a value in column
    XFD, the last Excel has; its <dimension> says so, as Excel would write it."""
    import os
    import zipfile

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relations = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'))
        archive.writestr("_rels/.rels", f'<Relationships xmlns="{package}"><Relationship Id="rId1" '
                         f'Type="{relations}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        archive.writestr("xl/workbook.xml", f'<workbook xmlns="{main}" xmlns:r="{relations}"><sheets>'
                         '<sheet name="Customers" sheetId="1" r:id="rId1"/></sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{package}"><Relationship Id="rId1" '
                         f'Type="{relations}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        rows_per_block, line = 2000, 1
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<worksheet xmlns="{main}"><dimension ref="A1:XFD1048576"/><sheetData>'
                        '<row r="1"><c r="A1" t="inlineStr"><is><t>account</t></is></c>'
                        '<c r="B1" t="inlineStr"><is><t>name</t></is></c>'
                        '<c r="C1" t="inlineStr"><is><t>address</t></is></c></row>'.encode())
            while buffer.tell() < target_size:
                block = []
                for _ in range(rows_per_block):
                    line += 1
                    block.append(f'<row r="{line}"><c r="A{line}" t="inlineStr"><is><t>C{line:07d}</t></is></c>'
                                 f'<c r="B{line}" t="inlineStr"><is><t>Customer {line}</t></is></c>'
                                 f'<c r="C{line}" t="inlineStr"><is><t>{os.urandom(60).hex()}</t></is></c></row>')
                sheet.write("".join(block).encode())
            for _ in range(wide_rows):
                line += 1
                sheet.write(f'<row r="{line}"><c r="A{line}" t="inlineStr"><is><t>C{line:07d}</t></is></c>'
                            f'<c r="XFD{line}"><v>1</v></c></row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def test_a_10_mb_sheet_reaching_column_xfd_is_refused_in_bounded_memory(finance_client, session):
    import tracemalloc

    content = wide_xlsx(10 << 20)
    assert len(content) >= 10 << 20

    tracemalloc.start()
    try:
        response = upload(finance_client, "customers", content, "customers.xlsx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert response.status_code == 400
    message = response.text.replace("&#39;", "'")
    assert 'data-testid="import-problem"' in response.text
    assert "'customers.xlsx' is too wide: line " in message and " has a value in column XFD" in message
    # The upload itself (the test client's request body, the parsed form) is counted too.
    assert peak <= 50 << 20, f"{peak >> 20} MB"
    assert count(session, Customer) == 0


def test_the_check_says_how_the_file_was_read_and_shows_its_first_lines(finance_client, acme, session):
    french = ("account;number;kind;issue_date;due_date;amount\r\n"
              "C001;FA-7;invoice;31/03/2026;30/04/2026;1 234,50\r\n").encode("windows-1252")
    html = upload(finance_client, "entries", french, "ventes.csv", action="check",
                  **{"HX-Request": "true"}).get_data(as_text=True)
    assert "Read as UTF-8 text, columns separated by semicolons, amounts with a comma as the decimal mark" in html
    assert "<td>2026-03-31</td>" in html and "<td>1234.50</td>" in html
    assert count(session, Entry) == 0


def test_amounts_that_could_be_read_two_ways_wait_for_the_users_choice(finance_client, acme, session):
    content = b'account,number,kind,issue_date,due_date,amount\nC001,FA-8,invoice,2026-04-01,2026-05-01,"1,500"\n'
    html = upload(finance_client, "entries", content, "e.csv", **{"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-testid="decimal-mark-needed"' in html and count(session, Entry) == 0
    data = {"kind": "entries", "action": "import", "decimal_mark": ".", "file": (io.BytesIO(content), "e.csv")}
    finance_client.post("/imports/", data=data, content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert session.scalar(select(Entry.amount_cents)) == 150000


def test_foreign_headers_are_mapped_on_the_page_and_remembered(finance_client, acme, session):
    content = ("N° facture;Code client;Type;Date facture;Date d'échéance;Montant TTC\r\n"
               "FA-9;C001;Facture;01/04/2026;01/05/2026;1 234,56\r\n").encode()
    asked = upload(finance_client, "entries", content, "export.csv", action="check")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 400 and 'data-testid="import-mapping"' in page
    assert 'name="map_number" form="import-form"' in page
    assert '<option value="N° facture" selected>' in page  # the first guess
    assert count(session, Entry) == 0

    mapping = {"map_account": "Code client", "map_number": "N° facture", "map_kind": "Type",
               "map_issue_date": "Date facture", "map_due_date": "Date d'échéance", "map_amount": "Montant TTC",
               "map_open_amount": ""}
    data = {"kind": "entries", "action": "import", "file": (io.BytesIO(content), "export.csv"), **mapping}
    done = finance_client.post("/imports/", data=data, content_type="multipart/form-data")
    assert done.status_code == 200, done.get_data(as_text=True)
    assert count(session, Entry) == 1

    again = upload(finance_client, "entries", content.replace(b"FA-9", b"FA-10"), "export.csv")
    assert again.status_code == 200 and "remembered from the last import" in again.get_data(as_text=True)
    assert count(session, Entry) == 2
