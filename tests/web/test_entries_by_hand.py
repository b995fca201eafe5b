"""Entries by hand on the account status: an invoice added (its due date from the customer's payment
terms), an amount changed with before → after and the open amount moved by as much, an entry
cancelled (kept, struck through, out of every balance); wrong input said next to the field, nothing
saved."""
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from domain.ledger import receipts, statements
from domain.models import AuditEvent, CustomerSummary, Entry

HTMX = {"HX-Request": "true"}


@pytest.fixture
def bistro(session, ledger_builder):
    customer = ledger_builder.customer("C100", "Bistro du Port", payment_terms_days=45)
    ledger_builder.entry(customer, 10, "500.00", number="INV-1")
    session.commit()
    return customer


def balance(session, customer) -> int:
    session.expire_all()
    summary = session.get(CustomerSummary, (customer.id, "EUR"))
    return summary.total_cents if summary else 0  # owing nothing: no summary row


def test_an_invoice_is_added_due_after_the_customers_terms(finance_client, session, bistro):
    dialog = finance_client.get("/customers/C100/entries/new", headers=HTMX).get_data(as_text=True)
    assert 'value="2026-06-15"' in dialog and "45 days" in dialog
    response = finance_client.post("/customers/C100/entries/new", data={
        "number": "INV-2", "kind": "invoice", "issue_date": "2026-06-01", "due_date": "", "amount": "1 250,50",
        "currency": "eur"}, headers=HTMX)
    assert "Invoice INV-2 added, due 16/07/2026" in response.get_data(as_text=True)
    assert "entriesChanged" in response.headers["HX-Trigger"]
    entry = session.scalar(select(Entry).where(Entry.number == "INV-2"))
    assert (entry.amount_cents, entry.open_cents, entry.currency, entry.is_open) == (125050, 125050, "EUR", True)
    assert balance(session, bistro) == 175050
    assert session.scalar(select(AuditEvent.detail).where(AuditEvent.entry_id == entry.id)) == \
        "Invoice INV-2 added: €1,250.50, issued 01/06/2026, due 16/07/2026."


@pytest.mark.parametrize("field, value, message", [
    ("number", "INV-1", "An entry numbered INV-1 already exists"),
    ("amount", "12,345", "could mean thousands or decimals"),
    ("amount", "0", "must be more than zero"),
    ("issue_date", "", "required"),
    ("due_date", "2026-05-01", "before the issue date"),
    ("currency", "euro", "is not a currency code"),
])
def test_a_wrong_entry_is_refused_field_by_field(finance_client, session, bistro, field, value, message):
    data = {"number": "INV-2", "kind": "invoice", "issue_date": "2026-06-01", "amount": "100", "currency": "EUR",
            field: value}
    html = finance_client.post("/customers/C100/entries/new", data=data, headers=HTMX).get_data(as_text=True)
    assert message in html and "nothing was saved" in html
    assert session.scalar(select(func.count()).select_from(Entry)) == 1


def test_an_amount_change_moves_the_open_amount_and_says_before_and_after(finance_client, session, bistro, users):
    entry = session.scalar(select(Entry))
    receipts.record(session, users["finance"], bistro, receipts.ReceiptForm(
        received_on=bistro.entries[0].issue_date, amount_cents=20000, method="transfer", allocations={entry.id: 20000}))
    session.commit()
    too_low = finance_client.post(f"/entries/{entry.id}/edit", data={
        "issue_date": entry.issue_date.isoformat(), "due_date": entry.due_date.isoformat(), "amount": "150",
        "currency": "EUR"}, headers=HTMX).get_data(as_text=True)
    assert "€200.00 of INV-1 is already paid: the amount cannot be less" in too_low
    response = finance_client.post(f"/entries/{entry.id}/edit", data={
        "issue_date": entry.issue_date.isoformat(), "due_date": "2026-06-30", "amount": "600", "currency": "EUR"},
        headers=HTMX)
    assert "INV-1 changed" in response.get_data(as_text=True)
    session.expire_all()
    entry = session.get(Entry, entry.id)
    assert (entry.amount_cents, entry.open_cents) == (60000, 40000)
    detail = session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "entry.changed"))
    assert detail == ("INV-1 changed: Due date: 05/06/2026 → 30/06/2026; "
                      "Amount: €500.00 → €600.00 (open amount €300.00 → €400.00).")


