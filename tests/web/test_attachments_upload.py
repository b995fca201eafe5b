"""Invoice PDFs through the web: attach one from the entry's row, upload a .zip, download one."""
import io

import pytest
from sqlalchemy import select

from domain.models import Attachment, AuditEvent
from tests.unit.test_attachments import minimal_pdf, zip_of


@pytest.fixture
def ledger(session, ledger_builder):
    acme = ledger_builder.customer("C001", "Acme Industries")
    entries = {number: ledger_builder.entry(acme, 40, "100.00", number=number)
               for number in ("INV-2026-000123", "INV-2026-000124")}
    session.commit()
    return entries


def attach(client, entry, content: bytes, filename: str, **headers):
    return client.post(f"/entries/{entry.id}/attachments", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data", headers=headers)


def attachments(session):
    session.expire_all()
    return session.scalars(select(Attachment).order_by(Attachment.id)).all()


def test_the_entry_row_offers_the_attach_control_to_finance_only(finance_client, ledger, client):
    html = finance_client.get("/customers/C001").get_data(as_text=True)
    entry = ledger["INV-2026-000123"]
    assert f'hx-post="/entries/{entry.id}/attachments" hx-encoding="multipart/form-data"' in html
    assert 'type="file" name="file" accept=".pdf,application/pdf"' in html
    client.post("/logout")
    from tests.conftest import login

    login(client, "support@relance.test")
    assert "/attachments\" hx-encoding" not in client.get("/customers/C001").get_data(as_text=True)


def test_attach_a_pdf_answers_the_row_and_records_it(finance_client, session, ledger, users):
    entry = ledger["INV-2026-000123"]
    response = attach(finance_client, entry, minimal_pdf("INV-2026-000123"), "Facture INV-2026-000123.pdf",
                      **{"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="entry-{entry.id}"')
    assert "Facture INV-2026-000123.pdf attached." in html
    assert 'role="img" aria-label="Invoice PDF attached: Facture INV-2026-000123.pdf"' in html and "#file-text" in html
    assert response.headers["HX-Trigger"] == "accountChanged", "the history panel refreshes"
    [attachment] = attachments(session)
    assert attachment.entry_id == entry.id and attachment.filename == "Facture INV-2026-000123.pdf"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "document.attached")).one()
    assert event.actor_id == users["finance"].id

    again = attach(finance_client, entry, minimal_pdf("INV-2026-000123"), "copy.pdf", **{"HX-Request": "true"})
    assert "was already attached" in again.get_data(as_text=True)
    assert len(attachments(session)) == 1

    download = finance_client.get(f"/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == minimal_pdf("INV-2026-000123")
    assert download.mimetype == "application/pdf" and "attachment" in download.headers["Content-Disposition"]


def test_not_a_pdf_is_refused_with_a_message(finance_client, session, ledger):
    response = attach(finance_client, ledger["INV-2026-000123"], b"PK\x03\x04 word", "invoice.docx",
                      **{"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, "htmx swaps only 2xx: the row carries the message"
    assert "invoice.docx is not a PDF file." in html and 'role="alert"' in html
    assert "HX-Trigger" not in response.headers
    assert attachments(session) == []


def test_attach_without_htmx_goes_back_to_the_account(finance_client, session, ledger):
    entry = ledger["INV-2026-000124"]
    response = attach(finance_client, entry, minimal_pdf(), "INV-2026-000124.pdf")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/customers/C001#entry-{entry.id}")
    assert len(attachments(session)) == 1


def test_support_cannot_attach(support_client, session, ledger):
    assert attach(support_client, ledger["INV-2026-000123"], minimal_pdf(), "a.pdf").status_code == 403
    assert support_client.get("/attachments/upload").status_code == 403
    assert attachments(session) == []


def test_an_unknown_document_is_a_404(finance_client, ledger):
    assert finance_client.get("/attachments/999").status_code == 404


# --- the .zip upload page -----------------------------------------------------------------

def upload(client, content: bytes, filename: str = "invoices.zip", **headers):
    return client.post("/attachments/upload", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data", headers=headers)


def test_the_upload_page(finance_client, ledger):
    html = finance_client.get("/attachments/upload").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'hx-encoding="multipart/form-data"' in html
    assert 'type="file" name="file" accept=".zip' in html and 'name="csrf_token"' in html


def test_a_zip_upload_reports_each_file(finance_client, session, ledger):
    archive = zip_of({
        "Facture INV-2026-000123.pdf": minimal_pdf("123"),
        "INV-2026-000124 (copy).pdf": minimal_pdf("124"),
        "scan.pdf": minimal_pdf("?"),
        "INV-2026-000123.txt": b"hello",
        "../INV-2026-000124.pdf": minimal_pdf("evil"),
    }).getvalue()
    response = upload(finance_client, archive, **{"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "invoices.zip:</strong>" in html and "2 attached, 0 already attached, 3 skipped." in html
    for text in ("Facture INV-2026-000123.pdf", "no entry number in its name", "not a PDF file",
                 "its path leads outside the archive"):
        assert text in html
    assert [d.entry.number for d in attachments(session)] == ["INV-2026-000123", "INV-2026-000124"]


def test_a_zip_with_nothing_attached_is_a_400_page_without_htmx(finance_client, session, ledger):
    response = upload(finance_client, zip_of({"scan.pdf": minimal_pdf()}).getvalue())
    assert response.status_code == 400 and "<html" in response.get_data(as_text=True)
    assert "0 attached" in response.get_data(as_text=True)


def test_a_file_that_is_not_a_zip_says_so(finance_client, session, ledger):
    response = upload(finance_client, b"not a zip", "invoices.zip", **{"HX-Request": "true"})
    assert response.status_code == 200
    assert "invoices.zip is not a .zip archive." in response.get_data(as_text=True)
    empty = upload(finance_client, b"", "", **{"HX-Request": "true"})
    assert "Choose a .zip file" in empty.get_data(as_text=True)
