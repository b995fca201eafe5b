"""Sending reminders from the account status in Chromium: one entry (@), then a grouped follow-up
of several ticked entries, each arriving at a real (in-process) SMTP server.

The outbox job runs through RQ's SimpleWorker in this thread while the page polls the message's
status, as the worker process would run it.
"""
from __future__ import annotations

import pytest

from domain.models import CompanySettings, Entry
from tests.browser.support import expect, log_in, t, tp
from tests.smtp import smtp_server  # noqa: F401  (pytest fixture)


@pytest.fixture
def account(app, session, ledger_builder, users, smtp_server):  # noqa: F811
    app.config.update(SMTP_URL=smtp_server.url)
    session.add(CompanySettings(name="Relance Demo SAS", registration_number="732829320",
                                sender_email="ar@relance.test"))
    customer = ledger_builder.customer("R001", "Rivière Traiteur", emails="compta@riviere.test", language="fr")
    ledger_builder.entry(customer, 40, "1200.00", level=1, number="INV-R-1")
    ledger_builder.entry(customer, 20, "300.50", level=2, number="INV-R-2")
    ledger_builder.entry(customer, -5, "99.00", number="INV-R-3")
    session.commit()
    return customer


def send_and_deliver(page, run_jobs):
    subject = page.locator("#modal").get_by_label(t("Subject")).input_value()
    page.get_by_role("button", name=t("Send"), exact=True).click()
    status = page.get_by_test_id("outbox-status")
    expect(status).to_be_visible()
    run_jobs()
    expect(status).to_contain_text(sent_to("compta@riviere.test", subject), timeout=10_000)


def sent_to(address, subject):
    return t("Sent to %(to)s: %(subject)s", to=address, subject=subject)


def test_a_manual_reminder_from_one_entry(page, account, run_jobs, smtp_server, session):  # noqa: F811
    log_in(page, "finance@relance.test")
    page.goto("/customers/R001")
    page.get_by_role("button", name=t("E-mail reminder for %(number)s", number="INV-R-1")).click()
    compose = page.locator("#modal")
    expect(compose.get_by_label(t("To"))).to_have_value("compta@riviere.test")
    expect(compose.get_by_label(t("Message"))).to_contain_text("INV-R-1")  # the French template of R2
    compose.get_by_label(t("Subject")).fill("Relance : facture INV-R-1")
    send_and_deliver(page, run_jobs)

    [message] = smtp_server.messages
    assert message["Subject"] == "Relance : facture INV-R-1"
    assert message["To"] == "compta@riviere.test"
    assert "finance@relance.test" in message["Reply-To"]
    assert "INV-R-1" in message.get_body(("plain",)).get_content()
    session.expire_all()
    entry = session.query(Entry).filter_by(number="INV-R-1").one()
    assert entry.reminder_level == 2 and entry.last_reminder_on is not None


def test_a_grouped_follow_up_covers_every_ticked_entry(page, account, run_jobs, smtp_server):  # noqa: F811
    log_in(page, "finance@relance.test")
    page.goto("/customers/R001")
    for number in ("INV-R-1", "INV-R-2"):
        page.locator(f"tr[data-number='{number}'] input[name=entry]").check()
    page.get_by_role("button", name=t("Send reminder")).click()
    compose = page.locator("#modal")
    expect(compose).to_contain_text("INV-R-1")
    expect(compose).to_contain_text("INV-R-2")
    send_and_deliver(page, run_jobs)

    [message] = smtp_server.messages
    body = message.get_body(("plain",)).get_content()
    assert "INV-R-1" in body and "INV-R-2" in body and "INV-R-3" not in body


def test_send_anyway_for_a_stopped_customer_needs_a_reason_and_the_window_ends_clean(
        page, account, run_jobs, smtp_server, session, users):  # noqa: F811
    from domain.collection.marks import set_reminders_stopped

    set_reminders_stopped(session, session.merge(account), users["finance"], True, reason="Paying by instalments")
    session.commit()
    log_in(page, "finance@relance.test")
    page.goto("/customers/R001")
    page.get_by_role("button", name=t("E-mail reminder for %(number)s", number="INV-R-1")).click()
    dialog = page.get_by_role("dialog")
    hold = t("Reminders are stopped for %(subject)s: %(reason)s.",
             subject=tp("reminders are stopped for…", "this customer"), reason="Paying by instalments")
    expect(dialog.get_by_test_id("reminder-holds")).to_contain_text(hold)
    expect(dialog.get_by_role("button", name=t("Send"), exact=True)).to_have_count(0)

    why = t("Why send it anyway?")
    dialog.get_by_label(why).fill("   ")  # passes the browser's check, not the server's
    dialog.get_by_role("button", name=t("Send anyway")).click()
    give_a_reason = t("%(holds)s Give a reason to send it anyway.", holds=hold)
    expect(page.get_by_role("dialog")).to_contain_text(give_a_reason)
    expect(page.get_by_test_id("reminder-holds")).to_have_count(1)  # one window, not one inside the other

    page.get_by_role("dialog").get_by_label(why).fill("The manager asked for it")
    subject = page.get_by_role("dialog").get_by_label(t("Subject")).input_value()
    page.get_by_role("dialog").get_by_role("button", name=t("Send anyway")).click()
    status = page.get_by_test_id("outbox-status")
    expect(status).to_be_visible()
    expect(page.get_by_role("dialog")).not_to_contain_text(give_a_reason)
    expect(page.get_by_test_id("reminder-holds")).to_have_count(0)
    run_jobs()
    expect(status).to_contain_text(sent_to("compta@riviere.test", subject), timeout=10_000)
    assert len(smtp_server.messages) == 1
