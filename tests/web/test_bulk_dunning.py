"""Bulk dunning from Who owes you what?: tick customers (or take all matching the filter), the
worker queues one reminder per customer through the outbox, a real SMTP server (aiosmtpd) gets
them, and the export ends with a report (counts in the status fragment, a CSV to download)."""
import csv
import io
import json

import pytest
from sqlalchemy import func, select

from domain import clock, dunning
from domain.models import Entry, Export, OutboxMessage
from domain.queries import parse_filters

HTMX = {"HX-Request": "true"}


@pytest.fixture
def three(session, ledger_builder):
    """A customer to remind (two overdue entries, one not due, one disputed), one whose reminders
    are stopped, one without an e-mail address."""
    bistro = ledger_builder.customer("C100", "Bistro du Port", emails="compta@bistro.test, boss@bistro.test")
    first = ledger_builder.entry(bistro, 40, "1200.50", level=1, number="INV-2001")
    second = ledger_builder.entry(bistro, 10, "300.00", level=2, number="INV-2002")
    ledger_builder.entry(bistro, -5, "80.00", number="INV-2003")  # not due yet
    ledger_builder.entry(bistro, 60, "45.00", number="INV-2004", disputed=True)
    stopped = ledger_builder.customer("C200", "Garage Martin", emails="garage@martin.test", reminders_stopped=True,
                                      stop_reason="Payment plan agreed")
    ledger_builder.entry(stopped, 20, "99.00", number="INV-3001")
    silent = ledger_builder.customer("C300", "Boulangerie Sans Mail")
    ledger_builder.entry(silent, 15, "12.00", number="INV-4001")
    session.commit()
    return {"bistro": bistro, "first": first, "second": second}


def send_reminders(client, *accounts, **form):
    data = {"customer": list(accounts), **form}
    return client.post("/reminders/bulk", data=data, headers=HTMX)


def the_export(session) -> Export:
    session.expire_all()
    return session.scalar(select(Export).where(Export.kind == "bulk_dunning").order_by(Export.id.desc()))


def send_then_retry(client, session, run_jobs, *accounts, **form) -> None:
    """Send, then retry the finished export as if the worker had died after queuing."""
    send_reminders(client, *accounts, **form)
    run_jobs()
    export = the_export(session)
    export.status = "failed"
    session.commit()
    assert client.post(f"/exports/{export.id}/retry", headers=HTMX).status_code == 200
    run_jobs()


def report_rows(client, export) -> dict[str, dict]:
    response = client.get(f"/exports/{export.id}/download")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    return {row["Customer account"]: row for row in rows}


def test_one_message_per_customer_and_a_report(finance_client, session, three, company, mail, run_jobs):
    response = send_reminders(finance_client, "C100", "C200", "C300")
    assert response.status_code == 200
    assert 'data-testid="export-status"' in response.get_data(as_text=True)
    export = the_export(session)
    assert json.loads(export.params)["customer"] == ["C100", "C200", "C300"]

    run_jobs()

    (message,) = mail.messages
    assert message["To"] == "compta@bistro.test" and message["Cc"] == "boss@bistro.test"
    assert message["From"] == "Acme SARL <billing@acme-sarl.test>"
    assert message["Reply-To"] == "Finance <finance@relance.test>"
    text = message["Subject"] + message.get_body(("plain",)).get_content()
    assert "INV-2001" in text and "INV-2002" in text
    assert "INV-2003" not in text and "INV-2004" not in text, "not due / disputed entries are left out"

    export = the_export(session)
    assert export.status == "ready" and export.message == "sent 1 · skipped 2 · failed 0"
    outgoing = session.scalar(select(OutboxMessage))
    assert outgoing.status == "sent" and outgoing.level == 3, "the most advanced entry is R2: R3"
    assert outgoing.dedupe_key == dunning.dedupe_key(export.id, three["bistro"].id)
    assert session.get(Entry, three["first"].id).reminder_level == 3
    assert session.get(Entry, three["second"].id).last_reminder_on == clock.today()

    status = finance_client.get(f"/exports/{export.id}/status", headers=HTMX).get_data(as_text=True)
    assert "sent 1 · skipped 2 · failed 0" in status and f"/exports/{export.id}/download" in status
    assert "hx-trigger" not in status, "a final fragment stops polling"

    rows = report_rows(finance_client, export)
    assert rows["C100"]["Outcome"] == "sent" and rows["C100"]["Level"] == "R3"
    assert rows["C100"]["Entries"] == "INV-2001 INV-2002" and rows["C100"]["Amount"] == "1500.50"
    assert (rows["C200"]["Outcome"], rows["C200"]["Reason"]) == ("skipped", dunning.CUSTOMER_STOPPED)
    assert (rows["C300"]["Outcome"], rows["C300"]["Reason"]) == ("skipped", dunning.NO_EMAIL)


