"""Who owes you what?, due dates and search."""
from flask import Blueprint, redirect, request, url_for

from blueprints._web.views import permission_required, render_view
from domain.ledger import queries
from domain.ledger.aging import BUCKETS
from domain.ledger.queries import parse_filters
from extensions import db

bp = Blueprint("receivables", __name__)


@bp.get("/")
@permission_required("read")
def balances():
    filters = parse_filters(request.args, tuple(queries.BALANCE_SORTS))
    page = queries.balances(db.session, filters)
    return render_view("receivables/balances.html", "receivables/_balances.html", kept_with=page,
                       filters=filters, page=page, buckets=BUCKETS, default_sort=queries.BALANCE_DEFAULT_SORT)


@bp.get("/due-dates")
@permission_required("read")
def due_dates():
    filters = parse_filters(request.args, tuple(queries.DUE_SORTS))
    page = queries.due_entries(db.session, filters)
    return render_view("receivables/due_dates.html", "receivables/_due_dates.html", kept_with=page,
                       filters=filters, page=page, buckets=BUCKETS)


@bp.get("/search")
@permission_required("read")
def search():
    text = request.args.get("q", "").strip()[:100]  # the field holds 100; a longer URL was typed or pasted
    result = queries.search(db.session, text)
    single = result.single_customer
    if single is not None and not request.htmx:
        return redirect(url_for("customers.account_status", account=single.account))
    return render_view("receivables/search.html", "receivables/_search_results.html", q=text, result=result)
