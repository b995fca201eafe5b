"""An account status page: removing a collection mark (support may), and CSRF in the browser."""
import re

from tests.browser.support import (answer_confirmation, assert_not_reloaded, expect, log_in, plant_reload_marker, t, tn,
                                   tp)

ECHO = "/customers/E005"


def entry_row(page, entry_id):
    return page.locator(f"#entry-{entry_id}")


def history(page):
    return page.get_by_role("region", name=t("History"))


def fresh_entry(session, entry_id):
    """The entry as the database has it now (a new transaction sees the server's commits)."""
    from domain.models import Entry

    session.rollback()
    session.expire_all()
    return session.get(Entry, entry_id)


def test_support_removes_a_collection_mark_after_confirming(page, ledger, session):
    from domain.models import AuditEvent

    log_in(page, "support@relance.test")
    page.goto(ECHO)
    row = entry_row(page, ledger.marked_entry_id)
    mark = row.get_by_role("button", name=t("Remove collection mark from %(number)s", number=ledger.marked_number))
    expect(mark).to_be_visible()
    expect(mark.locator('use[href$="#scale"]')).to_have_count(1)  # the scale, on the button that removes it
    expect(row).to_contain_text(t("Stopped"))
    balance = page.get_by_role("region", name=t("Balance"))
    expect(balance).to_contain_text(tn("%(num)d in collection", "%(num)d in collection", 1))
    expect(balance.locator('use[href$="#scale"]')).to_have_count(1)
    expect(history(page)).not_to_contain_text(t("Collection mark removed from entry %(number)s",
                                                 number=ledger.marked_number))
    plant_reload_marker(page)

    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    mark.click()  # asked in the app's own dialog, and cancelled: nothing happens, focus back on the button
    assert answer_confirmation(page, yes=False) == t(
        "Remove the collection status from %(number)s? The stop-reminders switch stays as it is.",
        number=ledger.marked_number)
    expect(mark).to_be_visible()
    expect(mark).to_be_focused()
    assert fresh_entry(session, ledger.marked_entry_id).in_collection

    mark.click()  # asked again; Escape closes the question as Cancel does
    expect(page.locator("dialog.confirm[open]")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog.confirm")).to_have_count(0)
    assert fresh_entry(session, ledger.marked_entry_id).in_collection

    mark.click()  # asked a third time, and confirmed
    answer_confirmation(page)

    expect(row.get_by_role("status")).to_have_text(
        t("Collection mark removed. The stop-reminders switch is unchanged."))
    expect(mark).to_have_count(0)
    expect(row.locator(":focus")).to_have_count(1)  # the row was redrawn: the keyboard stays in it
    expect(row.locator('.markers use[href$="#scale"]')).to_have_count(0)
    expect(row).to_contain_text(t("Stopped"))
    # The history line speaks the reader's language, whoever wrote it.
    expect(history(page).get_by_text(t("Collection mark removed from entry %(number)s", number=ledger.marked_number))
           ).to_be_visible()
    expect(history(page).locator("li").first).to_contain_text("Support")
    expect(balance).not_to_contain_text(tn("%(num)d in collection", "%(num)d in collection", 1))
    expect(balance.locator('use[href$="#scale"]')).to_have_count(0)
    assert len(posts) == 1 and posts[0].endswith(f"/entries/{ledger.marked_entry_id}/collection-mark/remove")
    assert_not_reloaded(page)

    entry = fresh_entry(session, ledger.marked_entry_id)
    assert not entry.in_collection
    assert entry.collection_marked_at is None and entry.collection_marked_by_id is None
    assert entry.reminders_stopped and entry.stop_reason == "In collection"
    event = session.query(AuditEvent).filter_by(action="collection.unmarked").one()
    assert event.entry_id == entry.id and event.actor.email == "support@relance.test"


def test_support_sees_no_stop_or_restart_controls(page, ledger):
    log_in(page, "support@relance.test")
    page.goto(ECHO)

    expect(entry_row(page, ledger.active_entry_id)).to_contain_text(tp("reminders", "Active"))
    expect(entry_row(page, ledger.marked_entry_id)).to_contain_text(t("Stopped"))
    expect(page.get_by_text(t("Reminders are active for this customer."))).to_be_visible()
    expect(page.get_by_text(t("Stop…"))).to_have_count(0)
    expect(page.get_by_text(t("Stop reminders…"))).to_have_count(0)
    switches = "|".join(re.escape(t(name)) for name in ("Stop reminders", "Restart", "Restart reminders"))
    expect(page.get_by_role("button", name=re.compile(f"^({switches})$"))).to_have_count(0)
    # The one switch support may use is there.
    expect(page.get_by_role("button", name=t("Remove collection mark from %(number)s", number=ledger.marked_number))
           ).to_be_visible()


def test_finance_sees_the_stop_controls(page, ledger):
    """The other side of the test above: the controls exist, for a role that may use them."""
    log_in(page, "finance@relance.test")
    page.goto(ECHO)

    expect(entry_row(page, ledger.active_entry_id).get_by_text(t("Stop…"))).to_be_visible()
    expect(entry_row(page, ledger.marked_entry_id).get_by_role("button", name=t("Restart"))).to_be_visible()
    # The customer's switch (in French both say "Stop relance…": the entry's is in its row).
    expect(page.get_by_test_id("customer-stop").get_by_text(t("Stop reminders…"))).to_be_visible()


def test_htmx_posts_carry_the_csrf_token_from_the_body(page, ledger, session):
    log_in(page, "finance@relance.test")
    page.goto(ECHO)
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    assert token
    row = entry_row(page, ledger.active_entry_id)

    row.get_by_text(t("Stop…")).click()
    row.get_by_label(t("Reason for stopping reminders on %(number)s", number=ledger.active_number)).fill(
        "Promised to pay Friday")
    with page.expect_request(lambda r: r.method == "POST" and "/stop-reminders" in r.url) as sent:
        row.get_by_role("button", name=t("Stop reminders")).click()

    assert sent.value.headers.get("x-csrftoken") == token
    expect(row).to_contain_text(t("Stopped"))
    expect(row).to_contain_text("Promised to pay Friday")
    expect(history(page)).to_contain_text(t("Reminders stopped for entry %(number)s", number=ledger.active_number))
    assert fresh_entry(session, ledger.active_entry_id).reminders_stopped


def test_a_post_without_a_valid_csrf_token_is_refused_with_a_message(page, ledger, session):
    log_in(page, "finance@relance.test")
    page.goto(ECHO)
    page.evaluate("""document.body.setAttribute('hx-headers', JSON.stringify({'X-CSRFToken': 'forged'}))""")
    mark = page.get_by_role("button", name=t("Remove collection mark from %(number)s", number=ledger.marked_number))

    with page.expect_response(lambda r: "/collection-mark/remove" in r.url) as answered:
        mark.click()
        answer_confirmation(page)

    assert answered.value.status == 400
    expect(page.locator("#messages")).to_have_text(
        t("%(title)s:", title=t("Session expired")) + " "
        + t("The form was out of date or the security token was missing. Reload the page and try again."))
    expect(mark).to_be_visible()
    assert fresh_entry(session, ledger.marked_entry_id).in_collection
