"""`flask --app app serve`: web (gunicorn) + RQ worker + Redis, supervised together.

Ctrl-C (or SIGTERM, SIGHUP) stops all of them; if one dies, the others are stopped too and the
exit status is 1. Children run in process groups of their own, so a Ctrl-C in the terminal
reaches this supervisor only, which stops web and worker first and Redis last. Children get
PR_SET_PDEATHSIG, so even a SIGKILL of this supervisor leaves no process behind.
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


@click.command(help="Start web (gunicorn), the worker and Redis; Ctrl-C stops all three.")
@click.option("--host", default=lambda: os.environ.get("RELANCE_HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", type=int, default=None, help="Defaults to RELANCE_PORT or 5000.")
@click.option("--web-workers", type=int, default=lambda: int(os.environ.get("RELANCE_WEB_WORKERS", "3")))
@click.option("--no-worker", is_flag=True, help="Serve pages only (benchmarks).")
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

    processes: list[subprocess.Popen] = []
    stopping = False
    failed = False

    def _on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    try:
        processes.append(_start([
            sys.executable, "-m", "gunicorn", "app:create_app()",
            "--bind", f"{host}:{port}", "--workers", str(web_workers), "--threads", "4",
            "--worker-class", "gthread", "--access-logfile", "-", "--graceful-timeout", "5",
            *_gunicorn_options(),
        ], env))
        if not no_worker:
            # SIGKILL if this supervisor is killed: on SIGTERM, RQ would wait for a running job,
            # with its Redis (stopped the same way) gone, retrying forever.
            processes.append(_start([sys.executable, str(ROOT / "worker.py")], env, signal.SIGKILL))
        shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
        click.echo("")
        click.echo(f"  Relance is running at http://{shown}:{port}/")
        click.echo(f"  Demo login: {DEMO_LOGIN[0]} / {DEMO_LOGIN[1]}")
        click.echo("  Ctrl-C stops web, worker and Redis.")
        click.echo("", err=False)
        while not stopping:
            dead = [p.args[2] if p.args[1] == "-m" else p.args[1] for p in processes if p.poll() is not None]
            if redis is not None and redis.process.poll() is not None:
                dead.append("redis-server")
            if dead:
                click.echo(f"Stopping: {', '.join(map(str, dead))} exited.", err=True)
                failed = stopping = True
                break
            time.sleep(0.2)
    finally:
        _stop(processes)
        if redis is not None:
            redis.stop()
    click.echo("Relance stopped.")
    if failed:
        raise SystemExit(1)
