"""Disputes in the browser's requests: opened from ticked entries of the account status, worked on
their page (notes and files, status, owner, resolution, the credit note), listed on /disputes; the
balances show what is disputed inside their totals."""
from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from domain.models import Customer, Dispute, Entry

HTMX = {"HX-Request": "true"}


@pytest.fixture
def alpha(session):
    customer = Customer(account="C1", name="Alpha", entries=[
        Entry(number=f"F-{n}", kind="invoice", issue_date=date(2026, 3, n), due_date=date(2026, 4, n),
              amount_cents=10000 * n, open_cents=10000 * n) for n in (1, 2, 3)])
    session.add(customer)
    session.commit()
    return customer


def entry_ids(session, *numbers):
    return [session.scalar(select(Entry.id).where(Entry.number == number)) for number in numbers]


def open_one(client, session, *numbers, reason="not_received", **fields):
    data = {"entry": entry_ids(session, *numbers), "reason": reason, **fields}
    return client.post("/customers/C1/disputes", data=data, headers=HTMX)


def dispute(session) -> Dispute:
    session.expire_all()
    return session.scalar(select(Dispute))


def test_a_dispute_opened_from_ticked_entries_stops_their_reminders(finance_client, session, alpha, users):
    dialog = finance_client.get("/customers/C1/disputes/new", query_string={"entry": entry_ids(session, "F-1", "F-2")},
                                headers=HTMX).get_data(as_text=True)
    assert "Reminders stop at once for F-1, F-2 (€300.00)" in dialog and 'name="reason"' in dialog

    opened = open_one(finance_client, session, "F-1", "F-2", note="Never received", owner=str(users["finance"].id))
    assert opened.status_code == 200 and "Dispute #1 opened" in opened.get_data(as_text=True)
    assert opened.headers["HX-Trigger"] == "accountChanged, entriesChanged"
    assert [e.disputed for e in session.scalars(select(Entry).order_by(Entry.number))] == [True, True, False]

    page = finance_client.get("/customers/C1").get_data(as_text=True)
    assert '#triangle-alert"></use></svg> 2 disputed: €300.00 of the total' in page
    panel = finance_client.get("/customers/C1/disputes").get_data(as_text=True)
    assert 'href="/disputes/1"' in panel and "Invoice not received" in panel
    balances = finance_client.get("/").get_data(as_text=True)
    assert '#triangle-alert"></use></svg> of which disputed €300.00' in balances


def test_opening_without_entries_or_reason_says_what_is_missing(finance_client, session, alpha):
    assert "Tick the entries" in finance_client.get("/customers/C1/disputes/new", headers=HTMX).get_data(as_text=True)
    refused = finance_client.post("/customers/C1/disputes", data={"entry": entry_ids(session, "F-1")})
    assert refused.status_code == 400 and "Choose why the customer disputes" in refused.get_data(as_text=True)
    assert dispute(session) is None


