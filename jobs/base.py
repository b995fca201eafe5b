"""What every job shares: the app the worker hands over, the `job` decorator, the queue and its
Redis, and the helpers of jobs that write a file with progress (write aside, progress, heap).

A job takes ids, never objects; it runs inside the app the worker built once (`use_app`) or the
app context that calls it (the CLI, tests), never an app of its own."""
from __future__ import annotations

import functools
import gc
import logging
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from flask import Flask, current_app, has_app_context
from redis import Redis, RedisError
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from sqlalchemy import update

from domain import i18n, notifications, settings
from domain.i18n import lazy_gettext as _l
from domain.i18n import locale_for
from domain.models import BackgroundWork, BulkRun, Export, User
from extensions import db
from mail import smtp as mailer

QUEUE_NAME = "relance"


log = logging.getLogger("relance.jobs")
IN_PROGRESS = ("queued", "started", "deferred", "scheduled")  # RQ statuses of a job not yet final
_app: Flask | None = None


def use_app(app: Flask) -> None:
    """The worker hands its app over once, before it forks."""
    global _app
    _app = app


def job_app() -> Flask:
    """The app the worker handed over (use_app), or the one whose context runs the job (the CLI,
    tests): jobs never build an app of their own."""
    if _app is not None:
        return _app
    if has_app_context():
        return current_app._get_current_object()
    raise RuntimeError("No app for this job: the worker hands it over with jobs.base.use_app(app) before it forks.")


def job(function: Callable) -> Callable:
    """An RQ job: runs in the app's context on connections of its own (a forked work horse must
    not share the pool it inherited), and leaves no session behind, whatever happened. Jobs that
    keep a record (an export) also bring it to a final state themselves, in a `finally`."""
    @functools.wraps(function)
    def run(*args, **kwargs):
        with job_app().app_context():
            db.engine.dispose(close=False)  # never share a connection pooled before the fork
            try:
                return function(*args, **kwargs)
            finally:
                db.session.remove()

    return run


BACKGROUND_UNAVAILABLE = _l("Background work is unavailable right now; nothing was started — try again in a minute.")
# A page waits at most this long for a Redis that is down, restarting or frozen (SIGSTOP): no
# retries, so an action that needs the worker answers within about three seconds. The worker's
# own connection gets a longer read timeout from RQ (it blocks on the queue).
REDIS_CONNECT_TIMEOUT = 1.0
REDIS_SOCKET_TIMEOUT = 2.0


class BackgroundUnavailable(RuntimeError):
    """Redis cannot be reached: nothing was queued. The web layer answers 503 with the message, in the
    reader's language; a record that keeps it (a failed export) keeps its message, read in each reader's language."""

    def __init__(self, message=BACKGROUND_UNAVAILABLE):
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


def failed(fail: Callable[[BackgroundWork, str], None], work: BackgroundWork, reason) -> None:
    """fail(work, the reason in English), then the record keeps the reason itself: a Said, or an error's
    Said (or lazy) message, is read in each reader's language; a str stays as written."""
    fail(work, i18n.kept(reason)[0])
    work.shown_message = reason
    work.message = (work.message or "")[:500]  # the column's size; the Said is kept whole


def user_locale(user: User | None) -> str:
    """The locale of what a user reads from the worker (an export, an e-mail): their language, else
    RELANCE_LOCALE; its money and dates are formatted in it too."""
    return locale_for(user.language if user is not None else None, current_app.config["BABEL_LOCALE"])


def owner_locale(work: BackgroundWork) -> str:
    """The locale of the user who asked for an export (or a run)."""
    if work.locale:  # the locale of the person when they asked (their browser's, if they chose no language)
        return work.locale
    return user_locale(db.session.get(User, work.user_id) if work.user_id is not None else None)


def customer_locale(language: str | None) -> str:
    """The locale of what goes to a customer: the customer's language, else RELANCE_LOCALE."""
    return locale_for(language, current_app.config["BABEL_LOCALE"])


