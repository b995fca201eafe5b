"""Page latency, cached and as the first view after a change, as ratios to the raw floor and to the
app's bare page, over rounds (median and interquartile range of the per-round ratios).

One keep-alive connection reads (so one gunicorn worker process, whose view cache is the one
measured); a second logged-in connection writes. A round:

1. cached: every page once to fill the reader's cache (not recorded), then `requests` × every page
   round-robin with the floor and the bare page, with no change in between: each list view is a
   cache hit;
2. fresh: `fresh` × for each list page, a real change through the app (the writer stops reminders on
   the measured account, or starts them again: one POST, as a user's click, which redraws the
   summaries stamp), then the page — the first view after that change. The floor and the bare page
   are requested between, so each round's ratios share the machine's conditions.

Per round, a page's ratio is its p50 over the floor's p50 (cached phase) of that round; the report
gives the median of the rounds' ratios and their IQR, and p50 / p99 over every sample.
"""
from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import quote, urlencode

FLOOR = ("Raw floor (plain Flask + Jinja)", "floor")
BARE = ("Bare page (app layout, login, no query)", "/bench/bare")

# Targets of issue 15, at 1M entries, on SQLite and PostgreSQL.
MAX_CACHED_RATIO = 2.0  # p50 / raw floor p50
MAX_FRESH_RATIO = 4.0
MAX_FRESH_MS = 8.0
MAX_P99_MS = 30.0


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    fresh: bool  # also measured as the first view after a change


def pages(account: str, search: str) -> list[Page]:
    status = f"/customers/{quote(account, safe='')}"
    return [
        Page("Who owes you what? (default)", "/", True),
        Page("Who owes you what? page 50", "/?page=50", True),
        Page("Who owes you what? sorted by > 90", "/?sort=90%2B&dir=desc", True),
        Page("Who owes you what? R5+", "/?level=5", False),
        Page("Who owes you what? disputed", "/?disputed=1", False),
        Page("Who owes you what? promise open", "/?promise=open", False),
        Page("Who owes you what? under a schedule", "/?scheduled=1", False),
        Page("Due dates", "/due-dates", True),
        Page("Due dates page 40", "/due-dates?page=40", False),
        Page("Account status", status, True),
        Page("Debt collection: Manual transfer", "/debt-collection?tab=manual", False),
        Page("Debt collection: Automatic transfer", "/debt-collection?tab=automatic", False),
        Page("Search", f"/search?{urlencode({'q': search})}", True),
    ]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, -(-int(q * len(ordered)) // 100) - 1)] if ordered else float("nan")


def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        value = values[0] if values else float("nan")
        return value, value, value
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


@dataclass
class Series:
    """One page in one mode: every sample (seconds) and each round's samples."""

    times: list[float] = field(default_factory=list)
    by_round: list[list[float]] = field(default_factory=list)
    size: int = 0

    def add(self, round_no: int, seconds: float, size: int) -> None:
        while len(self.by_round) <= round_no:
            self.by_round.append([])
        self.by_round[round_no].append(seconds)
        self.times.append(seconds)
        self.size = size

    @property
    def p50_ms(self) -> float:
        return percentile(self.times, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.times, 99) * 1000

    def ratios(self, base: "Series") -> list[float]:
        return [statistics.median(mine) / statistics.median(theirs)
                for mine, theirs in zip(self.by_round, base.by_round) if mine and theirs]


@dataclass
class PageResult:
    page: Page
    cached: Series = field(default_factory=Series)
    fresh: Series = field(default_factory=Series)


class Writer:
    """A second logged-in connection that changes the ledger as a user does: stops reminders on one
    customer, then starts them again (each a POST through the domain, each redrawing the stamp)."""

    def __init__(self, client, account: str):
        self.client, self.account, self.stopped = client, account, False
        status, body, _, _ = client.request("GET", f"/customers/{quote(account, safe='')}")
        match = re.search(rb'"X-CSRFToken": "([^"]+)"', body)
        if status != 200 or not match:
            raise SystemExit(f"The writer could not read a CSRF token from the account status ({status}).")
        self.token = match.group(1).decode()

    def change(self) -> None:
        self.stopped = not self.stopped
        form = {"stopped": "1", "reason": "bench: a change"} if self.stopped else {"stopped": "0"}
        status, body, _, _ = self.client.request(
            "POST", f"/customers/{quote(self.account, safe='')}/stop-reminders", body=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": self.token,
                     "HX-Request": "true"})
        if status != 200:
            raise SystemExit(f"The writer's change answered {status}: {body[:300]!r}")


