"""Screens that hold: from 1280 to 1920 px the top bar stays on one line and no page scrolls sideways, in
English and in French (longer words); its menus open and close as menus do; an account status reads on a phone."""
from __future__ import annotations

from contextlib import contextmanager

import pytest

from tests.browser.support import expect
from tests.conftest import PASSWORD

PAGES = ["/", "/due-dates", "/customers", "/customers/E005", "/disputes", "/promises", "/schedules", "/collection/",
         "/debt-collection", "/monitoring", "/exports/", "/follow-up/", "/reminders/deliveries", "/reminders/bulk",
         "/imports/", "/settings/", "/settings/users/", "/account/"]


def log_in(page, email: str) -> None:
    """By the fields' names: these tests run in either language."""
    page.goto("/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: not url.split("?")[0].endswith("/login"), wait_until="load")


@contextmanager
def logged_in(browser, live_server, email: str, locale: str = "en-GB", width: int = 1280, height: int = 900):
    """A page of a browser of this language and width, logged in as `email`; closed after the test."""
    context = browser.new_context(base_url=live_server, locale=locale, viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        log_in(page, email)
        yield page
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
@pytest.mark.parametrize("width", [1280, 1920])
def test_the_top_bar_holds_on_one_line_and_no_page_scrolls_sideways(browser, live_server, ledger, locale, width):
    with logged_in(browser, live_server, "admin@relance.test", locale, width) as page:
        for path in PAGES:
            page.goto(path)
            bar = page.locator("header.topbar").bounding_box()
            assert bar["height"] < 60, f"{path} at {width} px in {locale}: the top bar wraps ({bar['height']} px)"
            widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1], f"{path} at {width} px in {locale}: the page scrolls sideways {widths}"


def test_a_menu_opens_alone_and_closes_on_escape_or_an_outside_click(browser, live_server, ledger):
    with logged_in(browser, live_server, "finance@relance.test", "en-GB", 1280) as page:
        page.goto("/")
        reminders = page.locator("details[data-menu]", has=page.locator("summary", has_text="Reminders"))
        collection = page.locator("details[data-menu]", has=page.locator("summary", has_text="Collection"))
        reminders.locator("summary").click()
        expect(reminders.get_by_role("link", name="Follow-up plans")).to_be_visible()
        collection.locator("summary").click()  # one menu at a time
        expect(collection.get_by_role("link", name="Debt collection")).to_be_visible()
        expect(reminders.get_by_role("link", name="Follow-up plans")).to_be_hidden()
        page.keyboard.press("Escape")
        expect(collection.get_by_role("link", name="Debt collection")).to_be_hidden()
        expect(collection.locator("summary")).to_be_focused()

        page.keyboard.press("Enter")  # the keyboard opens it too
        expect(collection.get_by_role("link", name="Debt collection")).to_be_visible()
        page.locator("main h1").click()
        expect(collection.get_by_role("link", name="Debt collection")).to_be_hidden()

        collection.locator("summary").click()
        collection.get_by_role("link", name="Debt collection").click()
        page.wait_for_url("**/debt-collection")
        expect(page.locator("summary[aria-current=page]")).to_have_text("Collection")  # where you are, menu closed


def test_log_out_is_in_the_users_menu(browser, live_server, ledger):
    with logged_in(browser, live_server, "finance@relance.test", "en-GB", 1280) as page:
        page.locator("details.user-menu > summary").click()
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url("**/login**")
        expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_an_account_status_reads_on_a_phone(browser, live_server, ledger):
    with logged_in(browser, live_server, "finance@relance.test", "fr-FR", 390, 844) as page:
        page.goto("/customers/E005")
        expect(page.locator("main h1")).to_contain_text("Echo Logistics")
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"the account status scrolls sideways on a phone: {widths}"
        expect(page.locator("main")).to_contain_text("INV-E-120")  # the entries are there, their table scrolls itself
