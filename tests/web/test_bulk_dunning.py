"""Bulk dunning from Who owes you what?: tick customers (or take all matching the filter), the
worker queues one reminder per customer through the outbox, a real SMTP server (aiosmtpd) gets
them, and the run ends with a report (counts in the status fragment, a CSV to download)."""
import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain import clock
from domain.ledger.queries import parse_filters
from domain.models import BulkRun, Entry, OutboxMessage
from domain.reminders import bulk

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


def send_reminders(client, *accounts, confirm=None, **form):
    """Ask for reminders; with `confirm` (the run_jobs fixture) the plan is made and confirmed too."""
    data = {"customer": list(accounts), **form}
    response = client.post("/reminders/bulk", data=data, headers=HTMX)
    if confirm is not None:
        from extensions import db
        from tests.web.conftest import plan_and_confirm

        plan_and_confirm(client, db.session, confirm)
    return response


def the_run(session) -> BulkRun:
    session.expire_all()
    return session.scalar(select(BulkRun).order_by(BulkRun.id.desc()))


def send_then_retry(client, session, run_jobs, *accounts, **form) -> None:
    """Send, then retry the finished run as if the worker had died after queuing."""
    send_reminders(client, *accounts, confirm=run_jobs, **form)
    run_jobs()
    run = the_run(session)
    run.status = "failed"
    session.commit()
    assert client.post(f"/reminders/bulk/{run.id}/retry", headers=HTMX).status_code == 200
    run_jobs()


def report_rows(client, run) -> dict[str, dict]:
    response = client.get(f"/reminders/bulk/{run.id}/report")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    return {row["Customer account"]: row for row in rows}


def test_one_message_per_customer_and_a_report(finance_client, session, three, company, mail, run_jobs):
    response = send_reminders(finance_client, "C100", "C200", "C300", confirm=run_jobs)
    assert response.status_code == 200
    assert 'data-testid="bulk-run-status"' in response.get_data(as_text=True)
    run = the_run(session)
    assert json.loads(run.params)["customer"] == ["C100", "C200", "C300"]

    run_jobs()

    (message,) = mail.messages
    assert message["To"] == "compta@bistro.test" and message["Cc"] == "boss@bistro.test"
    assert message["From"] == "Acme SARL <billing@acme-sarl.test>"
    assert message["Reply-To"] == "Finance <finance@relance.test>"
    text = message["Subject"] + message.get_body(("plain",)).get_content()
    assert "INV-2001" in text and "INV-2002" in text
    assert "INV-2003" not in text and "INV-2004" not in text, "not due / disputed entries are left out"

    run = the_run(session)
    assert run.status == "done" and run.message == "sent 1 · skipped 2 · failed 0"
    outgoing = session.scalar(select(OutboxMessage))
    assert outgoing.status == "sent" and outgoing.level == 3, "the most advanced entry is R2: R3"
    assert outgoing.dedupe_key == bulk.dedupe_key(run.id, three["bistro"].id)
    assert session.get(Entry, three["first"].id).reminder_level == 3
    assert session.get(Entry, three["second"].id).last_reminder_on == clock.today()

    status = finance_client.get(f"/reminders/bulk/{run.id}/status", headers=HTMX).get_data(as_text=True)
    assert "sent 1 · skipped 2 · failed 0" in status and f"/reminders/bulk/{run.id}/report" in status
    assert "hx-trigger" not in status, "a final fragment stops polling"

    rows = report_rows(finance_client, run)
    assert rows["C100"]["Outcome"] == "sent" and rows["C100"]["Level"] == "R3"
    assert rows["C100"]["Entries"] == "INV-2001 INV-2002" and rows["C100"]["Amount"] == "1500.50"
    assert (rows["C200"]["Outcome"], rows["C200"]["Reason"]) == ("skipped", bulk.CUSTOMER_STOPPED)
    assert (rows["C300"]["Outcome"], rows["C300"]["Reason"]) == ("skipped", bulk.NO_EMAIL)


def test_all_that_match_the_filter(finance_client, session, ledger_builder, company, mail, run_jobs):
    high = ledger_builder.customer("C100", "Bistro du Port", emails="compta@bistro.test")
    ledger_builder.entry(high, 90, "500.00", level=3, number="INV-2001")
    low = ledger_builder.customer("C400", "Hôtel du Lac", emails="hotel@lac.test")
    ledger_builder.entry(low, 30, "200.00", level=1, number="INV-5001")
    session.commit()

    assert send_reminders(finance_client, all="1", level="3", confirm=run_jobs).status_code == 200
    run = the_run(session)
    assert json.loads(run.params) == {"all": "1", "level": "3", "confirmed": "1"}
    run_jobs()

    (message,) = mail.messages
    assert message["To"] == "compta@bistro.test" and "INV-2001" in message.get_body(("plain",)).get_content()
    assert the_run(session).message == "sent 1 · skipped 0 · failed 0"
    assert set(report_rows(finance_client, the_run(session))) == {"C100"}


