"""Daily follow-up run benchmark: deciding what to send over the bench ledger.

    python -m bench.daily_run [--rounds 3] [--results FILE]

1. The database `make bench` built (bench/out/instance/relance.db, 20,000 customers / 1,000,000
   entries) is copied to a temporary folder (the original is never touched) and migrated there.
2. A plan (-5 prevention e-mail, +10 R1 e-mail, +30 R2 letter, +45 phone-call task) is created and
   assigned to every customer (one UPDATE).
3. The decision — domain.reminders.follow_up.decide, the SQL the dry run and the daily run use: one query
   joining the open entries of customers with a plan to the plan's steps, grouped per customer —
   is timed `rounds` times; the median is reported against the target (< 10 s).
4. 20,000 open promises to pay (one per customer, half past their date + grace) and 5,000 running
   payment schedules (a late instalment each) are settled by domain.ledger.promises.evaluate and
   schedules.evaluate, the daily job's work, `rounds` times (each rolled back): target ≤ 5 s.
5. The late-payment interest and indemnity of every open, overdue invoice (domain.ledger.interest.accrue,
   the daily debt-collection job's last step), `rounds` times (each rolled back): target ≤ 5 s.

A measurement, not a test: a miss is reported, the exit status is 0. `run(log, results)` is the
entry for bench/run.py.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "bench" / "out" / "instance" / "relance.db"
MAX_SECONDS = 10.0
STEPS = ((-5, "email", 0), (10, "email", 1), (30, "letter", 2), (45, "task", 3))
PROMISES = 20_000  # open promises and …
SCHEDULES = 5_000  # … running schedules for the daily settling (issue: ≤ 5 s)
MAX_PROMISE_SECONDS = 5.0
MAX_INTEREST_SECONDS = 5.0


def copy_database(source: Path, folder: Path) -> Path:
    target = folder / "relance.db"
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):  # a live WAL holds committed pages the main file lacks
        if Path(str(source) + suffix).exists():
            shutil.copyfile(str(source) + suffix, str(target) + suffix)
    return target


def measure(database: Path, rounds: int = 3) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from domain.models import Customer, Entry
    from domain.reminders import follow_up

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "REDIS_URL": "redis://unused",
                      "SECRET_KEY": "bench"})
    with app.app_context():
        from extensions import db

        session = db.session
        started = time.perf_counter()
        upgrade()
        migrate_s = time.perf_counter() - started
        plan = follow_up.create_plan(session, None, "Bench plan")
        for offset, channel, level in STEPS:
            follow_up.add_step(session, None, plan, offset, channel, level)
        assigned = follow_up.assign_matching(session, None, plan, "")
        session.commit()
        session.execute(db.text("ANALYZE"))
        customers = session.scalar(select(func.count()).select_from(Customer))
        entries = session.scalar(select(func.count()).select_from(Entry))
        times, decisions = [], []
        for _ in range(rounds):
            session.expire_all()
            started = time.perf_counter()
            decisions = follow_up.decide(session)
            times.append(time.perf_counter() - started)
        session.rollback()
        promise_times, settled, open_promises, open_schedules = _promise_rounds(session, rounds)
        interest_times, accrued = _interest_rounds(session, rounds)
        db.session.remove()
        db.engine.dispose()
    by_channel: dict[str, int] = {}
    for decision in decisions:
        by_channel[decision.channel] = by_channel.get(decision.channel, 0) + 1
    return {"customers": customers, "entries": entries, "assigned": assigned, "migrate_s": migrate_s,
            "times": times, "median_s": statistics.median(times), "due_customers": len(decisions),
            "due_entries": sum(len(d.entry_ids) for d in decisions), "by_channel": by_channel,
            "promise_times": promise_times, "promise_median_s": statistics.median(promise_times),
            "promises_settled": settled, "open_promises": open_promises, "open_schedules": open_schedules,
            "interest_times": interest_times, "interest_median_s": statistics.median(interest_times),
            "accrued": accrued}


def _interest_rounds(session, rounds: int) -> tuple[list[float], int]:
    """Every customer's late-payment charges over its open, overdue invoices, `rounds` times."""
    from domain.ledger import interest

    times, counted = [], 0
    for _ in range(rounds):
        session.expire_all()
        started = time.perf_counter()
        counted = interest.accrue(session)
        session.flush()
        times.append(time.perf_counter() - started)
        session.rollback()
    return times, counted


