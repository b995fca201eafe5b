"""Fixtures as a chain: database → app → client → logged-in client.

The database is SQLite (a migrated template file copied per test) unless RELANCE_DATABASE_URL
points at PostgreSQL (migrated once, tables emptied per test). Redis is RELANCE_REDIS_URL when
set, else the bundled redis-server started once for the session.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from domain import clock

PG_URL = os.environ.get("RELANCE_DATABASE_URL")
TODAY = date(2026, 6, 15)
PASSWORD = "correct-horse-battery"


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "redis://unused"})
    with app.app_context():
        upgrade()
        from extensions import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """A migrated, empty database: a template file (SQLite), or on PostgreSQL a database of this
    run's own, created beside RELANCE_DATABASE_URL's and dropped at the end (runs never collide)."""
    if PG_URL:
        from sqlalchemy.engine import make_url

        name = f"relance_test_{os.getpid()}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        _migrate(url, tmp_path_factory.mktemp("pg"))
        yield url
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    template = tmp_path_factory.mktemp("template") / "relance.db"
    _migrate(f"sqlite:///{template}", template.parent)
    # Fold the write-ahead log into the file, so a plain copy of it is the whole database.
    engine = create_engine(f"sqlite:///{template}")
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.exec_driver_sql("PRAGMA journal_mode=DELETE")
    engine.dispose()
    yield template


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("RELANCE_REDIS_URL")
    if url:
        yield url
        return
    from runtime.redis_server import BundledRedis

    server = BundledRedis(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture
def database_url(migrated_database, tmp_path):
    if PG_URL:
        engine = create_engine(migrated_database)
        with engine.begin() as connection:
            tables = connection.execute(text(
                "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version'")).scalar()
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return migrated_database
    copy = tmp_path / "relance.db"
    shutil.copyfile(migrated_database, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def pinned_today():
    clock.pin(TODAY)
    yield TODAY
    clock.pin(None)


@pytest.fixture
def app_config(database_url, redis_url, tmp_path) -> dict:
    """The test app's configuration; a test folder overrides this fixture to change it."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "WTF_CSRF_ENABLED": False,
        "EXPORT_DIR": str(tmp_path / "exports"),
        "BULK_RUN_DIR": str(tmp_path / "bulk-runs"),
        "ATTACHMENT_DIR": str(tmp_path / "documents"),
        # Failed logins are counted in the shared Redis: each test counts its own.
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }


@pytest.fixture
def app(app_config, pinned_today):
    from app import create_app

    app = create_app(app_config)

    @app.before_request
    def _user_from_this_request():
        # Requests here share the fixture's app context, so Flask-Login's cached user (in `g`)
        # would outlive the request: drop it, so each request is logged in by its own cookies.
        from flask import g

        g.pop("_login_user", None)
        g.pop("_flask_babel", None)  # Flask-Babel keeps the request's locale in `g` too

    @app.teardown_request
    def _forget_the_locale(_error):
        from flask import g

        g.pop("_flask_babel", None)  # so jobs run afterwards in this context speak the instance's language

    with app.app_context():
        yield app
        from extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def run_jobs(app, redis_url):
    """Runs the queued jobs in this process with the test app, the way worker.py runs them."""
    from rq import SimpleWorker

    import jobs.base

    jobs.base.use_app(app)
    queue = jobs.base.queue(app)
    queue.empty()

    def run():
        SimpleWorker([queue], connection=queue.connection).work(burst=True)

    yield run
    queue.empty()
    jobs.base.use_app(None)


@pytest.fixture
def session(app):
    from extensions import db

    return db.session


@pytest.fixture(scope="session")
def password_hash():
    from werkzeug.security import generate_password_hash

    return generate_password_hash(PASSWORD)


@pytest.fixture
def users(session, password_hash, monkeypatch):
    """One user per role: users['admin'], users['finance'], users['support']."""
    import domain.users
    from domain.users import create_user

    # Hashing is deliberately slow; hash the shared test password once per run.
    monkeypatch.setattr(domain.users, "generate_password_hash",
                        lambda password: password_hash if password == PASSWORD else _hash(password))
    made = {role: create_user(session, f"{role}@relance.test", PASSWORD, role, name=role.title())
            for role in ("admin", "finance", "support")}
    session.commit()
    return made


def _hash(password):
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)


@pytest.fixture
def client(app):
    return app.test_client()


def login(client, email: str, password: str = PASSWORD, remember: bool = False, **kwargs):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "1"
    return client.post("/login", data=data, **kwargs)


@pytest.fixture
def finance_client(client, users):
    assert login(client, "finance@relance.test").status_code == 302
    return client


@pytest.fixture
def support_client(client, users):
    assert login(client, "support@relance.test").status_code == 302
    return client


@pytest.fixture
def admin_client(client, users):
    assert login(client, "admin@relance.test").status_code == 302
    return client


class LedgerBuilder:
    """Small helper to write customers and entries the way an import would."""

    def __init__(self, session, today: date):
        self.session, self.today, self._n = session, today, 0

    def customer(self, account: str, name: str, **fields):
        from domain.models import Customer

        customer = Customer(account=account, name=name, **fields)
        self.session.add(customer)
        self.session.flush()
        return customer

    def entry(self, customer, days_overdue: int, amount: str, *, kind="invoice", currency="EUR",
              level=0, number=None, open_amount: str | None = None, **fields):
        from decimal import Decimal

        from domain.models import Entry

        self._n += 1
        cents = int(Decimal(amount) * 100)
        open_cents = cents if open_amount is None else int(Decimal(open_amount) * 100)
        due = self.today - timedelta(days=days_overdue)
        entry = Entry(customer=customer, number=number or f"INV-{self._n:05d}", kind=kind,
                      issue_date=due - timedelta(days=30), due_date=due, amount_cents=cents,
                      open_cents=open_cents, is_open=open_cents != 0, currency=currency,
                      reminder_level=level, **fields)
        self.session.add(entry)
        self.session.flush()
        return entry


@pytest.fixture
def ledger_builder(session, pinned_today):
    return LedgerBuilder(session, pinned_today)
