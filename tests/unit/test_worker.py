"""The worker's daily run and its sweep of exports that can never finish, against real Redis."""
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from rq import SimpleWorker
from rq.job import JobStatus
from sqlalchemy import select

import jobs.base
import jobs.exports
import worker
from domain import clock
from domain.models import BulkRun, CustomerSummary, Export, Notification


def test_daily_rebucketing_is_queued_once_per_day_and_moves_amounts(app, session, ledger_builder, pinned_today):
    connection = jobs.base.redis_connection(app)
    for key in connection.scan_iter("relance:daily:*"):
        connection.delete(key)
    queue = jobs.base.queue(app)
    queue.empty()
    jobs.base.use_app(app)
    acme = ledger_builder.customer("C1", "Acme")
    ledger_builder.entry(acme, 30, "100.00")
    session.commit()

    clock.pin(pinned_today + timedelta(days=1))
    assert worker.enqueue_daily_jobs(app) is True
    assert worker.enqueue_daily_jobs(app) is False, "a restart the same day does not queue it again"
    # Ready at once: the re-bucketing (the others wait on it) and the debt-collection run (on its own).
    assert sorted(job.id for job in queue.get_jobs()) == [f"debt-collection-{clock.today().isoformat()}",
                                                          f"rebucket-{clock.today().isoformat()}"]
    SimpleWorker([queue], connection=connection).work(burst=True)

    session.expire_all()
    row = session.get(CustomerSummary, (acme.id, "EUR"))
    assert (row.days_1_30_cents, row.days_31_60_cents) == (0, 10000)
    jobs.base.use_app(None)


def sweep(app) -> int:
    jobs.base.redis_connection(app).delete(worker.SWEEP_LOCK)  # the previous tick's, in a test
    return worker.sweep_exports(app)


def make_export(session, user, status: str, age: timedelta = timedelta(0)) -> Export:
    export = Export(user_id=user.id, kind="balances_xlsx", status=status, progress=40 if status == "running" else 0,
                    created_at=clock.now() - age)
    session.add(export)
    session.commit()
    return export


def started_job(app, export: Export, heartbeat_age: timedelta, worker_name: str = "w1", prefix: str = "export"):
    """The export's (or run's) job as a worker running it leaves it in Redis: started, with a heartbeat."""
    queue = jobs.base.queue(app)
    job = queue.enqueue("time.sleep", 0, job_id=f"{prefix}-{export.id}")
    queue.remove(job)
    job.worker_name = worker_name
    job.save()
    job.set_status(JobStatus.STARTED)
    job.heartbeat(datetime.now(timezone.utc) - heartbeat_age, ttl=300)
    return job


def test_exports_left_running_by_a_dead_worker_become_failed(app, session, users):
    queue = jobs.base.queue(app)
    queue.empty()
    finance = users["finance"]
    without_job = make_export(session, finance, "running")
    silent = make_export(session, finance, "running")
    alive = make_export(session, finance, "running")
    started_job(app, silent, heartbeat_age=timedelta(minutes=2))
    # A live worker elsewhere: on another host, or in another container with the same host name
    # and a process id that means nothing here. Only its job's heartbeat counts.
    started_job(app, alive, heartbeat_age=timedelta(seconds=3), worker_name="elsewhere")
    try:
        assert sweep(app) == 2
        session.expire_all()
        for export in (without_job, silent):
            assert export.status == "failed"
            assert export.message == "The worker stopped during the export. Retry to build it again."
            texts = [n.text for n in session.scalars(select(Notification).where(Notification.export_id == export.id))]
            assert texts and "failed" in texts[0], "its owner is told, as for any failed export"
        assert alive.status == "running", "still being built by a worker whose heartbeat is fresh"
    finally:
        for job_id in (f"export-{silent.id}", f"export-{alive.id}"):
            jobs.base.redis_connection(app).delete(f"rq:job:{job_id}")
        queue.empty()


