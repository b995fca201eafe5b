"""The raw floor of `make bench`: what a page costs on this machine with nothing of Relance in it.

A plain Flask app, no login, no session, no layout, no database: one route rendering a 50-row,
11-column table (the width of the receivables tables) from a fixed list with a Jinja template
compiled once at import. It runs under the same gunicorn settings as Relance (`bench.run` starts both),
so a page's p50 divided by this one's is what Relance adds, all of it: login, session, CSRF, layout,
queries, formatting.

    gunicorn 'bench.floor:app' --workers 3 --threads 4 --worker-class gthread
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from jinja2 import Environment

app = Flask(__name__)

_START = date(2026, 1, 5)
# Amounts and dates already written as text: the floor formats nothing per request.
ROWS = tuple(
    {
        "account": f"C{n:06d}",
        "name": f"Customer {n:03d} SARL",
        "amounts": tuple(f"€{((12_345 * n + 99 * k) * (k % 3)) / 100:,.2f}" for k in range(1, 6)),
        "total": f"€{(12_345 * n + 99) / 100:,.2f}",
        "level": n % 6,
        "due": (_START + timedelta(days=7 * n)).strftime("%d/%m/%Y"),
    }
    for n in range(1, 51)
)

TEMPLATE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Floor</title></head><body>
<table>
<thead><tr><th>Customer</th><th>Account</th><th>Not due</th><th>1–30</th><th>31–60</th><th>61–90</th><th>&gt; 90</th>
<th>Total</th><th>Level</th><th>Due date</th><th>Markers</th></tr></thead>
<tbody>
{% for row in rows %}<tr><td><a href="/customers/{{ row.account }}">{{ row.name }}</a></td><td>{{ row.account }}</td>
{% for amount in row.amounts %}<td>{{ amount }}</td>{% endfor %}<td>{{ row.total }}</td>
<td>{% if row.level %}R{{ row.level }}{% endif %}</td><td>{{ row.due }}</td><td>{% if row.level == 5 %}⚖{% endif %}</td></tr>
{% endfor %}</tbody>
</table>
</body></html>""")


@app.get("/floor")
def floor():
    return TEMPLATE.render(rows=ROWS)