def test_all_that_match_the_filter(finance_client, session, ledger_builder, company, mail, run_jobs):
    high = ledger_builder.customer("C100", "Bistro du Port", emails="compta@bistro.test")
    ledger_builder.entry(high, 90, "500.00", level=3, number="INV-2001")
    low = ledger_builder.customer("C400", "Hôtel du Lac", emails="hotel@lac.test")
    ledger_builder.entry(low, 30, "200.00", level=1, number="INV-5001")
    session.commit()

    assert send_reminders(finance_client, all="1", level="3").status_code == 200
    export = the_export(session)
    assert json.loads(export.params) == {"all": "1", "level": "3"}
    run_jobs()

    (message,) = mail.messages
    assert message["To"] == "compta@bistro.test" and "INV-2001" in message.get_body(("plain",)).get_content()
    assert the_export(session).message == "sent 1 · skipped 0 · failed 0"
    assert set(report_rows(finance_client, the_export(session))) == {"C100"}


def test_a_retried_job_queues_nothing_twice(finance_client, session, three, company, mail, run_jobs):
    send_then_retry(finance_client, session, run_jobs, "C100", "C200", "C300")

    assert len(mail.envelopes) == 1
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    export = the_export(session)
    assert export.status == "ready" and export.message == "sent 1 · skipped 2 · failed 0"
    assert report_rows(finance_client, export)["C100"]["Reason"] == dunning.ALREADY_QUEUED


def test_without_a_company_sender_every_message_fails(finance_client, session, three, mail, run_jobs):
    send_reminders(finance_client, "C100")
    run_jobs()
    assert mail.envelopes == []
    export = the_export(session)
    assert export.status == "ready" and export.message == "sent 0 · skipped 0 · failed 1"
    row = report_rows(finance_client, export)["C100"]
    assert row["Outcome"] == "failed" and "No sender e-mail address" in row["Reason"]


def test_a_mail_server_down_is_a_failure_in_the_report_and_a_delivery_to_retry(
        finance_client, app, session, three, company, closed_smtp_url, run_jobs):
    app.config["SMTP_URL"] = closed_smtp_url
    send_reminders(finance_client, "C100", "C200")
    run_jobs()

    export = the_export(session)
    assert export.status == "ready" and export.message == "sent 0 · skipped 1 · failed 1"
    line = report_rows(finance_client, export)["C100"]
    assert line["Outcome"] == "failed"
    assert "Cannot reach the mail server" in line["Reason"] and "Deliveries" in line["Reason"]
    outgoing = session.scalar(select(OutboxMessage))
    assert outgoing.status == "failed" and outgoing.next_attempt_at is not None, "retried later with back-off"
    assert session.get(Entry, three["first"].id).reminder_level == 1, "a message not sent raises nothing"
    deliveries = finance_client.get("/reminders/deliveries").get_data(as_text=True)
    assert "compta@bistro.test" in deliveries and "Cannot reach the mail server" in deliveries