def redis_connection(app: Flask | None = None) -> Redis:
    app = app or current_app
    url = app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("No Redis configured: set RELANCE_REDIS_URL or start Relance with `make run`.")
    return Redis.from_url(url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT, socket_timeout=REDIS_SOCKET_TIMEOUT,
                          retry=Retry(NoBackoff(), 0))


def queue(app: Flask | None = None) -> Queue:
    return Queue(QUEUE_NAME, connection=redis_connection(app))


@contextmanager
def background():
    """Talk to Redis; if it does not answer, raise BackgroundUnavailable (nothing was queued)."""
    try:
        yield
    except RedisError as error:
        log.warning("Redis unavailable: %s", error)
        raise BackgroundUnavailable() from error


def enqueue_work(model: type[BackgroundWork], work_id: int, function: Callable, job_id: str,
                 fail: Callable[[BackgroundWork, str], None]) -> None:
    """Queue function(work_id) under a stable job id (the same export or run is never queued twice
    at once). Without Redis the record, still queued, is failed with the reason (its Retry works
    once Redis is back) and BackgroundUnavailable is raised."""
    try:
        with background():
            queue().enqueue(function, work_id, job_id=job_id, job_timeout=1800, result_ttl=3600, failure_ttl=86400)
    except BackgroundUnavailable as error:
        db.session.rollback()
        work = db.session.get(model, work_id)
        if work is not None and work.status == "queued":
            failed(fail, work, error)
            db.session.commit()
        raise


def require_background() -> None:
    """For an action that changes things before it queues its job: refuse before changing anything."""
    with background():
        redis_connection().ping()


# --- Jobs that keep a record (an export, a bulk run) --------------------------------------------


def notify_owner(work: BackgroundWork) -> bool:
    """The export (or run) is final: the bell entry (in the caller's transaction), and whether its
    owner also wants an e-mail. A problem here is logged and never changes the work's own outcome."""
    try:
        with db.session.begin_nested():
            return notifications.work_finished(db.session, work)
    except Exception:
        log.exception("%s %s: its owner could not be notified", type(work).__name__, work.id)
        return False


def see_through(work: BackgroundWork, carry_out: Callable[[BackgroundWork], bool], *,
                fail: Callable[[BackgroundWork, str], None], email: Callable[[BackgroundWork], None],
                stopped: str | i18n.Said, resting: tuple[str, ...] = (),
                expected: tuple[type[Exception], ...] = ()) -> None:
    """Run carry_out(work), which marks the record final and says True, or leaves it in a `resting`
    status (a plan waiting for its confirmation) and says False; whatever happens, the record ends
    final or resting. A failure says why: the message of an `expected` error (a Said in it is read in
    each reader's language), else its type too. The owner hears of the end on the bell in the commit
    that makes it final, then by e-mail (`email(work)` queues it) if they want."""
    model, work_id = type(work), work.id
    by_email = False
    try:
        if carry_out(work):
            by_email = notify_owner(work)  # same commit: the bell never lags the status
        db.session.commit()
    except Exception as error:  # the record must say why, whatever happened
        db.session.rollback()
        work = db.session.get(model, work_id)
        # An expected error, or one that carries a sentence of Relance's (a Said), is said as is, in each
        # reader's language; anything else is an accident, kept with its type for whoever looks into it.
        said_as_is = isinstance(error, expected) or i18n.said(error) is not None
        failed(fail, work, error if said_as_is else f"{type(error).__name__}: {i18n.kept(error)[0]}")
        by_email = notify_owner(work)
        db.session.commit()
        raise
    finally:
        work = db.session.get(model, work_id)
        if work is not None and not work.is_final and work.status not in resting:
            failed(fail, work, stopped)
            by_email = notify_owner(work)
            db.session.commit()
        if by_email:
            email(work)


