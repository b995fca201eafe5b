"""The RQ worker: builds exports, runs bulk reminders, and runs the daily jobs.

Run with `python worker.py` (make run does). WeasyPrint is imported here, once, before the
worker forks a child per job; each job disposes the database pool it inherited.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import weasyprint  # noqa: F401  (imported before the fork: PDFs 4x faster)
from rq import Worker
from rq.job import Dependency
from sqlalchemy.orm import configure_mappers

import files.collection_zip  # noqa: F401  (openpyxl and the PDF writer, loaded once too)
import jobs.base
import jobs.debt_collection
import jobs.digest
import jobs.exports
import jobs.ledger
import jobs.reminders
from app import create_app
from domain import clock
from runtime.redis_server import die_with_parent

log = logging.getLogger("relance.worker")
DIGEST_HOUR = 8  # the morning digest goes at 8:00 in the instance's time zone (RELANCE_TIMEZONE)
DAILY_CHECK_SECONDS = 10  # the housekeeping tick (the daily jobs themselves run once a day)
HEARTBEAT_SECONDS = 5  # RQ refreshes a running job's heartbeat this often (job_monitoring_interval)
STALE_HEARTBEAT = timedelta(seconds=6 * HEARTBEAT_SECONDS)  # then the worker running it is taken for dead
QUEUED_TOO_LONG = timedelta(minutes=10)
SWEEP_LOCK = "relance:sweep-exports"  # one sweep at a time across workers
REDIS_WAIT_MAX_SECONDS = 5  # RQ's back-off while Redis is away (60 s by default): back at work soon after


def enqueue_daily_jobs(app) -> bool:
    """Queue today's re-bucketing and expired-export clean-up unless they already were: a Redis
    key per job makes each once per calendar day across restarts and several workers, and a
    worker that was down catches up as soon as it starts. Says whether anything was queued."""
    day = clock.today().isoformat()
    connection, queue = jobs.base.redis_connection(app), jobs.base.queue(app)
    rebucket = None
    if connection.set(f"relance:daily:rebucket:{day}", "1", nx=True, ex=3 * 86400):
        rebucket = queue.enqueue(jobs.ledger.rebucket_summaries, job_id=f"rebucket-{day}")
        log.info("Daily re-bucketing queued for %s", day)
    # After the re-bucketing, whatever its outcome: the daily jobs take the database one at a time.
    after = Dependency(jobs=[rebucket], allow_failure=True) if rebucket is not None else None
    queued = rebucket is not None
    if connection.set(f"relance:daily:expire-exports:{day}", "1", nx=True, ex=3 * 86400):
        queue.enqueue(jobs.exports.delete_expired_exports, job_id=f"expire-exports-{day}", depends_on=after)
        log.info("Daily clean-up of expired exports queued for %s", day)
        queued = True
    if connection.set(f"relance:daily:promises:{day}", "1", nx=True, ex=3 * 86400):
        # Before the follow-up run, so the entries of a broken promise are reminded today.
        after = Dependency(jobs=[queue.enqueue(jobs.ledger.evaluate_promises, day, job_id=f"promises-{day}",
                                               depends_on=after)], allow_failure=True)
        log.info("Daily settling of promises queued for %s", day)
        queued = True
    if connection.set(f"relance:daily:debt-collection:{day}", "1", nx=True, ex=3 * 86400):
        # On its own, not in the chain above: with two workers, a third job depending on the same one
        # was sometimes never started (tests/unit/test_two_workers.py). An invoice a broken promise
        # frees is listed the next day.
        queue.enqueue(jobs.debt_collection.daily_debt_collection, day, job_id=f"debt-collection-{day}",
                      job_timeout=1800)
        log.info("Daily debt collection queued for %s", day)
        queued = True
    local = datetime.now(ZoneInfo(app.config.get("TIMEZONE", "Europe/Paris")))
    if local.hour >= DIGEST_HOUR and connection.set(f"relance:daily:digest:{local.date()}", "1", nx=True,
                                                    ex=3 * 86400):
        queue.enqueue(jobs.digest.morning_digest, local.date().isoformat(), job_id=f"digest-{local.date()}",
                      depends_on=after, job_timeout=1800)
        log.info("Morning digest queued for %s", local.date())
        queued = True
    if connection.set(f"relance:daily:follow-up:{day}", "1", nx=True, ex=3 * 86400):
        from jobs.reminders import daily_run

        queue.enqueue(daily_run, day, job_id=f"follow-up-{day}", depends_on=after, job_timeout=3600)
        log.info("Daily follow-up run queued for %s", day)
        queued = True
    return queued


def enqueue_outbox_retries(app) -> bool:
    """Once a minute: failed reminder e-mails whose back-off has run out go out again (the job id
    per minute keeps several workers from queueing it twice)."""
    minute = clock.now().strftime("%Y%m%d%H%M")
    if not jobs.base.redis_connection(app).set(f"relance:outbox-retry:{minute}", "1", nx=True, ex=3600):
        return False
    jobs.base.queue(app).enqueue(jobs.reminders.retry_due_outbox_messages, job_id=f"outbox-retry-{minute}", result_ttl=600)
    return True


# RQ forks a work horse per job while the housekeeping thread may be inside SQLAlchemy or redis-py:
# a lock that thread holds at the fork stays held for ever in the child (a work horse that hangs on
# its first query). Each chore runs under this lock, and a fork waits for it (os.register_at_fork).
FORK_GUARD = threading.Lock()


def _guard_forks() -> None:
    os.register_at_fork(before=FORK_GUARD.acquire, after_in_parent=FORK_GUARD.release,
                        after_in_child=FORK_GUARD.release)


def schedule_daily_jobs(app, stop: threading.Event) -> None:
    """The worker's housekeeping thread: the daily jobs, the outbox retries and the export sweep.
    A Redis or database outage is logged and tried again at the next tick: the thread never dies."""
    while not stop.is_set():
        for chore in (enqueue_daily_jobs, enqueue_outbox_retries, sweep_exports):
            try:
                with FORK_GUARD:
                    chore(app)
            except Exception:
                log.warning("%s failed; next try in %s s", chore.__name__, DAILY_CHECK_SECONDS, exc_info=True)
        stop.wait(DAILY_CHECK_SECONDS)


def _still_building(job) -> bool:
    """Whether the job is being run by a live worker, wherever it runs: RQ's worker refreshes
    the job's heartbeat every HEARTBEAT_SECONDS while its work horse runs it. No process table is
    consulted: the worker may be on another host (or in another container with the same name)."""
    if job.get_status(refresh=False) != "started" or job.last_heartbeat is None:
        return False
    beat = job.last_heartbeat
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc) - beat < STALE_HEARTBEAT


def _sweepable():
    """What the sweep looks after: each record's model, its job's id, how it fails, how its owner hears of it."""
    from domain import exports
    from domain.models import BulkRun, Export
    from domain.reminders import bulk

    unavailable = "background work was unavailable when {} asked for."
    return ((Export, "export-{}", exports.mark_failed, jobs.exports.queue_export_email,
             "The worker stopped during the export. Retry to build it again.",
             f"No worker took this export: {unavailable.format('it was')} Retry to build it."),
            (BulkRun, "bulk-run-{}", bulk.mark_failed, jobs.reminders.queue_run_email,
             "The worker stopped during the run. Retry to carry it on: a reminder it queued is never queued twice.",
             f"No worker took these reminders: {unavailable.format('they were')} Retry to start them."))


def sweep_exports(app) -> int:
    """Exports and bulk runs that can never finish are failed with a reason (and their owner told,
    as for any failure), so Retry works: one left "running" by a worker that died (its job's
    heartbeat stopped), and one "queued" for longer than QUEUED_TOO_LONG without a job in Redis
    (Redis lost it, or the web could not queue it). Run by every worker, at start and then every
    DAILY_CHECK_SECONDS; a Redis key lets one of them do it at a time. How many were failed."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from sqlalchemy import select

    from extensions import db

    connection = jobs.base.redis_connection(app)
    if not connection.set(SWEEP_LOCK, socket.gethostname(), nx=True, ex=max(1, int(DAILY_CHECK_SECONDS) - 1)):
        return 0
    failed, to_email = 0, []
    with app.app_context():
        try:
            now = clock.now()
            for model, job_id, mark_failed, email, stopped, lost in _sweepable():
                candidates = list(db.session.scalars(select(model.id).where(model.status.in_(("queued", "running")))))
                for work_id in candidates:
                    try:
                        job = Job.fetch(job_id.format(work_id), connection=connection)
                    except NoSuchJobError:
                        job = None
                    # Locked and read again: it may have moved on meanwhile (another sweeper, the job itself).
                    work = db.session.get(model, work_id, with_for_update=True, populate_existing=True)
                    if work is None or work.is_final:
                        db.session.rollback()
                        continue
                    if work.status == "running":
                        if job is not None and _still_building(job):
                            db.session.rollback()
                            continue
                        reason = stopped
                    else:
                        waiting = job is not None and job.get_status(refresh=False) in jobs.base.IN_PROGRESS
                        if waiting or work.created_at > now - QUEUED_TOO_LONG:
                            db.session.rollback()
                            continue
                        reason = lost
                    mark_failed(work, reason)
                    if jobs.base.notify_owner(work):
                        to_email.append((email, work))
                    db.session.commit()
                    failed += 1
                    log.warning("%s %s failed by the sweep: %s", model.__name__, work_id, reason)
            for email, work in to_email:
                email(work)
            return failed
        finally:
            db.session.remove()
            db.engine.dispose()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    # The work horse RQ forks per job dies with this worker, even when the worker is killed.
    os.register_at_fork(after_in_child=lambda: die_with_parent(signum=signal.SIGKILL))
    app = create_app()
    jobs.base.use_app(app)
    configure_mappers()  # once here, not in every work horse (and never half-done at a fork)
    _guard_forks()
    stop = threading.Event()
    threading.Thread(target=schedule_daily_jobs, args=(app, stop), daemon=True, name="daily").start()
    worker = Worker([jobs.base.QUEUE_NAME], connection=jobs.base.redis_connection(app), job_monitoring_interval=HEARTBEAT_SECONDS)
    worker.max_connection_wait_time = REDIS_WAIT_MAX_SECONDS
    try:
        worker.work(with_scheduler=False)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
