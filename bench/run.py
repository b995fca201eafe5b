"""`make bench`: page latency over real HTTP, as ratios to a raw floor measured in the same run.

    make bench                                  # SQLite, 20,000 customers / 1,000,000 entries
    make bench DB=postgresql://user@host/any    # the same on PostgreSQL (or RELANCE_BENCH_DATABASE_URL)
    make bench SCALE=10m                        # 200,000 customers / 10,000,000 entries (long; not in CI)
    python -m bench.run [--database-url URL] [--scale 1m|10m] [--rounds 15] [--requests 20] [--fresh 5]
                        [--load-clients 30] [--load-seconds 60]
                        [--skip pages,load,daily-scale,collection,daily,sending]

1. The database: SQLite in bench/out/instance (bench/out is git-ignored), or, given a PostgreSQL URL, a
   database of its own the bench creates on that server (relance_bench_<scale>; the URL's own database is
   only used to create it). Reused when the bench built it with the requested sizes (bench-build*.json)
   and `flask db upgrade` still works on it, else rebuilt with `flask db upgrade` + `flask demo`.
2. `flask serve --no-worker` runs the app the way users run it (bundled Redis, gunicorn gthread workers
   sized by runtime/sizing.py) with RELANCE_BENCH=1 so /bench/bare exists; the raw floor
   (bench/floor.py: plain Flask + Jinja) runs under the same gunicorn settings beside it.
3. Pages (bench/pages.py): every page cached and, for the list pages and an account status, as the first
   view after a real change, in rounds; ratios to the floor (median and IQR of the rounds) and to the bare page.
4. Thirty people at once (bench/load.py): 30 logged-in connections for 60 s while one more records a change
   every second.
5. The daily jobs at scale (bench/daily_scale.py): on a copy of the database, the re-bucketing and the whole
   follow-up run as the worker runs them, timed, while the same people read the pages.
6. The collection file, the daily decision alone and sending (SQLite only), as before.
A measurement, not a test: missed targets are listed, the exit status is 0. Written to bench/out/results[-postgresql].md.
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from bench import collection_file, daily_run, daily_scale
from bench import load as bench_load
from bench import pages as bench_pages
from bench import sending

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
INSTANCE = OUT / "instance"
DB_FILE = INSTANCE / "relance.db"
BUILD_MARKER = INSTANCE / "bench-build.json"
RESULTS = OUT / "results.md"
SERVER_LOG = OUT / "server.log"

DEMO_LOGIN = ("demo@relance.test", "demo-password")
SCALES = {"1m": (20_000, 1_000_000), "10m": (200_000, 10_000_000)}

# Settings from the caller's shell that would change what is measured: the bench always runs the
# defaults (development, SQLite in its own instance dir, bundled Redis, 3 gthread workers).
UNSET = ("RELANCE_ENV", "RELANCE_DATABASE_URL", "RELANCE_REDIS_URL", "RELANCE_PORT", "RELANCE_HOST",
         "RELANCE_WEB_WORKERS")


def _log(message: str = "") -> None:
    print(message, flush=True)


def _environment() -> dict[str, str]:
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ["RELANCE_INSTANCE_PATH"] = str(INSTANCE)
    os.environ["RELANCE_BENCH"] = "1"
    return dict(os.environ)


def _flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "app", *args]


def _run(command: list[str], env: dict[str, str]) -> None:
    started = time.monotonic()
    _log(f"$ {' '.join(command[2:])}")
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdin=subprocess.DEVNULL)
    _log(f"  done in {time.monotonic() - started:.1f} s")


# --- the database -------------------------------------------------------------------------

@dataclass(frozen=True)
class BenchDatabase:
    """Where the bench's ledger lives: SQLite in bench/out/instance (url None), or a PostgreSQL database
    of the bench's own."""

    url: str | None = None

    @property
    def kind(self) -> str:
        return "postgresql" if self.url else "sqlite"

    @property
    def marker(self) -> Path:
        return BUILD_MARKER if not self.url else OUT / f"bench-build-{self.url.rsplit('/', 1)[1]}.json"

    def describe(self) -> str:
        return f"SQLite {DB_FILE.relative_to(ROOT)}" if not self.url else f"PostgreSQL {_hidden_password(self.url)}"

    @classmethod
    def for_url(cls, url: str | None, scale: str) -> "BenchDatabase":
        """The bench's own PostgreSQL database on the server of `url`, created when missing."""
        if not url:
            return cls()
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        given = make_url(url).set(drivername="postgresql+psycopg")
        name = f"relance_bench_{scale}"
        engine = create_engine(given, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
                    _log(f"Database: created {name} on {given.host or 'the local socket'}.")
        finally:
            engine.dispose()
        return cls(given.set(database=name).render_as_string(hide_password=False))

    def counts(self) -> tuple[int, int] | None:
        """(customers, entries), None when the database does not exist or has no tables."""
        if not self.url:
            if not DB_FILE.exists():
                return None
            import sqlite3

            try:
                with sqlite3.connect(f"file:{DB_FILE}?mode=ro", uri=True) as connection:
                    return (connection.execute("SELECT count(*) FROM customers").fetchone()[0],
                            connection.execute("SELECT count(*) FROM entries").fetchone()[0])
            except sqlite3.Error:
                return None
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import SQLAlchemyError

        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return (connection.scalar(text("SELECT count(*) FROM customers")),
                        connection.scalar(text("SELECT count(*) FROM entries")))
        except SQLAlchemyError:
            return None
        finally:
            engine.dispose()

    def wipe(self) -> None:
        if not self.url:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{DB_FILE}{suffix}").unlink(missing_ok=True)
            return
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        finally:
            engine.dispose()


def _hidden_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _demo_available(env: dict[str, str]) -> bool:
    result = subprocess.run(_flask("demo", "--help"), cwd=ROOT, env=env, capture_output=True, text=True)
    return result.returncode == 0


def prepare_database(args, env: dict[str, str], database: BenchDatabase) -> str:
    """Reuse or build the bench database; returns a note for the report.

    Reused only when this script built it (the marker file says with which sizes and seed) and it
    still holds that many customers and entries."""
    INSTANCE.mkdir(parents=True, exist_ok=True)
    wanted = (args.customers, args.entries)
    upgrade_failed = ""
    try:
        marker = json.loads(database.marker.read_text())
    except (OSError, ValueError):
        marker = {}
    counts = database.counts()
    built_as_wanted = (marker.get("customers"), marker.get("entries")) == wanted and (
        args.seed is None or marker.get("seed") == args.seed)
    if not args.rebuild and built_as_wanted and counts == wanted:
        _log(f"Database: reusing {database.describe()} ({counts[0]:,} customers, {counts[1]:,} entries, "
             f"built {marker.get('built_at', '?')}); --rebuild to build it again.")
        try:
            _run(_flask("db", "upgrade"), env)  # new migrations (an index…) apply to the reused database
            return f"reused, built {marker.get('built_at', '?')} ({counts[0]:,} customers, {counts[1]:,} entries)"
        except subprocess.CalledProcessError:
            _log("WARNING: `flask db upgrade` failed on the filled bench database (see above): a migration "
                 "that cannot upgrade a filled database? Rebuilding it from scratch.")
            args.rebuild = True
            upgrade_failed = " (the upgrade of the reused one had failed)"

    if counts is not None:
        if args.rebuild:
            why = "--rebuild"
        elif counts != wanted:
            why = f"it has {counts[0]:,} customers / {counts[1]:,} entries"
        else:
            why = "not built by the bench with these settings"
        _log(f"Database: rebuilding ({why}; {wanted[0]:,} / {wanted[1]:,} wanted).")
    else:
        _log(f"Database: building {wanted[0]:,} customers / {wanted[1]:,} entries.")
    if not _demo_available(env):
        raise SystemExit("The `flask demo` command is not available (cli/demo.py), so the bench database "
                         "cannot be built. Nothing was measured.")
    database.wipe()
    database.marker.unlink(missing_ok=True)
    started = time.monotonic()
    _run(_flask("db", "upgrade"), env)
    demo = _flask("demo", "--customers", str(args.customers), "--entries", str(args.entries))
    if args.seed is not None:
        demo += ["--seed", str(args.seed)]
    _run(demo, env)
    counts = database.counts()
    if counts is None:
        raise SystemExit(f"`flask demo` left no customers/entries tables in {database.describe()}.")
    if counts != wanted:
        _log(f"  note: the demo command made {counts[0]:,} customers / {counts[1]:,} entries "
             f"(asked {wanted[0]:,} / {wanted[1]:,}); it will be rebuilt next run.")
    database.marker.write_text(json.dumps({"customers": args.customers, "entries": args.entries, "seed": args.seed,
                                        "built_at": datetime.now().isoformat(timespec="seconds")}))
    return (f"built in {time.monotonic() - started:.0f} s ({counts[0]:,} customers, {counts[1]:,} entries)"
            + upgrade_failed)


# --- what to request ----------------------------------------------------------------------

def pick_targets(args) -> tuple[str, str, str]:
    """The account to show (a typical number of entries) and a search term that lists several
    customers. Returns (account, search term, a note on how they were picked)."""
    from sqlalchemy import func, select

    from app import create_app
    from domain.models import Customer, Entry
    from extensions import db

    app = create_app()
    with app.app_context():
        session = db.session
        account, search = args.account, args.search
        notes = []
        if not account:
            per_customer = sorted(session.execute(
                select(func.count(), Entry.customer_id).group_by(Entry.customer_id)).all())
            if not per_customer:
                raise SystemExit("The bench database has no entries.")
            typical, customer_id = per_customer[len(per_customer) // 2]
            account = session.scalar(select(Customer.account).where(Customer.id == customer_id))
            counts = [n for n, _ in per_customer]
            notes.append(f"account {account}: {typical} entries (median; min {counts[0]}, max {counts[-1]})")
        if not search:
            search, matches = _search_term(session)
            notes.append(f"search {search!r}: {matches} customers match")
        session.remove()
        db.engine.dispose()
    return account, search, "; ".join(notes) or "given on the command line"


def _search_term(session) -> tuple[str, int]:
    """A word taken from customer names that matches several customers (ideally ~10, at most 50,
    the page's limit), so the search lists them instead of redirecting to one account."""
    from sqlalchemy import func, select

    from domain.models import Customer

    total = session.scalar(select(func.count()).select_from(Customer)) or 0
    step = max(1, total // 80)
    names = session.scalars(select(Customer.name).where(Customer.id % step == 0).order_by(Customer.id).limit(80))
    words: list[str] = []
    for name in names:
        for word in re.findall(r"[^\W\d_]{4,}", name):
            if word.lower() not in (w.lower() for w in words):
                words.append(word)
    best, best_score = None, math.inf
    for word in words[:80]:
        pattern = f"%{word}%"
        matches = session.scalar(select(func.count()).select_from(Customer).where(Customer.name.ilike(pattern)))
        if matches < 2:
            continue
        score = abs(math.log(matches / 10)) + (10 if matches > 50 else 0)
        if score < best_score:
            best, best_score = (word, matches), score
    if best is None:
        raise SystemExit("Found no word in customer names that several customers share; pass --search.")
    return best


# --- the server ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _new_group_dying_with(die_with_parent):
    def preexec() -> None:
        os.setsid()  # its own process group: stopping it stops gunicorn, its workers and Redis
        die_with_parent()  # and `flask serve` goes if the bench is killed outright

    return preexec


def _wait_until_answering(what: str, process: subprocess.Popen, port: int, path: str, log: Path,
                          timeout: float) -> None:
    """Until GET `path` answers 200; a process that exits or never answers stops the bench with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited at start:\n{log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                connection.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not answer within {timeout:.0f} s:\n{log.read_text()[-2000:]}")


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: object

    @classmethod
    def start(cls, env: dict[str, str]) -> "Server":
        from runtime.redis_server import die_with_parent

        port = _free_port()
        OUT.mkdir(parents=True, exist_ok=True)
        log = open(SERVER_LOG, "w")
        command = _flask("serve", "--no-worker", "--port", str(port))
        _log(f"$ {' '.join(command[2:])}  (RELANCE_BENCH=1, log in {SERVER_LOG.relative_to(ROOT)})")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, preexec_fn=_new_group_dying_with(die_with_parent))
        return cls(port, process, log)

    def wait_ready(self, timeout: float = 60.0) -> None:
        _wait_until_answering("The server", self.process, self.port, "/login", SERVER_LOG, timeout)

    def tree(self) -> dict[int, int]:
        """`flask serve` and every process under it (gunicorn master and workers, Redis), as
        {pid: start time}: serve starts its children in process groups of their own, so its
        group alone does not reach them."""
        table = _process_table()
        tree, queue = {}, [self.process.pid]
        while queue:
            pid = queue.pop()
            if pid in table:
                tree[pid] = table[pid][1]
                queue += [child for child, (parent, _) in table.items() if parent == pid]
        return tree

    def stop(self) -> None:
        """SIGTERM to serve's process group (serve stops gunicorn and Redis in order), then
        SIGTERM and at last SIGKILL to whatever of the tree is left; say so if anything survives."""
        tree = self.tree()
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(20)  # serve's own grace period for gunicorn and the worker is 6 + 3 s
        except subprocess.TimeoutExpired:
            pass
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
            left = _alive(tree)
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace
            while _alive(tree) and time.monotonic() < deadline:
                time.sleep(0.1)
        if self.process.poll() is None:
            self.process.wait(5)
        self.log.close()
        left = _alive(tree)
        if left:
            _log(f"WARNING: server processes still running: {', '.join(map(str, left))}.")
        else:
            _log(f"Server stopped ({len(tree)} processes: serve, gunicorn, Redis; none left).")


@dataclass
class FloorServer:
    """bench/floor.py under gunicorn with Relance's settings (workers, threads, worker class)."""

    port: int
    process: subprocess.Popen
    log: object

    @classmethod
    def start(cls, env: dict[str, str], workers: int, threads: int) -> "FloorServer":
        from cli.serve import _gunicorn_options
        from runtime.redis_server import die_with_parent

        port = _free_port()
        log = open(OUT / "floor.log", "w")
        command = [sys.executable, "-m", "gunicorn", "bench.floor:app", "--bind", f"127.0.0.1:{port}",
                   "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
                   "--graceful-timeout", "5", *_gunicorn_options()]
        _log(f"$ gunicorn bench.floor:app --workers {workers} --threads {threads} --worker-class gthread  (the raw floor)")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, preexec_fn=_new_group_dying_with(die_with_parent))
        return cls(port, process, log)

    def wait_ready(self, timeout: float = 30.0) -> None:
        _wait_until_answering("The floor server", self.process, self.port, "/floor", OUT / "floor.log", timeout)

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.process.kill()
        self.log.close()


def _process_table() -> dict[int, tuple[int, int]]:
    """{pid: (parent pid, start time)} from /proc."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            table[int(stat.parent.name)] = (int(fields[1]), int(fields[19]))
        except (OSError, IndexError, ValueError):
            continue
    return table


def _alive(tree: dict[int, int]) -> list[int]:
    """The processes of `tree` still running (same pid and start time, so not a reused pid)."""
    table = _process_table()
    return [pid for pid, started in tree.items() if pid in table and table[pid][1] == started]


def _cpu_seconds(pids) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (all threads)
    return total / ticks


# --- the HTTP client ----------------------------------------------------------------------

@dataclass
class Client:
    """One keep-alive connection with a cookie jar, like one browser tab."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    reconnects: int = 0
    connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.connection.connect()
        self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.connection

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers | (extra or {})

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, float, http.client.HTTPResponse]:
        """(status, body, seconds from sending to the last byte read, response)."""
        for attempt in (1, 2):
            connection = self.connection or self._connect()
            try:
                started = time.perf_counter()
                connection.request(method, path, body=body, headers=self._headers(headers))
                response = connection.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - started
            except (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionError):
                # The server closed an idle keep-alive connection: reconnect, time the retry only.
                connection.close()
                self.connection = None
                if attempt == 2:
                    raise
                self.reconnects += 1
                continue
            for header in response.msg.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    if morsel.value and morsel["max-age"] != "0":
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)
            if response.will_close:
                connection.close()
                self.connection = None
            return response.status, data, elapsed, response
        raise AssertionError("unreachable")

    def login(self, email: str, password: str) -> None:
        status, body, _, _ = self.request("GET", "/login")
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
        if status != 200 or not match:
            raise SystemExit(f"GET /login answered {status} without a csrf_token field.")
        form = urlencode({"csrf_token": match.group(1).decode(), "email": email, "password": password})
        status, _, _, response = self.request(
            "POST", "/login", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            hint = (f"the server's traceback is in {SERVER_LOG.relative_to(ROOT)}" if status >= 500
                    else "does the bench database have the demo user?")
            raise SystemExit(f"Logging in as {email} failed (POST /login answered {status}); {hint}")


# --- was the machine quiet? ---------------------------------------------------------------

@dataclass(frozen=True)
class CpuUse:
    """CPU seconds used by the whole machine and by the bench (this client + the server's process
    group), from /proc: what others used meanwhile tells whether the measurement was disturbed."""

    machine: float = 0.0
    bench: float = 0.0
    wall: float = 0.0

    @classmethod
    def now(cls, server_pids) -> "CpuUse":
        try:
            fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        except (OSError, ValueError):  # not Linux: nothing to say
            return cls(wall=time.monotonic())
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        own = os.times()
        return cls((user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"),
                   own.user + own.system + _cpu_seconds(server_pids), time.monotonic())

    def __sub__(self, other: "CpuUse") -> "CpuUse":
        return CpuUse(self.machine - other.machine, self.bench - other.bench, self.wall - other.wall)

    @property
    def others_share(self) -> float:
        """Share of the machine's CPU capacity that other processes used during the measurement."""
        capacity = self.wall * (os.cpu_count() or 1)
        return max(0.0, self.machine - self.bench) / capacity if capacity else 0.0

    @property
    def others_busy(self) -> bool:
        return self.others_share > 0.15

    def describe(self) -> str:
        if not self.machine:
            return "not measured (no /proc/stat)"
        cores = os.cpu_count() or 1
        text = (f"during the measurement the bench used {self.bench / self.wall:.2f} of {cores} cores and other "
                f"processes {self.others_share * cores:.2f}")
        if self.others_busy:
            text += " (the machine was not quiet: times, p99s most, are inflated)"
        return text


def _git_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    return (result.stdout.strip() or "?") + (" (uncommitted changes)" if dirty.strip() else "")


def _interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench BENCH_ARGS=…", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("RELANCE_BENCH_DATABASE_URL") or None,
                        help="a PostgreSQL server to run on (the bench creates a database of its own there)")
    parser.add_argument("--scale", choices=sorted(SCALES), default="1m", help="1m: 20,000 customers / 1,000,000 "
                        "entries; 10m: 200,000 / 10,000,000")
    parser.add_argument("--customers", type=int, default=None, help="instead of the scale's")
    parser.add_argument("--entries", type=int, default=None, help="instead of the scale's")
    parser.add_argument("--seed", type=int, default=None, help="passed to `flask demo` (default: its own)")
    parser.add_argument("--rebuild", action="store_true", help="build the database even if it has the right size")
    parser.add_argument("--rounds", type=int, default=15, help="rounds of pages (default 15): ratios are per round")
    parser.add_argument("--requests", type=int, default=20, help="cached requests per page per round (default 20)")
    parser.add_argument("--fresh", type=int, default=5,
                        help="first views after a change per list page per round (default 5)")
    parser.add_argument("--warmup", type=int, default=10, help="unrecorded requests per page first (default 10)")
    parser.add_argument("--load-clients", type=int, default=30)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--skip", default="",
                        help="comma-separated: pages, load, daily-scale, collection, daily, sending")
    parser.add_argument("--account", help="the account whose status page is measured (default: a typical one)")
    parser.add_argument("--search", help="the search text (default: a word several customer names share)")
    args = parser.parse_args(argv)
    args.customers = args.customers or SCALES[args.scale][0]
    args.entries = args.entries or SCALES[args.scale][1]
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}

    # A SIGTERM (make killed, CI timeout) unwinds like Ctrl-C, so the server is always stopped.
    signal.signal(signal.SIGTERM, _interrupted)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    env = _environment()
    database = BenchDatabase.for_url(args.database_url, args.scale)
    if database.url:
        os.environ["RELANCE_DATABASE_URL"] = env["RELANCE_DATABASE_URL"] = database.url
    db_note = prepare_database(args, env, database)
    account, search, picked = pick_targets(args)
    targets = bench_pages.pages(account, search)
    _log(f"Pages: {picked}")
    results_file = RESULTS if not database.url else OUT / "results-postgresql.md"

    from runtime.sizing import web_threads, web_workers

    workers, threads = web_workers(), web_threads()
    server = Server.start(env)
    floor = FloorServer.start(env, workers, threads)
    page_rows, page_missed, load_result = [], [], None
    try:
        server.wait_ready()
        floor.wait_ready()
        cpu_before = CpuUse.now(list(server.tree()) + [floor.process.pid])
        started = time.monotonic()
        if "pages" not in skip:
            reader, writer_client = Client(server.port), Client(server.port)
            reader.login(*DEMO_LOGIN)
            writer_client.login(*DEMO_LOGIN)
            _log(f"Measuring {len(targets)} pages + the floor and the bare page: {args.rounds} rounds × "
                 f"{args.requests} cached requests each (+ {args.fresh} first views after a change of the list "
                 f"pages), after {args.warmup} warm-up.")
            measured = bench_pages.measure(reader, Client(floor.port), bench_pages.Writer(writer_client, account),
                                           targets, rounds=args.rounds, requests=args.requests, fresh=args.fresh,
                                           warmup=args.warmup, log=_log)
            page_rows, page_missed = bench_pages.verdicts(*measured)
        cpu = CpuUse.now(list(server.tree()) + [floor.process.pid]) - cpu_before
        duration = time.monotonic() - started
        if "load" not in skip:
            _log(f"\n{args.load_clients} people at once for {args.load_seconds:.0f} s (+ one change a second):")

            def logged_in() -> Client:
                client = Client(server.port)
                client.login(*DEMO_LOGIN)
                return client

            load_targets = [page for page in targets if page.fresh]
            load_result = bench_load.run(logged_in, load_targets, account, clients=args.load_clients,
                                         seconds=args.load_seconds, log=_log)
    finally:
        floor.stop()
        server.stop()

    context = {
        "Run": datetime.now().isoformat(timespec="seconds") + f", commit {_git_commit()}",
        "Machine": f"{platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
                   f"{platform.system()} {platform.release()}",
        "CPU": cpu.describe(),
        "Database": f"{database.describe()}, {db_note}",
        "Server": f"`flask serve --no-worker` (gunicorn, {workers} gthread workers × {threads} threads, bundled "
                  f"Redis); the raw floor under the same gunicorn settings",
        "Requests": f"{args.rounds} rounds × {args.requests} cached requests per page (+ {args.fresh} first views "
                    f"after a change per list page), one keep-alive connection reading, one writing "
                    f"({duration:.0f} s)",
        "Picked": picked,
    }
    lines = ["# Relance page benchmark", "", *[f"- {k}: {v}" for k, v in context.items()], ""]
    missed = list(page_missed)
    if page_rows:
        _log("")
        _log(bench_pages.text_table(bench_pages.HEADERS, page_rows))
        lines += [f"Targets: cached p50 ≤ {bench_pages.MAX_CACHED_RATIO}× the raw floor's; the first view after a "
                  f"change ≤ {bench_pages.MAX_FRESH_RATIO}× and ≤ {bench_pages.MAX_FRESH_MS:.0f} ms; p99 ≤ "
                  f"{bench_pages.MAX_P99_MS:.0f} ms. Ratios: median of the rounds (interquartile range).", "",
                  *bench_pages.markdown_table(bench_pages.HEADERS, page_rows), ""]
    if load_result is not None:
        row = load_result.row()
        _log("")
        _log(bench_pages.text_table(bench_load.HEADERS, [row]))
        lines += [f"{load_result.clients} people at once for {load_result.seconds:.0f} s over "
                  f"{', '.join(p.name for p in targets if p.fresh)}, one change a second "
                  f"(target: 0 errors, p99 ≤ {bench_load.MAX_P99_MS:.0f} ms):", "",
                  *bench_pages.markdown_table(bench_load.HEADERS, [row]), ""]
        if row[-1] != "pass":
            missed.append(f"{load_result.clients} people at once: p99 {row[3]} ms, {len(load_result.errors)} errors"
                          + (f" (first: {load_result.errors[0]})" if load_result.errors else ""))
    if cpu.others_busy:
        _log(f"Note: {cpu.describe()}.")
    lines += ["Missed targets:" if missed else "Every target is met.", *[f"- {m}" for m in missed], ""]
    _log(("MISSED TARGETS:\n" + "\n".join(f"  - {m}" for m in missed)) if missed else "Every target is met.")
    results_file.write_text("\n".join(lines))
    if "daily-scale" not in skip:
        _log(f"\nThe daily jobs at scale (issue: re-bucketing and the whole follow-up run ≤ "
             f"{daily_scale.MAX_SECONDS:.0f} s each; the pages' p99 while they run):")

        def logged_in_to(server: Server) -> Client:
            client = Client(server.port)
            client.login(*DEMO_LOGIN)
            return client

        daily_missed = daily_scale.run(
            env, bench_url=database.url, admin_url=args.database_url, source_file=DB_FILE, start_server=Server.start,
            logged_in=logged_in_to, targets=[page for page in targets if page.fresh], account=account,
            clients=args.load_clients, before=load_result, log=_log, results=results_file)
        if daily_missed:
            _log("MISSED TARGETS:\n" + "\n".join(f"  - {m}" for m in daily_missed))
    if database.url:
        _log("\nThe collection file, daily jobs and sending benches run on SQLite only: skipped.")
    else:
        if "collection" not in skip:
            _log("\nCollection file (issue: Generate → ready vs WeasyPrint alone, worker peak memory):")
            collection_file.run(_log, results_file)
        if "daily" not in skip:
            _log("\nDaily follow-up run (issue: deciding what to send over the bench ledger, < 10 s):")
            daily_run.run(_log, results_file)
        if "sending" not in skip:
            _log("\nSending (issue: 1,000 e-mails with the letter PDF, Relance / WeasyPrint + smtplib ≤ 1.3):")
            sending.run(_log, results_file, rounds=2)  # one of each order: whichever runs first is a little slower
    _log(f"\nWritten to {results_file.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nInterrupted: nothing was written.", file=sys.stderr)
        sys.exit(130)
