"""`flask --app app serve`: web (gunicorn) + RQ worker + Redis, supervised together.

Ctrl-C (or SIGTERM, SIGHUP) stops all of them. If one dies, it is started again after a pause
that grows while it keeps dying (RESTART_DELAYS), and the others go on: pages keep serving while
Redis or the worker is away, and the bundled Redis comes back on the same socket, so web and
worker reconnect. A child that keeps dying right after its start (a port in use, a bad setting)
stops everything with exit status 1, so a service manager notices. Children run in process
groups of their own, so a Ctrl-C in the terminal reaches this supervisor only, which stops web
and worker first and Redis last. Children get PR_SET_PDEATHSIG, so even a SIGKILL of this
supervisor leaves no process behind. The supervision itself is runtime/supervisor.py.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cli import Option
from runtime.redis_server import BundledRedis
from runtime.sizing import web_threads, web_workers
from runtime.supervisor import ROOT, Supervised, start, stop_all

DEMO_LOGIN = ("demo@relance.test", "demo-password")


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
        return _("Mail: configured, through %(server)s.", server=server)
    return _("Mail: NOT configured — %(problems)s (Settings → Company, RELANCE_SMTP_URL)", problems=" ".join(problems))


@click.command(help=_l("Start web (gunicorn), the worker and Redis; Ctrl-C stops all three."))
@click.option("--host", default=lambda: os.environ.get("RELANCE_HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", type=int, default=None, cls=Option, help=_l("Defaults to RELANCE_PORT or 5000."))
@click.option("--web-workers", type=int, default=lambda: web_workers(), show_default="RELANCE_WEB_WORKERS or cores + 1")
@click.option("--web-threads", type=int, default=lambda: web_threads(), show_default="RELANCE_WEB_THREADS or 4")
@click.option("--no-worker", is_flag=True, cls=Option,
              help=_l("Serve pages only (the worker runs on another host; benchmarks)."))
@with_appcontext
def serve(host, port, web_workers, web_threads, no_worker):
    app = current_app
    port = port or app.config["PORT"]
    env = dict(os.environ)
    redis = None
    if not app.config.get("REDIS_URL"):
        redis = BundledRedis(Path(app.instance_path) / "redis").start()
        env["RELANCE_REDIS_URL"] = redis.url
        click.echo(_("Redis: bundled redis-server on %(socket)s", socket=redis.socket))
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
        web = Supervised("web (gunicorn)", lambda: start([
            sys.executable, "-m", "gunicorn", "app:create_app()",
            "--bind", f"{host}:{port}", "--workers", str(web_workers), "--threads", str(web_threads),
            "--worker-class", "gthread", "--access-logfile", "-", "--graceful-timeout", "5",
            *_gunicorn_options(),
        ], env))
        web.start()
        children.append(web)
        if not no_worker:
            # SIGKILL if this supervisor is killed: on SIGTERM, RQ would wait for a running job,
            # with its Redis (stopped the same way) gone, retrying forever.
            worker = Supervised("worker", lambda: start([sys.executable, str(ROOT / "worker.py")], env,
                                                         signal.SIGKILL))
            worker.start()
            children.append(worker)
        shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
        click.echo("")
        url = f"http://{shown}:{port}/"
        click.echo("  " + _("Relance is running at %(url)s", url=url))
        click.echo("  " + _("Demo login: %(email)s / %(password)s", email=DEMO_LOGIN[0], password=DEMO_LOGIN[1]))
        click.echo(f"  {_mail_status(app)}")
        click.echo("  " + _("Ctrl-C stops web, worker and Redis."))
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
        stop_all([c.process for c in children if c.process is not None and c.name != "redis-server"])
        if redis is not None:
            redis.stop()
    click.echo(_("Relance stopped."))
    if failed:
        raise SystemExit(1)
