"""The RQ worker: builds exports and runs the daily jobs.

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

import weasyprint  # noqa: F401  (imported before the fork: 4x faster documents)

import documents.collection_zip  # noqa: F401  (openpyxl and the PDF writer, loaded once too)
from rq import Worker
from rq.job import Dependency

import jobs
from app import create_app
from domain import clock
from runtime.redis_server import die_with_parent

log = logging.getLogger("relance.worker")
DAILY_CHECK_SECONDS = 60


def enqueue_daily_jobs(app) -> bool:
    """Queue today's re-bucketing and expired-export clean-up unless they already were: a Redis
    key per job makes each once per calendar day across restarts and several workers, and a
    worker that was down catches up as soon as it starts. Says whether anything was queued."""
    day = clock.today().isoformat()
    connection, queue = jobs.redis_connection(app), jobs.queue(app)
    rebucket = None
    if connection.set(f"relance:daily:rebucket:{day}", "1", nx=True, ex=3 * 86400):
        rebucket = queue.enqueue(jobs.rebucket_summaries, job_id=f"rebucket-{day}")
        log.info("Daily re-bucketing queued for %s", day)
    # After the re-bucketing, whatever its outcome: the daily jobs take the database one at a time.
    after = Dependency(jobs=[rebucket], allow_failure=True) if rebucket is not None else None
    queued = rebucket is not None
    if connection.set(f"relance:daily:expire-exports:{day}", "1", nx=True, ex=3 * 86400):
        queue.enqueue(jobs.delete_expired_exports, job_id=f"expire-exports-{day}", depends_on=after)
        log.info("Daily clean-up of expired exports queued for %s", day)
        queued = True
    if connection.set(f"relance:daily:follow-up:{day}", "1", nx=True, ex=3 * 86400):
        from commands.reminders import daily_run

        queue.enqueue(daily_run, day, job_id=f"follow-up-{day}", depends_on=after, job_timeout=3600)
        log.info("Daily follow-up run queued for %s", day)
        queued = True
    return queued


def enqueue_outbox_retries(app) -> bool:
    """Once a minute: failed reminder e-mails whose back-off has run out go out again (the job id
    per minute keeps several workers from queueing it twice)."""
    minute = clock.now().strftime("%Y%m%d%H%M")
    if not jobs.redis_connection(app).set(f"relance:outbox-retry:{minute}", "1", nx=True, ex=3600):
        return False
    jobs.queue(app).enqueue(jobs.retry_due_outbox_messages, job_id=f"outbox-retry-{minute}", result_ttl=600)
    return True


def schedule_daily_jobs(app, stop: threading.Event) -> None:
    while not stop.is_set():
        enqueue_daily_jobs(app)
        enqueue_outbox_retries(app)
        stop.wait(DAILY_CHECK_SECONDS)


def _is_alive(rq_worker) -> bool:
    """A killed worker stays registered in Redis for minutes: on this machine ask whether its
    process still exists; elsewhere trust a recent heartbeat."""
    if rq_worker.hostname == socket.gethostname() and rq_worker.pid:
        try:
            os.kill(rq_worker.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    heartbeat = rq_worker.last_heartbeat
    return heartbeat is not None and (datetime.now(timezone.utc) - heartbeat.replace(tzinfo=timezone.utc)) < timedelta(seconds=90)


def fail_interrupted_exports(app) -> None:
    """An export left 'running' by a worker that died can never finish: say so (and tell its
    owner), so Retry works. One still being built by another live worker is left alone."""
    from rq import Worker as RQWorker
    from rq.job import Job
    from rq.exceptions import NoSuchJobError
    from sqlalchemy import select

    from domain import exports
    from domain.models import Export
    from extensions import db

    connection = jobs.redis_connection(app)
    live_workers = {w.name for w in RQWorker.all(connection=connection) if _is_alive(w)}
    to_email = []
    with app.app_context():
        for export in db.session.scalars(select(Export).where(Export.status == "running")):
            try:
                job = Job.fetch(f"export-{export.id}", connection=connection)
                if job.get_status(refresh=True) == "started" and job.worker_name in live_workers:
                    continue
            except NoSuchJobError:
                pass
            exports.mark_failed(export, "The worker stopped during the export. Retry to build it again.")
            if jobs._notify_owner(db, export):
                to_email.append(export)
        db.session.commit()
        for export in to_email:
            jobs.queue_export_email(export)
        db.engine.dispose()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    # The work horse RQ forks per job dies with this worker, even when the worker is killed.
    os.register_at_fork(after_in_child=lambda: die_with_parent(signum=signal.SIGKILL))
    app = create_app()
    jobs.use_app(app)
    fail_interrupted_exports(app)
    stop = threading.Event()
    threading.Thread(target=schedule_daily_jobs, args=(app, stop), daemon=True, name="daily").start()
    worker = Worker([jobs.QUEUE_NAME], connection=jobs.redis_connection(app))
    try:
        worker.work(with_scheduler=False)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
