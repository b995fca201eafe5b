"""Invoice PDFs: attached one by one or from a .zip, stored under a random name, never twice."""
import io
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from domain.attachments import (MAX_ATTACHMENT_BYTES, AttachmentError, AttachmentImportError, attach_file,
                                attachment_path, candidate_numbers, import_attachment_zip, is_pdf)
from domain.models import Attachment, AuditEvent


def minimal_pdf(text: str = "Invoice") -> bytes:
    """A small but valid one-page PDF (catalog, page tree, page, content stream, font, xref)."""
    content = f"BT /F1 12 Tf 72 770 Td ({text}) Tj ET".encode()
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n" % (len(bodies) + 1, xref) + b"%%EOF\n"
    return out


def zip_of(files: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


@pytest.fixture
def directory(app) -> Path:
    return Path(app.config["ATTACHMENT_DIR"])


@pytest.fixture
def ledger(session, ledger_builder):
    acme = ledger_builder.customer("C001", "Acme Industries")
    entries = {number: ledger_builder.entry(acme, 40, "100.00", number=number)
               for number in ("INV-2026-000123", "INV-2026-000124", "INV-12", "INV-1", "F-7")}
    session.commit()
    return entries


def test_the_helper_makes_a_pdf_pypdf_can_read():
    reader = PdfReader(io.BytesIO(minimal_pdf("INV-1")))
    assert len(reader.pages) == 1 and "INV-1" in reader.pages[0].extract_text()
    assert is_pdf(minimal_pdf())


def test_a_pdf_made_by_weasyprint_is_a_pdf():
    from weasyprint import HTML

    assert is_pdf(HTML(string="<h1>Invoice INV-1</h1>").write_pdf())


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04 a Word file", b"%PDF-1.7 cut in the middle of the download",
                                  b"<html>%PDF-1.4 %%EOF</html>"])
def test_what_is_not_a_pdf(data):
    assert not is_pdf(data)


def test_attach_stores_the_file_under_a_random_name_and_records_it(session, ledger, users, directory):
    entry = ledger["INV-1"]
    data = minimal_pdf("INV-1")
    attachment = attach_file(session, entry, "../../etc/Facture INV-1.pdf", data, users["finance"],
                               directory=directory)
    session.commit()

    assert attachment.filename == "Facture INV-1.pdf", "only the last part of the name, as a label"
    assert "INV" not in attachment.storage_name and attachment.storage_name.endswith(".pdf")
    path = attachment_path(directory, attachment)
    assert path.parent == directory and path.read_bytes() == data
    assert attachment.size == len(data) and attachment.content_type == "application/pdf"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "document.attached")).one()
    assert event.entry_id == entry.id and event.actor_id == users["finance"].id
    assert "Facture INV-1.pdf" in event.detail and "INV-1" in event.detail
    assert not list(directory.glob(".partial-*")), "no half-written file is left behind"


def test_the_same_file_on_the_same_entry_is_attached_once(session, ledger, users, directory):
    data = minimal_pdf("INV-1")
    first = attach_file(session, ledger["INV-1"], "a.pdf", data, users["finance"], directory=directory)
    session.commit()
    again = attach_file(session, ledger["INV-1"], "a (copy).pdf", data, users["finance"], directory=directory)
    session.commit()
    assert again.id == first.id
    other_entry = attach_file(session, ledger["INV-12"], "a.pdf", data, users["finance"], directory=directory)
    other_bytes = attach_file(session, ledger["INV-1"], "b.pdf", minimal_pdf("other"), users["finance"],
                                  directory=directory)
    session.commit()
    assert len({first.id, other_entry.id, other_bytes.id}) == 3
    assert len(session.scalars(select(Attachment).where(Attachment.entry_id == ledger["INV-1"].id)).all()) == 2


def test_not_a_pdf_is_refused_with_the_reason(session, ledger, users, directory):
    with pytest.raises(AttachmentError, match="notes.docx is not a PDF file"):
        attach_file(session, ledger["INV-1"], "notes.docx", b"PK\x03\x04...", users["finance"],
                        directory=directory)
    assert session.scalars(select(Attachment)).all() == []


def test_a_file_over_the_limit_is_refused(session, ledger, users, directory):
    huge = minimal_pdf()[:-6] + b" " * MAX_ATTACHMENT_BYTES + b"%%EOF\n"
    with pytest.raises(AttachmentError, match="larger than 20 MB"):
        attach_file(session, ledger["INV-1"], "huge.pdf", huge, users["finance"], directory=directory)


def test_candidate_numbers_are_the_pieces_of_the_name():
    found = candidate_numbers("Facture INV-2026-000123 (copy).pdf")
    assert {"INV-2026-000123", "2026-000123", "000123", "Facture", "copy"} <= found
    assert "Facture INV-2026-000123 (copy).pdf" not in found


# --- .zip imports -------------------------------------------------------------------------

def outcomes(report) -> dict[str, tuple]:
    return {line.name: (line.outcome, line.entry_number, line.reason) for line in report.lines}