def queue_owner_email(send: Callable, work: BackgroundWork, job_id: str) -> None:
    """Queue send(work id, owner id), the e-mail telling the owner of an export (or run) it ended; a
    queue that cannot take it is logged and never changes the work's own outcome."""
    try:
        queue().enqueue(send, work.id, work.user_id, job_id=job_id, job_timeout=300, result_ttl=3600,
                        failure_ttl=86400)
    except Exception:
        log.exception("%s %s: the e-mail to its owner could not be queued", type(work).__name__, work.id)


def mail_owner(work: BackgroundWork, user, subject: str, body: str) -> str:
    """E-mail the owner of an export (or run) about its end: "sent", or "not sent: why", in which
    case the bell says so to someone who only wanted e-mail."""
    app = current_app._get_current_object()
    try:
        message = mailer.build_message(sender=sender_address(settings.company(db.session)), to=user.email,
                                       subject=subject, body=body)
        mailer.send(app.config.get("SMTP_URL"), message)
    except mailer.MailError as error:
        log.warning("%s %s was not e-mailed to %s: %s", type(work).__name__, work.id, user.email, error)
        notifications.email_failed(db.session, work, str(error))
        db.session.commit()
        return f"not sent: {error}"
    log.info("%s %s e-mailed to %s", type(work).__name__, work.id, user.email)
    return "sent"


# --- Jobs that write a file ----------------------------------------------------------------------


def export_path(export: Export) -> Path:
    return Path(current_app.config["EXPORT_DIR"]) / str(export.id)


def run_path(run: BulkRun) -> Path:
    """The folder of a bulk run's report. Runs made when they were still exports kept their report
    in the export's folder (exports/<id>/; no export ever takes that id again)."""
    own = Path(current_app.config["BULK_RUN_DIR"]) / str(run.id)
    earlier = Path(current_app.config["EXPORT_DIR"]) / str(run.id)
    if run.filename and not (own / run.filename).exists() and (earlier / run.filename).exists():
        return earlier
    return own


def folder_of(work: BackgroundWork) -> Path:
    return run_path(work) if isinstance(work, BulkRun) else export_path(work)


def write_aside(target: Path, write) -> None:
    """Write into a temporary file beside `target`, then rename: a half-written file is never served."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".partial-", suffix=target.suffix)
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def progress_recorder(work: BackgroundWork, total: int = 100, every: float = 0.0) -> Callable[..., None]:
    """progress(done[, total]) → the export's (or run's) progress (0–99), each write in its own
    short transaction (the job's session may be streaming rows), at most once per `every` seconds
    (the last step always)."""
    last_write = [0.0]
    model, work_id = type(work), work.id

    def progress(done: int, of: int | None = None) -> None:
        of = of or total
        if every and done < of and time.monotonic() - last_write[0] < every:
            return
        with db.engine.begin() as connection:
            connection.execute(update(model).where(model.id == work_id)
                               .values(progress=min(99, int(done * 100 / max(of, 1)))))
        last_write[0] = time.monotonic()

    return progress


@contextmanager
def rendering_heap():
    """For jobs that render many documents (WeasyPrint makes a great many short-lived objects):
    the objects that exist when the job starts (the app's, inherited from the worker) are left out
    of garbage collections, which would otherwise walk (and, in a forked work horse, copy) that
    whole heap each time; young collections run less often. At the end the job's own garbage is
    collected while that heap is still out of reach, then everything is handed back (for a worker
    that runs jobs in-process)."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(RENDERING_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.collect()
        gc.set_threshold(*thresholds)
        gc.unfreeze()


RENDERING_GC_THRESHOLD = 10_000  # allocations between young collections (Python's default: 700)


def absolute_url(app: Flask, endpoint: str, **values) -> str:
    """A link for an e-mail, on the address people open Relance at (no request to copy it from)."""
    from urllib.parse import urlsplit

    base = urlsplit(mailer.base_url(app.config))
    adapter = app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def sender_address(company) -> str:
    return mailer.address(company.name, company.sender_email) if company is not None and company.sender_email else ""
