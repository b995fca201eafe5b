"""Keeping child processes running: restart with a growing back-off, give up on one that keeps dying
at once, stop them gracefully (web and worker first, Redis last). `flask serve` (cli/serve.py)
supervises web, worker and the bundled Redis with it."""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import click

from runtime.redis_server import preexec_die_with_parent

ROOT = Path(__file__).resolve().parent.parent
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


def start(command: list[str], env: dict, death_signal: int = signal.SIGTERM) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, preexec_fn=preexec_die_with_parent(death_signal),
                            stdin=subprocess.DEVNULL, process_group=0)


def wait_all(processes: list[subprocess.Popen], seconds: float) -> list[subprocess.Popen]:
    """Wait up to `seconds` for all of them; the ones still running."""
    deadline = time.monotonic() + seconds
    for process in processes:
        try:
            process.wait(max(0.01, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    return [p for p in processes if p.poll() is None]


def stop_all(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    running = wait_all(processes, GRACE_SECONDS)
    # The RQ worker waits for a running job on the first SIGTERM; a second one (more than 1 s
    # later) is its cold shutdown, which kills the job's work horse. A SIGKILL would orphan it.
    for process in running:
        process.terminate()
    for process in wait_all(running, FORCE_SECONDS):
        process.kill()
        process.wait()
