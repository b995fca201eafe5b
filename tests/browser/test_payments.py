"""Recording a cheque over two invoices on an account status, as a finance user does it, then
asking for the customer's statement (PDF, read back), then reversing the cheque when the bank
returns it unpaid: the amounts, the balance, the paid entries and the payments move without a reload."""
import re

from pypdf import PdfReader

from tests.browser.support import (assert_not_reloaded, day, expect, field_amount, log_in, money, plant_reload_marker,
                                   t, tp)
from tests.conftest import TODAY

ALPHA = "/customers/A001"  # INV-00001 €1,200.00 overdue, INV-00002 €300.00 not due


def paid_on(number):
    return t("Paid on %(number)s", number=number)


def test_a_cheque_over_two_invoices_a_statement_then_the_cheque_returned_unpaid(page, ledger, run_queued_jobs,
                                                                                tmp_path):
    log_in(page, "finance@relance.test")
    page.goto(ALPHA)
    balance = page.get_by_role("region", name=t("Balance"))
    payments = page.get_by_role("region", name=t("Payments"))
    expect(balance).to_contain_text(money("1500"))

    page.get_by_label(t("Select %(number)s", number="INV-00001")).check()
    page.get_by_label(t("Select %(number)s", number="INV-00002")).check()
    page.get_by_test_id("open-payment").click()
    dialog = page.get_by_role("dialog", name=t("Record a payment — %(name)s", name="Alpha Bakery"))
    amount = dialog.get_by_test_id("payment-amount")
    expect(amount).to_have_value(field_amount("1500.00"))
    expect(dialog.get_by_label(paid_on("INV-00002"))).to_have_value(field_amount("300.00"))

    amount.fill("1 400,00")
    amount.press("Tab")  # the proposal follows the amount: the oldest invoice first
    expect(dialog.get_by_label(paid_on("INV-00002"))).to_have_value(field_amount("200.00"))
    expect(dialog.get_by_label(paid_on("INV-00001"))).to_have_value(field_amount("1200.00"))
    dialog.get_by_label(t("Method")).select_option("cheque")
    dialog.get_by_label(t("Reference")).fill("CHQ-0071")
    dialog.get_by_test_id("record-payment").click()

    cheque = tp("payment method", "Cheque").lower()
    expect(page.get_by_test_id("payment-done")).to_contain_text(t(
        "%(amount)s by %(method)s %(reference)s, received %(day)s:",
        amount=money("1400"), method=cheque, reference="CHQ-0071", day=day(TODAY)))
    page.get_by_role("dialog").get_by_role("button", name=t("Close")).click()
    expect(balance).to_contain_text(money("100"))
    open_entries = page.get_by_test_id("open-entries")
    expect(open_entries.locator("tr[data-number='INV-00001']")).to_have_count(0)  # paid: no longer open
    expect(open_entries.locator("tr[data-number='INV-00002']")).to_contain_text(money("100"))
    expect(payments).to_contain_text("CHQ-0071")
    paid, still_open = tp("entries", "Paid"), tp("entries", "Open")
    page.get_by_role("tab", name=paid).click()
    expect(page.get_by_role("tabpanel", name=paid).locator("tr[data-number='INV-00001']")).to_contain_text(
        f"{money('1200')} {cheque} CHQ-0071")
    expect(open_entries).to_be_hidden()
    page.get_by_role("tab", name=still_open).click()
    expect(open_entries).to_be_visible()

    # The customer asks for a statement: made in the worker, downloaded, read back.
    page.get_by_test_id("statement-link").click()
    expect(page.get_by_test_id("closing-balance")).to_have_text(money("100"))
    page.get_by_test_id("statement-pdf").click()
    status = page.get_by_test_id("export-status")
    expect(status).to_contain_text(t("Export queued…"))
    run_queued_jobs()
    # The worker names the file in the language its requester read when they asked: theirs (My account),
    # else their browser's — the test users chose none, so the browser's.
    named = t("Statement %(account)s %(start)s %(end)s", account="A001", start="", end="").split()[0]
    link = status.get_by_role("link", name=re.compile(re.escape(named) + r".*\.pdf"))
    with page.expect_download() as downloading:
        link.click()
    saved = tmp_path / "statement.pdf"
    downloading.value.save_as(saved)
    text = "".join(p.extract_text() for p in PdfReader(str(saved)).pages)  # in the customer's language: English
    assert "Statement of account" in text and "Cheque CHQ-0071" in text and "€100.00" in text
    page.goto(ALPHA)
    plant_reload_marker(page)

    payments.get_by_role("button", name=t("Reverse")).click()
    reverse = page.get_by_role("dialog", name=t("Reverse this payment?"))
    reverse.get_by_label(t("Why")).fill("Cheque returned unpaid")
    reverse.get_by_test_id("confirm-reverse").click()
    expect(page.get_by_test_id("payment-done")).to_contain_text(t("These invoices owe it again."))
    page.get_by_role("dialog").get_by_role("button", name=t("Close")).click()
    expect(balance).to_contain_text(money("1500"))
    expect(open_entries.locator("tr[data-number='INV-00001']")).to_contain_text(money("1200"))
    expect(payments).to_contain_text("Cheque returned unpaid")
    page.get_by_role("tab", name=paid).press("Enter")
    expect(page.get_by_role("tabpanel", name=paid)).to_contain_text(t("No entry of this customer is paid yet."))
    assert_not_reloaded(page)
