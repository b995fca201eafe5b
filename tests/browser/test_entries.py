"""Adding an invoice on an account status, then cancelling it, as a finance user: the dialog, the
open entries and the balance follow without a reload."""
from datetime import date

from tests.browser.support import assert_not_reloaded, day, expect, log_in, money, plant_reload_marker, t, tp


def test_an_invoice_added_by_hand_then_cancelled(page, ledger):
    log_in(page, "finance@relance.test")
    page.goto("/customers/D004")  # Delta Tools: €450.00, not due
    plant_reload_marker(page)
    balance = page.get_by_role("region", name=t("Balance"))
    open_entries = page.get_by_test_id("open-entries")

    page.get_by_test_id("new-entry").click()
    dialog = page.get_by_role("dialog", name=t("New invoice or credit note — %(name)s", name="Delta Tools"))
    dialog.get_by_label(t("Number")).fill("F-2026-77")
    dialog.get_by_label(t("Amount")).fill("1 000,00")
    dialog.get_by_test_id("save-entry").click()
    expect(page.get_by_test_id("entry-saved")).to_have_text(  # due in 30 days
        t("Invoice %(number)s added, due %(due)s.", number="F-2026-77", due=day(date(2026, 7, 15))))
    page.get_by_role("dialog").get_by_role("button", name=t("Close")).click()
    expect(balance).to_contain_text(money("1450"))
    expect(open_entries.locator("tr[data-number='F-2026-77']")).to_contain_text(money("1000"))

    open_entries.get_by_role("button", name=t("Change or cancel %(number)s", number="F-2026-77")).click()
    dialog = page.get_by_role("dialog", name=t("Invoice") + " F-2026-77")
    dialog.get_by_text(t("Cancel this invoice…")).click()
    dialog.get_by_label(t("Why")).fill("Issued twice")
    dialog.get_by_test_id("cancel-entry").click()
    expect(page.get_by_test_id("entry-saved")).to_have_text(
        t("%(number)s cancelled: it no longer counts in any balance.", number="F-2026-77"))
    page.get_by_role("dialog").get_by_role("button", name=t("Close")).click()
    expect(balance).to_contain_text(money("450"))
    expect(open_entries.locator("tr[data-number='F-2026-77']")).to_have_count(0)
    paid = tp("entries", "Paid")
    page.get_by_role("tab", name=paid).click()  # cancelled entries are kept there, struck through
    expect(page.get_by_role("tabpanel", name=paid).get_by_test_id("cancelled")).to_contain_text("Issued twice")
    assert_not_reloaded(page)
