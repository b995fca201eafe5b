"""Bounded waits for the tests that drive real processes (serve, workers, Redis)."""
from __future__ import annotations

import time


def wait_until(predicate, timeout: float, interval: float = 0.1):
    """The predicate's first true value, or its last value once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
