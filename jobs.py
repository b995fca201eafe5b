"""RQ job functions. They take ids, open their own app context, call the domain and the
document builders, and always leave their record in a final state."""
from __future__ import annotations

import gc
import logging
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, has_app_context
from redis import Redis, RedisError
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import update
from rq import Queue

import mailer
from documents.names import file_stem, safe_name
from documents.reports import write_dunning_report
from domain import agency as agency_rules
from domain import clock, exports, ledger, notifications, queries
from domain import settings as settings_rules
from domain.models import CollectionAgency, CollectionCase, Export, User

QUEUE_NAME = "relance"
log = logging.getLogger("relance.jobs")
_app: Flask | None = None


def use_app(app: Flask) -> None:
    """The worker hands its app over once, before it forks."""
    global _app
    _app = app


def _job_app() -> Flask:
    """The app the worker handed over (use_app), or the one whose context runs the job (the CLI,
    tests): jobs never build an app of their own."""
    if _app is not None:
        return _app
    if has_app_context():
        return current_app._get_current_object()
    raise RuntimeError("No app for this job: the worker hands it over with jobs.use_app(app) before it forks.")


BACKGROUND_UNAVAILABLE = "Background work is unavailable right now; nothing was started — try again in a minute."
# A page waits at most this long for a Redis that is down, restarting or frozen (SIGSTOP): no
# retries, so an action that needs the worker answers within about three seconds. The worker's
# own connection gets a longer read timeout from RQ (it blocks on the queue).
REDIS_CONNECT_TIMEOUT = 1.0
REDIS_SOCKET_TIMEOUT = 2.0


class BackgroundUnavailable(RuntimeError):
    """Redis cannot be reached: nothing was queued. The web layer answers 503 with the message."""

    def __init__(self, message: str = BACKGROUND_UNAVAILABLE):
        super().__init__(message)


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


def require_background() -> None:
    """For an action that changes things before it queues its job: refuse before changing anything."""
    with background():
        redis_connection().ping()


def enqueue_export(export_id: int) -> None:
    """Queue the export's build. Without Redis the export is failed with the reason (its Retry
    works once Redis is back) and BackgroundUnavailable is raised."""
    try:
        with background():
            # A stable job id: the same export is never queued twice.
            queue().enqueue(build_export, export_id, job_id=f"export-{export_id}", job_timeout=1800,
                            result_ttl=3600, failure_ttl=86400)
    except BackgroundUnavailable as error:
        from extensions import db

        db.session.rollback()
        export = db.session.get(Export, export_id)
        if export is not None and export.status == "queued":
            exports.mark_failed(export, str(error))
            db.session.commit()
        raise


def build_export(export_id: int) -> None:
    app = _job_app()
    with app.app_context():
        from extensions import db

        db.engine.dispose(close=False)  # never share a connection pooled before the fork
        export = db.session.get(Export, export_id)
        if export is None or export.is_final or export.status == "planned":
            return
        exports.mark_running(export)
        db.session.commit()
        # A build killed mid-way (worker killed) leaves its half-written file: one build per
        # export runs at a time (stable job id), so whatever is there now is stale.
        for stale in export_path(export).glob(".partial-*"):
            stale.unlink(missing_ok=True)
        by_email = False
        try:
            filename = _BUILDERS[export.kind](db, export)
            if filename is None:  # a bulk run's plan, waiting for the user's confirmation
                db.session.commit()
                return
            exports.mark_ready(export, filename)
            if export.expires_at is None:  # collection files set theirs when asked for; the rest expire alike
                export.expires_at = notifications.expires_at_of(export)
            by_email = _notify_owner(db, export)  # same commit: the bell never lags the status
            db.session.commit()
        except Exception as error:  # the record must say why, whatever happened
            db.session.rollback()
            export = db.session.get(Export, export_id)
            exports.mark_failed(export, str(error) if isinstance(error, BulkRefused) else f"{type(error).__name__}: {error}")
            by_email = _notify_owner(db, export)
            db.session.commit()
            raise
        finally:
            export = db.session.get(Export, export_id)
            if export is not None and not export.is_final and export.status != "planned":
                exports.mark_failed(export, "The export stopped before it finished.")
                by_email = _notify_owner(db, export)
                db.session.commit()
            if by_email:
                queue_export_email(export)
            db.session.remove()


