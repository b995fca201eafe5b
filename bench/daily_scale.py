"""The daily jobs at scale, while people work: on a copy of the bench database, the re-bucketing and the
whole follow-up run as the worker runs them, timed, while 30 logged-in people read the pages.

    part of `make bench` (SQLite, or PostgreSQL with DB=…; skip it with --skip daily-scale)

1. A copy of the bench database, so the bench's own ledger is never written: SQLite, the file, in
   bench/out/daily; PostgreSQL, CREATE DATABASE <bench database>_daily TEMPLATE <bench database>, dropped at
   the end.
2. Set up on the copy, not timed (`python -m bench.daily_scale prepare`): the company's sender address, and a
   follow-up plan (-5 prevention e-mail, +10 R1 e-mail, +30 R2 letter, +45 phone call) on every customer, so
   the run reaches every customer a plan would reach and skips none for want of an address.
3. A server on the copy (`flask serve --no-worker`, as for the pages) and the clients of bench/load.py reading
   the list pages and an account status (one change a second) for as long as the daily work runs.
4. The daily work in a process of its own (`python -m bench.daily_scale work`), as the worker runs it:
   jobs.ledger.rebucket_summaries, then jobs.reminders.daily_run (every e-mail queued in the outbox and
   handed to RQ on a bundled Redis, every letter made as a PDF by WeasyPrint, every task written), each timed.
   Issue 15's target: each ≤ 60 s over 10M entries on PostgreSQL; the pages' p99 during the run is reported
   beside their p99 without it (the load phase before).
A measurement, not a test: a miss is reported, the exit status is 0.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "bench" / "out" / "daily"
MAX_SECONDS = 60.0
MAX_RUN_SECONDS = 4 * 3600.0  # the daily work is stopped after this (10M entries take minutes, not hours)
STEPS = ((-5, "email", 0), (10, "email", 1), (30, "letter", 2), (45, "task", 3))
SENDER = "relances@bench.invalid"


# --- in the copy's own processes -----------------------------------------------------------------

def prepare() -> dict:
    from sqlalchemy import func, select

    from app import create_app
    from domain.models import CompanySettings, Customer
    from domain.reminders import follow_up
    from extensions import db

    app = create_app()
    with app.app_context():
        session = db.session
        company = session.scalar(select(CompanySettings).order_by(CompanySettings.id).limit(1))
        if company is None:
            company = CompanySettings(name="Bench SARL", registration_number="", sender_email=SENDER,
                                      address="1 rue du Banc\n75001 Paris")
            session.add(company)
        company.sender_email = company.sender_email or SENDER
        plan = follow_up.create_plan(session, None, "Bench daily plan")
        for offset, channel, level in STEPS:
            follow_up.add_step(session, None, plan, offset, channel, level)
        assigned = follow_up.assign_matching(session, None, plan, "")
        session.commit()
        customers = session.scalar(select(func.count()).select_from(Customer))
    return {"assigned": assigned, "customers": customers}


def work() -> dict:
    """The two daily jobs, one after the other, as the worker runs them (jobs.base.use_app)."""
    from sqlalchemy import func, select

    import jobs.base
    from app import create_app
    from domain.models import OutboxMessage
    from extensions import db
    from jobs.ledger import rebucket_summaries
    from jobs.reminders import daily_run
    from runtime.redis_server import BundledRedis

    with tempfile.TemporaryDirectory(prefix="relance-daily-") as folder:
        redis = BundledRedis(Path(folder) / "redis").start()
        try:
            app = create_app({"REDIS_URL": redis.url})
            jobs.base.use_app(app)
            with app.app_context():
                outbox_before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
                db.session.remove()
            started = time.perf_counter()
            rebucket_summaries()
            rebucket_s = time.perf_counter() - started
            started = time.perf_counter()
            summary = daily_run()
            follow_up_s = time.perf_counter() - started
            with app.app_context():
                queued = db.session.scalar(select(func.count()).select_from(OutboxMessage)) - outbox_before
                db.session.remove()
        finally:
            redis.stop()
    return {"rebucket_s": rebucket_s, "follow_up_s": follow_up_s, "summary": summary, "queued": queued}


# --- from bench.run ---------------------------------------------------------------------------------

class _Copy:
    """The copy of the bench database the daily work writes to."""

    def __init__(self, bench_url: str | None, admin_url: str | None, source_file: Path):
        self.bench_url, self.admin_url, self.source_file = bench_url, admin_url, source_file
        self.url: str | None = None
        self.name = ""

    def make(self) -> dict[str, str]:
        """The environment variables that point Relance at the copy."""
        shutil.rmtree(FOLDER, ignore_errors=True)
        FOLDER.mkdir(parents=True)
        if not self.bench_url:
            from bench.daily_run import copy_database

            copy_database(self.source_file, FOLDER)
            return {"RELANCE_INSTANCE_PATH": str(FOLDER)}
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        bench = make_url(self.bench_url)
        self.name = f"{bench.database}_daily"
        engine = create_engine(make_url(self.admin_url).set(drivername="postgresql+psycopg"),
                               isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}"'))
                connection.execute(text(f'CREATE DATABASE "{self.name}" TEMPLATE "{bench.database}"'))
        finally:
            engine.dispose()
        self.url = bench.set(database=self.name).render_as_string(hide_password=False)
        return {"RELANCE_INSTANCE_PATH": str(FOLDER), "RELANCE_DATABASE_URL": self.url}

    def drop(self) -> None:
        if self.url:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            engine = create_engine(make_url(self.admin_url).set(drivername="postgresql+psycopg"),
                                   isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as connection:
                    # FORCE (PostgreSQL 13+): a connection left by a killed step does not keep the copy alive
                    force = " WITH (FORCE)" if connection.dialect.server_version_info >= (13,) else ""
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}"{force}'))
            finally:
                engine.dispose()
        shutil.rmtree(FOLDER, ignore_errors=True)


class _Step:
    """`python -m bench.daily_scale <step>` on the copy: its own process group, dying with the bench, killed
    (group and all) when the bench stops early, so nothing keeps writing to a copy about to be dropped."""

    def __init__(self, step: str, env: dict[str, str]):
        from runtime.redis_server import preexec_die_with_parent

        self.step = step
        die_with_bench = preexec_die_with_parent()

        def preexec() -> None:
            os.setsid()
            die_with_bench()

        self.process = subprocess.Popen([sys.executable, "-m", "bench.daily_scale", step], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        stdin=subprocess.DEVNULL, preexec_fn=preexec)

    def result(self, timeout: float, log: Callable[[str], None]) -> dict:
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise SystemExit(f"bench.daily_scale {self.step} did not end within {timeout:.0f} s.") from None
        if self.process.returncode != 0:
            log(err[-3000:])
            raise SystemExit(f"bench.daily_scale {self.step} failed (exit {self.process.returncode}).")
        return json.loads(out.strip().splitlines()[-1])

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)


def _in_copy(step: str, env: dict[str, str], log: Callable[[str], None], timeout: float = 3600.0) -> dict:
    running = _Step(step, env)
    try:
        return running.result(timeout, log)
    finally:
        running.kill()


def run(env: dict[str, str], *, bench_url: str | None, admin_url: str | None, source_file: Path,
        start_server: Callable[[dict[str, str]], object], logged_in: Callable[[object], object], targets,
        account: str, clients: int, before, log: Callable[[str], None], results: Path) -> list[str]:
    """`start_server(env)` → a started bench.run.Server; `logged_in(server)` → a logged-in client;
    `before`: the load result without the daily work (bench.load.LoadResult) or None."""
    from bench import load as bench_load
    from bench.pages import markdown_table, text_table

    copy = _Copy(bench_url, admin_url, source_file)
    started = time.monotonic()
    copy_env = dict(env, **copy.make())
    log(f"  copy of the bench database made in {time.monotonic() - started:.0f} s")
    work: _Step | None = None
    try:
        setup = _in_copy("prepare", copy_env, log)
        log(f"  plan on {setup['assigned']:,} of {setup['customers']:,} customers; sender address set")
        server = start_server(copy_env)
        try:
            server.wait_ready()
            done = threading.Event()
            outcome: dict = {}

            def daily() -> None:
                try:
                    outcome.update(work.result(MAX_RUN_SECONDS, log))
                except BaseException as error:  # reported below; the load stops either way
                    outcome["error"] = repr(error)
                finally:
                    done.set()

            def begin() -> None:  # once every client is logged in and reading
                nonlocal work
                work = _Step("work", copy_env)
                threading.Thread(target=daily, daemon=True).start()

            log(f"  the daily work runs while {clients} people read the pages…")
            during = bench_load.run(lambda: logged_in(server), targets, account, clients=clients,
                                    seconds=MAX_RUN_SECONDS, until=done, started=begin, log=log)
            done.wait(60)
        finally:
            if work is not None:
                work.kill()
            server.stop()
    finally:
        copy.drop()
    if "error" in outcome:
        raise SystemExit(f"The daily work failed: {outcome['error']}")
    rebucket_ok, run_ok = outcome["rebucket_s"] <= MAX_SECONDS, outcome["follow_up_s"] <= MAX_SECONDS
    rows = [["Re-bucketing (jobs.ledger.rebucket_summaries)", f"{outcome['rebucket_s']:.1f} s",
             f"≤ {MAX_SECONDS:.0f} s", "pass" if rebucket_ok else "MISS"],
            ["Whole follow-up run (jobs.reminders.daily_run)", f"{outcome['follow_up_s']:.1f} s",
             f"≤ {MAX_SECONDS:.0f} s", "pass" if run_ok else "MISS"]]
    did = (f"The follow-up run: {outcome['summary']}; {outcome['queued']:,} e-mails put in the outbox and handed to "
           f"the worker's queue (sent by the worker afterwards: the sending bench measures that).")
    load_rows = ([["without the daily work", *before.row()]] if before is not None else []) + \
        [["during the daily work", *during.row()]]
    log(text_table(["Daily job", "Time", "Target", ""], rows))
    log(did)
    log(text_table(["Pages", *bench_load.HEADERS], load_rows))
    with open(results, "a") as handle:
        handle.write("\n## The daily jobs at scale, while people work\n\n"
                     f"On a copy of the bench database: a follow-up plan on {setup['assigned']:,} customers, the "
                     "company's sender address set; each job as the worker runs it (e-mails handed to RQ, letters "
                     f"made by WeasyPrint). Meanwhile {clients} people read the pages (one change a second).\n\n"
                     + "\n".join(markdown_table(["Daily job", "Time", "Target", ""], rows)) + f"\n\n{did}\n\n"
                     + "\n".join(markdown_table(["Pages", *bench_load.HEADERS], load_rows)) + "\n")
    missed = [f"{name}: {time_} (target {target})" for name, time_, target, verdict in rows if verdict == "MISS"]
    if during.row()[-1] != "pass":
        missed.append(f"pages during the daily work: p99 {during.row()[3]} ms, {len(during.errors)} errors")
    return missed


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    step = argv[0] if argv else ""
    if step not in ("prepare", "work"):
        print(__doc__)
        return 2
    print(json.dumps(prepare() if step == "prepare" else work()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
