"""A worker killed mid-export, with real processes: `python worker.py` builds a collection file,
is SIGKILLed (with its work horse) half-way, and the next worker notices (the job's heartbeat
stopped: no process table is consulted) and says the export failed so that Retry builds it
again; and a ready collection file is nobody else's to download.

The worker runs as `make run` starts it: its own process (in a session of its own), the suite's
database (PostgreSQL in CI's second pass) and Redis, and an instance folder of this test, where
its app looks for documents (<instance>/documents) and writes exports (<instance>/exports). The
test's app is configured with the same two folders. Every wait is bounded; every process this
test starts is killed in `finally`.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import uuid
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import login
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, uses process groups")

REMINDERS = 60           # about 0.1 s of WeasyPrint each: the file takes several seconds to build
START_TIMEOUT = 30       # worker.py imports WeasyPrint and the app before it takes a job
# Until a dead worker's job counts as abandoned, and the sweep that then fails its export has run.
NOTICE_TIMEOUT = 30 + 10 + 5
BUILD_TIMEOUT = 40
KILL_TIMEOUT = 10


# --- processes ---------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process, or None when there is none."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[19])


@dataclass(frozen=True)
class Proc:
    pid: int
    started: int  # tells a process from a later one given the same pid

    def alive(self) -> bool:
        stat = _stat(self.pid)
        return stat is not None and stat[2] == self.started and stat[0] not in ("Z", "X")

    def kill(self) -> None:
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _children(pid: int) -> list[Proc]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[1] == pid and stat[0] not in ("Z", "X"):
                found.append(Proc(int(entry), stat[2]))
    return found


def _wait_until(predicate, timeout: float, interval: float = 0.05):
    return wait_until(predicate, timeout, interval)


class Worker:
    """`python worker.py` in a session of its own, as `make run` starts it."""

    def __init__(self, instance: Path, database_url: str, redis_url: str, log: Path, **settings: str):
        env = {key: value for key, value in os.environ.items() if not key.startswith(("RELANCE_", "FLASK_"))}
        env.update(RELANCE_INSTANCE_PATH=str(instance), RELANCE_DATABASE_URL=database_url,
                   RELANCE_REDIS_URL=redis_url, RELANCE_ENV="development", PYTHONUNBUFFERED="1", **settings)
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env,
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        stat = _stat(self.process.pid)
        self.me = Proc(self.process.pid, stat[2] if stat else -1)
        self.seen: set[Proc] = set()  # every work horse noticed, to be sure none survives

    def horses(self) -> list[Proc]:
        horses = _children(self.process.pid)
        self.seen.update(horses)
        return horses

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def assert_running(self) -> None:
        assert self.process.poll() is None, f"worker.py exited with {self.process.returncode}:\n{self.output()}"

    def kill(self) -> None:
        """SIGKILL: the worker's process group, and its work horse (RQ puts it in a group of its own)."""
        horses = self.horses()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for horse in horses:
            horse.kill()
        self.process.wait(KILL_TIMEOUT)

    def stop(self) -> None:
        """For `finally`: whatever is left of it goes."""
        try:
            self.horses()
        except OSError:
            pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(KILL_TIMEOUT)
        for horse in self.seen:
            horse.kill()


# --- data ----------------------------------------------------------------------------------


@pytest.fixture
def instance(tmp_path) -> Path:
    return tmp_path / "instance"


@pytest.fixture
def app_config(app_config, instance):
    """The folders the worker's app derives from its instance path, for the test's app too."""
    return {**app_config, "EXPORT_DIR": str(instance / "exports"),
            "BULK_RUN_DIR": str(instance / "bulk-runs"), "ATTACHMENT_DIR": str(instance / "documents")}


@pytest.fixture(scope="module")
def invoice_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<h1>Invoice INV-K-001</h1><p>Amount due: 4,200.00 EUR</p>").write_pdf()


