"""`make bench`: page latency over real HTTP, against a bare page measured in the same run.

    python -m bench.run [--customers 20000] [--entries 1000000] [--requests 300] [--warmup 30]

1. The database lives in bench/out/instance (RELANCE_INSTANCE_PATH; bench/out is git-ignored):
   always SQLite there, whatever RELANCE_DATABASE_URL says. It is reused when this script built it
   with the requested sizes (bench-build.json) and `flask db upgrade` still works on it, else it is
   rebuilt with `flask db upgrade` + `flask demo --customers N --entries M`.
2. `flask serve --no-worker` runs the app the way users run it (bundled Redis, gunicorn with its
   default gthread workers) on a free port, with RELANCE_BENCH=1 so /bench/bare exists.
3. One keep-alive HTTP connection logs in as the demo user, warms up, then requests every page in
   turn, round-robin with the bare page, timing each request (send → body read) with
   perf_counter. Every answer must be 200. The account is one with the median number of
   entries; the search text a word of customer names that lists several customers.
4. The table (p50, p99, p50 / bare p50, pass/fail) is printed and written to bench/out/results.md.
   Missed targets are listed, but the exit status is 0: this is a measurement, not a test.
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
from urllib.parse import quote, urlencode

from bench import collection_file, daily_run, sending

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
INSTANCE = OUT / "instance"
DB_FILE = INSTANCE / "relance.db"
BUILD_MARKER = INSTANCE / "bench-build.json"
RESULTS = OUT / "results.md"
SERVER_LOG = OUT / "server.log"

DEMO_LOGIN = ("demo@relance.test", "demo-password")
BARE = ("Bare page (50-row table, no query)", "/bench/bare")
MAX_RATIO = 1.5  # p50 of a page / p50 of the bare page
MAX_P99_MS = 50.0

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

def _counts() -> tuple[int, int] | None:
    """(customers, entries) in the bench database, None when it does not exist or has no tables."""
    if not DB_FILE.exists():
        return None
    import sqlite3

    try:
        with sqlite3.connect(f"file:{DB_FILE}?mode=ro", uri=True) as connection:
            customers = connection.execute("SELECT count(*) FROM customers").fetchone()[0]
            entries = connection.execute("SELECT count(*) FROM entries").fetchone()[0]
    except sqlite3.Error:
        return None
    return customers, entries


def _demo_available(env: dict[str, str]) -> bool:
    result = subprocess.run(_flask("demo", "--help"), cwd=ROOT, env=env, capture_output=True, text=True)
    return result.returncode == 0


def prepare_database(args, env: dict[str, str]) -> str:
    """Reuse or build the bench database; returns a note for the report.

    Reused only when this script built it (the marker file says with which sizes and seed) and it
    still holds that many customers and entries."""
    INSTANCE.mkdir(parents=True, exist_ok=True)
    wanted = (args.customers, args.entries)
    upgrade_failed = ""
    try:
        marker = json.loads(BUILD_MARKER.read_text())
    except (OSError, ValueError):
        marker = {}
    counts = _counts()
    built_as_wanted = (marker.get("customers"), marker.get("entries")) == wanted and (
        args.seed is None or marker.get("seed") == args.seed)
    if not args.rebuild and built_as_wanted and counts == wanted:
        _log(f"Database: reusing {DB_FILE.relative_to(ROOT)} ({counts[0]:,} customers, {counts[1]:,} entries, "
             f"built {marker.get('built_at', '?')}); --rebuild to build it again.")
        try:
            _run(_flask("db", "upgrade"), env)  # new migrations (an index…) apply to the reused database
            return f"reused, built {marker.get('built_at', '?')} ({counts[0]:,} customers, {counts[1]:,} entries)"
        except subprocess.CalledProcessError:
            _log("WARNING: `flask db upgrade` failed on the filled bench database (see above): a migration "
                 "that cannot upgrade a filled SQLite database? Rebuilding it from scratch.")
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
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_FILE}{suffix}").unlink(missing_ok=True)
    BUILD_MARKER.unlink(missing_ok=True)
    started = time.monotonic()
    _run(_flask("db", "upgrade"), env)
    demo = _flask("demo", "--customers", str(args.customers), "--entries", str(args.entries))
    if args.seed is not None:
        demo += ["--seed", str(args.seed)]
    _run(demo, env)
    counts = _counts()
    if counts is None:
        raise SystemExit(f"`flask demo` left no customers/entries tables in {DB_FILE}.")
    if counts != wanted:
        _log(f"  note: the demo command made {counts[0]:,} customers / {counts[1]:,} entries "
             f"(asked {wanted[0]:,} / {wanted[1]:,}); it will be rebuilt next run.")
    BUILD_MARKER.write_text(json.dumps({"customers": args.customers, "entries": args.entries, "seed": args.seed,
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


def pages(account: str, search: str) -> list[tuple[str, str]]:
    return [
        ("Who owes you what? (default)", "/"),
        ("Who owes you what? R5+", "/?level=5"),
        ("Who owes you what? sorted by > 90", "/?sort=90%2B&dir=desc"),
        ("Who owes you what? page 50", "/?page=50"),
        # What customers said (issue 13): each filter must stay within the page target.
        ("Who owes you what? disputed", "/?disputed=1"),
        ("Who owes you what? promise open", "/?promise=open"),
        ("Who owes you what? under a schedule", "/?scheduled=1"),
        ("Due dates", "/due-dates"),
        # The first page of the demo data is old credit notes; page 40 is invoices with ✉️ / @.
        ("Due dates page 40", "/due-dates?page=40"),
        ("Account status", f"/customers/{quote(account, safe='')}"),
        # From reminder to debt collection (issue 14): both tabs within the page target.
        ("Debt collection: Manual transfer", "/debt-collection?tab=manual"),
        ("Debt collection: Automatic transfer", "/debt-collection?tab=automatic"),
        ("Search", f"/search?{urlencode({'q': search})}"),
    ]


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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"The server exited at start:\n{SERVER_LOG.read_text()[-2000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/login")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"The server did not answer within {timeout:.0f} s:\n{SERVER_LOG.read_text()[-2000:]}")

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


# --- measuring ----------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Result:
    name: str
    path: str
    times: list[float] = field(default_factory=list)
    size: int = 0

    @property
    def p50_ms(self) -> float:
        return percentile(self.times, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.times, 99) * 1000


def measure(client: Client, targets: list[tuple[str, str]], requests: int, warmup: int) -> list[Result]:
    """Round-robin over the bare page and the pages: every round requests each once, so all of
    them see the same machine conditions. Warm-up rounds are not recorded."""
    results = [Result(name, path) for name, path in targets]
    rounds = warmup + requests
    report_every = max(1, rounds // 10)
    for round_no in range(rounds):
        for result in results:
            status, body, elapsed, _ = client.request("GET", result.path)
            if status != 200:
                raise SystemExit(f"GET {result.path} answered {status} (expected 200) in round {round_no + 1}; "
                                 f"see {SERVER_LOG.relative_to(ROOT)}:\n{body[:500].decode(errors='replace')}")
            if round_no >= warmup:
                result.times.append(elapsed)
                result.size = len(body)
        if (round_no + 1) % report_every == 0:
            _log(f"  {round_no + 1}/{rounds} rounds" + (" (warm-up)" if round_no < warmup else ""))
    return results


def verdicts(results: list[Result]) -> tuple[list[list[str]], list[str]]:
    bare = results[0].p50_ms
    rows, missed = [], []
    for result in results:
        ratio = result.p50_ms / bare
        problems = []
        if ratio > MAX_RATIO:
            problems.append(f"p50 is {ratio:.2f}× the bare page (target ≤ {MAX_RATIO}×)")
        if result.p99_ms > MAX_P99_MS:
            problems.append(f"p99 is {result.p99_ms:.1f} ms (target ≤ {MAX_P99_MS:.0f} ms)")
        missed += [f"{result.name} `{result.path}`: {p}" for p in problems]
        rows.append([result.name, f"`{result.path}`", f"{result.p50_ms:.1f}", f"{result.p99_ms:.1f}",
                     f"{ratio:.2f}", f"{result.size / 1024:.0f}", "pass" if not problems else "FAIL"])
    return rows, missed


HEADERS = ["Page", "URL", "p50 ms", "p99 ms", "p50 / bare", "KiB", "Target"]


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [HEADERS, *rows]) for i in range(len(HEADERS))]
    numeric = {2, 3, 4, 5}

    def line(cells):
        return "  ".join(str(c).rjust(w) if i in numeric else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(HEADERS), line(["-" * w for w in widths]), *map(line, rows)])


def markdown(rows: list[list[str]], missed: list[str], context: dict[str, str]) -> str:
    lines = ["# Relance page benchmark", ""]
    lines += [f"- {k}: {v}" for k, v in context.items()]
    lines += ["", f"Targets: p50 ≤ {MAX_RATIO}× the bare page's p50, p99 ≤ {MAX_P99_MS:.0f} ms.", ""]
    lines.append("| " + " | ".join(HEADERS) + " |")
    lines.append("|" + "|".join(["---", "---", "---:", "---:", "---:", "---:", "---"]) + "|")
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", "Missed targets:" if missed else "Every target is met.", *[f"- {m}" for m in missed], ""]
    return "\n".join(lines)


def _git_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    return (result.stdout.strip() or "?") + (" (uncommitted changes)" if dirty.strip() else "")


def _interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench BENCH_ARGS=…", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=None, help="passed to `flask demo` (default: its own)")
    parser.add_argument("--rebuild", action="store_true", help="build the database even if it has the right size")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per page (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="unrecorded requests per page first (default 30)")
    parser.add_argument("--account", help="the account whose status page is measured (default: a typical one)")
    parser.add_argument("--search", help="the search text (default: a word several customer names share)")
    args = parser.parse_args(argv)

    # A SIGTERM (make killed, CI timeout) unwinds like Ctrl-C, so the server is always stopped.
    signal.signal(signal.SIGTERM, _interrupted)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    env = _environment()
    db_note = prepare_database(args, env)
    account, search, picked = pick_targets(args)
    targets = [BARE, *pages(account, search)]
    _log(f"Pages: {picked}")

    server = Server.start(env)
    try:
        server.wait_ready()
        client = Client(server.port)
        client.login(*DEMO_LOGIN)
        _log(f"Measuring {len(targets)} pages × {args.requests} requests (after {args.warmup} warm-up), "
             "round-robin, one keep-alive connection.")
        started = time.monotonic()
        server_pids = list(server.tree())
        cpu_before = CpuUse.now(server_pids)
        results = measure(client, targets, args.requests, args.warmup)
        cpu = CpuUse.now(server_pids) - cpu_before
        duration = time.monotonic() - started
    finally:
        server.stop()

    rows, missed = verdicts(results)
    context = {
        "Run": datetime.now().isoformat(timespec="seconds") + f", commit {_git_commit()}",
        "Machine": f"{platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
                   f"{platform.system()} {platform.release()}",
        "CPU": cpu.describe(),
        "Database": f"SQLite {DB_FILE.relative_to(ROOT)}, {db_note}",
        "Server": "`flask serve --no-worker` (gunicorn, 3 gthread workers × 4 threads, bundled Redis)",
        "Requests": f"{args.requests} per page after {args.warmup} warm-up, sequential, one keep-alive "
                    f"connection, round-robin with the bare page ({duration:.0f} s"
                    + (f", {client.reconnects} reconnects" if client.reconnects else "") + ")",
        "Picked": picked,
    }
    _log("")
    _log(text_table(rows))
    _log("")
    if cpu.others_busy:
        _log(f"Note: {cpu.describe()}.")
    if missed:
        _log(f"MISSED TARGETS ({len(missed)}):")
        for item in missed:
            _log(f"  - {item}")
    else:
        _log("Every target is met.")
    RESULTS.write_text(markdown(rows, missed, context))
    _log("\nCollection file (issue: Generate → ready vs WeasyPrint alone, worker peak memory):")
    collection_file.run(_log, RESULTS)
    _log("\nDaily follow-up run (issue: deciding what to send over the bench ledger, < 10 s):")
    daily_run.run(_log, RESULTS)
    _log("\nSending (issue: 1,000 e-mails with the letter PDF, Relance / WeasyPrint + smtplib ≤ 1.3):")
    sending.run(_log, RESULTS, rounds=2)  # one of each order: whichever runs first is a little slower
    _log(f"\nWritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nInterrupted: nothing was written.", file=sys.stderr)
        sys.exit(130)
