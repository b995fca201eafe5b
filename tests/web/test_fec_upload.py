"""The FEC on the import page: check shows the report and the control total, import writes, a bad
file or a bad option is a message with nothing written."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from demo.fec import fec_text
from domain.models import Entry


def upload(client, content: bytes, action="check", filename="FEC.txt", **fields):
    data = {"action": action, "file": (io.BytesIO(content), filename), **fields}
    return client.post("/imports/fec", data=data, content_type="multipart/form-data")


def entries(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Entry))


def test_the_import_page_offers_the_fec_and_the_invoice_pdfs(finance_client):
    page = finance_client.get("/imports/").get_data(as_text=True)
    assert 'action="/imports/fec"' in page and "411, 413, 416, 4191" in page
    assert 'href="/attachments/upload"' in page


def test_check_shows_the_report_and_writes_nothing_then_import_writes(finance_client, session):
    checked = upload(finance_client, fec_text(2026, 6).encode("iso-8859-15"))
    page = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert "FEC.txt is ready to import." in page and "ISO-8859-15" in page
    assert "Control total €8,795.00, open total in Relance\n      €9,020.00: a difference of -€225.00" in page
    assert "without an auxiliary account" in page and "Applied oldest-first, the open total would be" in page
    assert entries(session) == 0

    imported = upload(finance_client, fec_text(2026, 6).encode(), action="import", terms_days="45")
    assert imported.status_code == 200 and "Imported FEC.txt" in imported.get_data(as_text=True)
    assert entries(session) == 10


def test_an_htmx_upload_gets_the_report_fragment(finance_client):
    response = finance_client.post("/imports/fec", data={"action": "check", "file": (io.BytesIO(
        fec_text(2026, 6).encode()), "FEC.txt")}, content_type="multipart/form-data", headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="fec-report"' in page and "<html" not in page


def test_bad_files_and_options_are_messages_and_nothing_is_written(finance_client, session):
    for content, fields, message in (
        (b"account,number\nC1,FA-1\n", {}, "is not an FEC file"),
        (fec_text(2026, 6).encode(), {"accounts": "clients"}, "Customer accounts: &#39;clients&#39; is not a list"),
        (fec_text(2026, 6).encode(), {"terms_days": "-4"}, "Payment terms: a number of days from 0 to 365."),
        (fec_text(2026, 6).encode().replace(b"|2400,00|", b"|24OO,00|"), {}, "is not an amount like 1234,56"),
    ):
        response = upload(finance_client, content, action="import", **fields)
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert entries(session) == 0


def test_support_may_not_import_an_fec(support_client, session):
    assert upload(support_client, fec_text(2026, 6).encode(), action="import").status_code == 403
    assert entries(session) == 0
