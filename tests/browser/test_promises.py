"""A promise to pay, as a finance user records it on the phone: two invoices ticked, the promise
recorded, the entries marked 🤝; then the bank export comes in through the import page and the
promise reads "kept" on the account status, without anyone touching it."""
from datetime import timedelta

from tests.browser.support import expect, log_in
from tests.conftest import TODAY

ALPHA = "/customers/A001"  # INV-00001 €1,200.00 overdue, INV-00002 €300.00 not due


def test_a_promise_on_two_invoices_is_kept_once_the_payment_is_imported(page, ledger, tmp_path):
    log_in(page, "finance@relance.test")
    page.goto(ALPHA)
    page.get_by_label("Select INV-00001").check()
    page.get_by_label("Select INV-00002").check()
    page.get_by_test_id("open-promise-dialog").click()
    dialog = page.get_by_role("dialog", name="Promise to pay — Alpha Bakery")
    expect(dialog.get_by_test_id("promise-amount")).to_have_value("1500.00")
    promised_on = TODAY + timedelta(days=5)
    dialog.get_by_test_id("promise-date").fill(promised_on.isoformat())
    dialog.get_by_test_id("promise-channel").select_option("phone")
    dialog.get_by_test_id("record-promise").click()
    expect(page.get_by_test_id("promise-recorded")).to_contain_text(
        f"€1,500.00 by {promised_on:%d/%m/%Y} on INV-00001, INV-00002")
    page.get_by_role("dialog").get_by_role("button", name="Close").click()
    expect(page.get_by_test_id("promise-marker")).to_have_count(2)
    promises = page.get_by_role("region", name="Promises to pay")
    expect(promises.get_by_test_id("customer-promises")).to_contain_text("Open, reminders wait until")

    bank = tmp_path / "bank.csv"
    bank.write_text("number,date,amount,reference\nINV-00001,2026-06-15,1200.00,VIR 881\n"
                    "INV-00002,2026-06-15,300.00,VIR 881\n")
    page.goto("/imports/?kind=payments")
    page.get_by_label("Payments (bank export)").check()
    page.locator("#import-form input[type=file]").set_input_files(str(bank))
    page.locator("#import-form button[value=import]").click()
    expect(page.get_by_test_id("import-done")).to_contain_text("2 recorded")

    page.goto(ALPHA)
    expect(promises.get_by_test_id("customer-promises")).to_contain_text("Kept: €1,500.00 paid")
    expect(promises.get_by_test_id("reliability")).to_contain_text("Over 12 months: 1 kept, 0 partly kept, 0 broken.")
    expect(page.get_by_test_id("promise-marker")).to_have_count(0)
