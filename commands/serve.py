"""`flask --app app serve`: web (gunicorn) + RQ worker + Redis, supervised together.

Ctrl-C (or SIGTERM) stops all of them; if one dies, the others are stopped too. Children get
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

from runtime.redis_server import BundledRedis, die_with_parent

ROOT = Path(__file__).resolve().parent.parent
DEMO_LOGIN = ("demo@relance.test", "demo-password")


def _start(command: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, preexec_fn=die_with_parent, stdin=subprocess.DEVNULL)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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

    def _on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        processes.append(_start([
            sys.executable, "-m", "gunicorn", "app:create_app()",
            "--bind", f"{host}:{port}", "--workers", str(web_workers), "--threads", "4",
            "--worker-class", "gthread", "--access-logfile", "-", "--graceful-timeout", "5",
        ], env))
        if not no_worker:
            processes.append(_start([sys.executable, str(ROOT / "worker.py")], env))
        shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
        click.echo("")
        click.echo(f"  Relance is running at http://{shown}:{port}/")
        click.echo(f"  Demo login: {DEMO_LOGIN[0]} / {DEMO_LOGIN[1]}")
        click.echo("  Ctrl-C stops web, worker and Redis.")
        click.echo("", err=False)
        while not stopping:
            if any(p.poll() is not None for p in processes):
                dead = [p.args[2] if p.args[1] == "-m" else p.args[1] for p in processes if p.poll() is not None]
                click.echo(f"Stopping: {', '.join(map(str, dead))} exited.", err=True)
                stopping = True
                break
            time.sleep(0.2)
    finally:
        _stop(processes)
        if redis is not None:
            redis.stop()
    click.echo("Relance stopped.")