def test_a_refused_recipient_fails_its_own_line_only(finance_client, session, ledger_builder, company, mail,
                                                     run_jobs):
    """Messages go out one after the other while the next is prepared: each outcome lands on the
    right customer's line."""
    for account, address in (("C100", "a@one.test"), ("C200", "gone@two.test"), ("C300", "c@three.test")):
        customer = ledger_builder.customer(account, f"Customer {account}", emails=address)
        ledger_builder.entry(customer, 30, "100.00", number=f"INV-{account}")
    session.commit()
    mail.inbox.refused.add("gone@two.test")
    send_reminders(finance_client, "C100", "C200", "C300")
    run_jobs()

    assert sorted(m["To"] for m in mail.messages) == ["a@one.test", "c@three.test"]
    export = the_export(session)
    assert export.message == "sent 2 · skipped 0 · failed 1"
    lines = report_rows(finance_client, export)
    assert (lines["C100"]["Outcome"], lines["C300"]["Outcome"]) == ("sent", "sent")
    assert lines["C200"]["Outcome"] == "failed" and "gone@two.test" in lines["C200"]["Reason"]
    statuses = {m.to_addresses: m.status for m in session.scalars(select(OutboxMessage))}
    assert statuses == {"a@one.test": "sent", "gone@two.test": "failed", "c@three.test": "sent"}
    levels = {e.number: e.reminder_level for e in session.scalars(select(Entry))}
    assert levels == {"INV-C100": 1, "INV-C200": 0, "INV-C300": 1}


def test_nothing_ticked_is_refused_with_a_message(finance_client, session, three):
    response = send_reminders(finance_client)
    assert response.status_code == 200
    assert "Tick at least one customer" in response.get_data(as_text=True)
    assert the_export(session) is None


def test_support_cannot_send_reminders(support_client, session, three, company):
    assert send_reminders(support_client, "C100").status_code == 403
    assert send_reminders(support_client, all="1").status_code == 403
    assert the_export(session) is None
    html = support_client.get("/").get_data(as_text=True)
    assert "Send reminders" not in html and 'name="customer"' not in html


def test_the_page_offers_a_checkbox_per_customer(finance_client, three):
    html = finance_client.get("/").get_data(as_text=True)
    assert 'name="customer" value="C100"' in html and "Send reminders" in html
    assert 'name="all" value="1"' in html


def test_plan_gives_the_reason_for_each_skip(session, ledger_builder, pinned_today):
    everything = ledger_builder.customer("C500", "Tout Bloqué", emails="a@b.test")
    ledger_builder.entry(everything, 30, "10.00", in_collection=True)
    ledger_builder.entry(everything, 20, "10.00", disputed=True)
    ledger_builder.entry(everything, 10, "10.00", reminders_stopped=True, stop_reason="asked")
    paid_up = ledger_builder.customer("C600", "À Jour", emails="c@d.test")
    ledger_builder.entry(paid_up, -10, "10.00")
    ledger_builder.entry(paid_up, 10, "10.00", kind="credit_note")
    capped = ledger_builder.customer("C700", "Très En Retard", emails="e@f.test")
    ledger_builder.entry(capped, 200, "10.00", level=5)
    session.commit()

    decisions = {d.account: d for d in dunning.plan_bulk_dunning(session, ["C500", "C600", "C700", "NOPE"],
                                                                 pinned_today)}
    assert decisions["C500"].outcome == "skipped"
    assert decisions["C500"].reason == ("every overdue entry is left out: 1 reminders stopped, 1 in collection, "
                                        "1 disputed")
    assert (decisions["C600"].outcome, decisions["C600"].reason) == ("skipped", dunning.NOTHING_OVERDUE)
    assert (decisions["C700"].outcome, decisions["C700"].level) == ("send", 5), "capped at R5"
    assert decisions["NOPE"].reason == dunning.UNKNOWN_ACCOUNT

    by_filter = dunning.plan_bulk_dunning(session, parse_filters({"level": "5"}, ()), pinned_today)
    assert [d.account for d in by_filter] == ["C700"]