def _promise_rounds(session, rounds: int) -> tuple[list[float], int, int, int]:
    """PROMISES open promises, one per customer on its oldest open invoice, half of them past their
    date + grace (nothing paid: broken), half still running; the daily settling timed `rounds`
    times, each rolled back so the next settles the same."""
    from datetime import timedelta

    from sqlalchemy import func, insert, select

    from domain import clock
    from domain.ledger import promises, schedules, summaries
    from domain.models import Entry, Instalment, PaymentSchedule, Promise, PromiseEntry, ScheduleEntry

    today = clock.today()
    first = (select(Entry.customer_id, func.min(Entry.id).label("entry_id"))
             .where(Entry.is_open.is_(True), Entry.kind == "invoice").group_by(Entry.customer_id)
             .limit(PROMISES).subquery())
    rows = session.execute(select(first.c.customer_id, first.c.entry_id, Entry.open_cents, Entry.currency)
                           .join(Entry, Entry.id == first.c.entry_id)).all()
    now = clock.now()
    session.execute(insert(Promise), [
        {"customer_id": customer_id, "amount_cents": open_cents, "currency": currency,
         "promised_on": today - timedelta(days=10) if n % 2 else today + timedelta(days=10), "grace_days": 3,
         "channel": "phone", "note": "", "recorded_at": now, "open_at_start_cents": open_cents, "status": "open",
         "paid_cents": 0} for n, (customer_id, _entry, open_cents, currency) in enumerate(rows)])
    ids = dict(session.execute(select(Promise.customer_id, Promise.id)).all())
    session.execute(insert(PromiseEntry), [{"promise_id": ids[customer_id], "entry_id": entry_id}
                                           for customer_id, entry_id, _open, _currency in rows])
    # SCHEDULES payment schedules of 3 monthly instalments on each customer's latest open invoice,
    # the first instalment 40 days ago (late), so every one is evaluated.
    latest = (select(Entry.customer_id, func.max(Entry.id).label("entry_id"))
              .where(Entry.is_open.is_(True), Entry.kind == "invoice").group_by(Entry.customer_id)
              .having(func.count() > 1).limit(SCHEDULES).subquery())
    scheduled = session.execute(select(latest.c.customer_id, latest.c.entry_id, Entry.open_cents, Entry.currency)
                                .join(Entry, Entry.id == latest.c.entry_id)).all()
    session.execute(insert(PaymentSchedule), [
        {"customer_id": customer_id, "currency": currency, "total_cents": open_cents,
         "open_at_start_cents": open_cents, "frequency": "monthly", "grace_days": 3, "broken_after": 2,
         "waive_fees": False, "note": "", "created_at": now, "status": "running", "paid_cents": 0}
        for customer_id, _entry, open_cents, currency in scheduled])
    schedule_ids = dict(session.execute(select(PaymentSchedule.customer_id, PaymentSchedule.id)).all())
    session.execute(insert(ScheduleEntry), [{"schedule_id": schedule_ids[customer_id], "entry_id": entry_id}
                                            for customer_id, entry_id, _open, _currency in scheduled])
    session.execute(insert(Instalment), [
        {"schedule_id": schedule_ids[customer_id], "number": n + 1, "due_on": today + timedelta(days=30 * n - 40),
         "amount_cents": schedules.split(open_cents, 3)[n], "paid_cents": 0, "status": "due"}
        for customer_id, _entry, open_cents, _currency in scheduled for n in range(3)])
    session.commit()
    times, settled = [], 0
    for _ in range(rounds):
        session.expire_all()
        started = time.perf_counter()
        settled = len(promises.evaluate(session, today)) + len(schedules.evaluate(session, today))
        # What the job's commit does before it writes (the summaries' upkeep, the followers), timed
        # too; then rolled back so that every round settles the same.
        summaries._refresh_dirty_summaries(session)
        times.append(time.perf_counter() - started)
        session.rollback()
    return times, settled, len(rows), len(scheduled)


