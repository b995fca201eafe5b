"""Recording a payment by hand on the account status: a cheque spread over two invoices the oldest
first, the open amounts and the balance move, the history says before → after; a double click is
one payment; an overpayment or a wrong allocation is refused with everything typed kept and nothing
written; a cheque returned unpaid is reversed with a reason and the invoices owe it again."""
import io
import re

import pytest
from sqlalchemy import func, select

from domain.models import AuditEvent, CustomerSummary, Entry, Payment, Receipt

HTMX = {"HX-Request": "true"}


@pytest.fixture
def bistro(session, ledger_builder):
    customer = ledger_builder.customer("C100", "Bistro du Port", emails="compta@bistro.test")
    older = ledger_builder.entry(customer, 40, "1200.00", number="INV-1")
    newer = ledger_builder.entry(customer, 10, "800.00", number="INV-2")
    ledger_builder.entry(customer, -20, "300.00", number="INV-3")  # not due yet
    other = ledger_builder.customer("C200", "Garage Martin")
    ledger_builder.entry(other, 5, "99.00", number="INV-9")
    session.commit()
    return {"customer": customer, "older": older, "newer": newer}


def dialog(client, *entries) -> str:
    response = client.get("/customers/C100/payments/new", query_string={"entry": [e.id for e in entries]},
                          headers=HTMX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def field(html: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', html.replace("\n", " ")).group(1)


def record(client, amount, allocation: dict, *, method="cheque", reference="CHQ-4411", day="2026-06-14",
           dedupe_key="form-1"):
    data = {"amount": amount, "received_on": day, "method": method, "reference": reference, "dedupe_key": dedupe_key}
    data.update({f"alloc-{entry.id}": value for entry, value in allocation.items()})
    return client.post("/customers/C100/payments", data=data, headers=HTMX)


def open_amounts(session, *entries):
    session.expire_all()
    return [session.get(Entry, e.id).open_cents for e in entries]


def test_a_cheque_over_two_invoices_is_proposed_oldest_first_and_moves_every_balance(finance_client, session, bistro):
    older, newer = bistro["older"], bistro["newer"]
    html = dialog(finance_client, older, newer)
    assert field(html, "amount") == "2000.00", "the ticked invoices' open total"
    assert (field(html, f"alloc-{older.id}"), field(html, f"alloc-{newer.id}")) == ("1200.00", "800.00")

    proposal = finance_client.post("/customers/C100/payments/proposal", data={"amount": "1 500,00"},
                                   headers=HTMX).get_data(as_text=True)
    assert (field(proposal, f"alloc-{older.id}"), field(proposal, f"alloc-{newer.id}")) == ("1200.00", "300.00")

    response = record(finance_client, "1500", {older: "1200.00", newer: "300,00"})
    done = response.get_data(as_text=True)
    assert "Payment recorded" in done and "INV-1" in done and "INV-2" in done
    assert "accountChanged" in response.headers["HX-Trigger"] and "entriesChanged" in response.headers["HX-Trigger"]
    assert open_amounts(session, older, newer) == [0, 50000]
    assert session.get(Entry, older.id).is_open is False
    summary = session.get(CustomerSummary, (bistro["customer"].id, "EUR"))
    assert summary.total_cents == 80000, "what is left: 500.00 of INV-2 and INV-3's 300.00"

    (receipt,) = session.scalars(select(Receipt)).all()
    assert (receipt.amount_cents, receipt.method, receipt.reference) == (150000, "cheque", "CHQ-4411")
    assert sorted((p.entry.number, p.amount_cents) for p in receipt.payments) == [("INV-1", 120000), ("INV-2", 30000)]
    history = [e.detail for e in session.scalars(select(AuditEvent).where(AuditEvent.entry_id == newer.id))]
    assert history == ["Payment recorded: €300.00 of €1,500.00 by cheque CHQ-4411 received 14/06/2026. "
                       "Open amount €800.00 → €500.00."]
    page = finance_client.get("/customers/C100").get_data(as_text=True)
    assert 'data-testid="payments"' in page and "CHQ-4411" in page
    paid = finance_client.get("/customers/C100/paid", headers=HTMX).get_data(as_text=True)
    assert 'data-number="INV-1"' in paid and "€1,200.00 cheque CHQ-4411" in paid
    assert 'data-number="INV-2"' not in paid, "still €500.00 open"


def test_the_same_form_sent_twice_is_one_payment(finance_client, session, bistro):
    older = bistro["older"]
    for _ in range(2):
        assert record(finance_client, "200", {older: "200"}).status_code == 200
    assert session.scalar(select(func.count()).select_from(Receipt)) == 1
    assert open_amounts(session, older) == [100000]


@pytest.mark.parametrize("amount, allocation, message", [
    ("2500", {"older": "1200", "newer": "800"}, "The payment is €200.00 more than everything this customer owes"),
    ("1500", {"older": "1200"}, "€300.00 of the payment is not allocated"),
    ("1000", {"older": "1300"}, "INV-1: €1,300.00 is more than its open amount €1,200.00"),
    ("500", {"older": "300", "newer": "300"}, "The invoices add up to €600.00, more than the payment (€500.00)"),
    ("1,234", {"older": "1234"}, "could mean thousands or decimals"),
    ("0", {}, "The amount must be more than zero"),
])
def test_a_wrong_payment_is_refused_with_what_was_typed_and_nothing_written(finance_client, session, bistro, amount,
                                                                           allocation, message):
    typed = {bistro[key]: value for key, value in allocation.items()}
    html = record(finance_client, amount, typed).get_data(as_text=True)
    assert message in html, html
    assert 'role="alert"' in html and f'value="{amount}"' in html, "the amount typed is kept"
    for entry, value in typed.items():
        assert field(html, f"alloc-{entry.id}") == value, "each line typed is kept"
    assert session.scalar(select(func.count()).select_from(Payment)) == 0
    assert open_amounts(session, bistro["older"], bistro["newer"]) == [120000, 80000]


def test_a_payment_dated_tomorrow_or_without_method_is_refused(finance_client, session, bistro):
    assert "is in the future" in record(finance_client, "100", {bistro["older"]: "100"},
                                        day="2026-06-16").get_data(as_text=True)
    assert "Choose how it was paid" in record(finance_client, "100", {bistro["older"]: "100"},
                                              method="").get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Receipt)) == 0


