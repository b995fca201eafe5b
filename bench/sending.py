"""Sending benchmark: 1,000 reminder e-mails, each with its letter as a PDF, through Relance's worker
code to a local SMTP sink, against bare WeasyPrint + smtplib doing the same in the same run.

    python -m bench.sending [--messages 1000] [--rounds 1] [--database FILE] [--keep] [--results FILE]

1. The database `make bench` built (bench/out/instance/relance.db, 20,000 customers / 1,000,000
   entries; --database another) is copied to a temporary instance folder (the original is never
   touched) and migrated there; the company gets a sender address if it has none. A bundled Redis,
   and an aiosmtpd sink in a thread of this process: it accepts every message and notes when; the
   bytes are checked after the timing, not during it.
2. N customers are picked, in account order: an e-mail address, and a bulk run would send to them
   (domain.reminders.bulk.plan_bulk_dunning says "send": overdue entries, reminders not stopped), with no
   invoice PDF on those entries, so that each message carries exactly one PDF, the letter.
3. Relance: a worker process like worker.py (WeasyPrint imported first, the app from RELANCE_*,
   one letter made before, untimed) waits; the bulk run with "Attach the reminder letter
   (PDF)" for the N customers is requested here (domain.reminders.bulk.request_run +
   jobs.reminders.enqueue_run, what the route does) and the worker runs the queue with an RQ Worker, as
   worker.py does (burst; the job in a forked work horse): jobs.reminders.run_bulk, per customer: the
   texts, the letter PDF through files.letter.write_letter written aside and renamed, the
   outbox message, a commit, then its delivery (claim, commit, the letter read from disk,
   mailer.send — one SMTP connection per message —, marked sent with its reminder activity,
   commit). Timed from the request to the sink accepting the N-th reminder.
4. Bare: the same N letters — their HTML made beforehand (untimed) from the same domain texts by
   files.letter.letter_html, so the same template, stylesheet, fonts and PDF work — rendered by
   WeasyPrint in a fresh process that imported it and made one letter first (as the worker), each
   put with the same e-mail text in an EmailMessage and sent by smtplib.SMTP to the same sink, one
   connection per message as Relance does. Timed in that process.
5. Both sides must deliver N messages, each with one PDF attachment starting with %PDF; the first
   letters' text must read the same on both sides. Rounds alternate which side runs first; the
   ratio is the median of the rounds'. CPU seconds are the worker's and the bare process's (the
   sink's are in neither); /proc/stat says how much of the machine other processes took meanwhile.

Target: Relance / bare ≤ 1.3. A measurement, not a test: a miss is reported, the exit status is 0.
`run(log, results)` is the entry for bench/run.py.
"""
from __future__ import annotations

import argparse
import dataclasses
import email
import json
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from typing import Callable

from bench.daily_run import copy_database

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "bench" / "out" / "instance" / "relance.db"
MAX_RATIO = 1.3
MESSAGES = 1000
UNSET = ("RELANCE_ENV", "RELANCE_DATABASE_URL", "RELANCE_REDIS_URL", "RELANCE_INSTANCE_PATH", "RELANCE_SMTP_URL",
         "RELANCE_BENCH", "RELANCE_BASE_URL")
SENDER = ("Relance Bench SAS", "relances@bench.test")
ACTOR_EMAILS = ("demo@relance.test", "finance@relance.test")
HOST = "127.0.0.1"


# --- the sink -----------------------------------------------------------------------------

class Sink:
    """The aiosmtpd handler: accepts everything and notes when; the bytes are checked later."""

    def __init__(self):
        self.received: list[tuple[float, tuple[str, ...], bytes]] = []
        self.ignored: set[str] = set()  # envelope recipients not counted (the run's owner)
        self.wanted = self.counted = 0
        self.done = threading.Event()

    def expect(self, count: int) -> None:
        self.received, self.wanted, self.counted = [], count, 0
        self.done.clear()

    async def handle_DATA(self, server, session, envelope):
        recipients = tuple(envelope.rcpt_tos)
        self.received.append((time.perf_counter(), recipients, envelope.content))
        if not self.ignored.intersection(recipients):
            self.counted += 1
            if self.counted >= self.wanted:
                self.done.set()
        return "250 Message accepted for delivery"

    def reminders(self) -> list[tuple[float, tuple[str, ...], bytes]]:
        return [r for r in self.received if not self.ignored.intersection(r[1])]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# --- the machine --------------------------------------------------------------------------

