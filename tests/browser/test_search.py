"""The top-bar search: matches pop up as you type; Enter goes straight to the account when every
match is one customer's, else to the search page."""
import re

from tests.browser.support import expect, log_in, money, t


def search_box(page):
    # exact: on `/` the list's own box is labelled "Search in this list".
    return page.get_by_role("searchbox", name=t("Search"), exact=True)


def test_typing_a_name_shows_matches_in_a_popup(page, ledger):
    log_in(page, "support@relance.test")
    popup = page.locator("#search-popup")
    expect(popup).to_be_hidden()

    search_box(page).press_sequentially("metals")

    expect(popup).to_be_visible()
    expect(popup.get_by_role("link", name="Bravo Metals")).to_be_visible()
    expect(popup).to_contain_text("B002 · 552100554")
    expect(popup.get_by_role("link")).to_have_count(1)

    popup.get_by_role("link", name="Bravo Metals").click()

    expect(page).to_have_url(re.compile(r"/customers/B002$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bravo Metals")


def test_popup_lists_customers_and_entries_and_closes_on_a_click_elsewhere(page, ledger):
    log_in(page, "finance@relance.test")
    popup = page.locator("#search-popup")

    search_box(page).press_sequentially("INV-E")

    expect(popup.get_by_role("heading", name=t("Entries"))).to_be_visible()
    expect(popup.get_by_role("link", name=ledger.marked_number)).to_be_visible()
    expect(popup.get_by_role("link", name=ledger.active_number)).to_be_visible()
    expect(popup).to_contain_text("Echo Logistics · " + t("%(amount)s open", amount=money("5000")))

    page.get_by_role("heading", name=t("Who owes you what?")).click()

    expect(popup).to_be_hidden()


def test_enter_on_a_query_matching_one_customer_opens_its_account(page, ledger):
    log_in(page, "finance@relance.test")

    search_box(page).fill(ledger.bravo_invoice)
    search_box(page).press("Enter")

    expect(page).to_have_url(re.compile(r"/customers/B002$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bravo Metals")
    expect(page.locator(f"tr[data-number='{ledger.bravo_invoice}']")).to_be_visible()


def test_enter_on_a_query_matching_several_customers_lists_them(page, ledger):
    log_in(page, "finance@relance.test")

    search_box(page).fill("o")  # Bravo, Charlie Foods, Delta Tools, Echo Logistics
    search_box(page).press("Enter")

    expect(page).to_have_url(re.compile(r"/search\?q=o$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Search: “%(q)s”", q="o"))
    results = page.locator(".search-page")
    expect(results.get_by_role("link")).to_have_text(
        ["Bravo Metals", "Charlie Foods", "Delta Tools", "Echo Logistics"])


def test_a_query_without_match_says_nothing_matches(page, ledger):
    log_in(page, "finance@relance.test")

    search_box(page).press_sequentially("zzz-nobody")

    expect(page.locator("#search-popup")).to_have_text(t("Nothing matches “%(q)s”.", q="zzz-nobody"))

    search_box(page).press("Enter")

    expect(page).to_have_url(re.compile(r"/search\?q=zzz-nobody$"))
    expect(page.locator(".search-page")).to_have_text(t("Nothing matches “%(q)s”.", q="zzz-nobody"))
    expect(search_box(page)).to_have_value("zzz-nobody")
