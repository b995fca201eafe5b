"""Benchmark-only pages (registered when BENCH_ROUTES is set, env RELANCE_BENCH=1).

`/bench/bare` is the yardstick of `make bench`: the same layout and login as a real page, and a
50-row table of the width the receivables tables have (eleven cells a row: a link, a code, six
amounts, a level, a date, a marker), formatted with the same filters, from a fixed list — no
database query beyond the login's user load. A real page's time divided by this page's time is
what its own queries, filters and extra markup cost.
"""
from datetime import date, timedelta

from flask import Blueprint, render_template

from blueprints._web.views import permission_required

bp = Blueprint("bench", __name__, url_prefix="/bench")

_START = date(2026, 1, 5)
# A fixed list, built once at import: the page reads it and nothing else.
ROWS = tuple(
    {
        "account": f"C{n:06d}",
        "name": f"Customer {n:03d} SARL",
        "due_date": _START + timedelta(days=7 * n),
        "open_cents": 12_345 * n + 99,
        "amounts": tuple((12_345 * n + 99 * k) * (k % 3) for k in range(1, 6)),
        "currency": "EUR",
        "level": n % 6,
    }
    for n in range(1, 51)
)


@bp.get("/bare")
@permission_required("read")
def bare():
    return render_template("bench/bare.html", rows=ROWS)