def export_path(export: Export) -> Path:
    return Path(current_app.config["EXPORT_DIR"]) / str(export.id)


def _write_aside(target: Path, write) -> None:
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


def _build_balances_xlsx(db, export: Export) -> str:
    from documents.xlsx import write_balances

    filters = queries.parse_filters(exports.params_of(export), tuple(queries.BALANCE_SORTS))
    day = clock.today()
    filename = safe_name(f"Who owes you what {day.isoformat()}") + ".xlsx"
    total = sum(t["count"] for t in queries.balances(db.session, filters).totals) or 1

    def progress(done: int) -> None:
        # Its own short transaction: the rows are still streaming on the session's connection.
        with db.engine.begin() as connection:
            connection.execute(update(Export).where(Export.id == export.id)
                               .values(progress=min(99, int(done * 100 / total))))

    _write_aside(export_path(export) / filename,
                 lambda path: write_balances(path, queries.all_balances(db.session, filters),
                                             f"Who owes you what? on {day.isoformat()}", progress))
    return filename


def _build_collection_file(db, export: Export) -> str:
    """The collection file of `export.customer_id`'s selected entries: their invoice PDFs, the
    reminder activities about them and an Excel file (documents/collection_zip.py), as a .zip."""
    import time

    from sqlalchemy import select
    from sqlalchemy.orm import joinedload, selectinload

    from documents.collection_zip import (CollectionFileContents, CompanyDetails, CustomerDetails, EntryLine,
                                          InvoiceFile, write_collection_file)
    from documents.pdf import CoveredEntry, ReminderDocument
    from domain.collection_files import entry_ids_of
    from domain.models import CompanySettings, Customer, Document, Entry, ReminderActivity, ReminderEntry

    with _rendering_heap():
        session, day = db.session, clock.today()
        customer = session.get(Customer, export.customer_id) if export.customer_id else None
        if customer is None:
            raise LookupError("The customer of this collection file no longer exists.")
        ids = entry_ids_of(export)
        entries = list(session.scalars(select(Entry).where(Entry.id.in_(ids), Entry.customer_id == customer.id)
                                       .order_by(Entry.due_date, Entry.id))) if ids else []
        if not entries:
            raise LookupError("None of the selected entries is on this customer's account any more.")
        documents: dict[int, Document] = {}  # entry id → its latest PDF (else its latest file)
        for document in session.scalars(select(Document).where(Document.entry_id.in_(ids))
                                        .order_by(Document.uploaded_at, Document.id)):
            current = documents.get(document.entry_id)
            if current is None or "pdf" in document.content_type or "pdf" not in current.content_type:
                documents[document.entry_id] = document
        activities = session.scalars(
            select(ReminderActivity)
            .where(ReminderActivity.id.in_(select(ReminderEntry.activity_id).where(ReminderEntry.entry_id.in_(ids))))
            .options(selectinload(ReminderActivity.covered).joinedload(ReminderEntry.entry),
                     joinedload(ReminderActivity.sent_by))
            .order_by(ReminderActivity.sent_at, ReminderActivity.id))
        company = session.scalar(select(CompanySettings).order_by(CompanySettings.id).limit(1))

        document_dir = Path(current_app.config["DOCUMENT_DIR"])
        selected = {entry.id for entry in entries}
        contents = CollectionFileContents(
            customer=CustomerDetails(
                account=customer.account, name=customer.name, registration_number=customer.registration_number or "",
                address=customer.address or "", emails=tuple(customer.email_list), phone=customer.phone or "",
                language=customer.language or ""),
            company=CompanyDetails(name=company.name, registration_number=company.registration_number or "",
                                   sender_email=company.sender_email or "", address=company.address or "")
            if company else CompanyDetails(name=""),
            entries=[EntryLine(
                id=e.id, number=e.number, kind=e.kind, issue_date=e.issue_date, due_date=e.due_date,
                amount_cents=e.amount_cents, open_cents=e.open_cents, currency=e.currency,
                reminder_level=e.reminder_level, days_overdue=e.days_overdue(day), in_collection=e.in_collection,
                reminders_stopped=e.reminders_stopped_on(day), disputed=e.disputed,
                invoice=InvoiceFile(document_dir / Path(documents[e.id].storage_name).name, documents[e.id].filename)
                if e.id in documents else None) for e in entries],
            reminders=[ReminderDocument(
                id=a.id, sent_at=a.sent_at, channel=a.channel, level=a.level, sender=a.sender or "",
                recipient=a.recipient, subject=a.subject, body=a.body,
                sent_by=a.sent_by.display_name if a.sent_by else None,
                covered=tuple(CoveredEntry(number=c.entry.number, open_cents=c.open_cents,
                                           currency=c.entry.currency, due_date=c.entry.due_date,
                                           in_file=c.entry_id in selected, entry_id=c.entry_id)
                              for c in sorted(a.covered, key=lambda c: (c.entry.due_date, c.entry.number))))
                for a in activities],
            exported_on=day, exported_at=clock.now(), locale=current_app.config.get("BABEL_LOCALE") or "en_GB")
        filename = safe_name(file_stem(customer.name, day)) + ".zip"
        export_id, last_write = export.id, [0.0]

        def progress(percent: int) -> None:
            # Its own short transaction (as for the balances), at most five times a second.
            if time.monotonic() - last_write[0] < 0.2:
                return
            with db.engine.begin() as connection:
                connection.execute(update(Export).where(Export.id == export_id).values(progress=percent))
            last_write[0] = time.monotonic()

        _write_aside(export_path(export) / filename, lambda path: write_collection_file(path, contents, progress))
        return filename


