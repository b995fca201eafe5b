"""A promise to pay, as a finance user records it on the phone: two invoices ticked, the promise
recorded, the entries marked with a handshake; then the bank export comes in through the import page and the
promise reads "kept" on the account status, without anyone touching it."""
import re
from datetime import timedelta

from tests.browser.support import day, expect, field_amount, log_in, money, t, tn, tp
from tests.conftest import TODAY

ALPHA = "/customers/A001"  # INV-00001 €1,200.00 overdue, INV-00002 €300.00 not due


def test_a_promise_on_two_invoices_is_kept_once_the_payment_is_imported(page, ledger, tmp_path):
    log_in(page, "finance@relance.test")
    page.goto(ALPHA)
    page.get_by_label(t("Select %(number)s", number="INV-00001")).check()
    page.get_by_label(t("Select %(number)s", number="INV-00002")).check()
    page.get_by_test_id("open-promise-dialog").click()
    dialog = page.get_by_role("dialog", name=t("Promise to pay — %(name)s", name="Alpha Bakery"))
    expect(dialog.get_by_test_id("promise-amount")).to_have_value(field_amount("1500.00"))
    promised_on = TODAY + timedelta(days=5)
    dialog.get_by_test_id("promise-date").fill(promised_on.isoformat())
    dialog.get_by_test_id("promise-channel").select_option("phone")
    dialog.get_by_test_id("record-promise").click()
    waits_until = promised_on + timedelta(days=3)  # the default grace period
    expect(page.get_by_test_id("promise-recorded")).to_have_text(t(
        "%(amount)s by %(day)s on %(entries)s: reminders wait until %(until)s.", amount=money("1500"),
        day=day(promised_on), entries="INV-00001, INV-00002", until=day(waits_until)))
    page.get_by_role("dialog").get_by_role("button", name=t("Close")).click()
    expect(page.get_by_test_id("promise-marker")).to_have_count(2)
    promises = page.get_by_role("region", name=t("Promises to pay"))
    expect(promises.get_by_test_id("customer-promises")).to_contain_text(t(
        "%(status)s, reminders wait until %(day)s", status=tp("promise status", "Open"), day=day(waits_until)))

    bank = tmp_path / "bank.csv"
    bank.write_text("number,date,amount,reference\nINV-00001,2026-06-15,1200.00,VIR 881\n"
                    "INV-00002,2026-06-15,300.00,VIR 881\n")
    page.goto("/imports/?kind=payments")
    page.get_by_label(t("Payments (bank export)")).check()
    page.locator("#import-form input[type=file]").set_input_files(str(bank))
    page.locator("#import-form button[value=import]").click()
    expect(page.get_by_test_id("import-done")).to_have_text(re.sub("<[^>]+>", "", tn(
        "<strong>Imported %(filename)s</strong> (%(num)s line): %(created)s recorded, %(unchanged)s already imported.",
        "<strong>Imported %(filename)s</strong> (%(num)s lines): %(created)s recorded, %(unchanged)s already imported.",
        2, filename="bank.csv", created=2, unchanged=0)))

    page.goto(ALPHA)
    expect(promises.get_by_test_id("customer-promises")).to_contain_text(
        t("%(status)s: %(amount)s paid", status=tp("promise status", "Kept"), amount=money("1500")))
    expect(promises.get_by_test_id("reliability")).to_contain_text(t(
        "Over 12 months: %(kept)s kept, %(partly_kept)s partly kept, %(broken)s broken.", kept=1, partly_kept=0,
        broken=0))
    expect(page.get_by_test_id("promise-marker")).to_have_count(0)
