"""`flask --app app serve`: web (gunicorn) + RQ worker + Redis, supervised together.

Ctrl-C (or SIGTERM, SIGHUP) stops all of them. If one dies, it is started again after a pause
that grows while it keeps dying (RESTART_DELAYS), and the others go on: pages keep serving while
Redis or the worker is away, and the bundled Redis comes back on the same socket, so web and
worker reconnect. A child that keeps dying right after its start (a port in use, a bad setting)
stops everything with exit status 1, so a service manager notices. Children run in process
groups of their own, so a Ctrl-C in the terminal reaches this supervisor only, which stops web
and worker first and Redis last. Children get PR_SET_PDEATHSIG, so even a SIGKILL of this
supervisor leaves no process behind.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from runtime.redis_server import BundledRedis, preexec_die_with_parent

ROOT = Path(__file__).resolve().parent.parent
DEMO_LOGIN = ("demo@relance.test", "demo-password")
GRACE_SECONDS = 6  # gunicorn's graceful timeout is 5 s; a running job gets as long
FORCE_SECONDS = 3  # after the second SIGTERM (RQ's cold shutdown kills the job's work horse)
RESTART_DELAYS = (1, 2, 5, 10, 30)  # seconds before the 1st, 2nd, … restart in a row; then 30 s each
STABLE_SECONDS = 60  # a child that ran this long starts again from the first delay
GIVE_UP_AFTER = 5  # deaths in a row, each within QUICK_DEATH_SECONDS of its start: stop everything
QUICK_DEATH_SECONDS = 10


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _echo(text: str) -> None:
    click.echo(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}", err=True)


class Supervised:
    """One child kept running: `launch()` starts it and gives its process; when it dies it is
    started again after a back-off, and `given_up` says it keeps dying at once."""

    def __init__(self, name: str, launch):
        self.name, self.launch = name, launch
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.deaths = 0  # in a row
        self.quick_deaths = 0  # in a row, each soon after its start
        self.restart_at: float | None = None
        self.given_up = False

    def start(self) -> None:
        self.started_at, self.restart_at = time.monotonic(), None
        try:
            self.process = self.launch()
        except Exception as error:  # e.g. the bundled Redis did not answer: counts as a death
            self.process = None
            self._died(f"could not start ({error})")

    def check(self) -> None:
        """Notice a death and schedule the restart, or restart when its time has come."""
        if self.restart_at is not None:
            if time.monotonic() >= self.restart_at:
                self.start()
                if self.process is not None:
                    _echo(f"{self.name} restarted (pid {self.process.pid}).")
            return
        if self.process is not None and self.process.poll() is not None:
            code, self.process = self.process.returncode, None
            self._died(_describe_exit(code))

    def _died(self, how: str) -> None:
        ran = time.monotonic() - self.started_at
        if ran >= STABLE_SECONDS:
            self.deaths = self.quick_deaths = 0
        self.quick_deaths = self.quick_deaths + 1 if ran < QUICK_DEATH_SECONDS else 0
        if self.quick_deaths >= GIVE_UP_AFTER:
            _echo(f"{self.name} exited ({how}) {self.quick_deaths} times in a row right after starting: "
                  "stopping Relance.")
            self.given_up = True
            return
        delay = RESTART_DELAYS[min(self.deaths, len(RESTART_DELAYS) - 1)]
        self.deaths += 1
        self.restart_at = time.monotonic() + delay
        _echo(f"{self.name} exited ({how}); restarting it in {delay} s.")


def _start(command: list[str], env: dict, death_signal: int = signal.SIGTERM) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, preexec_fn=preexec_die_with_parent(death_signal),
                            stdin=subprocess.DEVNULL, process_group=0)


def _wait_all(processes: list[subprocess.Popen], seconds: float) -> list[subprocess.Popen]:
    """Wait up to `seconds` for all of them; the ones still running."""
    deadline = time.monotonic() + seconds
    for process in processes:
        try:
            process.wait(max(0.01, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    return [p for p in processes if p.poll() is None]


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    running = _wait_all(processes, GRACE_SECONDS)
    # The RQ worker waits for a running job on the first SIGTERM; a second one (more than 1 s
    # later) is its cold shutdown, which kills the job's work horse. A SIGKILL would orphan it.
    for process in running:
        process.terminate()
    for process in _wait_all(running, FORCE_SECONDS):
        process.kill()
        process.wait()


def _gunicorn_options() -> list[str]:
    import gunicorn

    # gunicorn 27 opens a control socket in ~/.gunicorn, shared by every gunicorn of this user.
    return ["--no-control-socket"] if getattr(gunicorn, "version_info", (0,)) >= (27,) else []


def _mail_status(app) -> str:
    """Whether reminders can be e-mailed: the mail server in use, or what is missing."""
    from domain.settings import sending_problems
    from extensions import db
    from mail import smtp as mailer

    server = mailer.describe(app.config.get("SMTP_URL"))
    try:
        problems = sending_problems(db.session, bool(server))
    finally:
        db.session.remove()
    if not problems:
        return f"Mail: configured, through {server}."
    return "Mail: NOT configured — " + " ".join(problems) + " (Settings → Company, RELANCE_SMTP_URL)"


@click.command(help="Start web (gunicorn), the worker and Redis; Ctrl-C stops all three.")
@click.option("--host", default=lambda: os.environ.get("RELANCE_HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", type=int, default=None, help="Defaults to RELANCE_PORT or 5000.")
@click.option("--web-workers", type=int, default=lambda: int(os.environ.get("RELANCE_WEB_WORKERS", "3")))
@click.option("--no-worker", is_flag=True, help="Serve pages only (the worker runs on another host; benchmarks).")
@with_appcontext
def serve(host, port, web_workers, no_worker):
    app = current_app
    port = port or app.config["PORT"]
    env = dict(os.environ)
    redis = None
    if not app.config.get("REDIS_URL"):
        redis = BundledRedis(Path(app.instance_path) / "redis").start()
        env["RELANCE_REDIS_URL"] = redis.url
        click.echo(f"Redis: bundled redis-server on {redis.socket}")
    else:
        click.echo("Redis: RELANCE_REDIS_URL")

    children: list[Supervised] = []
    stopping = False
    failed = False

    def _on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    try:
        if redis is not None:
            # Restarted on the same socket: web and worker reconnect to the address they were given.
            children.append(Supervised("redis-server", lambda: redis.start().process))
            children[-1].process, children[-1].started_at = redis.process, time.monotonic()
        web = Supervised("web (gunicorn)", lambda: _start([
            sys.executable, "-m", "gunicorn", "app:create_app()",
            "--bind", f"{host}:{port}", "--workers", str(web_workers), "--threads", "4",
            "--worker-class", "gthread", "--access-logfile", "-", "--graceful-timeout", "5",
            *_gunicorn_options(),
        ], env))
        web.start()
        children.append(web)
        if not no_worker:
            # SIGKILL if this supervisor is killed: on SIGTERM, RQ would wait for a running job,
            # with its Redis (stopped the same way) gone, retrying forever.
            worker = Supervised("worker", lambda: _start([sys.executable, str(ROOT / "worker.py")], env,
                                                         signal.SIGKILL))
            worker.start()
            children.append(worker)
        shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
        click.echo("")
        click.echo(f"  Relance is running at http://{shown}:{port}/")
        click.echo(f"  Demo login: {DEMO_LOGIN[0]} / {DEMO_LOGIN[1]}")
        click.echo(f"  {_mail_status(app)}")
        click.echo("  Ctrl-C stops web, worker and Redis.")
        click.echo("", err=False)
        while not stopping:
            for child in children:
                child.check()
            if any(child.given_up for child in children):
                failed = stopping = True
                break
            time.sleep(0.2)
    finally:
        # Web and worker first, Redis last: they use it until they are gone.
        _stop([c.process for c in children if c.process is not None and c.name != "redis-server"])
        if redis is not None:
            redis.stop()
    click.echo("Relance stopped.")
    if failed:
        raise SystemExit(1)
