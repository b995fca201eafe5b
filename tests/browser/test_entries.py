"""Adding an invoice on an account status, then cancelling it, as a finance user: the dialog, the
open entries and the balance follow without a reload."""
from tests.browser.support import assert_not_reloaded, expect, log_in, plant_reload_marker


def test_an_invoice_added_by_hand_then_cancelled(page, ledger):
    log_in(page, "finance@relance.test")
    page.goto("/customers/D004")  # Delta Tools: €450.00, not due
    plant_reload_marker(page)
    balance = page.get_by_role("region", name="Balance")
    open_entries = page.get_by_test_id("open-entries")

    page.get_by_test_id("new-entry").click()
    dialog = page.get_by_role("dialog", name="New invoice or credit note — Delta Tools")
    dialog.get_by_label("Number").fill("F-2026-77")
    dialog.get_by_label("Amount").fill("1 000,00")
    dialog.get_by_test_id("save-entry").click()
    expect(page.get_by_test_id("entry-saved")).to_contain_text("Invoice F-2026-77 added, due 15/07/2026")
    page.get_by_role("dialog").get_by_role("button", name="Close").click()
    expect(balance).to_contain_text("€1,450.00")
    expect(open_entries.locator("tr[data-number='F-2026-77']")).to_contain_text("€1,000.00")

    open_entries.get_by_role("button", name="Change or cancel F-2026-77").click()
    dialog = page.get_by_role("dialog", name="Invoice F-2026-77")
    dialog.get_by_text("Cancel this invoice…").click()
    dialog.get_by_label("Why").fill("Issued twice")
    dialog.get_by_test_id("cancel-entry").click()
    expect(page.get_by_test_id("entry-saved")).to_contain_text("F-2026-77 cancelled")
    page.get_by_role("dialog").get_by_role("button", name="Close").click()
    expect(balance).to_contain_text("€450.00")
    expect(open_entries.locator("tr[data-number='F-2026-77']")).to_have_count(0)
    page.get_by_role("tab", name="Paid").click()  # cancelled entries are kept there, struck through
    expect(page.get_by_role("tabpanel", name="Paid").get_by_test_id("cancelled")).to_contain_text("Issued twice")
    assert_not_reloaded(page)