def measure(reader, floor_client, writer: Writer, targets: list[Page], *, rounds: int, requests: int,
            fresh: int, warmup: int, log: Callable[[str], None]) -> tuple[PageResult, PageResult, list[PageResult]]:
    """Returns (floor, bare, pages)."""
    floor, bare = PageResult(Page(*FLOOR, False)), PageResult(Page(*BARE, False))
    results = [PageResult(page) for page in targets]

    def get(result: PageResult, series: Series | None, round_no: int) -> None:
        client = floor_client if result is floor else reader
        path = "/floor" if result is floor else result.page.path
        status, body, elapsed, _ = client.request("GET", path)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status} (expected 200) in round {round_no + 1}:\n"
                             f"{body[:500].decode(errors='replace')}")
        if series is not None:
            series.add(round_no, elapsed, len(body))

    for _ in range(warmup):  # imports, template compilation, connection pools: not recorded
        for result in (floor, bare, *results):
            get(result, None, 0)
    started = time.monotonic()
    for round_no in range(rounds):
        for result in results:  # the reader's cache holds every view: the cached phase reads hits
            get(result, None, round_no)
        for _ in range(requests):
            for result in (floor, bare, *results):
                get(result, (floor.cached if result is floor else bare.cached if result is bare else result.cached),
                    round_no)
        for _ in range(fresh):
            for result in results:
                if not result.page.fresh:
                    continue
                get(floor, floor.fresh, round_no)
                writer.change()
                get(result, result.fresh, round_no)
        log(f"  round {round_no + 1}/{rounds} ({time.monotonic() - started:.0f} s)")
    return floor, bare, results


def _ratio_text(values: list[float]) -> str:
    q1, median, q3 = quartiles(values)
    return f"{median:.2f} ({q1:.2f}–{q3:.2f})"


HEADERS = ["Page", "cached p50 ms", "cached p99 ms", "cached / floor (IQR)", "cached / bare",
           "fresh p50 ms", "fresh p99 ms", "fresh / floor (IQR)", "Target"]


def verdicts(floor: PageResult, bare: PageResult, results: list[PageResult]) -> tuple[list[list[str]], list[str]]:
    rows = [[floor.page.name, f"{floor.cached.p50_ms:.2f}", f"{floor.cached.p99_ms:.2f}", "1", "", "", "", "", ""],
            [bare.page.name, f"{bare.cached.p50_ms:.2f}", f"{bare.cached.p99_ms:.2f}",
             _ratio_text(bare.cached.ratios(floor.cached)), "1", "", "", "", ""]]
    missed = []
    for result in results:
        name, problems = result.page.name, []
        cached = quartiles(result.cached.ratios(floor.cached))[1]
        if cached > MAX_CACHED_RATIO:
            problems.append(f"cached p50 is {cached:.2f}× the raw floor (target ≤ {MAX_CACHED_RATIO}×)")
        if result.cached.p99_ms > MAX_P99_MS:
            problems.append(f"cached p99 is {result.cached.p99_ms:.1f} ms (target ≤ {MAX_P99_MS:.0f} ms)")
        row = [name, f"{result.cached.p50_ms:.2f}", f"{result.cached.p99_ms:.2f}",
               _ratio_text(result.cached.ratios(floor.cached)),
               f"{quartiles(result.cached.ratios(bare.cached))[1]:.2f}"]
        if result.page.fresh and result.fresh.times:
            fresh = quartiles(result.fresh.ratios(floor.cached))[1]
            if fresh > MAX_FRESH_RATIO or result.fresh.p50_ms > MAX_FRESH_MS:
                problems.append(f"first view after a change: p50 {result.fresh.p50_ms:.1f} ms, {fresh:.2f}× the raw "
                                f"floor (target ≤ {MAX_FRESH_RATIO}× and ≤ {MAX_FRESH_MS:.0f} ms)")
            if result.fresh.p99_ms > MAX_P99_MS:
                problems.append(f"first view after a change: p99 {result.fresh.p99_ms:.1f} ms "
                                f"(target ≤ {MAX_P99_MS:.0f} ms)")
            row += [f"{result.fresh.p50_ms:.2f}", f"{result.fresh.p99_ms:.2f}",
                    _ratio_text(result.fresh.ratios(floor.cached))]
        else:
            row += ["", "", ""]
        row.append("pass" if not problems else "FAIL")
        rows.append(row)
        missed += [f"{name}: {problem}" for problem in problems]
    return rows, missed


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(headers) + " |", "|---|" + "---:|" * (len(headers) - 1),
            *["| " + " | ".join(r) + " |" for r in rows]]
