"""Collection file benchmark: Generate → ready in the real worker, against WeasyPrint alone.

    python -m bench.collection_file [--invoices 50] [--reminders 20] [--rounds 5] [--keep] [--results FILE]

1. A temporary instance folder (own SQLite database, documents, exports) and a bundled Redis;
   the migrations, then one customer with N invoices, each with a small real PDF (made with
   WeasyPrint) on disk, and M reminder activities covering 1–5 of them.
2. `python worker.py` runs with RELANCE_INSTANCE_PATH / RELANCE_REDIS_URL pointing there, the way
   `make run` runs it (WeasyPrint imported before RQ forks a work horse per job).
3. Each round starts a collection file of all N invoices through the domain
   (`start_collection_file` + `jobs.exports.enqueue_export`) and polls the Export row until it is ready:
   that wall time is "Generate → ready". Meanwhile the worker's and its work horse's VmHWM are
   sampled from /proc; at the end the worker is reaped with wait4, whose ru_maxrss covers the
   worker and every work horse it reaped.
4. The baseline: the same M reminder documents (same HTML, same stylesheet and options), rendered
   by WeasyPrint alone in one fresh process that has imported WeasyPrint beforehand — the state a
   work horse starts in. Rounds alternate which of the two runs first; the first reminder PDF of
   the zip is checked to be what the baseline's HTML gives.
5. /proc/stat tells how much of the machine other processes used during each measurement: the
   ratio is the median of the quiet rounds (others ≤ 15 %) when there are three, else of all
   rounds, said so. CPU times (work horse vs baseline process) are shown too: they move less
   than wall times when the machine is shared.

Targets: ratio (Generate → ready / WeasyPrint alone) ≤ 1.3; worker peak RSS < 300 MB.
A measurement, not a test: misses are reported, the exit status is 0. `run(log, results)` is the
entry for bench/run.py.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
MAX_RATIO = 1.3
MAX_PEAK_MB = 300.0
BUSY_SHARE = 0.15  # other processes used more of the machine than this: the round's times are inflated
UNSET = ("RELANCE_ENV", "RELANCE_DATABASE_URL", "RELANCE_REDIS_URL", "RELANCE_PORT", "RELANCE_HOST",
         "RELANCE_WEB_WORKERS", "RELANCE_BENCH", "RELANCE_INSTANCE_PATH", "RELANCE_SMTP_URL")
PASSWORD = "bench-password"


@dataclass
class Round:
    pipeline_s: float
    baseline_s: float
    horse_peak_mb: float
    worker_peak_mb: float
    job_s: float = 0.0  # the RQ job itself (started → ended), the rest is the domain, queue and fork
    job_cpu_s: float = 0.0  # CPU time of the work horse (user + system)
    baseline_cpu_s: float = 0.0
    others_share: float = 0.0  # the largest share of the machine other processes used in either measurement

    @property
    def quiet(self) -> bool:
        return self.others_share <= BUSY_SHARE

    @property
    def cpu_ratio(self) -> float:
        return self.job_cpu_s / self.baseline_cpu_s if self.baseline_cpu_s else 0.0

    @property
    def ratio(self) -> float:
        return self.pipeline_s / self.baseline_s


@dataclass
class CollectionFileResult:
    invoices: int
    reminders: int
    rounds: list[Round] = field(default_factory=list)
    reaped_peak_mb: float = 0.0  # wait4 ru_maxrss of the worker: max over it and its reaped work horses
    zip_bytes: int = 0
    members: int = 0
    load: str = ""

    @property
    def counted(self) -> list[Round]:
        """The rounds the ratios are taken from: the quiet ones when there are three or more."""
        quiet = [r for r in self.rounds if r.quiet]
        return quiet if len(quiet) >= 3 else self.rounds

    @property
    def ratio(self) -> float:
        return statistics.median(r.ratio for r in self.counted)

    @property
    def cpu_ratio(self) -> float:
        return statistics.median(r.cpu_ratio for r in self.counted)

    @property
    def basis(self) -> str:
        counted, quiet = len(self.counted), sum(r.quiet for r in self.rounds)
        if counted < len(self.rounds):
            return f"median of the {counted} quiet rounds of {len(self.rounds)}"
        if quiet < len(self.rounds):
            return (f"median of all {len(self.rounds)} rounds, only {quiet} quiet: other processes were busy, "
                    "wall times are inflated")
        return f"median of {len(self.rounds)} rounds"

    @property
    def peak_mb(self) -> float:
        return max([self.reaped_peak_mb, *(max(r.horse_peak_mb, r.worker_peak_mb) for r in self.rounds)])

    @property
    def missed(self) -> list[str]:
        missed = []
        if self.ratio > MAX_RATIO:
            missed.append(f"Collection file: Generate → ready is {self.ratio:.2f}× WeasyPrint alone "
                          f"(target ≤ {MAX_RATIO}×)")
        if self.peak_mb >= MAX_PEAK_MB:
            missed.append(f"Collection file: worker peak RSS {self.peak_mb:.0f} MB (target < {MAX_PEAK_MB:.0f} MB)")
        return missed

    def table(self) -> list[list[str]]:
        return [[str(i), f"{r.pipeline_s:.2f}", f"{r.job_s:.2f}", f"{r.baseline_s:.2f}", f"{r.ratio:.2f}",
                 f"{r.job_cpu_s:.2f} / {r.baseline_cpu_s:.2f}",
                 f"{r.others_share * 100:.0f}" + ("" if r.quiet else " busy"),
                 f"{r.horse_peak_mb:.0f}", f"{r.worker_peak_mb:.0f}"]
                for i, r in enumerate(self.rounds, 1)]

    HEADERS = ["Round", "Generate → ready s", "of which the job s", "WeasyPrint alone s", "Ratio",
               "CPU s job / alone", "Others' CPU %", "Work horse peak MB", "Worker peak MB"]

    def text(self) -> str:
        rows = [self.HEADERS, *self.table()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.HEADERS))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        verdict = "; ".join(self.missed) or "every target is met"
        return "\n".join([
            f"Collection file: {self.invoices} invoices with PDFs, {self.reminders} reminder activities "
            f"({self.members} files, {self.zip_bytes / 1024:.0f} KiB zip)", *lines,
            f"Ratio {self.ratio:.2f} ({self.basis}; target ≤ {MAX_RATIO}; CPU time ratio {self.cpu_ratio:.2f}); "
            f"peak RSS {self.peak_mb:.0f} MB "
            f"(target < {MAX_PEAK_MB:.0f}; wait4 of the worker: {self.reaped_peak_mb:.0f} MB): {verdict}.",
            f"Load average before/after: {self.load}"])

    def markdown(self) -> str:
        lines = ["", "## Collection file", "",
                 f"A collection file of {self.invoices} invoices (with PDFs) and {self.reminders} reminder "
                 f"activities, Generate → ready through the real worker (`python worker.py`, bundled Redis, "
                 f"SQLite), against WeasyPrint alone rendering the same {self.reminders} reminder documents in "
                 f"one process. Load average before/after: {self.load}.", "",
                 f"Targets: median ratio ≤ {MAX_RATIO}, worker peak RSS < {MAX_PEAK_MB:.0f} MB.", "",
                 "| " + " | ".join(self.HEADERS) + " |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.table()]
        lines += ["", f"Ratio **{self.ratio:.2f}** ({self.basis}; CPU time ratio {self.cpu_ratio:.2f}), "
                      f"peak RSS **{self.peak_mb:.0f} MB** "
                      f"(wait4 ru_maxrss of the worker and its work horses: {self.reaped_peak_mb:.0f} MB).", ""]
        lines += [f"Missed: {m}" for m in self.missed] or ["Every target is met."]
        return "\n".join(lines) + "\n"


# --- the environment ----------------------------------------------------------------------

@contextlib.contextmanager
def _environment(values: dict[str, str]):
    """os.environ with `values` (and none of the settings that would change what is measured),
    restored afterwards: create_app reads it once."""
    saved = dict(os.environ)
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield dict(os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# --- seeding ------------------------------------------------------------------------------

def _invoice_pdf() -> bytes:
    from weasyprint import HTML

    rows = "".join(f"<tr><td>Consulting, day {n}</td><td>1</td><td>650.00</td></tr>" for n in range(1, 9))
    return HTML(string=(
        "<style>@page{size:A4;margin:18mm} body{font:10pt 'DejaVu Sans'} td{padding:2mm;border-bottom:.4pt solid #ccc}"
        "</style><h1>Invoice</h1><p>Maison Dupont SAS, 8 rue de la Paix, 75002 Paris</p>"
        f"<table>{rows}</table><p><b>Total due: 5,200.00 EUR</b></p>")).write_pdf()


def _seed(session, attachment_dir: Path, invoices: int, reminders: int, rounds: int, today: date):
    """One customer with `invoices` invoices (each with a PDF on disk) and `reminders` reminder
    activities; one finance user per round (a user's second request within 30 s is a double click)."""
    from domain.models import Attachment, CompanySettings, Customer, Entry, ReminderActivity, ReminderEntry
    from domain.users import create_user

    rng = random.Random(20261123)
    users = [create_user(session, f"finance{i}@bench.test", PASSWORD, "finance", name=f"Finance {i}")
             for i in range(rounds)]
    session.add(CompanySettings(name="Maison Dupont SAS", registration_number="552100554",
                                sender_email="compta@dupont.test", address="8 rue de la Paix\n75002 Paris"))
    customer = Customer(account="BENCH-001", name="Acme Industries SARL", registration_number="732829320",
                        emails="ap@acme.test, finance@acme.test", phone="+33 1 23 45 67 89",
                        address="1 rue Haute\n69001 Lyon", language="en")
    session.add(customer)
    session.flush()
    pdf = _invoice_pdf()
    attachment_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for n in range(1, invoices + 1):
        due = today - timedelta(days=20 + 4 * n)
        cents = rng.randrange(10_000, 2_000_000)
        entry = Entry(customer_id=customer.id, number=f"INV-2026-{n:06d}", kind="invoice",
                      issue_date=due - timedelta(days=30), due_date=due, amount_cents=cents, open_cents=cents,
                      is_open=True, currency="EUR", reminder_level=min(5, 1 + n // 10), last_reminder_on=due)
        session.add(entry)
        entries.append(entry)
    session.flush()
    for entry in entries:
        storage_name = f"{uuid.uuid4().hex}.pdf"
        (attachment_dir / storage_name).write_bytes(pdf)
        session.add(Attachment(entry_id=entry.id, filename=f"{entry.number}.pdf", storage_name=storage_name,
                             content_type="application/pdf", size=len(pdf)))
    for n in range(reminders):
        covered = sorted(rng.sample(entries, rng.randint(1, 5)), key=lambda e: (e.due_date, e.number))
        level = rng.randint(1, 5)
        letter = n % 4 == 3
        total = sum(e.open_cents for e in covered)
        listing = "\n".join(f"  {e.number}   due {e.due_date.isoformat()}   EUR {e.open_cents / 100:,.2f}"
                            for e in covered)
        activity = ReminderActivity(
            customer_id=customer.id, sent_at=datetime.combine(today - timedelta(days=100 - 4 * n), datetime.min.time())
            + timedelta(hours=7, minutes=n), channel="letter" if letter else "email", level=level,
            sender="compta@dupont.test",
            recipient="Acme Industries SARL, 1 rue Haute, 69001 Lyon" if letter else "ap@acme.test, finance@acme.test",
            subject=f"Reminder R{level} – Acme Industries SARL",
            body=(f"Dear Sir or Madam,\n\nAccording to our records the following invoices are still unpaid:\n\n"
                  f"{listing}\n\nTotal outstanding: EUR {total / 100:,.2f}\n\nPlease arrange payment at your "
                  f"earliest convenience, or let us know if anything is holding it up.\n\nKind regards,\n"
                  f"Credit Control\nMaison Dupont SAS"))
        activity.covered = [ReminderEntry(entry_id=e.id, open_cents=e.open_cents) for e in covered]
        session.add(activity)
    session.commit()
    return customer, [e.id for e in entries], users


def _reminder_html(session, app, entry_ids: list[int]) -> list[str]:
    """The HTML of each reminder document, built the way the job builds it (same dataclasses, same
    template), for the WeasyPrint-alone baseline."""
    from sqlalchemy import select

    from domain.models import CompanySettings, Customer, ReminderActivity, ReminderEntry
    from files.collection_zip import CollectionFileContents, CompanyDetails, CustomerDetails, letterhead_of
    from files.pdf import CoveredEntry, ReminderDocument, ReminderPdfWriter

    company = session.scalar(select(CompanySettings).limit(1))
    customer = session.scalar(select(Customer).limit(1))
    selected = set(entry_ids)
    activities = session.scalars(
        select(ReminderActivity)
        .where(ReminderActivity.id.in_(select(ReminderEntry.activity_id).where(ReminderEntry.entry_id.in_(entry_ids))))
        .order_by(ReminderActivity.sent_at, ReminderActivity.id))
    documents = [ReminderDocument(
        id=a.id, sent_at=a.sent_at, channel=a.channel, level=a.level, sender=a.sender, recipient=a.recipient,
        subject=a.subject, body=a.body, sent_by=a.sent_by.display_name if a.sent_by else None,
        covered=tuple(CoveredEntry(c.entry.number, c.open_cents, c.entry.currency, c.entry.due_date,
                                   c.entry_id in selected, c.entry_id)
                      for c in sorted(a.covered, key=lambda c: (c.entry.due_date, c.entry.number))))
        for a in activities]
    contents = CollectionFileContents(
        customer=CustomerDetails(customer.account, customer.name, customer.registration_number or ""),
        company=CompanyDetails(company.name, company.registration_number, company.sender_email, company.address or ""),
        entries=[], reminders=documents, exported_on=date.today(), locale=app.config["BABEL_LOCALE"])
    writer = ReminderPdfWriter(letterhead_of(contents), contents.locale)
    return [writer.html(d) for d in documents]


# --- processes and memory -----------------------------------------------------------------

def _children(pid: int) -> list[int]:
    try:  # Linux ≥ 3.5: the kernel's list, without scanning /proc
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        pass
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """(CPU seconds of `pid`, of its reaped children), user + system, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, (int(fields[13]) + int(fields[14])) / ticks


@dataclass(frozen=True)
class Usage:
    """CPU seconds used by the whole machine and by the bench's own processes (this one, its reaped
    children such as the baseline, the worker and its reaped work horses): what others used in between
    says whether a measurement was disturbed."""

    machine: float
    own: float
    wall: float

    @classmethod
    def now(cls, worker_pid: int) -> "Usage":
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        times = os.times()
        worker_self, worker_children = _cpu_seconds(worker_pid)
        return cls((user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"),
                   times.user + times.system + times.children_user + times.children_system
                   + worker_self + worker_children, time.monotonic())

    def others_share_since(self, before: "Usage") -> float:
        capacity = (self.wall - before.wall) * (os.cpu_count() or 1)
        others = (self.machine - before.machine) - (self.own - before.own)
        return max(0.0, others) / capacity if capacity > 0 else 0.0


def _hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class MemoryWatch:
    """Samples the peak RSS (VmHWM) of the worker and of each process it forks, until stopped."""

    def __init__(self, worker_pid: int, interval: float = 0.1):
        self.worker_pid, self.interval = worker_pid, interval
        self.worker_mb = self.horse_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        children: list[int] = []
        last_scan = 0.0
        while not self._stop.is_set():
            if time.monotonic() - last_scan > 0.2:  # a new work horse shows up once per job
                children, last_scan = _children(self.worker_pid), time.monotonic()
            self.worker_mb = max(self.worker_mb, _hwm_mb(self.worker_pid))
            for child in children:
                self.horse_mb = max(self.horse_mb, _hwm_mb(child))
            self._stop.wait(self.interval)

    def __enter__(self) -> "MemoryWatch":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


class WorkerProcess:
    def __init__(self, env: dict[str, str], log_path: Path):
        from runtime.redis_server import preexec_die_with_parent

        self.log = open(log_path, "w")
        self.process = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.STDOUT,
                                        preexec_fn=preexec_die_with_parent())
        self.log_path = log_path

    def wait_ready(self, connection, timeout: float = 120.0) -> None:
        from rq import Worker

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"worker.py exited at start:\n{self.log_path.read_text()[-2000:]}")
            if any(w.pid == self.process.pid and w.get_state() == "idle" for w in Worker.all(connection=connection)):
                return
            time.sleep(0.1)
        raise SystemExit(f"worker.py was not ready within {timeout:.0f} s:\n{self.log_path.read_text()[-2000:]}")

    def stop(self) -> float:
        """Stop the worker and reap it; returns its wait4 ru_maxrss in MB (it and its reaped children)."""
        peak = 0.0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                pid, _status, usage = os.wait4(self.process.pid, os.WNOHANG)
                if pid:
                    self.process.returncode = 0
                    peak = usage.ru_maxrss / 1024
                    break
                time.sleep(0.05)
            else:
                self.process.kill()
                _, _, usage = os.wait4(self.process.pid, 0)
                self.process.returncode = -9
                peak = usage.ru_maxrss / 1024
        self.log.close()
        return peak


# --- the two measurements -----------------------------------------------------------------

def _generate(app, worker_pid: int, user_id: int, customer_id: int, entry_ids: list[int],
              timeout: float = 600.0) -> tuple[float, str, float, float]:
    """Generate → ready: the domain starts the file, the job is queued, the Export row is polled."""
    from rq.job import Job
    from sqlalchemy import select

    import jobs.base
    import jobs.exports
    from domain.collection.files import start_collection_file
    from domain.models import Customer, Export, User
    from extensions import db

    session = db.session
    user, customer = session.get(User, user_id), session.get(Customer, customer_id)
    children_cpu = _cpu_seconds(worker_pid)[1]
    started = time.perf_counter()
    export = start_collection_file(session, user, customer, entry_ids).export
    session.commit()
    export_id = export.id
    jobs.exports.enqueue_export(export_id)
    query = select(Export.status, Export.message, Export.filename).where(Export.id == export_id)
    while True:
        with db.engine.connect() as connection:
            status, message, filename = connection.execute(query).one()
        if status in ("ready", "failed"):
            elapsed = time.perf_counter() - started
            break
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"The collection file was not ready after {timeout:.0f} s (status {status}).")
        time.sleep(0.02)  # ±10 ms on a figure of seconds; polling must not steal CPU from the job
    session.remove()
    if status != "ready":
        raise SystemExit(f"The collection file failed: {message}")
    job = Job.fetch(f"export-{export_id}", connection=jobs.base.redis_connection(app))
    for _ in range(100):  # the worker records the end just after the job's last commit
        if job.ended_at:
            break
        time.sleep(0.01)
        job.refresh()
    job_s = (job.ended_at - job.started_at).total_seconds() if job.ended_at and job.started_at else 0.0
    for _ in range(200):  # the work horse's CPU time reaches the worker's account when it is reaped
        if not _children(worker_pid):
            break
        time.sleep(0.01)
    job_cpu = _cpu_seconds(worker_pid)[1] - children_cpu
    return elapsed, str(Path(app.config["EXPORT_DIR"]) / str(export_id) / filename), job_s, job_cpu


def _same_attachments(zip_path: str, html_file: Path) -> bool:
    """Whether the baseline's first HTML renders to the text of the job's first reminder PDF."""
    import io
    import zipfile

    from pypdf import PdfReader

    from files.pdf import Letterhead, ReminderPdfWriter

    with zipfile.ZipFile(zip_path) as archive:
        first = next(n for n in archive.namelist() if n.startswith("reminders/"))
        made = archive.read(first)
    writer = ReminderPdfWriter(Letterhead("", "", ""))
    again = writer.render_html(json.loads(html_file.read_text())[0])

    def text(pdf: bytes) -> list[str]:
        return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]

    return text(made) == text(again)


def _baseline(html_file: Path) -> tuple[float, float]:
    """WeasyPrint alone, in a fresh process that has imported it first (as the worker has):
    (wall seconds, CPU seconds)."""
    result = subprocess.run([sys.executable, "-m", "bench.collection_file", "--baseline", str(html_file)],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return figures["seconds"], figures["cpu_seconds"]


def baseline_main(html_file: str) -> None:
    """The baseline process: import (untimed), then fonts, stylesheet and every document (timed)."""
    import io

    import weasyprint  # noqa: F401  (the worker imports it before forking: not part of either time)
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from files.pdf import REMINDER_CSS, TEMPLATES, refusing_url_fetcher

    documents = json.loads(Path(html_file).read_text())
    cpu = time.process_time()
    started = time.perf_counter()
    fonts = FontConfiguration()
    stylesheet = CSS(filename=str(TEMPLATES / REMINDER_CSS), font_config=fonts)
    fetcher = refusing_url_fetcher()
    size = 0
    for html in documents:
        out = io.BytesIO()
        HTML(string=html, base_url=str(TEMPLATES), url_fetcher=fetcher).write_pdf(
            out, stylesheets=[stylesheet], font_config=fonts)
        size += out.tell()
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "cpu_seconds": time.process_time() - cpu, "bytes": size}))


# --- the run ------------------------------------------------------------------------------

def run(log: Callable[[str], None] = print, results: Path | None = None, *, invoices: int = 50,
        reminders: int = 20, rounds: int = 5, keep: bool = False) -> list[str]:
    """Measure, log the table, append it to `results` (markdown) when given; returns the missed targets."""
    import zipfile

    sys.path.insert(0, str(ROOT))
    from runtime.redis_server import BundledRedis

    workdir = Path(tempfile.mkdtemp(prefix="relance-cf-"))
    instance = workdir / "instance"
    redis = BundledRedis(workdir / "redis").start()
    worker = None
    outcome = CollectionFileResult(invoices, reminders, load=_loadavg())
    try:
        with _environment({"RELANCE_INSTANCE_PATH": str(instance), "RELANCE_REDIS_URL": redis.url}) as env:
            from flask_migrate import upgrade

            from app import create_app
            from extensions import db

            app = create_app()
        log(f"Collection file bench in {workdir}: seeding {invoices} invoices with PDFs, {reminders} reminders…")
        with app.app_context():
            upgrade()
            customer, entry_ids, users = _seed(db.session, Path(app.config["ATTACHMENT_DIR"]), invoices, reminders,
                                               rounds, date.today())
            customer_id, user_ids = customer.id, [u.id for u in users]
            html_file = workdir / "reminders.json"
            html_file.write_text(json.dumps(_reminder_html(db.session, app, entry_ids)))
            db.session.remove()
            import jobs.base
            import jobs.exports

            connection = jobs.base.redis_connection(app)
            # Today's daily jobs count as done: they must not run during the measurement.
            for job in ("rebucket", "expire-exports"):
                connection.set(f"relance:daily:{job}:{date.today().isoformat()}", "1", ex=86400)
        worker = WorkerProcess(env, workdir / "worker.log")
        worker.wait_ready(connection)
        log(f"Worker ready (pid {worker.process.pid}); {rounds} rounds, alternating which runs first.")
        pid = worker.process.pid
        for number in range(rounds):
            shares = []
            for part in ("baseline", "pipeline") if number % 2 else ("pipeline", "baseline"):
                before = Usage.now(pid)
                if part == "baseline":
                    baseline, baseline_cpu = _baseline(html_file)
                else:
                    with app.app_context(), MemoryWatch(pid) as memory:
                        elapsed, zip_path, job_s, job_cpu = _generate(app, pid, user_ids[number], customer_id,
                                                                      entry_ids)
                shares.append(Usage.now(pid).others_share_since(before))
            outcome.rounds.append(Round(elapsed, baseline, memory.horse_mb, memory.worker_mb, job_s, job_cpu,
                                        baseline_cpu, max(shares)))
            with zipfile.ZipFile(zip_path) as archive:
                outcome.members = len(archive.namelist())
            outcome.zip_bytes = Path(zip_path).stat().st_size
            log(f"  round {number + 1}: Generate → ready {elapsed:.2f} s (job {job_s:.2f} s), "
                f"WeasyPrint alone {baseline:.2f} s, CPU {job_cpu:.2f} / {baseline_cpu:.2f} s, "
                f"ratio {elapsed / baseline:.2f}, others' CPU {max(shares) * 100:.0f} %, "
                f"work horse peak {memory.horse_mb:.0f} MB")
        expected = 1 + invoices + reminders
        if outcome.members != expected:
            log(f"WARNING: the zip holds {outcome.members} files, {expected} expected.")
        if not _same_attachments(zip_path, html_file):
            log("WARNING: the baseline's HTML does not give the job's first reminder PDF: the ratio compares "
                "different documents.")
    finally:
        if worker is not None:
            outcome.reaped_peak_mb = worker.stop()
        redis.stop()
        if keep:
            log(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    outcome.load += f" / {_loadavg()}"
    log("")
    log(outcome.text())
    if results is not None:
        with open(results, "a") as handle:
            handle.write(outcome.markdown())
    return outcome.missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.collection_file", description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=50)
    parser.add_argument("--reminders", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance folder")
    parser.add_argument("--results", type=Path, help="append the markdown table to this file")
    parser.add_argument("--baseline", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline:
        baseline_main(args.baseline)
        return 0
    os.chdir(ROOT)
    run(print, args.results, invoices=args.invoices, reminders=args.reminders, rounds=args.rounds, keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