def test_a_cancelled_entry_leaves_every_balance_and_stays_listed(finance_client, session, bistro):
    entry = session.scalar(select(Entry))
    refused = finance_client.post(f"/entries/{entry.id}/cancel", data={"reason": ""}, headers=HTMX)
    assert "Say why the entry is cancelled" in refused.get_data(as_text=True)
    response = finance_client.post(f"/entries/{entry.id}/cancel", data={"reason": "Issued twice"}, headers=HTMX)
    assert "INV-1 cancelled" in response.get_data(as_text=True)
    assert balance(session, bistro) == 0
    entry = session.get(Entry, entry.id)
    assert entry.cancelled_at is not None and not entry.is_open and entry.open_cents == 0
    paid = finance_client.get("/customers/C100/paid", headers=HTMX).get_data(as_text=True)
    assert 'data-number="INV-1"' in paid and "cancelled" in paid and "<s>" in paid
    entry.cancelled_at = datetime(2026, 6, 15, 10, 0)  # today (the clock pins only the day)
    session.commit()
    found = statements.statement(session, bistro, entry.issue_date, date(2026, 6, 30), "EUR")
    assert [(line.kind, line.balance_cents) for line in found.lines] == [("invoice", 50000), ("cancelled", 0)]
    again = finance_client.post(f"/entries/{entry.id}/cancel", data={"reason": "x"}, headers=HTMX)
    assert "already cancelled" in again.get_data(as_text=True)
    changed = finance_client.post(f"/entries/{entry.id}/edit", data={
        "issue_date": entry.issue_date.isoformat(), "due_date": entry.due_date.isoformat(), "amount": "1",
        "currency": "EUR"}, headers=HTMX)
    assert "is cancelled: it cannot be changed" in changed.get_data(as_text=True)


def test_an_entry_with_payments_is_not_cancelled(finance_client, session, bistro, users):
    entry = session.scalar(select(Entry))
    receipts.record(session, users["finance"], bistro, receipts.ReceiptForm(
        received_on=entry.issue_date, amount_cents=100, method="cash", allocations={entry.id: 100}))
    session.commit()
    html = finance_client.post(f"/entries/{entry.id}/cancel", data={"reason": "oops"}, headers=HTMX).get_data(as_text=True)
    assert "has payments recorded: reverse them first" in html
    assert balance(session, bistro) == 49900


def test_support_cannot_add_or_change_entries(support_client, session, bistro):
    entry = session.scalar(select(Entry))
    assert support_client.get("/customers/C100/entries/new", headers=HTMX).status_code == 403
    assert support_client.post(f"/entries/{entry.id}/cancel", data={"reason": "x"}, headers=HTMX).status_code == 403


def test_a_file_that_still_lists_a_cancelled_entry_does_not_bring_it_back(finance_client, session, bistro):
    import io

    from domain.imports.receivables import import_file

    entry = session.scalar(select(Entry))
    finance_client.post(f"/entries/{entry.id}/cancel", data={"reason": "Issued twice"}, headers=HTMX)
    csv = ("account,number,kind,issue_date,due_date,amount,open_amount\n"
           f"C100,INV-1,invoice,{entry.issue_date},{entry.due_date},500.00,500.00\n").encode()
    report = import_file(session, "entries", io.BytesIO(csv), "entries.csv")
    session.commit()
    assert report.ok and (report.updated, report.unchanged) == (0, 1)
    assert balance(session, bistro) == 0 and session.get(Entry, entry.id).cancelled_at is not None


def test_the_invoice_pdf_goes_in_with_the_invoice_or_nothing_does(finance_client, session, bistro, app):
    import io

    from domain.models import Attachment

    data = {"number": "INV-7", "kind": "invoice", "issue_date": "2026-06-01", "amount": "70", "currency": "EUR"}
    refused = finance_client.post("/customers/C100/entries/new", headers=HTMX, content_type="multipart/form-data",
                                  data={**data, "pdf": (io.BytesIO(b"MZ not a pdf"), "INV-7.pdf")})
    assert "INV-7.pdf is not a PDF file" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Entry)) == 1, "no invoice without its PDF"
    added = finance_client.post("/customers/C100/entries/new", headers=HTMX, content_type="multipart/form-data",
                                data={**data, "pdf": (io.BytesIO(b"%PDF-1.7 invoice\n%%EOF\n"), "INV-7.pdf")})
    assert "Invoice INV-7 added with its PDF" in added.get_data(as_text=True)
    (attachment,) = session.scalars(select(Attachment)).all()
    assert attachment.entry.number == "INV-7" and attachment.filename == "INV-7.pdf"