def test_a_retried_job_queues_nothing_twice(finance_client, session, three, company, mail, run_jobs):
    send_then_retry(finance_client, session, run_jobs, "C100", "C200", "C300")

    assert len(mail.envelopes) == 1
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    run = the_run(session)
    assert run.status == "done" and run.message == "sent 1 · skipped 2 · failed 0"
    assert report_rows(finance_client, run)["C100"]["Reason"] == bulk.ALREADY_QUEUED


def test_without_a_company_sender_nothing_can_be_confirmed(finance_client, session, three, mail, run_jobs):
    send_reminders(finance_client, "C100")
    run_jobs()
    run = the_run(session)
    status = finance_client.get(f"/reminders/bulk/{run.id}/status", headers=HTMX).get_data(as_text=True)
    assert "Nothing can be sent: No sender e-mail address for the company" in status
    assert "Would have been: Send 1 reminder (1 R3)" in status
    assert 'data-testid="confirm-bulk"' not in status
    refused = finance_client.post(f"/reminders/bulk/{run.id}/confirm", headers=HTMX).get_data(as_text=True)
    assert "No sender e-mail address" in refused
    run_jobs()
    assert mail.envelopes == [] and session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert the_run(session).status == "planned"


@pytest.mark.parametrize("missing", ["sender", "mail server"])
def test_a_set_up_problem_fails_the_whole_run_at_once_before_anything_is_queued(
        finance_client, app, session, three, company, mail, run_jobs, missing):
    send_reminders(finance_client, "C100", "C200", "C300", confirm=run_jobs)
    if missing == "sender":  # removed between the confirmation and the run
        company.sender_email = ""
        session.commit()
    else:
        app.config["SMTP_URL"] = None
    run_jobs()
    run = the_run(session)
    assert run.status == "failed"
    assert ("No sender e-mail address" if missing == "sender" else "No mail server is configured") in run.message
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0 and mail.envelopes == []
    status = finance_client.get(f"/reminders/bulk/{run.id}/status", headers=HTMX).get_data(as_text=True)
    assert '#circle-x"></use></svg> No reminder was sent:' in status and "#circle-check" not in status


def test_nothing_is_sent_before_the_confirmation_which_gives_the_numbers(finance_client, session, ledger_builder,
                                                                         company, mail, run_jobs):
    for n, level in enumerate((0, 0, 1, 1, 1, 2)):
        customer = ledger_builder.customer(f"C{n}", f"Customer {n}", emails=f"c{n}@x.test",
                                           language="fr" if n == 0 else "en")
        ledger_builder.entry(customer, 30, "100.00", level=level, number=f"INV-{n}")
    stopped = ledger_builder.customer("S1", "Stopped", emails="s@x.test", reminders_stopped=True)
    ledger_builder.entry(stopped, 30, "10.00", number="INV-S1")
    for n in (1, 2):
        silent = ledger_builder.customer(f"N{n}", f"No mail {n}")
        ledger_builder.entry(silent, 30, "10.00", number=f"INV-N{n}")
    session.commit()

    send_reminders(finance_client, all="1")
    run_jobs()
    assert mail.envelopes == [] and session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    run = the_run(session)
    status = finance_client.get(f"/reminders/bulk/{run.id}/status", headers=HTMX).get_data(as_text=True)
    assert "Send 6 reminders (2 R1, 3 R2, 1 R3) — 3 customers skipped (no e-mail 2, reminders stopped 1)" in status
    assert "R1 (fr) ×1" in status and "R2 (en) ×3" in status
    assert 'data-testid="bulk-preview"' in status and "Subject:" in status
    assert "<td>Customer 5</td><td>R3</td>" in status.replace("\n", "")
    assert "<td>Stopped</td><td>skipped: reminders stopped</td>" in status.replace("\n", "")
    assert "hx-get" not in status, "a plan waiting for its confirmation does not poll"

    finance_client.post(f"/reminders/bulk/{run.id}/confirm", headers=HTMX)
    run_jobs()
    assert len(mail.envelopes) == 6
    session.expire_all()
    status = finance_client.get(f"/reminders/bulk/{run.id}/status", headers=HTMX).get_data(as_text=True)
    assert "#circle-check" in status and "sent 6 · skipped 3 · failed 0" in status