def test_a_cheque_returned_unpaid_is_reversed_and_the_invoices_owe_it_again(finance_client, session, bistro):
    older, newer = bistro["older"], bistro["newer"]
    record(finance_client, "1500", {older: "1200", newer: "300"})
    receipt = session.scalar(select(Receipt))

    refused = finance_client.post(f"/customers/C100/payments/{receipt.id}/reverse", data={"reason": " "},
                                  headers=HTMX).get_data(as_text=True)
    assert "Say why the payment is reversed" in refused and open_amounts(session, older, newer) == [0, 50000]

    response = finance_client.post(f"/customers/C100/payments/{receipt.id}/reverse",
                                   data={"reason": "Cheque returned unpaid"}, headers=HTMX)
    assert "Payment reversed" in response.get_data(as_text=True)
    assert open_amounts(session, older, newer) == [120000, 80000]
    assert session.get(Entry, older.id).is_open is True
    assert all(p.reversed_at is not None for p in session.scalars(select(Payment)))
    assert 'data-number="INV-1"' not in finance_client.get("/customers/C100/paid").get_data(as_text=True)
    reasons = {e.reason for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "payment.reversed"))}
    assert reasons == {"Cheque returned unpaid"}
    card = finance_client.get("/customers/C100/payments", headers=HTMX).get_data(as_text=True)
    assert "Reversed" in card and "Cheque returned unpaid" in card and "<s>" in card
    again = finance_client.post(f"/customers/C100/payments/{receipt.id}/reverse",
                                data={"reason": "twice"}, headers=HTMX).get_data(as_text=True)
    assert "already reversed" in again and open_amounts(session, older) == [120000]


def test_a_reversed_payment_stays_reversed_when_the_erp_file_is_imported_again(finance_client, session, bistro, app):
    from domain.imports.receivables import import_file

    older = bistro["older"]
    record(finance_client, "1200", {older: "1200"})
    receipt = session.scalar(select(Receipt))
    finance_client.post(f"/customers/C100/payments/{receipt.id}/reverse", data={"reason": "Bounced"}, headers=HTMX)
    # The ERP's entries file without an open-amount column: open = amount − what Relance has as paid.
    csv = ("account,number,kind,issue_date,due_date,amount,currency\n"
           f"C100,INV-1,invoice,{older.issue_date},{older.due_date},1200.00,EUR\n").encode()
    report = import_file(session, "entries", io.BytesIO(csv), "entries.csv")
    assert report.ok, report.errors
    session.commit()
    assert open_amounts(session, older) == [120000]


def test_support_reads_payments_but_cannot_record_and_other_customers_receipts_are_not_found(
        client, session, bistro, users):
    from tests.conftest import login

    login(client, "finance@relance.test")
    record(client, "100", {bistro["older"]: "100"})
    receipt = session.scalar(select(Receipt))
    assert client.get(f"/customers/C200/payments/{receipt.id}/reverse", headers=HTMX).status_code == 404
    client.post("/logout")
    login(client, "support@relance.test")
    assert "CHQ-4411" in client.get("/customers/C100").get_data(as_text=True)
    assert client.get("/customers/C100/payments/new", headers=HTMX).status_code == 403
    assert record(client, "100", {bistro["older"]: "100"}, dedupe_key="form-2").status_code == 403
    assert session.scalar(select(func.count()).select_from(Receipt)) == 1
