"""Relance: the application factory.

Configuration comes from defaults, then the environment (RELANCE_*), then `test_config`.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from flask import Flask

from domain.users import SESSION_LIFETIME
from extensions import babel, csrf, db, htmx, login_manager, migrate
from runtime.sizing import db_max_overflow, db_pool_size


class ConfigError(RuntimeError):
    """The app cannot start with this configuration; the message says what to set."""


def _secret_key(app: Flask) -> str:
    key = os.environ.get("RELANCE_SECRET_KEY")
    if key:
        return key
    if app.config["ENV_NAME"] == "production":
        raise ConfigError(
            "RELANCE_SECRET_KEY is not set. In production the secret key signs sessions and CSRF "
            "tokens and must be set explicitly, e.g. RELANCE_SECRET_KEY=$(python3 -c "
            "'import secrets; print(secrets.token_hex(32))')."
        )
    # Development: a random key kept in instance/ so logins survive restarts.
    key_file = Path(app.instance_path) / "secret_key"
    try:  # created readable by its owner only, and only once when several processes start together
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    for _ in range(50):  # another process may be writing it right now
        key = key_file.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    raise ConfigError(f"{key_file} is empty: delete it to have a new development key made.")


def _port(text: str) -> int:
    if not text.strip().isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"RELANCE_PORT must be a port number (1-65535), not {text!r}.")
    return int(text)


def _time_zone(name: str) -> str:
    """An IANA time zone name (Europe/Paris), checked now rather than at 8:00 tomorrow."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"RELANCE_TIMEZONE must be a time zone like Europe/Paris, not {name!r}.") from None
    return name


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("RELANCE_INSTANCE_PATH") or None)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    test_config = dict(test_config or {})
    # Exports, letters and invoice PDFs: a folder every host can share (web and worker apart).
    storage = Path(os.environ.get("RELANCE_STORAGE_DIR") or app.instance_path)

    app.config.update(
        ENV_NAME=os.environ.get("RELANCE_ENV", "development"),
        SQLALCHEMY_DATABASE_URI=os.environ.get("RELANCE_DATABASE_URL")
        or f"sqlite:///{Path(app.instance_path) / 'relance.db'}",
        REDIS_URL=os.environ.get("RELANCE_REDIS_URL") or None,
        SMTP_URL=os.environ.get("RELANCE_SMTP_URL") or None,
        # Links in e-mails (export ready, …) point here; defaults to http://localhost:<port>.
        BASE_URL=os.environ.get("RELANCE_BASE_URL") or None,
        PORT=_port(os.environ.get("RELANCE_PORT", "5000")),
        STORAGE_DIR=str(storage),
        EXPORT_DIR=str(storage / "exports"),
        BULK_RUN_DIR=str(storage / "bulk-runs"),  # the bulk runs' reports
        ATTACHMENT_DIR=str(storage / "documents"),
        MAX_CONTENT_LENGTH=50 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=SESSION_LIFETIME,
        # Wrong passwords allowed before the login form refuses (HTTP 429), per e-mail and per address.
        LOGIN_LIMIT_PER_ACCOUNT="5 per 15 minutes",
        LOGIN_LIMIT_PER_ADDRESS="20 per 15 minutes",
        # The interface's locale when neither the user nor the browser picks one, and the worker's.
        BABEL_LOCALE=os.environ.get("RELANCE_LOCALE", "en_GB"),
        # The instance's time zone: the morning digest goes at 8:00 there.
        TIMEZONE=_time_zone(os.environ.get("RELANCE_TIMEZONE", "Europe/Paris")),
        BENCH_ROUTES=os.environ.get("RELANCE_BENCH") == "1",
    )
    if "SECRET_KEY" not in test_config:
        app.config["SECRET_KEY"] = _secret_key(app) if not test_config.get("TESTING") else "test"
    app.config.update(test_config)
    if app.config["ENV_NAME"] == "production":
        secure = os.environ.get("RELANCE_INSECURE_COOKIES") != "1"
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = secure
    _configure_login_limits(app)
    # A connection per web thread, and a few more for a burst (runtime/sizing.py says why).
    engine_options = {"pool_size": db_pool_size(), "max_overflow": db_max_overflow()}
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        engine_options["connect_args"] = {"timeout": 30}
        if ":memory:" in app.config["SQLALCHEMY_DATABASE_URI"] or app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://":
            engine_options = {"connect_args": {"timeout": 30}}  # one connection's database: its own pool
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["BABEL_LOCALE"])
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parent / "translations"))

    with app.app_context():
        _configure_database(app)

    from flask_babel import force_locale

    from blueprints import register_blueprints
    from blueprints._web.layer import current_locale, current_translations, install_web_layer, select_locale
    from domain import i18n

    babel.init_app(app, locale_selector=select_locale)
    # The domain's messages in the reader's language, their dates and amounts in the reader's locale.
    i18n.use(current_translations, force_locale, current_locale)
    install_web_layer(app)
    register_blueprints(app)
    from blueprints.auth.routes import limit_login_attempts

    limit_login_attempts(app)

    from cli import register_commands

    register_commands(app)
    return app


def _configure_login_limits(app: Flask) -> None:
    """Flask-Limiter's settings (blueprints.auth applies the limits). Failed logins are counted in
    the app's Redis, so every web process shares the counts. If Redis cannot be reached, Flask-Limiter
    counts in this process's memory until it answers again (logins keep working, limited per
    process) rather than failing the login page."""
    url = app.config["REDIS_URL"]
    if url and url.startswith("unix://"):  # the bundled Redis; `limits` names this scheme redis+unix
        url = "redis+" + url
    app.config.setdefault("RATELIMIT_STORAGE_URI", url or "memory://")
    # A frozen Redis costs a login one second, not a hung page.
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1})
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "relance-login")
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)


def _configure_database(app: Flask) -> None:
    from sqlalchemy import event

    from domain.collection.cases import track_case_upkeep
    from domain.ledger.promises import track_promise_upkeep
    from domain.ledger.schedules import track_schedule_upkeep
    from domain.ledger.summaries import track_summary_upkeep

    track_summary_upkeep()
    track_case_upkeep()
    track_promise_upkeep()
    track_schedule_upkeep()
    engine = db.engine
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_pragmas):
        event.listen(engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the worker write while pages read; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint (copy the WAL into the database, with an fsync) every 40 MB instead of 4 MB: the
    # worker's many small commits (a bulk run commits once per reminder) rewrite the same pages,
    # which a less frequent checkpoint writes and syncs once.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