@dataclass(frozen=True)
class Usage:
    machine: float
    own: float
    wall: float

    @classmethod
    def now(cls) -> "Usage":
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        times = os.times()
        return cls((user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"),
                   times.user + times.system + times.children_user + times.children_system, time.monotonic())

    def others_share_since(self, before: "Usage") -> float:
        capacity = (self.wall - before.wall) * (os.cpu_count() or 1)
        others = (self.machine - before.machine) - (self.own - before.own)
        return max(0.0, others) / capacity if capacity > 0 else 0.0

    def own_cpu_since(self, before: "Usage") -> float:
        return self.own - before.own


# --- results ------------------------------------------------------------------------------

@dataclass
class Round:
    relance_s: float
    bare_s: float
    job_s: float  # of Relance's time: the bulk run's job (texts, letters, queuing)
    render_s: float  # of the bare time: WeasyPrint
    relance_cpu_s: float
    bare_cpu_s: float
    others_share: float
    first: str

    @property
    def ratio(self) -> float:
        return self.relance_s / self.bare_s


@dataclass
class SendingResult:
    messages: int
    customers: int = 0
    entries: int = 0
    pdf_kib: float = 0.0
    pages: str = ""
    rounds: list[Round] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(r.ratio for r in self.rounds)

    @property
    def missed(self) -> list[str]:
        missed = [f"Sending: {p}" for p in self.problems]
        if self.rounds and self.ratio > MAX_RATIO:
            missed.append(f"Sending {self.messages:,} e-mails with a letter PDF: Relance is {self.ratio:.2f}× "
                          f"WeasyPrint + smtplib (target ≤ {MAX_RATIO})")
        return missed

    HEADERS = ["Round", "Relance s", "of which the run's job s", "Bare s", "of which WeasyPrint s", "Ratio",
               "CPU s Relance / bare", "Others' CPU %", "First"]

    def table(self) -> list[list[str]]:
        return [[str(i), f"{r.relance_s:.1f}", f"{r.job_s:.1f}", f"{r.bare_s:.1f}", f"{r.render_s:.1f}",
                 f"{r.ratio:.2f}", f"{r.relance_cpu_s:.1f} / {r.bare_cpu_s:.1f}", f"{r.others_share * 100:.0f}",
                 r.first] for i, r in enumerate(self.rounds, 1)]

    def describe(self) -> str:
        return (f"{self.messages:,} reminder e-mails to {self.customers:,} customers ({self.entries:,} overdue entries), "
                f"each with its letter as a PDF (about {self.pdf_kib:.0f} KiB, {self.pages} pages), to an aiosmtpd "
                f"sink, one SMTP connection per message on both sides")

    def text(self) -> str:
        rows = [self.HEADERS, *self.table()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.HEADERS))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        verdict = "; ".join(self.missed) or "the target is met"
        ratio = f"Ratio {self.ratio:.2f} (median of {len(self.rounds)}; target ≤ {MAX_RATIO})" if self.rounds else "No ratio"
        return "\n".join([f"Sending: {self.describe()}.", *lines, f"{ratio}: {verdict}."])

    def markdown(self) -> str:
        lines = ["", "## Sending e-mails with a letter PDF", "",
                 f"{self.describe()}. Relance: the bulk run with \"Attach the reminder letter (PDF)\" "
                 "with its sends, jobs.reminders.run_bulk run by an RQ Worker as worker.py runs it (forked work horse) "
                 "in a worker process of their own (bundled Redis, SQLite copy of the "
                 "bench database), from the request to the sink accepting the last message. Bare: in a fresh "
                 "process, WeasyPrint renders the same letter HTML (same template, stylesheet and fonts) and "
                 "smtplib sends the same e-mail text with it. The sink runs in the bench's own process.", "",
                 f"Target: Relance / bare ≤ {MAX_RATIO}.", "",
                 "| " + " | ".join(self.HEADERS) + " |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.table()]
        if self.rounds:
            lines += ["", f"Ratio **{self.ratio:.2f}** (median of {len(self.rounds)} round"
                          f"{'s' if len(self.rounds) > 1 else ''})."]
        lines += [""] + ([f"Missed: {m}" for m in self.missed] or ["The target is met."])
        return "\n".join(lines) + "\n"


# --- preparing ----------------------------------------------------------------------------

def _prepare(session) -> int:
    """A company sender address (reminders need one) and the user who asks for the run: its id."""
    from sqlalchemy import select

    from domain.models import CompanySettings, User
    from domain.settings import company as saved_company

    company = saved_company(session)
    if company is None:
        company = CompanySettings(name=SENDER[0], registration_number="552100554", address="8 rue de la Paix\n75002 Paris")
        session.add(company)
    if not (company.sender_email or "").strip():
        company.name = company.name or SENDER[0]
        company.sender_email = SENDER[1]
    actor = (session.scalar(select(User).where(User.email.in_(ACTOR_EMAILS)).order_by(User.email))
             or session.scalar(select(User).order_by(User.id)))
    if actor is None:
        raise SystemExit("The bench database has no user to ask for the run.")
    session.commit()
    return actor.id


def pick_customers(session, count: int, today) -> list[str]:
    """`count` accounts a bulk run sends to, without invoice PDFs on the covered entries."""
    from sqlalchemy import select

    from domain.models import Attachment, Customer
    from domain.reminders import bulk

    with_pdf = set(session.scalars(select(Attachment.entry_id)))
    picked: list[str] = []
    last = ""
    while len(picked) < count:
        accounts = list(session.scalars(
            select(Customer.account).where(Customer.account > last, Customer.emails.is_not(None), Customer.emails != "")
            .order_by(Customer.account).limit(500)))
        if not accounts:
            break
        last = accounts[-1]
        for decision in bulk.plan_bulk_dunning(session, accounts, today):
            if decision.outcome == bulk.SEND and not with_pdf.intersection(decision.entry_ids):
                picked.append(decision.account)
        session.expunge_all()
    return sorted(picked[:count])


@dataclass(frozen=True)
class BareMessage:
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: str
    subject: str
    body: str
    html: str
    filename: str


def bare_messages(session, accounts: list[str], actor_id: int, today) -> tuple[list[BareMessage], int]:
    """What Relance will send to these customers, made beforehand by the same domain functions: the
    e-mail text of the level and the letter's HTML (files.letter.letter_html of the document
    write_letter lays out), and how many entries they cover. Untimed; read-only."""
    from sqlalchemy import select

    from domain.models import Customer, Entry, User
    from domain.reminders import bulk, sending, templates
    from domain.settings import company as saved_company
    from files.letter import letter_document, letter_html
    from files.names import safe_name
    from mail import smtp as mailer

    actor = session.get(User, actor_id)
    company = saved_company(session)
    sender = sending.company_sender(company)
    made, covered = [], 0
    for decision in bulk.plan_bulk_dunning(session, accounts, today):
        covered += len(decision.entry_ids)
        customer = session.get(Customer, decision.customer_id)
        entries = list(session.scalars(select(Entry).where(Entry.id.in_(decision.entry_ids))
                                       .order_by(Entry.due_date, Entry.id)))
        text = sending.rendered(session, customer, entries, decision.level, "email", actor)
        content = sending.letter_content(session, customer, entries, actor, level=decision.level)
        letter = letter_document(company, customer, entries, content)
        title = f"{templates.level_name(content.level)} {customer.name} {content.day.isoformat()}"
        emails = customer.email_list
        made.append(BareMessage(sender=sender, to=tuple(emails[:1]), cc=tuple(emails[1:]),
                                reply_to=mailer.address(actor.name, actor.email),
                                subject=" ".join(text.subject.split()), body=text.body.replace("\r\n", "\n"),
                                html=letter_html(letter),
                                filename=safe_name(title, fallback="letter", max_chars=120) + ".pdf"))
    session.rollback()
    return made, covered


# --- the two sides ------------------------------------------------------------------------

def _warm_up_weasyprint() -> tuple:
    """One letter rendered, untimed: WeasyPrint's and fontconfig's first-use costs paid, as in a
    worker that has made a document before. Returns the letter stylesheet and fonts."""
    from domain import clock
    from files.letter import LetterDocument, _stylesheet, render_letter

    render_letter(LetterDocument(company_name="Warm-up", customer_name="Warm-up", customer_account="W",
                                 day=clock.today(), subject="Warm-up", body_html="<p>Warm-up</p>"))
    return _stylesheet()


def bare_main(messages_file: str, port: int) -> None:
    """The bare process: imports and one untimed letter, then each letter rendered by WeasyPrint,
    put in its e-mail and sent by smtplib on its own connection (timed)."""
    messages = [BareMessage(**{k: tuple(v) if isinstance(v, list) else v for k, v in item.items()})
                for item in json.loads(Path(messages_file).read_text())]
    stylesheet, fonts = _warm_up_weasyprint()
    cpu, started = time.process_time(), time.perf_counter()
    render_s = send_bare(messages, port, stylesheet, fonts)
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "render_seconds": render_s, "cpu_seconds": time.process_time() - cpu}))


