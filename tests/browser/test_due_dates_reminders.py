"""Manual reminders from the Due dates in Chromium: @ on a row opens the compose window of that
entry's customer, the e-mail reaches a real (in-process) SMTP server and the row's level rises in
place; the letter button (mail icon) makes the letter the same way. A support user sees neither button.

The outbox job runs through RQ's SimpleWorker in this thread while the page polls the message's
status, as the worker process would run it.
"""
from __future__ import annotations

import re

import pytest

from domain.models import CompanySettings
from tests.browser.support import assert_not_reloaded, day, expect, log_in, plant_reload_marker, t, tn
from tests.conftest import TODAY
from tests.smtp import smtp_server  # noqa: F401  (pytest fixture)


@pytest.fixture
def ledger(app, session, ledger_builder, users, smtp_server):  # noqa: F811
    app.config.update(SMTP_URL=smtp_server.url)
    session.add(CompanySettings(name="Relance Demo SAS", registration_number="732829320",
                                sender_email="ar@relance.test"))
    riviere = ledger_builder.customer("R001", "Rivière Traiteur", emails="compta@riviere.test", language="fr")
    ledger_builder.entry(riviere, 40, "1200.00", level=1, number="INV-R-1")
    ledger_builder.entry(riviere, 20, "300.50", level=2, number="INV-R-2")
    ledger_builder.entry(riviere, 5, "80.00", kind="credit_note", number="AV-R-1")
    garage = ledger_builder.customer("G001", "Garage Martin", emails="garage@martin.test")
    ledger_builder.entry(garage, 30, "99.00", number="INV-G-1")
    session.commit()
    session.close()


def row(page, number):
    return page.get_by_test_id("due-dates-table").locator("tbody tr", has_text=number)


def test_an_email_reminder_from_a_due_dates_row(page, ledger, run_jobs, smtp_server):  # noqa: F811
    log_in(page, "finance@relance.test")
    page.goto("/due-dates")
    plant_reload_marker(page)
    expect(row(page, "INV-R-1").locator(".level")).to_have_text("R1")

    row(page, "INV-R-1").get_by_role("button", name=t("E-mail reminder for %(number)s", number="INV-R-1")).click()

    compose = page.locator("#modal")
    expect(compose.get_by_role("dialog")).to_contain_text(t("E-mail reminder — %(name)s", name="Rivière Traiteur"))
    expect(compose.locator("input[name=entry][type=hidden]")).to_have_count(1)
    expect(compose.get_by_role("dialog")).to_contain_text("INV-R-1")
    expect(compose.get_by_label(t("To"))).to_have_value("compta@riviere.test")
    expect(compose.get_by_label(t("Message"))).to_contain_text("INV-R-1")  # the French template of R2
    compose.get_by_label(t("Subject")).fill("Relance : facture INV-R-1")
    compose.get_by_label(t("Message")).fill("Bonjour,\nmerci de régler la facture INV-R-1.")
    compose.get_by_role("button", name=t("Send"), exact=True).click()
    status = page.get_by_test_id("outbox-status")
    expect(status).to_be_visible()
    run_jobs()
    expect(status).to_contain_text(t("Sent to %(to)s: %(subject)s", to="compta@riviere.test",
                                     subject="Relance : facture INV-R-1"), timeout=10_000)

    [message] = smtp_server.messages
    assert message["Subject"] == "Relance : facture INV-R-1" and message["To"] == "compta@riviere.test"
    assert "merci de régler la facture INV-R-1." in message.get_body(("plain",)).get_content()
    expect(row(page, "INV-R-1").locator(".level")).to_have_text("R2")  # the list redrew itself
    expect(row(page, "INV-R-1").locator("td").nth(8)).to_have_text(day(TODAY))  # last follow-up: today
    expect(row(page, "INV-R-2").locator(".level")).to_have_text("R2")  # untouched
    page.locator("#modal").get_by_role("button", name=t("Close")).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert_not_reloaded(page)


def test_a_letter_from_a_due_dates_row_after_choosing_the_level(page, ledger):
    log_in(page, "finance@relance.test")
    page.goto("/due-dates?sort=number&dir=desc")
    plant_reload_marker(page)

    row(page, "INV-G-1").get_by_role("button", name=t("Reminder letter for %(number)s", number="INV-G-1")).click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(t("Reminder letter — %(name)s", name="Garage Martin"))
    # Another template: the window redraws; click only once it has (a click on the window being
    # replaced is lost).
    with page.expect_response(lambda r: "/reminders/compose" in r.url and "level=R3" in r.url):
        dialog.get_by_label(t("Reminder level")).select_option("R3")
    expect(page.get_by_role("dialog").get_by_label(t("Reminder level"))).to_have_value("R3")
    page.wait_for_load_state("networkidle")
    page.get_by_role("dialog").get_by_role("button", name=t("Make the letter (PDF)")).click()
    expect(page.get_by_test_id("letter-ready")).to_contain_text(  # a PDF is made
        tn("Letter %(level)s made for %(num)d entry:", "Letter %(level)s made for %(num)d entries:", 1, level="R3"),
        timeout=15_000)
    expect(page.get_by_test_id("letter-ready").get_by_role("link")).to_have_text(re.compile(r"\.pdf$"))

    # The table redraws itself on entriesChanged (slower on a busy machine: a longer wait than the default).
    expect(row(page, "INV-G-1").locator(".level")).to_have_text("R3", timeout=15_000)
    expect(page).to_have_url(re.compile(r"sort=number&dir=desc"))  # the same view, redrawn in place
    assert_not_reloaded(page)


def test_no_reminder_on_a_credit_note(page, ledger):
    log_in(page, "finance@relance.test")
    page.goto("/due-dates")
    expect(row(page, "INV-R-2").get_by_role("button", name=t("E-mail reminder for %(number)s", number="INV-R-2"))
           ).to_be_visible()
    expect(row(page, "AV-R-1")).to_contain_text(t("credit note"))
    expect(row(page, "AV-R-1").get_by_role("button")).to_have_count(0)


def test_support_sees_no_reminder_buttons(page, ledger):
    log_in(page, "support@relance.test")
    page.goto("/due-dates")
    expect(row(page, "INV-R-1")).to_be_visible()
    expect(page.get_by_test_id("due-dates-table").get_by_role("button")).to_have_count(0)
