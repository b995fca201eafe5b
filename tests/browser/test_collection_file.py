"""The whole collection-file flow in Chromium, as a finance user: tick entries on the account
status, open the dialog, generate, watch the export status poll until the worker has built the
.zip, hear it from the bell without a reload, download it from the notification, then take a
collection mark off one of the entries again.

The job really runs: RQ's SimpleWorker, in this process's main thread (RQ's time-outs use
SIGALRM, which only the main thread may use), while the browser keeps polling the live server.
"""
from __future__ import annotations

import io
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from tests.browser.support import answer_confirmation, assert_not_reloaded, expect, log_in, plant_reload_marker, t, tn

ACCOUNT = "F010"
CUSTOMER = "Fontaine Traiteur"
ZIP_NAME = f"{CUSTOMER} 2026-06-15.zip"  # the pinned day
BELL_WAIT_MS = 12_000  # the bell polls every 10 s (and at once on exportChanged)


@dataclass(frozen=True)
class Account:
    """Plain values (no ORM objects): the live server writes to these rows during the test."""

    with_invoice_id: int  # INV-F-100: an invoice PDF on disk, and a reminder about it
    without_invoice_id: int  # INV-F-200: neither
    untouched_id: int  # INV-F-300: not ticked
    invoice_pdf: bytes
    finance_id: int


@pytest.fixture(scope="module")
def invoice_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string=f"<h1>Invoice INV-F-100</h1><p>{CUSTOMER}: 1,800.00 EUR due.</p>").write_pdf()


