"""Export notifications: the bell (in-app), e-mail as each user prefers, and export expiry."""
import logging
import re
from datetime import timedelta

import pytest

import jobs.base
import jobs.exports
import worker
from domain import clock
from domain.models import Export, Notification
from tests.conftest import login
from tests.web.conftest import BASE_URL

HTMX = {"HX-Request": "true"}


@pytest.fixture
def ledger(session, ledger_builder):
    acme = ledger_builder.customer("C001", "Acme Industries")
    ledger_builder.entry(acme, 120, "900.10", level=5)
    session.commit()


def export_balances(client) -> int:
    html = client.post("/exports/balances", data={}, headers=HTMX).get_data(as_text=True)
    return int(re.search(r'id="export-(\d+)"', html).group(1))


def unread(client) -> int:
    response = client.get("/notifications/bell", headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'icons.svg#bell"' in html
    return int(re.search(r'data-unread="(\d+)"', html).group(1))


def notification_ids(client) -> list[int]:
    html = client.get("/notifications/", headers=HTMX).get_data(as_text=True)
    return [int(i) for i in re.findall(r"/notifications/(\d+)/open", html)]


def prefer(session, user, choice):
    user.export_notifications = choice
    session.commit()


# --- The bell ----------------------------------------------------------------------------------

def test_bell_counts_the_ready_export_and_opening_it_reads_it_and_downloads(finance_client, ledger, run_jobs):
    assert unread(finance_client) == 0
    export_id = export_balances(finance_client)
    run_jobs()

    assert unread(finance_client) == 1
    menu = finance_client.get("/notifications/", headers=HTMX).get_data(as_text=True)
    assert "Your export “Who owes you what? (Excel)” is ready" in menu
    (notification_id,) = notification_ids(finance_client)

    opened = finance_client.get(f"/notifications/{notification_id}/open")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/exports/{export_id}/download")
    download = finance_client.get(opened.headers["Location"])
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert unread(finance_client) == 0


def test_a_failed_export_is_announced_and_leads_to_the_exports_page(finance_client, ledger, run_jobs, monkeypatch):
    def broken(export):
        raise OSError("disk full")

    monkeypatch.setitem(jobs.exports.BUILDERS, "balances_xlsx", broken)
    export_balances(finance_client)
    run_jobs()
    assert unread(finance_client) == 1
    menu = finance_client.get("/notifications/", headers=HTMX).get_data(as_text=True)
    assert "failed" in menu and "disk full" in menu
    (notification_id,) = notification_ids(finance_client)
    opened = finance_client.get(f"/notifications/{notification_id}/open")
    assert opened.headers["Location"].endswith("/exports/")


def test_only_the_owner_sees_and_opens_a_notification(client, users, ledger, run_jobs):
    login(client, "finance@relance.test")
    export_balances(client)
    run_jobs()
    (notification_id,) = notification_ids(client)
    client.post("/logout")
    for other in ("support@relance.test", "admin@relance.test"):
        login(client, other)
        assert unread(client) == 0
        assert notification_ids(client) == []
        assert client.get(f"/notifications/{notification_id}/open").status_code == 404
        client.post("/logout")


def test_the_final_export_status_rings_the_bell(finance_client, ledger, run_jobs):
    export_id = export_balances(finance_client)
    assert "HX-Trigger" not in finance_client.get(f"/exports/{export_id}/status").headers
    run_jobs()
    assert finance_client.get(f"/exports/{export_id}/status").headers["HX-Trigger"] == "exportChanged"


def test_mark_all_read(finance_client, ledger, run_jobs):
    export_balances(finance_client)
    run_jobs()
    response = finance_client.post("/notifications/read", headers=HTMX)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "exportChanged"
    assert unread(finance_client) == 0


def test_the_bell_keeps_an_open_list_across_refreshes(finance_client):
    html = finance_client.get("/notifications/bell", headers=HTMX).get_data(as_text=True)
    assert 'id="bell-menu" hx-preserve' in html


def test_a_logged_out_page_stops_polling_the_bell(client):
    response = client.get("/notifications/bell", headers=HTMX)
    assert response.status_code == 286 and response.data == b""


def test_every_page_has_the_bell(finance_client, ledger):
    html = finance_client.get("/exports/").get_data(as_text=True)
    assert 'id="bell" hx-get="/notifications/bell"' in html


# --- How each user hears about exports -------------------------------------------------------

@pytest.mark.parametrize("preference, in_app, by_email", [
    ("app", 1, 0), ("email", 0, 1), ("both", 1, 1), ("none", 0, 0),
])
def test_preferences(finance_client, users, session, ledger, run_jobs, mail, company, preference, in_app, by_email):
    prefer(session, users["finance"], preference)
    export_balances(finance_client)
    run_jobs()
    assert unread(finance_client) == in_app
    assert len(mail.messages) == by_email
    assert session.query(Export).one().status == "ready"


def test_the_email_says_ready_with_the_download_link_and_no_attachment(
        finance_client, users, session, ledger, run_jobs, mail, company):
    prefer(session, users["finance"], "email")
    export_id = export_balances(finance_client)
    run_jobs()

    (envelope,) = mail.envelopes
    assert envelope.rcpt_tos == ["finance@relance.test"]
    (message,) = mail.messages
    assert message["Subject"] == "Your export “Who owes you what? (Excel)” is ready"
    assert message["From"].addresses[0].addr_spec == "billing@acme-sarl.test"
    assert message["To"].addresses[0].addr_spec == "finance@relance.test"
    body = message.get_body(("plain",)).get_content()
    assert f"{BASE_URL}/exports/{export_id}/download" in body
    assert "Who owes you what 2026-06-15.xlsx" in body
    assert list(message.iter_attachments()) == [], "the file stays in Relance"


def test_the_email_of_a_failed_export_gives_the_reason(
        finance_client, users, session, ledger, run_jobs, mail, company, monkeypatch):
    def broken(export):
        raise OSError("disk full")

    monkeypatch.setitem(jobs.exports.BUILDERS, "balances_xlsx", broken)
    prefer(session, users["finance"], "email")
    export_balances(finance_client)
    run_jobs()
    (message,) = mail.messages
    assert message["Subject"] == "Your export “Who owes you what? (Excel)” failed"
    body = message.get_body(("plain",)).get_content()
    assert "disk full" in body and f"{BASE_URL}/exports/" in body


def test_without_a_mail_server_the_export_still_ends_and_the_bell_says_why(
        finance_client, users, session, ledger, run_jobs, app, company, caplog, monkeypatch):
    # The migration in the session fixture runs alembic's fileConfig, which disables loggers
    # that already existed; the worker process never migrates, so its logger is on.
    monkeypatch.setattr(logging.getLogger("relance.jobs"), "disabled", False)
    app.config["SMTP_URL"] = None
    prefer(session, users["finance"], "email")
    export_balances(finance_client)
    run_jobs()
    assert session.query(Export).one().status == "ready"
    assert "not e-mailed" in caplog.text and "RELANCE_SMTP_URL" in caplog.text
    assert unread(finance_client) == 1
    text = session.query(Notification).one().text
    assert "is ready" in text and "the e-mail could not be sent" in text


# --- Expiry ----------------------------------------------------------------------------------

def make_export(session, user, *, age: timedelta, expires_at=None, filename="old.xlsx"):
    export = Export(user_id=user.id, kind="balances_xlsx", status="ready", progress=100, filename=filename,
                    created_at=clock.now() - age, finished_at=clock.now() - age, expires_at=expires_at)
    session.add(export)
    session.flush()
    folder = jobs.base.export_path(export)
    folder.mkdir(parents=True)
    (folder / filename).write_bytes(b"xlsx")
    session.commit()
    return export


def test_finished_exports_expire_seven_days_after_creation(finance_client, users, session, ledger, run_jobs):
    export_balances(finance_client)
    run_jobs()
    export = session.query(Export).one()
    assert export.expires_at == export.created_at + timedelta(days=7)


def test_daily_clean_up_deletes_expired_files_and_the_download_refuses(finance_client, users, session, app):
    finance = users["finance"]
    expired = make_export(session, finance, age=timedelta(days=8), expires_at=clock.now() - timedelta(days=1))
    older = make_export(session, finance, age=timedelta(days=8))  # made before expiry dates existed
    fresh = make_export(session, finance, age=timedelta(days=1), expires_at=clock.now() + timedelta(days=6))
    jobs.base.use_app(app)
    try:
        assert jobs.exports.delete_expired_exports() == 2
    finally:
        jobs.base.use_app(None)

    session.expire_all()
    for gone in (expired, older):
        assert gone.file_deleted and gone.expires_at is not None
        assert not jobs.base.export_path(gone).exists()
        response = finance_client.get(f"/exports/{gone.id}/download")
        assert response.status_code == 410
        assert "expired" in response.get_data(as_text=True)
        status = finance_client.get(f"/exports/{gone.id}/status").get_data(as_text=True)
        assert "Expired on" in status and "/download" not in status
    assert not fresh.file_deleted and jobs.base.export_path(fresh).exists()
    assert finance_client.get(f"/exports/{fresh.id}/download").status_code == 200
    assert "Expired" not in finance_client.get(f"/exports/{fresh.id}/status").get_data(as_text=True)


def test_an_export_past_its_date_is_refused_before_the_clean_up_runs(finance_client, users, session):
    export = make_export(session, users["finance"], age=timedelta(days=8), expires_at=clock.now() - timedelta(hours=1))
    assert finance_client.get(f"/exports/{export.id}/download").status_code == 410
    assert "Expired on" in finance_client.get("/exports/").get_data(as_text=True)


def test_the_notification_of_an_expired_export_leads_to_the_exports_page(finance_client, users, session):
    export = make_export(session, users["finance"], age=timedelta(days=8), expires_at=clock.now() - timedelta(hours=1))
    session.add(Notification(user_id=users["finance"].id, export_id=export.id, text="Your export is ready"))
    session.commit()
    (notification_id,) = notification_ids(finance_client)
    assert finance_client.get(f"/notifications/{notification_id}/open").headers["Location"].endswith("/exports/")


def test_the_clean_up_is_queued_once_a_day_after_the_rebucketing(app, session, users, pinned_today):
    connection = jobs.base.redis_connection(app)
    for key in connection.scan_iter("relance:daily:*"):
        connection.delete(key)
    queue = jobs.base.queue(app)
    queue.empty()
    expired = make_export(session, users["finance"], age=timedelta(days=8), expires_at=clock.now() - timedelta(days=1))
    jobs.base.use_app(app)
    try:
        clock.pin(pinned_today + timedelta(days=3))
        assert worker.enqueue_daily_jobs(app) is True
        assert worker.enqueue_daily_jobs(app) is False, "once per day"
        from rq import SimpleWorker

        SimpleWorker([queue], connection=connection).work(burst=True)
    finally:
        jobs.base.use_app(None)
        queue.empty()
    session.expire_all()
    assert expired.file_deleted