def test_the_run_sends_to_the_planned_customers_only(finance_client, session, ledger_builder, company, mail,
                                                     run_jobs):
    first = ledger_builder.customer("C1", "First", emails="one@x.test")
    ledger_builder.entry(first, 30, "100.00", number="INV-1")
    session.commit()
    send_reminders(finance_client, all="1")
    run_jobs()
    late = ledger_builder.customer("C2", "Arrived after the plan", emails="two@x.test")
    ledger_builder.entry(late, 30, "100.00", number="INV-2")
    session.commit()
    finance_client.post(f"/reminders/bulk/{the_run(session).id}/confirm", headers=HTMX)
    run_jobs()
    assert [m["To"] for m in mail.messages] == ["one@x.test"]


def test_a_cancelled_plan_sends_nothing_and_an_old_plan_is_made_again(finance_client, session, three, company, mail,
                                                                      run_jobs):
    from datetime import timedelta

    send_reminders(finance_client, "C100")
    run_jobs()
    run = the_run(session)
    plan = json.loads(run.result)
    plan["planned_at"] = (clock.now() - timedelta(hours=2)).isoformat()
    run.result = json.dumps(plan)
    session.commit()
    stale = finance_client.post(f"/reminders/bulk/{run.id}/confirm", headers=HTMX).get_data(as_text=True)
    assert "more than an hour old" in stale
    cancelled = finance_client.post(f"/reminders/bulk/{run.id}/cancel", headers=HTMX).get_data(as_text=True)
    assert "Cancelled: nothing was sent." in cancelled
    assert finance_client.post(f"/reminders/bulk/{run.id}/confirm", headers=HTMX).status_code == 200
    run_jobs()
    assert mail.envelopes == [] and the_run(session).status == "cancelled"


def test_another_users_plan_cannot_be_confirmed(client, session, three, company, users, run_jobs):
    from tests.conftest import login

    login(client, "finance@relance.test")
    send_reminders(client, "C100")
    run_jobs()
    run = the_run(session)
    client.post("/logout")
    login(client, "admin@relance.test")
    assert client.post(f"/reminders/bulk/{run.id}/confirm", headers=HTMX).status_code == 200  # an admin may
    client.post("/logout")
    from domain.users import create_user

    create_user(session, "other@relance.test", "correct-horse-battery", "finance")
    session.commit()
    login(client, "other@relance.test")
    assert client.post(f"/reminders/bulk/{run.id}/cancel", headers=HTMX).status_code == 404


def test_a_run_skips_a_customer_whose_message_has_an_unknown_outcome(finance_client, session, three, company,
                                                                     users, mail, run_jobs):
    from domain.reminders import outbox

    send_reminders(finance_client, "C100")
    run_jobs()  # the plan says: send R3 to C100
    run = the_run(session)
    assert "Send 1 reminder (1 R3)" in run.result
    # Meanwhile an R3 to the same customer was being sent when its worker died: still "sending".
    message, _ = outbox.queue_message(session, customer=three["bistro"], entries=[three["first"]], level=3,
                                      to="compta@bistro.test", subject="Mise en demeure", body="B",
                                      sent_by=users["finance"], dedupe_key="killed")
    outbox.claim(session, message.id)
    session.commit()

    finance_client.post(f"/reminders/bulk/{run.id}/confirm", headers=HTMX)
    run_jobs()
    assert mail.envelopes == [] and session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert report_rows(finance_client, the_run(session))["C100"]["Reason"] == bulk.UNSETTLED

    send_reminders(finance_client, "C100")
    run_jobs()
    status = finance_client.get(f"/reminders/bulk/{the_run(session).id}/status", headers=HTMX).get_data(as_text=True)
    assert "Nothing to send — 1 customer skipped (a reminder still on its way 1)" in status


def test_a_second_run_minutes_later_does_not_escalate_again(finance_client, session, three, company, mail,
                                                            run_jobs):
    send_reminders(finance_client, "C100", confirm=run_jobs)
    run_jobs()
    assert len(mail.envelopes) == 1
    assert session.get(Entry, three["second"].id).reminder_level == 3

    send_reminders(finance_client, "C100")
    run_jobs()
    status = finance_client.get(f"/reminders/bulk/{the_run(session).id}/status", headers=HTMX).get_data(as_text=True)
    assert "Nothing to send — 1 customer skipped (reminded in the last 7 days 1)" in status

    clock.pin(clock.today() + timedelta(days=7))  # a week later the next level is due
    send_reminders(finance_client, "C100", confirm=run_jobs)
    run_jobs()
    assert len(mail.envelopes) == 2
