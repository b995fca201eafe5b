"""30 people at once: `clients` logged-in connections, each on its own thread, request the list pages and
an account status in turn for `seconds`, while one more connection records a change every second (stops
reminders on a customer, then starts them again). Loopback only, bounded in time.

Reported: requests per second, p50 / p99 / max over every read, errors (any answer but 200, any
exception), and the writer's own p50 / p99. Target (issue 15): 0 errors, p99 ≤ 150 ms on this 2-core machine.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from bench.pages import Page, Writer, percentile

MAX_P99_MS = 150.0


@dataclass
class LoadResult:
    clients: int
    seconds: float
    reads: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.reads) / self.seconds if self.seconds else 0.0

    def row(self) -> list[str]:
        if not self.reads:
            return [str(self.clients), "0", "", "", "", str(len(self.errors)), "", "FAIL"]
        p99 = percentile(self.reads, 99) * 1000
        ok = not self.errors and p99 <= MAX_P99_MS
        return [str(self.clients), f"{self.rate:.0f}", f"{percentile(self.reads, 50) * 1000:.1f}", f"{p99:.1f}",
                f"{max(self.reads) * 1000:.1f}", str(len(self.errors)),
                f"{percentile(self.writes, 50) * 1000:.1f} / {percentile(self.writes, 99) * 1000:.1f}"
                if self.writes else "", "pass" if ok else "FAIL"]


HEADERS = ["Clients", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "writer p50 / p99 ms", "Target"]


def run(make_client: Callable[[], object], targets: list[Page], writer_account: str, *, clients: int = 30,
        seconds: float = 60.0, until: threading.Event | None = None, started: Callable[[], None] | None = None,
        log: Callable[[str], None] = print) -> LoadResult:
    """`make_client()` returns a logged-in client (bench.run.Client); runs `seconds`, or until `until` is set;
    `started()` is called once every client is logged in and reading."""
    readers = [make_client() for _ in range(clients)]
    writer = Writer(make_client(), writer_account)
    result = LoadResult(clients, seconds)
    lock = threading.Lock()
    stop = threading.Event()
    start = threading.Barrier(clients + 2)

    def read(number: int, client) -> None:
        own: list[float] = []
        start.wait()
        turn = number  # each client starts on a different page
        while not stop.is_set():
            page = targets[turn % len(targets)]
            turn += 1
            try:
                status, body, elapsed, _ = client.request("GET", page.path)
            except Exception as error:  # a refused or dropped connection is an error a user would see
                with lock:
                    result.errors.append(f"{page.path}: {error!r}")
                continue
            if status != 200:
                with lock:
                    result.errors.append(f"{page.path}: {status}")
            own.append(elapsed)
        with lock:
            result.reads += own

    def write() -> None:
        start.wait()
        next_at = time.monotonic()
        while not stop.is_set():
            next_at += 1.0
            began = time.perf_counter()
            try:
                writer.change()
                result.writes.append(time.perf_counter() - began)
            except (Exception, SystemExit) as error:
                with lock:
                    result.errors.append(f"change: {error!r}")
            stop.wait(max(0.0, next_at - time.monotonic()))

    threads = [threading.Thread(target=read, args=(n, c), daemon=True) for n, c in enumerate(readers)]
    threads.append(threading.Thread(target=write, daemon=True))
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    if started is not None:
        started()
    while time.monotonic() - began < seconds and not (until is not None and until.is_set()):
        wait = min(5.0, seconds - (time.monotonic() - began)) if seconds > 0 else 0
        if until is not None:
            until.wait(wait)
            log(f"  {time.monotonic() - began:.0f} s, {len(result.errors)} errors")
        else:
            time.sleep(wait)
            log(f"  {time.monotonic() - began:.0f}/{seconds:.0f} s, {len(result.errors)} errors")
    stop.set()
    result.seconds = time.monotonic() - began
    for thread in threads:
        thread.join(30)
    return result