def send_bare(messages: list[BareMessage], port: int, stylesheet, fonts) -> float:
    """WeasyPrint + smtplib: each letter rendered (the letter stylesheet and fonts, no fetching),
    attached to its e-mail and sent on its own connection. Returns the seconds in WeasyPrint."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    from weasyprint import HTML

    from files.pdf import TEMPLATES, refusing_url_fetcher

    render_s = 0.0
    for item in messages:
        started = time.perf_counter()
        pdf = HTML(string=item.html, base_url=str(TEMPLATES), url_fetcher=refusing_url_fetcher()).write_pdf(
            stylesheets=[stylesheet], font_config=fonts)
        render_s += time.perf_counter() - started
        message = EmailMessage()
        message["From"] = item.sender
        message["To"] = ", ".join(item.to)
        if item.cc:
            message["Cc"] = ", ".join(item.cc)
        message["Reply-To"] = item.reply_to
        message["Subject"] = item.subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain="bench.test")
        message.set_content(item.body)
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=item.filename)
        with smtplib.SMTP(HOST, port, timeout=30) as client:
            client.send_message(message)
    return render_s


def worker_main() -> None:
    """The Relance process: the worker's imports (WeasyPrint before anything, as worker.py), the
    app from the environment, one untimed letter; "ready" on stdout, then on "go" from stdin an
    RQ Worker runs the queue until it is empty (burst), each job in a forked work horse as worker.py."""
    import resource

    import weasyprint  # noqa: F401  (as worker.py: imported before the app)
    from rq import Worker

    import jobs.base
    import jobs.reminders  # noqa: F401  (the job the worker runs)
    from app import create_app

    app = create_app()
    jobs.base.use_app(app)
    with app.app_context():
        _warm_up_weasyprint()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":  # the bench stopped before the measurement
        return
    def cpu_seconds() -> float:  # this process and its reaped work horses
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    cpu = cpu_seconds()
    queue = jobs.base.queue(app)
    Worker([queue], connection=queue.connection).work(burst=True, logging_level="WARNING")
    print(json.dumps({"cpu_seconds": cpu_seconds() - cpu}), flush=True)


class RelanceWorker:
    """worker_main in its own process (the SMTP sink stays in this one, as a mail server would be)."""

    def __init__(self, env: dict[str, str]):
        from runtime.redis_server import preexec_die_with_parent

        self.process = subprocess.Popen([sys.executable, "-m", "bench.sending", "--worker"], cwd=ROOT, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        preexec_fn=preexec_die_with_parent())
        said = []
        for line in self.process.stdout:  # whatever the app prints at start, then "ready"
            if line.strip() == "ready":
                return
            said.append(line)
        self.process.kill()
        raise SystemExit(f"The Relance worker did not start: {''.join(said)[-2000:]}")

    def go(self) -> None:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def finish(self, timeout: float = 3600) -> float:
        """Wait for the burst to end; the worker's CPU seconds."""
        out, _ = self.process.communicate(timeout=timeout)
        if self.process.returncode:
            raise SystemExit(f"The Relance worker failed (exit {self.process.returncode}).")
        return json.loads(out.strip().splitlines()[-1])["cpu_seconds"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def request_bulk_dunning(app, accounts: list[str], actor_id: int) -> int:
    """What the route and the confirmation do: the bulk run with the letter option for these
    accounts, planned (here, untimed: the user reads the plan before confirming), confirmed and queued."""
    import json

    import jobs.reminders
    from domain import clock
    from domain.models import User
    from domain.reminders import bulk
    from extensions import db

    with app.app_context():
        actor = db.session.get(User, actor_id)
        run, _ = bulk.request_run(db.session, actor, {"customer": accounts, bulk.LETTER_PARAM: "1"})
        run.result = json.dumps(bulk.plan(db.session, run, actor, today=clock.today(), mail_server=True))
        run.status = "planned"
        bulk.confirm(db.session, run, actor)
        db.session.commit()
        run_id = run.id
        jobs.reminders.enqueue_run(run_id)
        db.session.remove()
    return run_id


def _job_seconds(app, run_id: int) -> float:
    from rq.job import Job

    import jobs.base

    job = Job.fetch(f"bulk-run-{run_id}", connection=jobs.base.redis_connection(app))
    return (job.ended_at - job.started_at).total_seconds() if job.ended_at and job.started_at else 0.0


def _check(sink: Sink, count: int, side: str) -> tuple[list[str], dict[tuple[str, str], bytes]]:
    """Problems with what the sink got, and the PDF of each message by (To, Subject)."""
    problems, pdfs = [], {}
    received = sink.reminders()
    if len(received) != count:
        problems.append(f"{side}: the sink got {len(received)} messages, {count} expected")
    for _, _, content in received:
        message = email.message_from_bytes(content, policy=policy.default)
        parts = list(message.iter_attachments())
        if len(parts) != 1 or parts[0].get_content_type() != "application/pdf" \
                or not parts[0].get_content().startswith(b"%PDF"):
            problems.append(f"{side}: a message to {message['To']} has {len(parts)} attachments, not one PDF")
            break
        pdfs[(str(message["To"]), str(message["Subject"]))] = parts[0].get_content()
    return problems, pdfs


def _same_letters(relance: dict, bare: dict, sample: int = 5) -> str:
    """'' when the first letters read the same on both sides, else what differs."""
    import io

    from pypdf import PdfReader

    def text(pdf: bytes) -> list[str]:
        return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]

    for key in sorted(relance)[:sample]:
        if key not in bare:
            return f"no bare message to {key[0]} with the subject {key[1]!r}"
        if text(relance[key]) != text(bare[key]):
            return f"the letters to {key[0]} differ"
    return ""