def test_zip_import_attaches_what_matches_and_lists_the_rest(session, ledger, users, directory):
    archive = zip_of({
        "Facture INV-2026-000123.pdf": minimal_pdf("123"),
        "scans/inv-2026-000124 (copy).PDF": minimal_pdf("124"),
        "INV-12.pdf": minimal_pdf("12"),
        "Relevé mars.pdf": minimal_pdf("nothing"),
        "F-7.pdf": b"this is a text file, renamed",
        "../../evil INV-1.pdf": minimal_pdf("evil"),
        "__MACOSX/._Facture INV-2026-000123.pdf": b"\x00\x05\x16\x07",
        "scans/": b"",
        ".DS_Store": b"junk",
    })
    report = import_attachment_zip(session, archive, users["finance"], directory=directory, zip_name="march.zip")
    session.commit()

    got = outcomes(report)
    assert got["Facture INV-2026-000123.pdf"] == ("attached", "INV-2026-000123", "")
    assert got["scans/inv-2026-000124 (copy).PDF"] == ("attached", "INV-2026-000124", ""), "case does not matter"
    assert got["INV-12.pdf"] == ("attached", "INV-12", ""), "the longest number wins over INV-1"
    assert got["Relevé mars.pdf"] == ("skipped", None, "no entry number in its name")
    assert got["F-7.pdf"] == ("skipped", None, "not a PDF file")
    assert got["../../evil INV-1.pdf"][0] == "skipped" and "outside" in got["../../evil INV-1.pdf"][2]
    assert len(report.lines) == 6, "folders and __MACOSX / .DS_Store junk are not files anyone sent"
    assert report.ok and report.summary() == "march.zip: 3 attached, 0 already attached, 3 skipped."

    attachments = session.scalars(select(Attachment).order_by(Attachment.id)).all()
    assert [d.entry.number for d in attachments] == ["INV-2026-000123", "INV-2026-000124", "INV-12"]
    assert attachments[1].filename == "inv-2026-000124 (copy).PDF"
    assert sorted(p.name for p in directory.iterdir()) == sorted(d.storage_name for d in attachments), \
        "nothing written outside the attachment directory or under the archive's names"
    assert not (directory.parent / "evil INV-1.pdf").exists()
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "document.attached")).all()) == 3

    again = import_attachment_zip(session, zip_of({"Facture INV-2026-000123.pdf": minimal_pdf("123")}),
                                users["finance"], directory=directory)
    assert [line.outcome for line in again.lines] == ["already attached"]
    assert again.ok, "importing the same archive twice is not a failure"


def test_a_name_with_two_numbers_of_the_same_length_is_ambiguous(session, ledger, users, directory):
    report = import_attachment_zip(session, zip_of({"INV-2026-000123 INV-2026-000124.pdf": minimal_pdf()}),
                                 users["finance"], directory=directory)
    [line] = report.lines
    assert line.outcome == "skipped" and "several entry numbers" in line.reason
    assert not report.ok


def test_a_member_larger_than_the_limit_is_not_read(session, ledger, users, directory, monkeypatch):
    import domain.attachments

    monkeypatch.setattr(domain.attachments, "MAX_ATTACHMENT_BYTES", 1000)
    big = minimal_pdf()[:-6] + b" " * 5000 + b"%%EOF\n"
    report = import_attachment_zip(session, zip_of({"INV-1.pdf": big}), users["finance"], directory=directory)
    assert [line.outcome for line in report.lines] == ["skipped"]
    assert "larger than" in report.lines[0].reason


def test_a_file_that_is_not_a_zip_is_refused(session, ledger, users, directory):
    with pytest.raises(AttachmentImportError, match="not a .zip"):
        import_attachment_zip(session, io.BytesIO(minimal_pdf()), users["finance"], directory=directory,
                            zip_name="INV-1.pdf")


# --- the command line ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["attachments", "documents"])  # "documents": its former name, kept for scripts
def test_cli_attaches_and_exits_0(app, session, ledger, tmp_path, directory, name):
    path = tmp_path / "invoices.zip"
    path.write_bytes(zip_of({"INV-1.pdf": minimal_pdf(), "unknown.pdf": minimal_pdf("x")}).getvalue())
    result = app.test_cli_runner().invoke(args=["import", name, str(path)])
    assert result.exit_code == 0, result.output
    assert "INV-1.pdf: attached to INV-1" in result.output
    assert "unknown.pdf: skipped, no entry number in its name" in result.output
    assert "invoices.zip: 1 attached, 0 already attached, 1 skipped." in result.output
    session.expire_all()
    [attachment] = session.scalars(select(Attachment)).all()
    assert attachment.entry.number == "INV-1"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "document.attached")).one()
    assert event.actor_id is None


def test_cli_exits_1_when_nothing_is_attached(app, session, ledger, tmp_path):
    path = tmp_path / "invoices.zip"
    path.write_bytes(zip_of({"unknown.pdf": minimal_pdf(), "INV-1.pdf": b"not a pdf"}).getvalue())
    result = app.test_cli_runner().invoke(args=["import", "attachments", str(path)])
    assert result.exit_code == 1
    assert "INV-1.pdf: skipped, not a PDF file" in result.output
    assert session.scalars(select(Attachment)).all() == []


def test_cli_refuses_a_file_that_is_not_a_zip(app, ledger, tmp_path):
    path = tmp_path / "invoices.zip"
    path.write_text("hello")
    result = app.test_cli_runner().invoke(args=["import", "attachments", str(path)])
    assert result.exit_code == 1 and "not a .zip archive" in result.output
    missing = app.test_cli_runner().invoke(args=["import", "attachments", str(tmp_path / "missing.zip")])
    assert missing.exit_code == 1 and "Cannot read" in missing.output
