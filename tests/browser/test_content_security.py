"""Under the Content-Security-Policy (no inline script or style, no eval), every main page loads
without a violation and htmx still works: filtering the Collection page, the Users page's swaps."""
import re

from tests.browser.support import (answer_confirmation, assert_not_reloaded, expect, log_in, plant_reload_marker, t,
                                   url_has)

PAGES = ["/", "/due-dates", "/collection/", "/exports/", "/follow-up/", "/reminders/deliveries", "/settings/",
         "/settings/users/", "/settings/templates/", "/account/", "/notifications/", "/imports/",
         "/attachments/upload", "/customers/E005"]

# Runs in every document before its own scripts (CDP-injected, so not itself subject to the CSP).
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));
document.addEventListener("htmx:evalDisallowedError", (e) => window.__violations.push("htmx wanted eval"));
"""


def _watch(page):
    console = []
    page.on("console", lambda message: console.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    page.add_init_script(WATCH)
    return console


def _violations(page, console):
    return console + page.evaluate("window.__violations || []")


def test_main_pages_load_without_a_content_security_violation(page, ledger):
    console = _watch(page)
    log_in(page, "admin@relance.test")
    for url in PAGES:
        response = page.goto(url)
        assert response.ok, url
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")  # the bell and other load-time fragments too
        assert not _violations(page, console), (url, _violations(page, console))
    # A template editor (its styles used to be inline), and the bell's menu (a fragment).
    page.goto("/settings/templates/")
    page.locator("td[data-template] a").first.click()
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("bell").click()
    page.wait_for_load_state("networkidle")
    assert not _violations(page, console)


def test_collection_filters_still_work_without_eval(page, ledger, session):
    from domain import clock
    from domain.collection import marks
    from domain.models import CollectionCase, Entry, User

    finance = session.query(User).filter_by(email="finance@relance.test").one()
    charlie = session.query(Entry).join(Entry.customer).filter_by(account="C003").one()
    marks.mark_in_collection(session, charlie, finance, "Handed over")
    echo = session.get(Entry, ledger.marked_entry_id)
    case = CollectionCase(customer_id=echo.customer_id, status="legal", opened_by_id=finance.id,
                          status_changed_at=clock.now())
    session.add(case)
    session.flush()
    echo.collection_case_id = case.id
    session.commit()
    session.close()

    console = _watch(page)
    log_in(page, "finance@relance.test")
    page.goto("/collection/")
    rows = page.locator("#collection tbody tr[data-number]")
    expect(rows).to_have_count(2)
    plant_reload_marker(page)

    page.get_by_label(t("Case status"), exact=True).select_option("legal")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-number", ledger.marked_number)
    expect(page).to_have_url(url_has(status="legal"))

    page.get_by_label(t("Case status"), exact=True).select_option("")
    expect(rows).to_have_count(2)
    page.get_by_label(t("Search in this list")).fill("Charlie")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Charlie Foods")
    expect(page).to_have_url(re.compile(r"[?&]q=Charlie"))
    assert_not_reloaded(page)
    assert not _violations(page, console)


def test_an_admin_resets_a_password_in_the_users_page(page, users):
    console = _watch(page)
    log_in(page, "admin@relance.test")
    page.goto("/settings/users/")
    plant_reload_marker(page)
    row = page.locator('tr[data-user="support@relance.test"]')
    row.get_by_role("button", name=t("Reset password")).click()
    answer_confirmation(page)
    shown = page.locator("[data-shown-password]")
    expect(shown).to_have_count(1)
    assert len(shown.inner_text()) >= 16
    expect(page.get_by_test_id("users-history")).to_contain_text(
        t("Password of %(user)s reset", user="Support (support@relance.test)"))
    assert_not_reloaded(page)
    assert not _violations(page, console)