def seed_customer(app, session, ledger_builder, invoice_pdf, reminders: int):
    """A customer with two open entries (one with its invoice PDF on disk) and `reminders`
    reminder activities about them. Returns (customer, entries)."""
    from domain.models import Attachment, CompanySettings, ReminderActivity, ReminderEntry

    session.add(CompanySettings(name="Maison Dupont SAS", registration_number="552100554",
                                sender_email="compta@dupont.test", address="8 rue de la Paix\n75002 Paris"))
    customer = ledger_builder.customer("K001", "Kaolin Ceramics", emails="ap@kaolin.test",
                                       address="4 avenue du Four\n87000 Limoges")
    entries = [ledger_builder.entry(customer, 150, "4200.00", level=5, number="INV-K-001"),
               ledger_builder.entry(customer, 75, "830.40", level=4, number="INV-K-002")]
    storage_name = f"{uuid.uuid4().hex}.pdf"
    folder = Path(app.config["ATTACHMENT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / storage_name).write_bytes(invoice_pdf)
    session.add(Attachment(entry_id=entries[0].id, filename="INV-K-001.pdf", storage_name=storage_name,
                         content_type="application/pdf", size=len(invoice_pdf)))
    body = ("Dear customer,\n\n" + "Our records show that the invoices below are still unpaid. " * 12
            + "\n\nPlease pay them without delay.\n\nKind regards,\nCredit Control")
    first = datetime(2026, 1, 5, 9, 0)
    for n in range(reminders):
        activity = ReminderActivity(customer_id=customer.id, sent_at=first + timedelta(days=n, minutes=n),
                                    channel="email" if n % 3 else "letter", level=1 + n % 5,
                                    sender="compta@dupont.test", recipient="ap@kaolin.test",
                                    subject=f"Reminder {n + 1} – Kaolin Ceramics", body=body)
        activity.covered = [ReminderEntry(entry_id=e.id, open_cents=e.open_cents) for e in entries]
        session.add(activity)
    session.commit()
    return customer, entries


def fresh_export(session, export_id: int):
    """The export as the database has it now (a new transaction sees the worker's commits)."""
    from domain.models import Export

    session.rollback()
    session.expire_all()
    return session.get(Export, export_id)


def export_folder(app, export_id: int) -> Path:
    return Path(app.config["EXPORT_DIR"]) / str(export_id)


def partial_files(app, export_id: int) -> list[str]:
    folder = export_folder(app, export_id)
    return sorted(p.name for p in folder.glob(".partial-*")) if folder.is_dir() else []


@contextmanager
def logged_in(app, email: str):
    """A test client logged in as `email`, in an app context of its own: the test's context is
    reused by every request otherwise, and Flask-Login caches the user on its `g`, so a second
    client would act as the first one's user."""
    with app.app_context():
        client = app.test_client()
        assert login(client, email).status_code == 302
        yield client


# --- the tests -----------------------------------------------------------------------------


def test_a_worker_killed_mid_export_leaves_it_failed_with_retry_and_retry_builds_it(
        app, session, users, ledger_builder, invoice_pdf, instance, redis_url, tmp_path):
    import jobs.base
    import jobs.exports
    from domain.collection.files import start_collection_file
    from domain.models import Notification

    customer, entries = seed_customer(app, session, ledger_builder, invoice_pdf, REMINDERS)
    started = start_collection_file(session, users["finance"], customer, [e.id for e in entries])
    session.commit()
    export_id = started.export.id
    queue = jobs.base.queue(app)
    queue.empty()
    jobs.exports.enqueue_export(export_id)
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    log = tmp_path / "worker.log"

    workers: list[Worker] = []
    try:
        # 1. A worker takes the export and is killed half-way through the file.
        first = Worker(instance, database_url, redis_url, log)
        workers.append(first)

        def half_built():
            first.assert_running()
            first.horses()
            export = fresh_export(session, export_id)
            assert export.status in ("queued", "running"), (export.status, export.message, first.output())
            return export.status == "running" and export.progress >= 5 and partial_files(app, export_id)

        assert _wait_until(half_built, START_TIMEOUT + BUILD_TIMEOUT), (
            f"the export did not get half-way: {fresh_export(session, export_id).status}\n{first.output()}")
        horses = first.horses()
        assert horses, f"the worker runs the job in no work horse of its own:\n{first.output()}"

        first.kill()

        everyone = [first.me, *first.seen]
        assert _wait_until(lambda: not [p for p in everyone if p.alive()], KILL_TIMEOUT), (
            f"still alive after SIGKILL: {[p for p in everyone if p.alive()]}")
        export = fresh_export(session, export_id)
        assert export.status == "running", "nobody was left to record anything"
        assert 5 <= export.progress < 100
        left_by_the_killed_horse = partial_files(app, export_id)
        assert left_by_the_killed_horse, "the killed work horse was writing the file"

        # 2. The next worker notices the job's heartbeat stopped: the export failed, and Retry builds it again.
        second = Worker(instance, database_url, redis_url, log)
        workers.append(second)

        def failed():
            second.assert_running()
            return fresh_export(session, export_id).status == "failed"

        assert _wait_until(failed, START_TIMEOUT + NOTICE_TIMEOUT), f"not marked failed:\n{second.output()}"
        export = fresh_export(session, export_id)
        assert "Retry" in export.message, export.message
        assert export.message == "The worker stopped during the export. Retry to build it again."
        assert export.finished_at is not None

        # 3. The owner presses Retry (as the status fragment's button does) and the worker builds it.
        with logged_in(app, "finance@relance.test") as client:
            response = client.post(f"/exports/{export_id}/retry", headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert "Export queued" in response.get_data(as_text=True)

        def final():
            second.assert_running()
            export = fresh_export(session, export_id)
            return export.is_final and export

        export = _wait_until(final, BUILD_TIMEOUT, 0.1)
        assert export, f"the retried export did not finish:\n{second.output()}"
        assert export.status == "ready", f"{export.message}\n{second.output()}"
        assert export.progress == 100 and export.message is None

        path = export_folder(app, export_id) / export.filename
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None
            names = archive.namelist()
            assert archive.read("invoices/INV-K-001.pdf") == invoice_pdf
            reminder_pdfs = [name for name in names if name.startswith("reminders/")]
            assert len(reminder_pdfs) == REMINDERS
            assert all(archive.read(name).startswith(b"%PDF-") for name in reminder_pdfs[:3])
            assert len([name for name in names if name.endswith(".xlsx")]) == 1
        assert export.filename.startswith("Kaolin Ceramics ") and export.filename.endswith(".zip")
        finance_id = users["finance"].id

        def owner_told():  # the bell's notification is committed just after the export itself
            session.rollback()
            texts = [n.text for n in session.query(Notification).filter_by(export_id=export_id, user_id=finance_id)]
            return [text for text in texts if "is ready" in text]

        assert _wait_until(owner_told, 5), "the owner was not told the retried export is ready"

        leftovers = partial_files(app, export_id)
        assert not leftovers, (
            f"half-written files are left in the export folder: {leftovers} (the killed work horse's: "
            f"{left_by_the_killed_horse}); the folder holds {sorted(p.name for p in path.parent.iterdir())}")
        assert sorted(p.name for p in path.parent.iterdir()) == [export.filename]
    finally:
        for worker in workers:
            worker.stop()
        queue.empty()


def test_a_ready_collection_file_is_not_found_for_another_user(app, session, users, ledger_builder, invoice_pdf,
                                                                redis_url):
    from rq import SimpleWorker

    import jobs.base
    import jobs.exports
    from domain.collection.files import start_collection_file
    from domain.models import Notification
    from domain.users import create_user
    from tests.conftest import PASSWORD

    create_user(session, "finance2@relance.test", PASSWORD, "finance", name="Other Finance")
    customer, entries = seed_customer(app, session, ledger_builder, invoice_pdf, reminders=2)
    export_id = start_collection_file(session, users["finance"], customer, [e.id for e in entries]).export.id
    session.commit()
    jobs.base.use_app(app)
    queue = jobs.base.queue(app)
    try:
        queue.empty()
        jobs.exports.enqueue_export(export_id)
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    finally:
        queue.empty()
        jobs.base.use_app(None)
    export = fresh_export(session, export_id)
    assert export.status == "ready", export.message
    notification_id = session.query(Notification.id).filter_by(export_id=export_id).scalar()

    for email in ("support@relance.test", "finance2@relance.test"):
        with logged_in(app, email) as other:
            download = other.get(f"/exports/{export_id}/download")
            assert download.status_code == 404, email
            assert "There is no such export." in download.get_data(as_text=True)
            assert other.get(f"/exports/{export_id}/status", headers={"HX-Request": "true"}).status_code == 404
            assert other.post(f"/exports/{export_id}/retry", headers={"HX-Request": "true"}).status_code == 404
            assert other.get(f"/exports/{export_id}/agency", headers={"HX-Request": "true"}).status_code == 404
            assert other.get(f"/notifications/{notification_id}/open").status_code == 404
            assert export.filename not in other.get("/exports/").get_data(as_text=True)

    assert fresh_export(session, export_id).status == "ready", "nothing the others did changed it"
    assert session.get(Notification, notification_id).read_at is None

    with logged_in(app, "finance@relance.test") as owner:
        download = owner.get(f"/exports/{export_id}/download")
        assert download.status_code == 200, download.get_data(as_text=True)[-1500:]
        assert "attachment" in download.headers["Content-Disposition"]
        with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
            assert archive.testzip() is None and "invoices/INV-K-001.pdf" in archive.namelist()
