"""Bulk reminders made while they were exports (kind bulk_dunning) become bulk runs with the same ids:
their outbox keys and bell notifications still name them, their reports still download, and no new
export or run ever takes one of their ids."""
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

BEFORE = "c7d2a5e81f40"
# The rows were made days ago: recently enough that their reports are kept (a fixed date would
# expire them as the calendar moves on).
MADE = (datetime.now() - timedelta(days=2)).strftime("%Y-%m-%d")


def made(sql: str):
    return text(sql.replace("{MADE}", MADE))


@pytest.fixture
def upgraded(tmp_path, redis_url):
    from app import create_app

    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url,
                      "WTF_CSRF_ENABLED": False, "EXPORT_DIR": str(tmp_path / "exports"),
                      "BULK_RUN_DIR": str(tmp_path / "bulk-runs")})
    engine = create_engine(url)
    with app.app_context():
        upgrade(revision=BEFORE)
        with engine.begin() as connection:
            connection.execute(made(
                "INSERT INTO users (id, email, name, password_hash, role, active, created_at, export_notifications) "
                "VALUES (1, 'finance@relance.test', '', 'x', 'finance', 1, '{MADE}', 'app')"))
            connection.execute(made(
                "INSERT INTO exports (id, user_id, kind, params, status, progress, created_at, finished_at, filename, "
                "file_deleted, result, message) VALUES "
                "(1, 1, 'balances_xlsx', '{}', 'ready', 100, '{MADE}', '{MADE}', 'Who owes you what.xlsx', 0, "
                "NULL, NULL), "
                "(2, 1, 'bulk_dunning', '{\"confirmed\": \"1\", \"customer\": [\"C1\"]}', 'ready', 100, '{MADE}', "
                "'{MADE}', 'Bulk reminders 2026-11-30.csv', 0, '{\"send\": 1, \"outcome\": {\"sent\": 1}}', "
                "'sent 1 · skipped 0 · failed 0'), "
                "(3, 1, 'bulk_dunning', '{\"customer\": [\"C1\"]}', 'planned', 100, '{MADE}', NULL, NULL, 0, "
                "'{\"send\": 1, \"summary\": \"Send 1 reminder (1 R2)\", \"templates\": {\"R2 (en)\": 1}}', NULL)"))
            connection.execute(made(
                "INSERT INTO notifications (id, user_id, export_id, text, created_at) VALUES "
                "(1, 1, 1, 'Your export is ready', '{MADE}'), (2, 1, 2, 'Your export is ready', '{MADE}')"))
        report = tmp_path / "exports" / "2" / "Bulk reminders 2026-11-30.csv"  # where the run wrote it then
        report.parent.mkdir(parents=True)
        report.write_bytes(b"\xef\xbb\xbfCustomer account;Outcome\r\nC1;sent\r\n")
        upgrade()
    yield app, engine
    engine.dispose()
    with app.app_context():
        from extensions import db

        db.engine.dispose()


def test_bulk_exports_become_runs_with_their_ids_and_their_bell(upgraded):
    _app, engine = upgraded
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, kind FROM exports")).all() == [(1, "balances_xlsx")]
        assert connection.execute(text("SELECT id, status, message FROM bulk_runs ORDER BY id")).all() == [
            (2, "done", "sent 1 · skipped 0 · failed 0"), (3, "planned", None)]
        assert connection.execute(text("SELECT id, export_id, bulk_run_id FROM notifications ORDER BY id")).all() == [
            (1, 1, None), (2, None, 2)]
        assert connection.execute(text("PRAGMA foreign_key_check")).fetchall() == []


def test_no_new_export_or_run_takes_an_old_runs_id(upgraded):
    _app, engine = upgraded
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO exports (user_id, kind, params, status, progress, created_at, file_deleted) "
                                "VALUES (1, 'balances_xlsx', '{}', 'queued', 0, '2026-12-02', 0)"))
        connection.execute(text("INSERT INTO bulk_runs (user_id, params, status, progress, created_at, file_deleted) "
                                "VALUES (1, '{}', 'queued', 0, '2026-12-02', 0)"))
        # Its folder (exports/4/) is its own, and the run's keys (bulk:4:…) name no earlier run.
        assert connection.execute(text("SELECT max(id) FROM exports")).scalar() == 4
        assert connection.execute(text("SELECT max(id) FROM bulk_runs")).scalar() == 4


def test_a_run_made_as_an_export_still_opens_from_the_bell_and_downloads_its_report(upgraded):
    from tests.conftest import login

    app, engine = upgraded
    with engine.begin() as connection:
        from werkzeug.security import generate_password_hash

        connection.execute(text("UPDATE users SET password_hash = :hash"), {"hash": generate_password_hash("pw-123456789")})
    with app.app_context():
        client = app.test_client()
        login(client, "finance@relance.test", "pw-123456789")
        opened = client.get("/notifications/2/open")
        assert opened.status_code == 302 and opened.headers["Location"].endswith("/reminders/bulk#bulk-run-2")
        page = client.get("/reminders/bulk").get_data(as_text=True)
        assert "sent 1 · skipped 0 · failed 0" in page and 'data-testid="bulk-plan"' in page
        report = client.get("/reminders/bulk/2/report")
        assert report.status_code == 200 and b"C1;sent" in report.get_data()
        assert client.get("/exports/2/download").status_code == 404, "a run is not an export"


def test_downgrade_puts_the_runs_back_and_refuses_when_an_id_is_taken_twice(upgraded, tmp_path):
    app, engine = upgraded
    with engine.begin() as connection:
        # Both take id 4: they cannot share one table again.
        connection.execute(text("INSERT INTO exports (user_id, kind, params, status, progress, created_at, file_deleted) "
                                "VALUES (1, 'balances_xlsx', '{}', 'failed', 0, '2026-12-02', 0)"))
        connection.execute(text("INSERT INTO bulk_runs (user_id, params, status, progress, created_at, file_deleted) "
                                "VALUES (1, '{}', 'failed', 0, '2026-12-02', 0)"))
    with app.app_context():
        with pytest.raises(SystemExit):  # Flask-Migrate logs why (an id taken twice), then exits
            downgrade(revision=BEFORE)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM bulk_runs")).scalar() == 3, "nothing moved"
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM bulk_runs WHERE id = 4"))
        downgrade(revision=BEFORE)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, kind, status FROM exports ORDER BY id")).all() == [
            (1, "balances_xlsx", "ready"), (2, "bulk_dunning", "ready"), (3, "bulk_dunning", "planned"),
            (4, "balances_xlsx", "failed")]
        assert connection.execute(text("SELECT id, export_id FROM notifications ORDER BY id")).all() == [(1, 1), (2, 2)]
    assert Path(tmp_path / "exports" / "2" / "Bulk reminders 2026-11-30.csv").is_file()