def run(log: Callable[[str], None] = print, results: Path | None = None, *, rounds: int = 3) -> list[str]:
    """Measure, log, append a markdown table to `results` when given; returns the missed targets."""
    if not SOURCE.exists():
        log(f"Daily run bench skipped: {SOURCE} does not exist (run `make bench` first).")
        return ["daily run: no bench database"]
    with tempfile.TemporaryDirectory(prefix="relance-daily-run-") as folder:
        for name in ("RELANCE_DATABASE_URL", "RELANCE_INSTANCE_PATH"):
            os.environ.pop(name, None)
        os.environ["RELANCE_INSTANCE_PATH"] = folder
        database = copy_database(SOURCE, Path(folder))
        log(f"Daily follow-up run: deciding over a copy of {SOURCE.name} ({rounds} rounds)…")
        found = measure(database, rounds)
    ok = found["median_s"] < MAX_SECONDS
    promises_ok = found["promise_median_s"] <= MAX_PROMISE_SECONDS
    interest_ok = found["interest_median_s"] <= MAX_INTEREST_SECONDS
    channels = ", ".join(f"{k} {v}" for k, v in sorted(found["by_channel"].items())) or "none"
    rows = [
        "| Measure | Value | Target | |",
        "|---|---|---|---|",
        f"| Ledger | {found['customers']:,} customers / {found['entries']:,} entries, plan on {found['assigned']:,} | | |",
        f"| Decide what to send (median of {rounds}) | {found['median_s']:.2f} s "
        f"({', '.join(f'{t:.2f}' for t in found['times'])}) | < {MAX_SECONDS:.0f} s | {'pass' if ok else 'MISS'} |",
        f"| Due | {found['due_customers']:,} customers, {found['due_entries']:,} entries ({channels}) | | |",
        f"| Settle promises and schedules: {found['open_promises']:,} promises, {found['open_schedules']:,} "
        f"schedules, {found['promises_settled']:,} settled or changed "
        f"(median of {rounds}) | {found['promise_median_s']:.2f} s "
        f"({', '.join(f'{t:.2f}' for t in found['promise_times'])}) | ≤ {MAX_PROMISE_SECONDS:.0f} s | "
        f"{'pass' if promises_ok else 'MISS'} |",
        f"| Late-payment interest and indemnity of {found['accrued']:,} open overdue invoices (median of {rounds}) | "
        f"{found['interest_median_s']:.2f} s ({', '.join(f'{t:.2f}' for t in found['interest_times'])}) | "
        f"≤ {MAX_INTEREST_SECONDS:.0f} s | {'pass' if interest_ok else 'MISS'} |",
    ]
    log("")
    for row in rows:
        log(row)
    if results is not None:
        with open(results, "a") as handle:
            handle.write("\n## Daily follow-up run (decision)\n\n" + "\n".join(rows) + "\n")
    missed = [] if ok else [f"daily run decision {found['median_s']:.2f} s ≥ {MAX_SECONDS:.0f} s"]
    if not promises_ok:
        missed.append(f"settling promises {found['promise_median_s']:.2f} s > {MAX_PROMISE_SECONDS:.0f} s")
    if not interest_ok:
        missed.append(f"late-payment interest {found['interest_median_s']:.2f} s > {MAX_INTEREST_SECONDS:.0f} s")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--results", type=Path, help="append the markdown table to this file")
    args = parser.parse_args(argv)
    run(print, args.results, rounds=args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