def _pages(pdfs: list[bytes]) -> str:
    import io

    from pypdf import PdfReader

    counts = [len(PdfReader(io.BytesIO(p)).pages) for p in pdfs[:200]]
    if not counts:
        return "0"
    low, high = min(counts), max(counts)
    return f"{low}" if low == high else f"{low}–{high}"


# --- the run ------------------------------------------------------------------------------

def measure(database: Path, instance: Path, log: Callable[[str], None], messages: int, rounds: int) -> SendingResult:
    from datetime import timedelta

    from aiosmtpd.controller import Controller
    from flask_migrate import upgrade
    from sqlalchemy import update

    import jobs.base
    from app import create_app
    from domain import clock
    from domain.models import Entry, User
    from extensions import db
    from runtime.redis_server import BundledRedis

    outcome = SendingResult(messages)
    sink, port = Sink(), _free_port()
    controller = Controller(sink, hostname=HOST, port=port, data_size_limit=64 * 1024 * 1024)
    redis = BundledRedis(instance / "redis").start()
    controller.start()
    settings = {"RELANCE_INSTANCE_PATH": str(instance), "RELANCE_DATABASE_URL": f"sqlite:///{database}",
                "RELANCE_REDIS_URL": redis.url, "RELANCE_SMTP_URL": f"smtp://{HOST}:{port}?timeout=30",
                "RELANCE_SECRET_KEY": "bench"}
    worker_env = {**os.environ, **settings}
    worker = None
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": settings["RELANCE_DATABASE_URL"], "REDIS_URL": redis.url,
                          "SMTP_URL": settings["RELANCE_SMTP_URL"], "SECRET_KEY": "bench"})
        with app.app_context():
            started = time.perf_counter()
            upgrade()
            actor_id = _prepare(db.session)
            sink.ignored = {db.session.get(User, actor_id).email}  # the run's owner, if told by e-mail
            today = clock.today()
            accounts = pick_customers(db.session, messages, today)
            log(f"  migrated and picked {len(accounts):,} customers in {time.perf_counter() - started:.1f} s")
            db.session.remove()
            db.engine.dispose()
            connection = jobs.base.redis_connection(app)
            for job in ("rebucket", "expire-exports", "follow-up"):  # no daily job in the measurement
                connection.set(f"relance:daily:{job}:{today.isoformat()}", "1", ex=86400)
        if len(accounts) < messages:
            outcome.problems.append(f"only {len(accounts)} customers to remind, {messages} wanted")
            messages = outcome.messages = len(accounts)
            if not accounts:
                return outcome
        messages_file = instance / "bare-messages.json"
        for number in range(rounds):
            with app.app_context():
                # Each round reminds customers not reminded this week, as a real run would: the
                # previous round's reminders are moved a week back (a run minutes later skips them).
                db.session.execute(update(Entry).where(Entry.last_reminder_on >= today - timedelta(days=6))
                                   .values(last_reminder_on=today - timedelta(days=7)))
                db.session.commit()
                bare, covered = bare_messages(db.session, accounts, actor_id, today)
                db.session.remove()
                db.engine.dispose()
            messages_file.write_text(json.dumps([dataclasses.asdict(m) for m in bare]))
            if number == 0:
                outcome.customers, outcome.entries = len(bare), covered
            order = ("relance", "bare") if number % 2 else ("bare", "relance")
            figures, shares, pdfs = {}, [], {}
            for side in order:
                sink.expect(len(bare))
                if side == "bare":
                    before = Usage.now()
                    bare_s, render_s, bare_cpu = _bare(messages_file, port)
                    sink.done.wait(60)
                    figures[side] = (bare_s, bare_cpu)
                else:
                    worker = RelanceWorker(worker_env)
                    before = Usage.now()
                    started = time.perf_counter()
                    run_id = request_bulk_dunning(app, accounts, actor_id)
                    worker.go()
                    relance_cpu = worker.finish()
                    sink.done.wait(60)
                    received = sink.reminders()
                    last = received[len(bare) - 1][0] if len(received) >= len(bare) else time.perf_counter()
                    figures[side] = (last - started, relance_cpu)
                    job_s = _job_seconds(app, run_id)
                shares.append(Usage.now().others_share_since(before))
                problems, pdfs[side] = _check(sink, len(bare), side)
                outcome.problems += [p for p in problems if p not in outcome.problems]
                log(f"  round {number + 1}, {side}: {figures[side][0]:.1f} s (CPU {figures[side][1]:.1f} s)")
            difference = _same_letters(pdfs["relance"], pdfs["bare"])
            if difference and difference not in outcome.problems:
                outcome.problems.append(f"the two sides' letters are not the same: {difference}")
            if number == 0:
                sizes = [len(p) for p in pdfs["relance"].values()] or [0]
                outcome.pdf_kib = statistics.mean(sizes) / 1024
                outcome.pages = _pages(list(pdfs["relance"].values()))
            sink.received = []
            outcome.rounds.append(Round(figures["relance"][0], figures["bare"][0], job_s, render_s,
                                        figures["relance"][1], figures["bare"][1], max(shares), order[0]))
    finally:
        if worker is not None:
            worker.stop()
        controller.stop()
        redis.stop()
    return outcome