def test_an_export_queued_too_long_without_a_job_is_failed_with_a_reason(app, session, users):
    queue = jobs.base.queue(app)
    queue.empty()
    finance = users["finance"]
    lost = make_export(session, finance, "queued", age=timedelta(minutes=11))
    waiting = make_export(session, finance, "queued", age=timedelta(minutes=11))
    recent = make_export(session, finance, "queued", age=timedelta(minutes=2))
    jobs.exports.enqueue_export(waiting.id)  # still in the queue behind others: left alone
    try:
        assert sweep(app) == 1
        session.expire_all()
        assert lost.status == "failed" and "Retry" in lost.message and "No worker took this export" in lost.message
        assert session.scalar(select(Notification).where(Notification.export_id == lost.id)) is not None
        assert (waiting.status, recent.status) == ("queued", "queued")
    finally:
        queue.empty()


def test_bulk_runs_a_dead_worker_left_or_no_worker_took_become_failed_and_say_so(app, session, users):
    queue = jobs.base.queue(app)
    queue.empty()
    finance = users["finance"]

    def a_run(status, age=timedelta(0)):
        run = BulkRun(user_id=finance.id, status=status, created_at=clock.now() - age)
        session.add(run)
        session.commit()
        return run

    sending, alive, lost = a_run("running"), a_run("running"), a_run("queued", timedelta(minutes=11))
    planned = a_run("planned", timedelta(hours=2))
    # A live worker is sending the other one: its job (bulk-run-<id>) has a fresh heartbeat.
    started_job(app, alive, heartbeat_age=timedelta(seconds=3), prefix="bulk-run")
    try:
        assert sweep(app) == 2
        session.expire_all()
        assert sending.status == "failed" and "Retry to carry it on" in sending.message
        assert lost.status == "failed" and "No worker took these reminders" in lost.message
        assert (alive.status, planned.status) == ("running", "planned"), "a plan waits for its user, not a worker"
        texts = [n.text for n in session.scalars(select(Notification).where(Notification.bulk_run_id == sending.id))]
        assert texts == [f"Your bulk reminders failed: {sending.message}"]
    finally:
        jobs.base.redis_connection(app).delete(f"rq:job:bulk-run-{alive.id}")
        queue.empty()


def test_the_housekeeping_thread_outlives_a_redis_outage(app, session, users, monkeypatch):
    """Redis away at one tick (an exception each time) does not end the thread: once Redis is
    back, the next tick sweeps."""
    monkeypatch.setattr(worker, "DAILY_CHECK_SECONDS", 0.05)
    for chore in ("enqueue_daily_jobs", "enqueue_outbox_retries"):  # not today's keys of other tests
        monkeypatch.setattr(worker, chore, lambda app: False)
    lost = make_export(session, users["finance"], "queued", age=timedelta(minutes=30))
    jobs.base.redis_connection(app).delete(worker.SWEEP_LOCK)
    url = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "unix:///nonexistent/relance-test.sock"
    stop = threading.Event()
    thread = threading.Thread(target=worker.schedule_daily_jobs, args=(app, stop), daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        assert thread.is_alive(), "the thread died with Redis"
        app.config["REDIS_URL"] = url

        def failed():
            session.expire_all()
            return session.get(Export, lost.id).status == "failed"

        deadline = time.monotonic() + 10
        while not failed() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert failed(), "the sweep did not run once Redis was back"
    finally:
        stop.set()
        thread.join(5)
        app.config["REDIS_URL"] = url
        jobs.base.queue(app).empty()


def test_outbox_retries_are_queued_once_a_minute(app):
    connection = jobs.base.redis_connection(app)
    for key in connection.scan_iter("relance:outbox-retry:*"):
        connection.delete(key)
    queue = jobs.base.queue(app)
    queue.empty()
    assert worker.enqueue_outbox_retries(app) is True
    assert worker.enqueue_outbox_retries(app) is False, "the same minute queues it once"
    assert queue.count == 1
    queue.empty()


@pytest.mark.parametrize("path", ["jobs.build_export", "jobs.send_export_email", "jobs.delete_expired_exports",
                                  "jobs.send_to_agency", "jobs.send_outbox_message", "jobs.retry_due_outbox_messages",
                                  "jobs.rebucket_summaries"])
def test_jobs_queued_by_the_previous_version_still_find_their_function(path):
    """RQ imports a queued job's function by its path: an upgrade must not strand queued e-mails."""
    from rq.utils import import_attribute

    name = path.split(".")[-1]
    moved = import_attribute(path)
    assert moved.__name__ == name and moved.__module__.startswith("jobs.") and moved.__module__ != "jobs"
