"""A customer's statement of account: the opening balance, every invoice, credit note, payment and
reversal of the period with the running balance, the closing balance equal to what the account
owes; the same statement as a PDF and as a workbook, made in the worker."""
import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from domain.ledger import receipts, statements

HTMX = {"HX-Request": "true"}


@pytest.fixture
def account(session, ledger_builder, users):
    """Today is 2026-06-15. Bistro: INV-1 (issued 2026-04-06, €1,200), INV-2 (issued 2026-05-06,
    €800), a credit note AV-1 (issued 2026-05-16, €100), INV-3 (issued 2026-05-26, €300) imported
    with €50 already settled and no payment recorded; a cheque of €500 on INV-1 on 2026-06-01, and one of €200 on INV-2 on
    2026-06-10 returned unpaid on 2026-06-12."""
    bistro = ledger_builder.customer("C100", "Bistro du Port", address="2 quai Nord\n29200 Brest")
    first = ledger_builder.entry(bistro, 40, "1200.00", number="INV-1")
    second = ledger_builder.entry(bistro, 10, "800.00", number="INV-2")
    ledger_builder.entry(bistro, 0, "100.00", number="AV-1", kind="credit_note")
    ledger_builder.entry(bistro, -10, "300.00", number="INV-3", open_amount="250.00")
    session.commit()
    finance = users["finance"]
    receipts.record(session, finance, bistro, receipts.ReceiptForm(
        received_on=date(2026, 6, 1), amount_cents=50000, method="cheque", reference="CHQ-1",
        allocations={first.id: 50000}))
    bounced = receipts.record(session, finance, bistro, receipts.ReceiptForm(
        received_on=date(2026, 6, 10), amount_cents=20000, method="cheque", reference="CHQ-2",
        allocations={second.id: 20000}))
    receipts.reverse(session, finance, bounced, "Cheque returned unpaid")
    returned = datetime(2026, 6, 12, 9, 30)  # the bank said so two days later (the clock pins only today)
    bounced.reversed_at = returned
    for payment in bounced.payments:
        payment.reversed_at = returned
    session.commit()
    return bistro


def test_the_statement_runs_from_the_opening_to_the_closing_balance(session, account):
    found = statements.statement(session, account, date(2026, 5, 1), date(2026, 6, 15), "EUR")
    assert found.opening_cents == 120000, "INV-1, issued before the period"
    assert [(line.number, line.kind, line.debit_cents, line.credit_cents, line.balance_cents) for line in found.lines] == [
        ("INV-2", "invoice", 80000, 0, 200000),
        ("AV-1", "credit_note", 0, 10000, 190000),
        ("INV-3", "invoice", 30000, 0, 220000),
        ("INV-1", "payment", 0, 50000, 170000),
        ("INV-2", "payment", 0, 20000, 150000),
        ("INV-2", "reversal", 20000, 0, 170000),
        ("INV-3", "settled", 0, 5000, 165000),
    ]
    owed = sum(e.balance_cents for e in account.entries)
    assert found.closing_cents == owed == 165000, "the closing balance is what the account owes today"


def test_a_statement_ending_before_today_leaves_the_undated_settlement_out_and_says_so(session, account):
    found = statements.statement(session, account, date(2026, 5, 1), date(2026, 6, 5), "EUR")
    assert found.closing_cents == 170000 and found.undated_cents == -5000
    assert [line.kind for line in found.lines][-1] == "payment", "the reversal (06-12) and today's line are later"


def test_the_page_shows_the_period_and_refuses_a_wrong_one(finance_client, account):
    page = finance_client.get("/customers/C100/statement?start=2026-05-01&end=2026-06-15").get_data(as_text=True)
    assert "Opening balance" in page and "Cheque CHQ-1" in page and "Reversed: Cheque returned unpaid" in page
    assert "Settled outside Relance" in page
    assert '<td class="num" data-testid="closing-balance"><strong>€1,650.00</strong></td>' in page
    refused = finance_client.get("/customers/C100/statement?start=2026-06-15&end=2026-05-01")
    assert refused.status_code == 400 and "The period ends before it starts" in refused.get_data(as_text=True)
    assert finance_client.get("/customers/C100/statement?start=soon").status_code == 400
    assert finance_client.get("/customers/C100/statement?currency=USD").status_code == 400
    assert 'data-testid="statement-link"' in finance_client.get("/customers/C100").get_data(as_text=True)


def export_file(client, run_jobs, kind: str) -> tuple[str, bytes]:
    import re

    html = client.post("/customers/C100/statement/export", data={"kind": kind, "start": "2026-05-01",
                                                                  "end": "2026-06-15", "currency": "EUR"},
                       headers=HTMX).get_data(as_text=True)
    export_id = int(re.search(r'id="export-(\d+)"', html).group(1))
    run_jobs()
    status = client.get(f"/exports/{export_id}/status", headers=HTMX).get_data(as_text=True)
    assert '#circle-check"></use></svg> Ready' in status, status
    response = client.get(f"/exports/{export_id}/download")
    assert response.status_code == 200
    return response.headers["Content-Disposition"], response.get_data()


def test_the_pdf_reads_like_the_screen(finance_client, account, run_jobs, company):
    disposition, pdf = export_file(finance_client, run_jobs, "statement_pdf")
    assert "Statement_C100_2026-05-01_2026-06-15.pdf" in disposition or "Statement C100" in disposition
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Statement of account" in text and "Bistro du Port" in text and "Acme SARL" in text
    assert "Opening balance" in text and "€1,200.00" in text and "Closing balance" in text and "€1,650.00" in text


def test_the_workbook_has_numbers_a_sheet_can_sum(finance_client, account, run_jobs):
    _disposition, data = export_file(finance_client, run_jobs, "statement_xlsx")
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    header = rows.index(("Date", "Entry", "Description", "Debit", "Credit", "Balance"))
    opening, *lines, closing = rows[header + 1:]
    assert opening[2] == "Opening balance" and float(opening[5]) == 1200.0
    assert [line[1] for line in lines] == ["INV-2", "AV-1", "INV-3", "INV-1", "INV-2", "INV-2", "INV-3"]
    assert closing[2] == "Closing balance" and float(closing[5]) == 1650.0
    assert isinstance(lines[0][0], type(closing[0])) and float(lines[0][3]) == 800.0


def test_a_statement_file_asks_for_pdf_or_excel(finance_client, account):
    refused = finance_client.post("/customers/C100/statement/export", data={"kind": "exe"}, headers=HTMX)
    assert "Choose PDF or Excel" in refused.get_data(as_text=True)
