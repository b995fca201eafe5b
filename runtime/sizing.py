"""How many web processes, threads and database connections: one rule, each overridable.

- Web processes (RELANCE_WEB_WORKERS): cores + 1. A process runs Python on one core at a time (the GIL), so
  one per core keeps every core busy rendering pages, and one more covers the moments a process waits (a
  database answer, a slow client) with none of its threads ready to run.
- Threads per process (RELANCE_WEB_THREADS): 4. They overlap those waits; more would only queue on the GIL
  and make each page slower (a longer p99) without serving more.
- Database connections per process (RELANCE_DB_POOL_SIZE): one per thread, so a request never waits for a
  connection, plus RELANCE_DB_MAX_OVERFLOW (2) for a burst; with PostgreSQL, processes × (pool + overflow)
  stays far under its max_connections (100 by default) on a machine of a few cores.
"""
from __future__ import annotations

import os


def _setting(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    number = int(value)
    if number < 1 and name != "RELANCE_DB_MAX_OVERFLOW":
        raise ValueError(f"{name} must be at least 1 (it is {value}).")
    return number


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def web_workers() -> int:
    return _setting("RELANCE_WEB_WORKERS", cores() + 1)


def web_threads() -> int:
    return _setting("RELANCE_WEB_THREADS", 4)


def db_pool_size() -> int:
    return _setting("RELANCE_DB_POOL_SIZE", web_threads())


def db_max_overflow() -> int:
    return _setting("RELANCE_DB_MAX_OVERFLOW", 2)
