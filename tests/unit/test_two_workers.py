"""Two workers on one ledger, as two machines would run them: two `python worker.py` processes,
each with an instance folder of its own ("its host") and the same RELANCE_STORAGE_DIR (the shared
volume), the same PostgreSQL and the same Redis; a real SMTP server (aiosmtpd) counts what is
actually received.

- Started together, their housekeeping threads queue each daily job once in total.
- The same follow-up run, and the same bulk reminders, run by both workers at the same moment
  send each message once: the outbox's dedupe keys (customer + step + day; export + customer)
  are unique in the database and a message is claimed under a row lock before it is sent.
- The bulk run's report, written by whichever worker, is downloaded through the web app.

PostgreSQL only: SQLite is one machine's file and serialises writers, which proves nothing here.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from rq import Worker as RQWorker
from rq.job import Job
from sqlalchemy import func, select

from tests.conftest import PASSWORD, LedgerBuilder, login
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
PG = (os.environ.get("RELANCE_DATABASE_URL") or "").startswith("postgresql")
pytestmark = [
    pytest.mark.skipif(not PG, reason="two workers at once need PostgreSQL (set RELANCE_DATABASE_URL="
                                      "postgresql+psycopg://…): SQLite serialises writers, it proves nothing here"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses process groups"),
]

START_TIMEOUT = 40   # both workers import WeasyPrint and the app, register with RQ, run the daily jobs
RUN_TIMEOUT = 60
PLAN_CUSTOMERS = 12
BULK_CUSTOMERS = 12


class WorkerProcess:
    """`python worker.py` as `make run` (or a second host) starts it, in a session of its own."""

    def __init__(self, host: Path, storage: Path, database_url: str, redis_url: str, smtp_url: str):
        env = {key: value for key, value in os.environ.items() if not key.startswith(("RELANCE_", "FLASK_"))}
        env.update(RELANCE_INSTANCE_PATH=str(host), RELANCE_STORAGE_DIR=str(storage),
                   RELANCE_DATABASE_URL=database_url, RELANCE_REDIS_URL=redis_url, RELANCE_SMTP_URL=smtp_url,
                   RELANCE_ENV="development", PYTHONUNBUFFERED="1")
        self.log = host.parent / f"{host.name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # the worker and its work horses
        self.process.wait(10)


def _wait_until(predicate, timeout: float, interval: float = 0.2):
    return wait_until(predicate, timeout, interval)


def test_two_workers_send_each_message_once_and_run_the_daily_jobs_once(
        app, session, users, redis_url, smtp_server, tmp_path):
    import json

    import jobs.base
    import jobs.reminders
    import worker
    from domain import clock
    from domain.ledger import queries
    from domain.models import BulkRun, CompanySettings, OutboxMessage, ReminderActivity
    from domain.reminders import bulk, follow_up

    today = date.today()  # the workers' clock is not pinned
    clock.pin(today)
    storage = tmp_path / "shared-volume"
    app.config.update(EXPORT_DIR=str(storage / "exports"), BULK_RUN_DIR=str(storage / "bulk-runs"),
                      ATTACHMENT_DIR=str(storage / "documents"))

    session.add(CompanySettings(name="Acme SARL", registration_number="732829320",
                                sender_email="billing@acme-sarl.test", address="1 rue de la Paix\n75002 Paris"))
    builder = LedgerBuilder(session, today)
    planned = []
    for n in range(PLAN_CUSTOMERS):
        customer = builder.customer(f"P{n:03d}", f"Planned {n}", emails=f"ap@planned-{n}.test")
        builder.entry(customer, 15, f"{100 + n}.00")
        planned.append(customer)
    bulk_accounts = []
    for n in range(BULK_CUSTOMERS):
        customer = builder.customer(f"B{n:03d}", f"Bulk {n}", emails=f"ap@bulk-{n}.test")
        builder.entry(customer, 20, f"{200 + n}.00")
        bulk_accounts.append(customer.account)
    plan = follow_up.create_plan(session, users["admin"], "Standard")
    follow_up.add_step(session, users["admin"], plan, 10, "email", 1)  # R1 ten days after the due date
    session.commit()

    connection = jobs.base.redis_connection(app)
    for key in [*connection.scan_iter("relance:daily:*"), worker.SWEEP_LOCK]:
        connection.delete(key)
    queue = jobs.base.queue(app)
    queue.empty()
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    workers: list[WorkerProcess] = []
    try:
        # 1. Two hosts start their worker at the same time: each daily job is queued once in total.
        workers = [WorkerProcess(tmp_path / host, storage, database_url, redis_url, smtp_server.url)
                   for host in ("host-a", "host-b")]
        day = today.isoformat()

        def both_idle_after_the_daily_jobs():
            for w in workers:
                assert w.process.poll() is None, f"a worker exited:\n{w.output()[-3000:]}"
            ours = [w for w in RQWorker.all(connection=connection) if w.pid in {p.process.pid for p in workers}]
            try:
                done = Job.fetch(f"follow-up-{day}", connection=connection).get_status() == "finished"
            except Exception:
                done = False
            return done and len(ours) == 2 and all(w.get_state() == "idle" for w in ours) and queue.count == 0

        assert _wait_until(both_idle_after_the_daily_jobs, START_TIMEOUT), "\n".join(w.output()[-2000:] for w in workers)
        logs = "".join(w.output() for w in workers)
        for line in ("Daily re-bucketing queued", "Daily clean-up of expired exports queued",
                     "Daily follow-up run queued"):
            assert logs.count(line) == 1, f"{line!r} {logs.count(line)} times:\n{logs[-3000:]}"
        assert len(smtp_server.envelopes) == 0, "no customer had a plan yet"

        # 2. The same follow-up run, twice at the same moment (one per worker).
        for customer in planned:
            customer.follow_up_plan_id = plan.id
        session.commit()
        from jobs.reminders import daily_run

        runs = [queue.enqueue(daily_run, day, job_id=f"follow-up-again-{n}") for n in (1, 2)]

        # 3. The same bulk reminders, twice at the same moment (the second as if a Retry raced a
        #    worker taken for dead).
        params = queries.parse_filters({}, tuple(queries.BALANCE_SORTS)).query_args(page=1)
        params["customer"] = bulk_accounts
        run, _ = bulk.request_run(session, users["finance"], params)
        # Planned and confirmed, as the user does before anything is sent.
        run.result = json.dumps(bulk.plan(session, run, users["finance"], today=clock.today(), mail_server=True))
        run.status = "planned"
        bulk.confirm(session, run, users["finance"])
        session.commit()
        run_id = run.id

        def runs_done():
            return all(job.get_status(refresh=True) in ("finished", "failed") for job in runs)

        assert _wait_until(runs_done, RUN_TIMEOUT), "\n".join(w.output()[-2000:] for w in workers)
        assert {job.get_status() for job in runs} == {"finished"}, [job.exc_info for job in runs]
        assert _wait_until(both_idle_after_the_daily_jobs, RUN_TIMEOUT)
        builds = [queue.enqueue(jobs.reminders.run_bulk, run_id, job_id=job_id, job_timeout=600)
                  for job_id in (f"bulk-run-{run_id}", f"bulk-run-{run_id}-again")]

        expected = PLAN_CUSTOMERS + BULK_CUSTOMERS

        def all_sent():
            session.rollback()
            sent = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))
            finished = all(job.get_status(refresh=True) in ("finished", "failed") for job in builds)
            return finished and sent >= expected and queue.count == 0

        assert _wait_until(all_sent, RUN_TIMEOUT), "\n".join(w.output()[-2000:] for w in workers)
        time.sleep(2)  # anything sent twice would arrive now

        # Both pairs really ran side by side, one job of each on each worker.
        for pair in (runs, builds):
            names = {Job.fetch(job.id, connection=connection).worker_name for job in pair}
            assert len(names) == 2, f"{[job.id for job in pair]} ran on {names}"

        received = Counter(address for envelope in smtp_server.envelopes for address in envelope.rcpt_tos)
        wanted = {f"ap@planned-{n}.test" for n in range(PLAN_CUSTOMERS)} | {f"ap@bulk-{n}.test"
                                                                             for n in range(BULK_CUSTOMERS)}
        assert set(received) == wanted
        twice = {address: count for address, count in received.items() if count > 1}
        assert not twice, f"sent more than once: {twice}"
        assert len(smtp_server.envelopes) == expected
        session.rollback()
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == expected
        assert session.scalar(select(func.count()).select_from(ReminderActivity)) == expected

        # The report lies on the shared volume: the web app (another "host") serves it.
        run = session.get(BulkRun, run_id)
        assert run.status == "done", run.message
        assert (storage / "bulk-runs" / str(run_id) / run.filename).is_file()
        with app.app_context():
            client = app.test_client()
            assert login(client, "finance@relance.test", PASSWORD).status_code == 302
            download = client.get(f"/reminders/bulk/{run_id}/report")
        assert download.status_code == 200, download.get_data(as_text=True)[:500]
        report = download.get_data().decode("utf-8-sig")
        assert all(account in report for account in bulk_accounts)
    finally:
        for w in workers:
            w.stop()
        queue.empty()
        clock.pin(None)
