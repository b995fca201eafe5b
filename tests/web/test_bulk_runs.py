"""Bulk reminders are runs of their own, not exports: the Bulk reminders page lists them, the bell
and the e-mail tell their owner the counts, a run that stopped half-way says how many reminders it
queued and its Retry never sends one twice, a stale confirmation is asked for again, and the
report expires like an export's file."""
import json
from datetime import timedelta

from sqlalchemy import func, select

from domain import clock
from domain.models import BulkRun, Notification, OutboxMessage
from tests.conftest import login
from tests.web.conftest import BASE_URL
from tests.web.test_bulk_dunning import HTMX, send_reminders, the_run, three  # noqa: F401  (fixture)


def prefer(session, user, choice):
    user.export_notifications = choice
    session.commit()


def test_the_owner_hears_the_counts_on_the_bell_and_by_email(finance_client, session, users, three, company, mail,
                                                            run_jobs):
    prefer(session, users["finance"], "both")
    send_reminders(finance_client, "C100", "C200", "C300", confirm=run_jobs)
    run_jobs()
    run = the_run(session)
    customers = {envelope.rcpt_tos[0] for envelope in mail.envelopes}
    assert customers == {"compta@bistro.test", "finance@relance.test"}, "one reminder, and the owner's e-mail"

    (notification,) = session.scalars(select(Notification)).all()
    assert notification.bulk_run_id == run.id and notification.export_id is None
    assert notification.text == "Your bulk reminders were sent: sent 1 · skipped 2 · failed 0"
    opened = finance_client.get(f"/notifications/{notification.id}/open")
    assert opened.headers["Location"].endswith(f"/reminders/bulk#bulk-run-{run.id}")
    page = finance_client.get("/reminders/bulk").get_data(as_text=True)
    assert f'id="bulk-run-{run.id}"' in page and "sent 1 · skipped 2 · failed 0" in page

    (owner,) = [m for m in mail.messages if m["To"].addresses[0].addr_spec == "finance@relance.test"]
    assert owner["Subject"] == "Your bulk reminders were sent: sent 1 · skipped 2 · failed 0"
    body = owner.get_body(("plain",)).get_content()
    assert f"{BASE_URL}/reminders/bulk/{run.id}/report" in body
    assert "Export" not in body and "export" not in body


def test_a_run_that_stopped_half_way_says_what_it_queued_and_its_retry_sends_nothing_twice(
        finance_client, session, three, company, mail, run_jobs):
    send_reminders(finance_client, "C100", "C200", "C300", confirm=run_jobs)
    run_jobs()
    run = the_run(session)
    run.status, run.message = "failed", "The worker stopped during the run. Retry to carry it on."
    session.commit()
    status = finance_client.get(f"/reminders/bulk/{run.id}/status", headers=HTMX).get_data(as_text=True)
    assert '#triangle-alert"></use></svg> The run stopped' in status and "1 reminder was queued before it stopped" in status
    assert "No reminder was sent" not in status, "what went out is never shown as not sent"
    assert f"/reminders/bulk/{run.id}/retry" in status

    assert finance_client.post(f"/reminders/bulk/{run.id}/retry", headers=HTMX).status_code == 200
    run_jobs()
    run = the_run(session)
    assert run.status == "done" and run.message == "sent 1 · skipped 2 · failed 0"
    assert len(mail.envelopes) == 1, "the reminder already queued is not sent again"


def test_retrying_a_confirmation_older_than_an_hour_asks_for_it_again(finance_client, session, three, company, mail,
                                                                      run_jobs, app):
    send_reminders(finance_client, "C100", confirm=run_jobs)
    app.config["SMTP_URL"] = None  # the run fails before anything is queued
    run_jobs()
    run = the_run(session)
    assert run.status == "failed" and "No mail server" in run.message
    status = finance_client.get(f"/reminders/bulk/{run.id}/status", headers=HTMX).get_data(as_text=True)
    assert '#circle-x"></use></svg> No reminder was sent' in status

    plan = json.loads(run.result)
    plan["planned_at"] = (clock.now() - timedelta(hours=2)).isoformat()
    run.result = json.dumps(plan)
    session.commit()
    app.config["SMTP_URL"] = mail.url
    finance_client.post(f"/reminders/bulk/{run.id}/retry", headers=HTMX)
    run_jobs()
    run = the_run(session)
    assert run.status == "planned" and "confirmed" not in json.loads(run.params)
    assert mail.envelopes == [] and session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_runs_are_their_owners_an_admin_sees_them_all(client, session, users, three, company, run_jobs):
    login(client, "finance@relance.test")
    send_reminders(client, "C100")
    run_jobs()
    run = the_run(session)
    client.post("/logout")

    login(client, "support@relance.test")
    assert client.get(f"/reminders/bulk/{run.id}/status", headers=HTMX).status_code == 404
    assert f"bulk-run-{run.id}" not in client.get("/reminders/bulk").get_data(as_text=True)
    client.post("/logout")

    login(client, "admin@relance.test")
    page = client.get("/reminders/bulk").get_data(as_text=True)
    assert f'id="bulk-run-{run.id}"' in page and "<td>Finance</td>" in page
    exports = client.get("/exports/").get_data(as_text=True).split("<main>")[1]
    assert "Bulk reminders" not in exports, "the exports page lists files (the menu links to bulk reminders)"


def test_a_job_queued_for_a_run_when_it_was_an_export_still_runs(finance_client, session, three, company, app):
    import jobs

    send_reminders(finance_client, "C100")
    run = the_run(session)
    with app.app_context():
        jobs.build_export(run.id)  # the path RQ kept for it
    assert the_run(session).status == "planned"


def test_the_report_expires_like_an_exports_file(finance_client, session, three, company, mail, run_jobs, app):
    import jobs.base
    import jobs.exports

    send_reminders(finance_client, "C100", confirm=run_jobs)
    run_jobs()
    run = the_run(session)
    with app.app_context():
        folder = jobs.base.run_path(run)
    assert (folder / run.filename).is_file()
    assert run.expires_at is not None
    run.expires_at = clock.now() - timedelta(minutes=1)
    session.commit()
    with app.app_context():
        assert jobs.exports.delete_expired_exports() == 1
    assert not folder.exists()
    run = the_run(session)
    assert run.file_deleted and run.status == "done"
    assert finance_client.get(f"/reminders/bulk/{run.id}/report").status_code == 410
    status = finance_client.get(f"/reminders/bulk/{run.id}/status", headers=HTMX).get_data(as_text=True)
    assert "the report was deleted on" in status and "sent 1" in status
