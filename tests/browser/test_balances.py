"""Who owes you what? (`/`): filters, search-as-you-type and sorting swap the table in place, and
the URL keeps up, so the back button and a reload show the same view."""
import re

import pytest

from tests.browser.support import (
    BY_NAME,
    BY_TOTAL,
    LEVEL_3_UP,
    assert_not_reloaded,
    expect,
    log_in,
    plant_reload_marker,
    money,
    t,
    tn,
    url_has,
)


def customer_names(page):
    return page.locator("#balances tbody tr td.customer")


def totals_row(page):
    return page.locator("#balances tfoot tr.totals")


def total_of(count):
    """The totals row's heading: Total · 5 customers."""
    return t("Total") + " · " + tn("%(count)s customer", "%(count)s customers", count, count=str(count))


def test_level_filter_narrows_the_list_and_back_restores_it(page, ledger):
    log_in(page, "finance@relance.test")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(customer_names(page)).to_have_text(BY_TOTAL)
    expect(totals_row(page)).to_contain_text(total_of(5))
    expect(totals_row(page)).to_contain_text(money("10000"))
    plant_reload_marker(page)

    page.get_by_label(t("Minimum reminder level")).select_option(label="R3+")

    expect(customer_names(page)).to_have_text(LEVEL_3_UP)
    expect(page).to_have_url(url_has(level="3"))
    expect(totals_row(page)).to_contain_text(total_of(3))
    expect(totals_row(page)).to_contain_text(money("8050"))
    expect(page.get_by_role("heading", name=t("Who owes you what?"))).to_have_count(1)  # a fragment, not a page in a page
    assert_not_reloaded(page)

    page.go_back()

    expect(page).not_to_have_url(re.compile(r"level="))
    expect(customer_names(page)).to_have_text(BY_TOTAL)
    expect(page.get_by_label(t("Minimum reminder level"))).to_have_value("")
    expect(totals_row(page)).to_contain_text(total_of(5))
    expect(totals_row(page)).to_contain_text(money("10000"))


def test_list_search_filters_as_you_type(page, ledger):
    log_in(page, "finance@relance.test")
    expect(customer_names(page)).to_have_text(BY_TOTAL)
    plant_reload_marker(page)

    page.get_by_label(t("Search in this list")).press_sequentially("bra")

    expect(customer_names(page)).to_have_text(["Bravo Metals"])
    expect(page).to_have_url(url_has(q="bra"))
    expect(totals_row(page)).to_contain_text(total_of(1))
    expect(totals_row(page)).to_contain_text(money("800"))

    page.get_by_label(t("Search in this list")).press_sequentially("x")

    expect(page.locator("#balances tbody")).to_contain_text(t("No customer owes anything with these filters."))
    expect(page).to_have_url(url_has(q="brax"))
    expect(totals_row(page)).to_have_count(0)

    page.get_by_label(t("Search in this list")).fill("")

    expect(customer_names(page)).to_have_text(BY_TOTAL)
    assert_not_reloaded(page)


def test_sorting_by_a_column_header_pushes_the_sort_and_a_reload_keeps_it(page, ledger):
    log_in(page, "finance@relance.test")
    page.get_by_label(t("Minimum reminder level")).select_option("3")
    expect(customer_names(page)).to_have_text(LEVEL_3_UP)
    plant_reload_marker(page)

    page.locator("#balances thead").get_by_role("link", name=t("Customer")).click()

    expect(customer_names(page)).to_have_text(sorted(LEVEL_3_UP))
    expect(page).to_have_url(url_has(sort="customer", dir="asc", level="3"))
    expect(page.locator("#balances thead th[aria-sort=ascending]")).to_have_text(t("Customer"))
    expect(page.locator('#balances thead th[aria-sort] use[href$="#chevron-up"]')).to_have_count(1)
    assert_not_reloaded(page)

    page.locator("#balances thead").get_by_role("link", name=t("Customer")).click()

    expect(customer_names(page)).to_have_text(sorted(LEVEL_3_UP, reverse=True))
    expect(page).to_have_url(url_has(sort="customer", dir="desc", level="3"))

    page.reload()

    expect(page.get_by_role("heading", name=t("Who owes you what?"))).to_be_visible()
    expect(page.get_by_label(t("Minimum reminder level"))).to_have_value("3")
    expect(customer_names(page)).to_have_text(sorted(LEVEL_3_UP, reverse=True))
    expect(page.locator("#balances thead th[aria-sort=descending]")).to_have_text(t("Customer"))
    expect(page.locator('#balances thead th[aria-sort] use[href$="#chevron-down"]')).to_have_count(1)
    expect(totals_row(page)).to_contain_text(total_of(3))


def test_sorted_view_lists_every_customer_by_name(page, ledger):
    log_in(page, "support@relance.test")
    page.goto("/?sort=customer&dir=asc")

    expect(customer_names(page)).to_have_text(BY_NAME)
    expect(page.get_by_label(t("Minimum reminder level"))).to_have_value("")


def test_typing_in_the_top_bar_search_leaves_the_list_alone(page, ledger):
    log_in(page, "finance@relance.test")
    page.clock.install()  # time flows, but run_for() below jumps past every debounce at once
    page.goto("/")
    page.locator("#balances thead").get_by_role("link", name=t("Customer")).click()
    expect(customer_names(page)).to_have_text(BY_NAME)
    expect(page).to_have_url(url_has(sort="customer"))
    history_length = page.evaluate("history.length")

    page.get_by_role("searchbox", name=t("Search"), exact=True).press_sequentially("Bravo")
    page.clock.run_for(1_000)  # the popup waits 250 ms, the list's filter 300 ms
    expect(page.locator("#search-popup")).to_contain_text("Bravo Metals")
    page.wait_for_function("!document.querySelector('.htmx-request')")  # every request answered

    assert customer_names(page).all_inner_texts() == BY_NAME
    assert page.evaluate("history.length") == history_length
    expect(page).to_have_url(url_has(sort="customer"))


def test_a_header_sort_survives_a_filter_change(page, ledger):
    log_in(page, "finance@relance.test")
    page.locator("#balances thead").get_by_role("link", name=t("Customer")).click()
    expect(customer_names(page)).to_have_text(BY_NAME)

    page.get_by_label(t("Minimum reminder level")).select_option("3")
    expect(customer_names(page)).to_have_count(len(LEVEL_3_UP))  # the swap is done

    assert customer_names(page).all_inner_texts() == sorted(LEVEL_3_UP)
    expect(page).to_have_url(url_has(sort="customer", level="3"))