@pytest.fixture
def account(app, session, ledger_builder, users, invoice_pdf) -> Account:
    from domain.models import Attachment, ReminderActivity, ReminderEntry

    customer = ledger_builder.customer(ACCOUNT, CUSTOMER, emails="compta@fontaine.test",
                                       address="12 rue des Halles\n69002 Lyon")
    with_invoice = ledger_builder.entry(customer, 90, "1800.00", level=3, number="INV-F-100")
    without_invoice = ledger_builder.entry(customer, 45, "650.00", level=2, number="INV-F-200")
    untouched = ledger_builder.entry(customer, 5, "120.00", number="INV-F-300")

    storage_name = f"{uuid.uuid4().hex}.pdf"
    folder = Path(app.config["ATTACHMENT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / storage_name).write_bytes(invoice_pdf)
    session.add(Attachment(entry_id=with_invoice.id, filename="INV-F-100.pdf", storage_name=storage_name,
                         content_type="application/pdf", size=len(invoice_pdf)))

    reminder = ReminderActivity(customer_id=customer.id, sent_at=datetime(2026, 5, 20, 9, 30), channel="email",
                                level=3, sender="credit@relance.test", recipient="compta@fontaine.test",
                                subject=f"Third reminder – {CUSTOMER}",
                                body="Dear customer,\n\nInvoice INV-F-100 is still unpaid.\n\nKind regards")
    reminder.covered = [ReminderEntry(entry_id=with_invoice.id, open_cents=with_invoice.open_cents)]
    session.add(reminder)
    seeded = Account(with_invoice.id, without_invoice.id, untouched.id, invoice_pdf, users["finance"].id)
    session.commit()
    session.close()
    return seeded


def unread(count):
    """The bell's accessible name."""
    return tn("Notifications, %(num)d unread", "Notifications, %(num)d unread", count)


def fresh(session, model, id_):
    """The row as the database has it now (a new transaction sees the live server's commits)."""
    session.rollback()
    session.expire_all()
    return session.get(model, id_)


def test_finance_makes_a_collection_file_downloads_it_from_the_bell_and_removes_a_mark(
        page, account, session, run_queued_jobs, tmp_path):
    from openpyxl import load_workbook

    from domain.models import AuditEvent, CollectionCase, Entry, Export, Notification

    log_in(page, "finance@relance.test")
    page.goto(f"/customers/{ACCOUNT}")
    bell = page.get_by_test_id("bell")
    expect(bell).to_have_attribute("aria-label", unread(0))
    expect(bell.locator(".bell-count")).to_be_hidden()
    plant_reload_marker(page)

    # Tick two of the three entries and open the dialog.
    page.get_by_label(t("Select %(number)s", number="INV-F-100")).check()
    page.get_by_label(t("Select %(number)s", number="INV-F-200")).check()
    page.get_by_role("button", name=t("Collection file"), exact=True).click()

    dialog = page.get_by_role("dialog", name=t("Collection file — %(name)s", name=CUSTOMER))
    expect(dialog).to_be_visible()
    rows = dialog.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("INV-F-100")  # by due date, oldest first
    expect(rows.nth(0)).to_contain_text(t("yes"))
    expect(rows.nth(0)).to_contain_text("R3")
    expect(rows.nth(1)).to_contain_text("INV-F-200")
    expect(rows.nth(1)).to_contain_text(t("not available"))
    expect(dialog).not_to_contain_text("INV-F-300")
    expect(dialog.get_by_label(t("Stop reminders for the customer and these entries"))).to_be_checked()
    expect(dialog.get_by_label(t("Mark entries as in collection"))).to_be_checked()

    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.endswith(f"/customers/{ACCOUNT}/collection-file")) as generated:
        dialog.get_by_role("button", name=t("Generate")).click()
    assert generated.value.status == 200
    # Every part of the account status shows the new state at once, the customer's switch included.
    expect(page.get_by_test_id("customer-stop")).to_contain_text(t("Reminders stopped for this customer"))
    expect(page.get_by_test_id("customer-stop")).not_to_contain_text(t("Reminders are active for this customer."))

    status = dialog.get_by_test_id("export-status")
    expect(status).to_contain_text(t("Export queued…"))
    export = fresh(session, Export, int(re.search(r"\d+", status.get_attribute("id")).group()))
    export_id = export.id
    assert (export.kind, export.status, export.user_id) == ("collection_file", "queued", account.finance_id)

    # The status polls by itself (every second) while the export waits for the worker …
    with page.expect_response(lambda r: r.url.endswith(f"/exports/{export_id}/status")) as polled:
        pass
    assert polled.value.status == 200
    # … and the worker builds the file meanwhile.
    run_queued_jobs()
    export = fresh(session, Export, export_id)
    assert export.status == "ready", export.message
    assert export.filename == ZIP_NAME

    link = status.get_by_role("link", name=ZIP_NAME)
    expect(link).to_be_visible()
    expect(status).to_contain_text(t("Ready:"))
    expect(status.locator('use[href$="#circle-check"]')).to_have_count(1)
    expect(link).to_have_attribute("href", f"/exports/{export_id}/download")
    expect(status).not_to_have_attribute("hx-get", re.compile(".*"))  # a final status stops polling

    # The bell hears of it without a reload: the final status sends exportChanged (or the next poll).
    expect(bell.locator(".bell-count")).to_have_text("1", timeout=BELL_WAIT_MS)
    expect(bell.locator(".bell-count")).to_be_visible()
    expect(bell).to_have_attribute("aria-label", unread(1))
    assert_not_reloaded(page)

    # Closing the dialog, the notification opens the download.
    dialog.get_by_role("button", name=t("Close")).click()
    expect(dialog).to_have_count(0)
    bell.click()
    menu = page.get_by_role("dialog", name=t("Notifications"))
    # The notification's sentence is kept as its message and read in the reader's language.
    label = t("Collection file — %(name)s", name=CUSTOMER)
    notification = menu.get_by_role("link", name=re.compile(re.escape(label)))
    expect(notification).to_contain_text(t("Your export “%(label)s” is ready: %(filename)s", label=label,
                                           filename=ZIP_NAME))
    with page.expect_download() as downloading:
        notification.click()
    download = downloading.value
    assert download.failure() is None
    assert download.suggested_filename == ZIP_NAME
    saved = tmp_path / "downloaded.zip"
    download.save_as(saved)
    assert fresh(session, Notification, session.query(Notification.id).filter_by(
        export_id=export_id).scalar()).read_at is not None

    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert sorted(names) == sorted([f"{CUSTOMER} 2026-06-15.xlsx", "invoices/INV-F-100.pdf",
                                        "reminders/2026-05-20 R3 email.pdf"]), names
        assert archive.read("invoices/INV-F-100.pdf") == account.invoice_pdf
        assert archive.read("reminders/2026-05-20 R3 email.pdf").startswith(b"%PDF-")
        workbook = load_workbook(io.BytesIO(archive.read(f"{CUSTOMER} 2026-06-15.xlsx")), read_only=True)
        cells = {str(value) for row in workbook.worksheets[0].iter_rows(values_only=True) for value in row
                 if value is not None}
    assert {"INV-F-100", "INV-F-200", CUSTOMER} <= cells
    assert "INV-F-300" not in cells

    # Back on the account: both ticked entries carry the scale (and stopped reminders), the third neither.
    page.reload()
    marks = {number: page.get_by_role("button", name=t("Remove collection mark from %(number)s", number=number))
             for number in ("INV-F-100", "INV-F-200", "INV-F-300")}
    expect(marks["INV-F-100"]).to_be_visible()
    expect(marks["INV-F-200"]).to_be_visible()
    expect(marks["INV-F-300"]).to_have_count(0)
    row = page.locator(f"#entry-{account.without_invoice_id}")
    expect(row).to_contain_text(t("Stopped"))

    marks["INV-F-200"].click()
    assert answer_confirmation(page) == t(
        "Remove the collection status from %(number)s? The stop-reminders switch stays as it is.", number="INV-F-200")

    expect(row.get_by_role("status")).to_have_text(t("Collection mark removed. The stop-reminders switch is unchanged."))
    expect(marks["INV-F-200"]).to_have_count(0)
    expect(row.locator('.markers use[href$="#scale"]')).to_have_count(0)
    expect(row).to_contain_text(t("Stopped"))
    expect(marks["INV-F-100"]).to_be_visible()
    history = page.get_by_role("region", name=t("History"))
    expect(history.get_by_text(t("Collection mark removed from entry %(number)s", number="INV-F-200"))).to_be_visible()

    entry = fresh(session, Entry, account.without_invoice_id)
    assert not entry.in_collection and entry.reminders_stopped
    assert fresh(session, Entry, account.with_invoice_id).in_collection
    assert not fresh(session, Entry, account.untouched_id).in_collection
    case = session.query(CollectionCase).filter_by(export_id=export_id).one()
    assert case.opened_by_id == account.finance_id
    assert session.query(AuditEvent).filter_by(action="collection.unmarked", entry_id=entry.id).count() == 1