@contextmanager
def _rendering_heap():
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

_BUILDERS = {"balances_xlsx": _build_balances_xlsx, "collection_file": _build_collection_file}


def _build_collection_xlsx(db, export: Export) -> str:
    """The Collection page's filtered view as a workbook."""
    from documents.xlsx import write_collection
    from domain import cases

    filters = cases.parse_case_filters(exports.params_of(export))
    day = clock.today()
    filename = safe_name(f"Collection {day.isoformat()}") + ".xlsx"
    total = cases.count_collection_entries(db.session, filters, cap=10**9) or 1

    def progress(done: int) -> None:
        # Its own short transaction: the rows are still streaming on the session's connection.
        with db.engine.begin() as connection:
            connection.execute(update(Export).where(Export.id == export.id)
                               .values(progress=min(99, int(done * 100 / total))))

    _write_aside(export_path(export) / filename,
                 lambda path: write_collection(path, cases.all_collection_entries(db.session, filters),
                                               f"Collection on {day.isoformat()}", progress))
    return filename


_BUILDERS["collection_xlsx"] = _build_collection_xlsx


def bulk_letter_maker(document_dir: str | Path, aside: Path, company):
    """make_letter(customer, entries, content, name) → (storage_name, filename) for bulk dunning:
    the reminder letter PDF (documents.letter.write_letter, as the ✉️ button makes it), written in
    the folder `aside` and renamed to letters/<name>.pdf, so a half-written letter is never attached
    and a retried job replaces the letter it had written instead of adding one."""
    from documents.letter import write_letter
    from domain import reminder_templates as templates

    def make(customer, entries, content, name: str) -> tuple[str, str]:
        written, filename = write_letter(
            aside, company, customer, entries, content,
            f"{templates.level_name(content.level)} {customer.name} {content.day.isoformat()}")
        storage_name = f"letters/{safe_name(name, fallback='letter')}.pdf"
        os.replace(aside / written, Path(document_dir) / storage_name)
        return storage_name, filename

    return make


class BulkRefused(Exception):
    """The whole bulk run cannot send anything (no sender address, no mail server): said once."""