def _bare(messages_file: Path, port: int) -> tuple[float, float, float]:
    """bare_main in a fresh process: (wall seconds, of which WeasyPrint, CPU seconds)."""
    result = subprocess.run([sys.executable, "-m", "bench.sending", "--bare", str(messages_file), "--port", str(port)],
                            cwd=ROOT, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"The bare side failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return figures["seconds"], figures["render_seconds"], figures["cpu_seconds"]


def run(log: Callable[[str], None] = print, results: Path | None = None, *, messages: int = MESSAGES,
        rounds: int = 1, database: Path | None = None, keep: bool = False) -> list[str]:
    """Measure, log the table, append it to `results` (markdown) when given; returns the missed targets."""
    source = Path(database or SOURCE)
    if not source.exists():
        log(f"Sending bench skipped: {source} does not exist (run `make bench` first).")
        return ["sending: no bench database"]
    sys.path.insert(0, str(ROOT))
    folder = Path(tempfile.mkdtemp(prefix="relance-sending-"))
    saved = dict(os.environ)
    try:
        for name in UNSET:
            os.environ.pop(name, None)
        os.environ["RELANCE_INSTANCE_PATH"] = str(folder)
        copy = copy_database(source, folder)
        log(f"Sending: {messages:,} e-mails with a letter PDF, over a copy of {source.name} in {folder} "
            f"({rounds} round{'s' if rounds > 1 else ''})…")
        outcome = measure(copy, folder, log, messages, rounds)
    except (Exception, SystemExit) as error:  # a measurement: say what went wrong, let the other benches report
        log(f"Sending bench failed: {type(error).__name__}: {error}")
        return [f"sending: the bench failed ({error})"]
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if keep:
            log(f"Kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    log("")
    log(outcome.text())
    if results is not None:
        with open(results, "a") as handle:
            handle.write(outcome.markdown())
    return outcome.missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sending", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument("--rounds", type=int, default=1, help="rounds alternate which side runs first")
    parser.add_argument("--database", type=Path, help=f"the database to copy (default {SOURCE.relative_to(ROOT)})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance folder")
    parser.add_argument("--results", type=Path, help="append the markdown table to this file")
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:
        bare_main(args.bare, args.port)
        return 0
    if args.worker:
        worker_main()
        return 0
    os.chdir(ROOT)
    run(print, args.results, messages=args.messages, rounds=args.rounds, database=args.database, keep=args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