def test_notes_with_files_status_and_owner_on_the_dispute_page(finance_client, session, alpha, users):
    open_one(finance_client, session, "F-1")
    noted = finance_client.post("/disputes/1/notes", data={"text": "Proof of delivery",
                                                          "file": (io.BytesIO(b"%PDF-1.4\n%%EOF"), "pod.pdf")},
                                content_type="multipart/form-data", headers=HTMX)
    assert noted.status_code == 200 and "Proof of delivery" in noted.get_data(as_text=True)
    event = dispute(session).events[-1]
    download = finance_client.get(f"/disputes/1/files/{event.id}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4\n%%EOF"
    assert download.mimetype == "application/pdf" and "attachment" in download.headers["Content-Disposition"]
    refused = finance_client.post("/disputes/1/notes", data={"file": (io.BytesIO(b"MZ\x90"), "x.exe")},
                                  content_type="multipart/form-data")
    assert refused.status_code == 400 and "x.exe is not a PDF, PNG or JPEG file" in refused.get_data(as_text=True)

    saved = finance_client.post("/disputes/1/status", data={"status": "waiting_customer",
                                                             "owner": str(users["admin"].id),
                                                             "follow_up_on": "2026-06-30"})
    assert saved.status_code == 302
    found = dispute(session)
    assert (found.status, found.owner_id, found.follow_up_on) == ("waiting_customer", users["admin"].id,
                                                                 date(2026, 6, 30))
    timeline = finance_client.get("/disputes/1").get_data(as_text=True)
    assert "Open → Waiting for the customer" in timeline and "Assigned to Admin" in timeline


def test_resolving_not_justified_resumes_the_reminders_and_offers_to_write(finance_client, session, alpha):
    open_one(finance_client, session, "F-1")
    resolved = finance_client.post("/disputes/1/resolve", data={"outcome": "not_justified", "note": "As quoted"},
                                   headers=HTMX)
    page = resolved.get_data(as_text=True)
    assert resolved.status_code == 200 and "Resolved: not justified; reminders resume for F-1. As quoted" in page
    assert "/reminders/compose?entry=" in page
    assert not session.scalar(select(Entry.disputed).where(Entry.number == "F-1"))
    again = finance_client.post("/disputes/1/resolve", data={"outcome": "paid"})
    assert again.status_code == 400 and "is resolved" in again.get_data(as_text=True)


def test_a_justified_dispute_records_its_credit_note(finance_client, session, alpha):
    open_one(finance_client, session, "F-2", reason="wrong_amount")
    waiting = finance_client.post("/disputes/1/resolve", data={"outcome": "justified", "credit_note": "50,00"},
                                  headers=HTMX).get_data(as_text=True)
    assert "credit note of €50.00 to be issued" in waiting and 'data-testid="credit-note-form"' in waiting
    recorded = finance_client.post("/disputes/1/credit-note", data={"number": "AV-9", "issue_date": "2026-06-10",
                                                                     "amount": "50.00"}, headers=HTMX)
    assert recorded.status_code == 200, recorded.get_data(as_text=True)
    session.expire_all()
    f2 = session.scalar(select(Entry).where(Entry.number == "F-2"))
    assert (f2.open_cents, f2.disputed, dispute(session).status) == (15000, False, "resolved")


def test_the_disputes_list_filters_and_pages(finance_client, session, alpha, users):
    open_one(finance_client, session, "F-1")
    open_one(finance_client, session, "F-2", reason="duplicate")
    page = finance_client.get("/disputes").get_data(as_text=True)
    assert 'data-dispute="1"' in page and 'data-dispute="2"' in page and "€100.00" in page
    only = finance_client.get("/disputes?reason=duplicate").get_data(as_text=True)
    assert 'data-dispute="2"' in only and 'data-dispute="1"' not in only
    assert finance_client.get("/disputes?page=9").headers["Location"].endswith("/disputes?page=1")


def test_support_reads_disputes_but_changes_nothing(support_client, session, alpha, users):
    from domain.ledger.disputes import open_dispute

    open_dispute(session, users["finance"], alpha, entry_ids(session, "F-1"), "duplicate")
    session.commit()
    assert support_client.get("/disputes/1").status_code == 200
    assert support_client.post("/disputes/1/resolve", data={"outcome": "paid"}).status_code == 403
    assert support_client.post("/customers/C1/disputes", data={"entry": entry_ids(session, "F-2"),
                                                               "reason": "duplicate"}).status_code == 403


def test_the_filtered_disputes_export_to_excel(finance_client, session, alpha, run_jobs):
    import re

    from openpyxl import load_workbook

    open_one(finance_client, session, "F-1", note="Never received")
    open_one(finance_client, session, "F-2", "F-3", reason="duplicate")
    queued = finance_client.post("/disputes/export", data={"reason": "duplicate"}, headers=HTMX).get_data(as_text=True)
    assert "Export queued" in queued
    export_id = re.search(r"/exports/(\d+)/status", queued)[1]
    run_jobs()
    download = finance_client.get(f"/exports/{export_id}/download")
    assert download.status_code == 200
    rows = list(load_workbook(io.BytesIO(download.data)).active.iter_rows(values_only=True))
    assert rows[1][:8] == ("Dispute", "Account", "Customer", "Entries", "Currency", "Open amount", "Reason", "Status")
    assert [row[:8] for row in rows[2:]] == [(2, "C1", "Alpha", "F-2, F-3", "EUR", 500, "Duplicate", "Open")]


def test_a_due_dates_row_opens_the_dispute_dialog_of_its_customer(finance_client, session, alpha):
    page = finance_client.get("/due-dates").get_data(as_text=True)
    assert 'aria-label="Open a dispute on F-1"' in page
    dialog = finance_client.get("/disputes/new", query_string={"entry": entry_ids(session, "F-2")},
                                headers=HTMX).get_data(as_text=True)
    assert "Open a dispute — Alpha" in dialog and "Reminders stop at once for F-2 (€200.00)" in dialog
    assert finance_client.get("/disputes/new?entry=999").status_code == 404