def _build_bulk_dunning(db, export: Export) -> str | None:
    """Bulk dunning (domain/dunning.py). Unconfirmed: the plan for the user to confirm (status
    "planned", no file). Confirmed: one reminder e-mail per planned customer (with the reminder
    letter as a PDF when the export asks for it), queued in the outbox and sent at once by this
    job. The file is the CSV report; the counts go in the export's message and result."""
    import json
    import time

    from domain import dunning

    actor = db.session.get(User, export.user_id)
    if actor is None:
        raise LookupError("The user who asked for these reminders no longer exists.")
    mail_server = bool(current_app.config.get("SMTP_URL"))
    if not dunning.is_confirmed(export):
        export.result = json.dumps(dunning.plan(db.session, export, actor, today=clock.today(),
                                                mail_server=mail_server))
        export.status, export.progress = "planned", 100
        return None
    problem = dunning.setup_problem(settings_rules.company(db.session), mail_server)
    if problem:
        raise BulkRefused(problem)
    day, export_id, last_write = clock.today(), export.id, [0.0]
    document_dir = current_app.config["DOCUMENT_DIR"]
    make_letter = aside = None
    if dunning.wants_letter(export):
        letters = Path(document_dir) / "letters"
        # Letters a killed run of this export left half-written: one run per export at a time.
        for stale in letters.glob(f".partial-bulk-{export_id}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        letters.mkdir(parents=True, exist_ok=True)
        aside = Path(tempfile.mkdtemp(dir=letters, prefix=f".partial-bulk-{export_id}-"))
        make_letter = bulk_letter_maker(document_dir, aside, settings_rules.company(db.session))

    sender = _BulkSender(db, current_app.config.get("SMTP_URL"))
    # The run commits twice per customer; what it only reads (the user, the export, the company,
    # the customer) need not be read again after each commit. The outbox reads the entries it
    # raises afresh (outbox.loaded).
    expire_on_commit, db.session().expire_on_commit = db.session().expire_on_commit, False

    def progress(done: int, total: int) -> None:
        # Its own short transaction (as for the balances), at most once a second: each is a commit.
        if done < total and time.monotonic() - last_write[0] < 1:
            return
        with db.engine.begin() as connection:
            connection.execute(update(Export).where(Export.id == export_id)
                               .values(progress=min(99, int(done * 100 / max(total, 1)))))
        last_write[0] = time.monotonic()

    try:
        with _rendering_heap():
            report = dunning.run_bulk_dunning(db.session, export, actor, today=day, document_dir=document_dir,
                                              deliver=sender.deliver, progress=progress,
                                              make_letter=make_letter)
    except BaseException:
        db.session.rollback()  # what the next customer had in progress: neither committed nor sent
        raise
    finally:
        sender.close()  # the message in flight gets its outcome written, whatever happened
        db.session().expire_on_commit = expire_on_commit
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    for account, why in sender.failures.items():
        report.not_delivered(account, why)
    filename = safe_name(f"Bulk reminders {day.isoformat()}") + ".csv"
    _write_aside(export_path(export) / filename, lambda path: write_dunning_report(path, report))
    export.message = report.summary
    # Beside the plan (a retried run sends to the planned customers only).
    export.result = json.dumps({**dunning.plan_of(export),
                                "outcome": {"sent": report.sent, "skipped": report.skipped, "failed": report.failed}})
    return filename


_BUILDERS["bulk_dunning"] = _build_bulk_dunning


class _BulkSender:
    """The bulk run's deliveries. Each message is marked "sending" in the commit that queues it,
    then handed to a thread that talks to the mail server while the job prepares the next
    customer (WeasyPrint keeps the CPU busy meanwhile): a fork and a job per message would cost
    more than the SMTP exchange. Outcomes are written on the job's thread (the session is not
    shared), in the commit that hands the next message over, and at the end; the outbox rules
    are those of send_outbox_message, and a message not taken is retried by the outbox later."""

    def __init__(self, db, smtp_url: str | None):
        self.db, self.smtp_url = db, smtp_url
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-smtp")
        self.in_flight: tuple[object, str, Future | None, str | None] | None = None
        self.failures: dict[str, str] = {}  # account → why its message was not delivered

    def deliver(self, message) -> None:
        from domain import outbox

        outbox.begin_attempt(message)
        email, problem = None, None
        try:
            email = outbox.build_email(message)
        except OSError as error:
            problem = f"An attachment cannot be read: {error}"
        handed = (message, message.customer.account)
        # One commit: the previous message's outcome, and this one "sending" before the mail
        # server hears of it.
        self.finish(commit=False)
        self.db.session.commit()
        future = self.pool.submit(mailer.send, self.smtp_url, email) if email is not None else None
        self.in_flight = (*handed, future, problem)

    def finish(self, *, commit: bool = True) -> None:
        """Write the outcome of the message in flight, if any (and commit it, unless the caller will)."""
        from domain import outbox

        if self.in_flight is None:
            return
        message, account, future, problem = self.in_flight
        self.in_flight = None
        if future is not None:
            error = future.exception()
            if error is not None and not isinstance(error, mailer.MailError):
                raise error  # a bug, not a delivery problem: the message stays "sending" (unknown outcome)
            problem = str(error) if error is not None else None
        if problem is None:
            # The session kept the message (it does not expire on commit); its entries' levels
            # may have moved since it was queued, so they are read again.
            outbox.read_entries_again(self.db.session, message)
            outbox.mark_sent(self.db.session, message)
            log.info("Outbox message %s sent to %s", message.id, message.to_addresses)
        else:
            outbox.mark_failed(self.db.session, message, problem)
            self.failures[account] = problem
            log.warning("Outbox message %s not sent: %s", message.id, problem)
        if commit:
            self.db.session.commit()

    def close(self) -> None:
        try:
            self.finish()
        finally:
            self.pool.shutdown(wait=True)


def rebucket_summaries() -> None:
    """The daily run: amounts move between aging buckets as days pass."""
    app = _job_app()
    with app.app_context():
        from extensions import db

        db.engine.dispose(close=False)
        ledger.rebucket_all(db.session)
        db.session.commit()
        db.session.remove()



# --- Telling people, handing files over, cleaning up -------------------------------------------

AGENCY_SEND_TTL = 7 * 86400  # the inline "sent / not sent" answer outlives a long weekend
AGENCY_STATE_UNKNOWN = ("Background work is unavailable right now: whether the last send went through "
                        "shows here once it is back.")
IN_PROGRESS = ("queued", "started", "deferred", "scheduled")


def _notify_owner(db, export: Export) -> bool:
    """The export is final: the bell entry (in the caller's transaction), and whether its owner
    also wants an e-mail. A problem here is logged and never changes the export's own outcome."""
    try:
        with db.session.begin_nested():
            return notifications.export_finished(db.session, export)
    except Exception:
        log.exception("Export %s: its owner could not be notified", export.id)
        return False


def queue_export_email(export: Export) -> None:
    try:
        queue().enqueue(send_export_email, export.id, export.user_id, job_id=f"export-email-{export.id}",
                        job_timeout=300, result_ttl=3600, failure_ttl=86400)
    except Exception:
        log.exception("Export %s: the e-mail to its owner could not be queued", export.id)


def absolute_url(app: Flask, endpoint: str, **values) -> str:
    """A link for an e-mail, on the address people open Relance at (no request to copy it from)."""
    from urllib.parse import urlsplit

    base = urlsplit(mailer.base_url(app.config))
    adapter = app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def _sender(company) -> str:
    return mailer.address(company.name, company.sender_email) if company is not None and company.sender_email else ""


def send_export_email(export_id: int, user_id: int) -> str:
    """E-mail the user that their export is ready (with the download link) or failed (with the
    reason). The file stays in Relance: the link stops working when the export expires."""
    from flask import render_template

    app = _job_app()
    with app.app_context():
        from extensions import db

        db.engine.dispose(close=False)
        try:
            export, user = db.session.get(Export, export_id), db.session.get(User, user_id)
            if export is None or user is None or not export.is_final:
                return "nothing to send"
            ready = export.status == "ready"
            body = render_template(
                "mail/export_ready.txt" if ready else "mail/export_failed.txt",
                export=export, user=user, label=notifications.export_label(export),
                expires_at=notifications.expires_at_of(export),
                download_url=absolute_url(app, "exports.download", export_id=export.id),
                exports_url=absolute_url(app, "exports.index"))
            try:
                message = mailer.build_message(sender=_sender(settings_rules.company(db.session)), to=user.email,
                                               subject=notifications.export_email_subject(export), body=body)
                mailer.send(app.config.get("SMTP_URL"), message)
            except mailer.MailError as error:
                log.warning("Export %s was not e-mailed to %s: %s", export.id, user.email, error)
                notifications.email_failed(db.session, export, str(error))
                db.session.commit()
                return f"not sent: {error}"
            log.info("Export %s e-mailed to %s", export.id, user.email)
            return "sent"
        finally:
            db.session.remove()


def agency_send_job_id(case_id: int) -> str:
    return f"agency-send-{case_id}"


def enqueue_send_to_agency(case_id: int, agency_id: int, user_id: int) -> bool:
    """Queue the hand-off, unless this case's hand-off is already on its way (a double click)."""
    from rq.exceptions import DuplicateJobError, NoSuchJobError
    from rq.job import Job

    jobs_queue = queue()
    job_id = agency_send_job_id(case_id)
    with background():
        try:
            previous = Job.fetch(job_id, connection=jobs_queue.connection)
        except NoSuchJobError:
            previous = None
        if previous is not None:
            if previous.get_status() in IN_PROGRESS:
                return False
            previous.delete()  # an earlier answer (sent, or not): this send replaces it
        try:
            jobs_queue.enqueue(send_to_agency, case_id, agency_id, user_id, job_id=job_id, unique=True,
                               job_timeout=600, result_ttl=AGENCY_SEND_TTL, failure_ttl=AGENCY_SEND_TTL)
        except DuplicateJobError:  # another click queued it a moment ago
            return False
    return True


def agency_send_state(case_id: int) -> tuple[str | None, str | None]:
    """Where the case's last hand-off stands: (None | "sending" | "sent" | "failed", message)."""
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(agency_send_job_id(case_id), connection=redis_connection())
        status = job.get_status()
    except (NoSuchJobError, InvalidJobOperation):
        return None, None
    except RedisError:  # what the case says (the database) still shows; the job's answer waits
        return None, AGENCY_STATE_UNKNOWN
    if status in IN_PROGRESS:
        return "sending", None
    if status == "finished":
        result = job.return_value() or {}
        return ("sent" if result.get("sent") else "failed"), result.get("message")
    return "failed", "The send stopped before it finished: try again."


def send_to_agency(case_id: int, agency_id: int, user_id: int) -> dict:
    """E-mail the collection file to the agency: the .zip attached, the company's SIREN in the
    subject, replies going to the user. Only once the mail server has taken it does the case
    say "sent to agency"; otherwise nothing changes and the user is told why."""
    import mimetypes

    from flask import render_template

    app = _job_app()
    with app.app_context():
        from extensions import db

        db.engine.dispose(close=False)
        try:
            case = db.session.get(CollectionCase, case_id)
            agency = db.session.get(CollectionAgency, agency_id)
            user = db.session.get(User, user_id)
            if case is None or agency is None or user is None or case.export is None:
                return {"sent": False, "message": "The case, the agency or the user no longer exists."}
            export, customer_name, agency_name = case.export, case.customer.name, agency.name
            try:
                company = agency_rules.check_send(db.session, user, export, case, agency)
                path = export_path(export) / export.filename
                if not path.is_file():
                    raise agency_rules.SendRefused("The collection file is no longer on the server: make a new one.")
                body = render_template("mail/collection_file.txt", company=company, case=case, agency=agency,
                                       customer=case.customer, entries=case.entries, user=user, export=export)
                message = mailer.build_message(
                    sender=_sender(company), to=agency.email, reply_to=mailer.address(user.name, user.email),
                    subject=agency_rules.subject(company), body=body,
                    attachments=[mailer.Attachment(export.filename, path.read_bytes(),
                                                   mimetypes.guess_type(export.filename)[0] or "application/zip")])
                mailer.send(app.config.get("SMTP_URL"), message)
            except (agency_rules.SendRefused, mailer.MailError, OSError) as error:
                db.session.rollback()
                reason = str(error)
                log.warning("Case %s: collection file not sent to %s: %s", case_id, agency_name, reason)
                notifications.notify(db.session, user_id,
                                     f"The collection file for {customer_name} was not sent to {agency_name}: {reason}")
                db.session.commit()
                return {"sent": False, "message": reason}
            agency_rules.record_sent(db.session, case, agency, user)
            notifications.notify(db.session, user_id, f"The collection file for {customer_name} was sent to {agency_name}.")
            db.session.commit()
            log.info("Case %s: collection file sent to %s", case_id, agency_name)
            return {"sent": True, "message": f"Sent to {agency_name} <{agency.email}>."}
        finally:
            db.session.remove()


def delete_expired_exports() -> int:
    """The daily clean-up: expired exports lose their files and stay listed as expired."""
    app = _job_app()
    with app.app_context():
        from extensions import db

        db.engine.dispose(close=False)
        deleted = 0
        try:
            for export in notifications.expired_exports(db.session):
                try:
                    shutil.rmtree(export_path(export))
                except FileNotFoundError:
                    pass
                except OSError:
                    log.exception("Export %s: its expired file could not be deleted; tomorrow's run retries", export.id)
                    continue
                export.expires_at = notifications.expires_at_of(export)
                export.file_deleted = True
                deleted += 1
            db.session.commit()
        finally:
            db.session.remove()
        log.info("Expired exports cleaned up: %s", deleted)
        return deleted


# --- Reminder e-mails: the outbox ---------------------------------------------------------------


def enqueue_outbox_message(message) -> None:
    """Queue the send of an outbox message; one job per message and attempt (a stable id).
    BackgroundUnavailable without Redis."""
    with background():
        queue().enqueue(send_outbox_message, message.id, job_id=f"outbox-{message.id}-{message.attempts or 0}",
                        job_timeout=300, result_ttl=3600, failure_ttl=86400)


def send_outbox_message(message_id: int) -> str:
    """Send one outbox message (domain/outbox.py): claimed as "sending" and committed before the
    SMTP exchange; sent (with its activity and the entries' levels) or failed (with the server's
    answer and the next try) after it. A message already sent or being sent is left alone."""
    app = _job_app()
    with app.app_context():
        from extensions import db

        db.engine.dispose(close=False)
        try:
            return _deliver(db, message_id)
        finally:
            db.session.remove()


def _deliver(db, message_id: int) -> str:
    """Claim, send and record one outbox message in the app context's session: "sent", "nothing
    to send" or "failed: <why>" (the message then waits for its next try)."""
    from domain import outbox

    message = outbox.claim(db.session, message_id)
    if message is None:
        db.session.rollback()
        return "nothing to send"
    held = outbox.hold_back(db.session, message)
    db.session.commit()
    if held:
        log.info("Outbox message %s not sent: %s", message_id, held)
        return f"held back: {held}"
    try:
        email = outbox.build_email(message)
        mailer.send(current_app.config.get("SMTP_URL"), email)
    except (mailer.MailError, OSError) as error:
        db.session.rollback()
        message = db.session.get(outbox.OutboxMessage, message_id)
        reason = str(error) if isinstance(error, mailer.MailError) else f"An attachment cannot be read: {error}"
        outbox.mark_failed(db.session, message, reason)
        db.session.commit()
        log.warning("Outbox message %s not sent: %s", message_id, reason)
        return f"failed: {reason}"
    outbox.mark_sent(db.session, message)
    db.session.commit()
    log.info("Outbox message %s sent to %s", message_id, message.to_addresses)
    return "sent"


def retry_due_outbox_messages() -> int:
    """Periodic: give up on messages stuck "sending" (unknown outcome) and queue the failed ones
    whose back-off has run out. Returns how many were queued again."""
    from domain import outbox

    app = _job_app()
    with app.app_context():
        from extensions import db

        db.engine.dispose(close=False)
        try:
            outbox.expire_stale_sending(db.session)
            due = outbox.due_for_retry(db.session)
            db.session.commit()
            for message in due:
                enqueue_outbox_message(message)
            return len(due)
        finally:
            db.session.remove()
