"""From a formal notice to debt collection in Chromium: the notice issued from the account status on a
ticked invoice and recorded as sent by registered letter, its deadline passes unpaid, the daily rule lists it under the Manual transfer tab, a
user approves it there, and the Debt collection approval column says who."""
from __future__ import annotations

from datetime import timedelta

import pytest

from domain import clock, debt_collection
from domain.models import CompanySettings
from tests.browser.support import answer_confirmation, day, expect, log_in, money, t, tn, tp
from tests.conftest import TODAY


@pytest.fixture
def bistro(session, ledger_builder, users):
    session.add(CompanySettings(name="Relance Demo SAS", registration_number="732829320",
                                sender_email="ar@relance.test", iban="FR7630006000011234567890189"))
    customer = ledger_builder.customer("B001", "Bistro du Port", emails="compta@bistro.test", language="fr")
    ledger_builder.entry(customer, 60, "1000.00", level=5, number="INV-B-1")
    session.commit()
    session.close()


def test_a_notice_expires_and_the_claim_is_approved_in_the_manual_tab(page, bistro, session, run_jobs):
    log_in(page, "finance@relance.test")
    page.goto("/customers/B001")
    page.get_by_label(t("Select %(number)s", number="INV-B-1")).check()
    page.get_by_test_id("open-notice-dialog").click()
    dialog = page.get_by_role("dialog", name=t("Formal notice — %(customer)s", customer="Bistro du Port"))
    # 1,000.00 × 12.15 % × 60 / 365 = €19.97, and the €40.00 indemnity
    expect(dialog.get_by_test_id("notice-lines")).to_contain_text(money("19.97"))
    expect(dialog.get_by_test_id("notice-lines")).to_contain_text(money("40.00"))
    expect(dialog.get_by_test_id("notice-claim")).to_be_checked()
    dialog.get_by_test_id("notice-channel-letter").check()
    dialog.get_by_test_id("issue-notice").click()
    expect(page.get_by_test_id("notice-issued")).to_have_text(tn(  # 8 days to pay
        "%(total)s to pay by %(deadline)s (%(num)d invoice, interest %(interest)s and indemnity %(indemnity)s claimed).",
        "%(total)s to pay by %(deadline)s (%(num)d invoices, interest %(interest)s and indemnity %(indemnity)s claimed).",
        1, total=money("1059.97"), deadline=day(TODAY + timedelta(days=8)), interest=money("19.97"),
        indemnity=money("40.00")))
    page.get_by_role("dialog").get_by_role("button", name=t("Close")).click()
    expect(page.get_by_test_id("notices")).to_contain_text(t("Deadline running"))
    page.get_by_text(t("Sent by registered letter…")).click()
    page.get_by_label(t("Tracking number of notice %(id)s", id=1)).fill("1A 234 567 8901 2")
    page.get_by_role("button", name=t("Record"), exact=True).click()
    expect(page.get_by_test_id("notices")).to_contain_text(
        t("Registered letter %(tracking)s, posted %(day)s", tracking="1A 234 567 8901 2", day=day(TODAY)))

    clock.pin(TODAY + timedelta(days=9))  # the 8 days passed unpaid; the daily rule runs
    debt_collection.run(session)
    session.commit()

    page.goto("/debt-collection")
    expect(page.get_by_test_id("tab-manual")).to_have_attribute("aria-current", "page")
    row = page.locator("tr[data-number='INV-B-1']")
    expect(row).to_contain_text("Bistro du Port")
    expect(row).to_contain_text(money("59.97"))  # interest and indemnity claimed go with it
    row.get_by_label(t("Select %(number)s", number="INV-B-1")).check()
    page.get_by_test_id("approve-claims").click()
    answer_confirmation(page)
    expect(page.get_by_test_id("claims-notice")).to_contain_text(tn(
        "%(num)d approved and transferred to debt collection: the collection file is being made "
        "(the bell says when it is ready).",
        "%(num)d approved and transferred to debt collection: the collection file is being made "
        "(the bell says when it is ready).", 1))
    page.get_by_label(t("Status")).select_option("transferred")
    page.get_by_role("button", name=t("Filter")).click()
    row = page.locator("tr[data-number='INV-B-1']")
    expect(row.get_by_test_id("claim-status")).to_contain_text(tp("claim status", "Transferred to debt collection"))
    expect(row.get_by_test_id("claim-approval")).to_contain_text("Finance")
    run_jobs()
    page.goto("/customers/B001")
    expect(page.get_by_role("button", name=t("Remove collection mark from %(number)s", number="INV-B-1"))).to_be_visible()
