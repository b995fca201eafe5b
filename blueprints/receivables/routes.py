"""Who owes you what?, due dates and search."""
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints._web.views import permission_required, render_view
from domain import exports as export_rules
from domain.ledger import queries
from domain.ledger.queries import parse_filters
from domain.ledger.aging import BUCKETS
from domain.reminders import bulk
from extensions import db
from jobs.exports import enqueue_export

bp = Blueprint("receivables", __name__)


@bp.get("/")
@permission_required("read")
def balances():
    filters = parse_filters(request.args, tuple(queries.BALANCE_SORTS))
    page = queries.balances(db.session, filters)
    return render_view("receivables/balances.html", "receivables/_balances.html",
                       filters=filters, page=page, buckets=BUCKETS, default_sort=queries.BALANCE_DEFAULT_SORT)


@bp.get("/due-dates")
@permission_required("read")
def due_dates():
    filters = parse_filters(request.args, tuple(queries.DUE_SORTS))
    page = queries.due_entries(db.session, filters)
    return render_view("receivables/due_dates.html", "receivables/_due_dates.html",
                       filters=filters, page=page, buckets=BUCKETS)


@bp.get("/search")
@permission_required("read")
def search():
    text = request.args.get("q", "").strip()
    result = queries.search(db.session, text)
    single = result.single_customer
    if single is not None and not request.htmx:
        return redirect(url_for("customers.account_status", account=single.account))
    return render_view("receivables/search.html", "receivables/_search_results.html", q=text, result=result)


@bp.post("/exports/balances")
@permission_required("read")
def export_balances():
    """Excel export of the filtered Who owes you what? view, built in the worker."""
    filters = parse_filters(request.form, tuple(queries.BALANCE_SORTS))
    export, is_new = export_rules.request_export(db.session, current_user, "balances_xlsx",
                                                 filters.query_args(page=1))
    db.session.commit()
    if is_new:
        enqueue_export(export.id)
    return render_view("exports/_status.html", "exports/_status.html", export=export)


@bp.post("/reminders/bulk")
@permission_required("edit")
def bulk_dunning():
    """Plan reminders to the ticked customers (or all that match the filter), in the worker, each
    with the reminder letter as a PDF when "Attach the reminder letter" is ticked; the status
    fragment polls like an export and ends with the plan to confirm (nothing is sent before)."""
    filters = parse_filters(request.form, tuple(queries.BALANCE_SORTS))
    accounts = sorted({a.strip() for a in request.form.getlist("customer") if a.strip()})
    take_all = request.form.get("all") == "1"
    if not take_all and not accounts:
        return render_template("receivables/_dunning_refused.html",
                               reason="Tick at least one customer, or choose all that match the filter.")
    params = filters.query_args(page=1)
    params.update({"all": "1"} if take_all else {"customer": accounts})
    if request.form.get("letter") == "1":
        params[bulk.LETTER_PARAM] = "1"
    export, is_new = export_rules.request_export(db.session, current_user, "bulk_dunning", params)
    db.session.commit()
    if is_new:
        enqueue_export(export.id)
    return render_view("exports/_status.html", "exports/_status.html", export=export)


def _planned_export(export_id: int):
    export = export_rules.visible_export(db.session, current_user, export_id)
    if export is None or export.kind != bulk.KIND:
        abort(404, description="There are no such reminders.")
    return export


@bp.post("/reminders/bulk/<int:export_id>/confirm")
@permission_required("edit")
def confirm_bulk_dunning(export_id):
    """The user confirmed the plan: the worker sends, to the planned customers only."""
    export = _planned_export(export_id)
    try:
        bulk.confirm(db.session, export, current_user)
    except bulk.PlanError as problem:
        db.session.rollback()
        return render_view("exports/_status.html", "exports/_status.html", export=export, error=str(problem))
    db.session.commit()
    enqueue_export(export.id)
    return render_view("exports/_status.html", "exports/_status.html", export=export)


@bp.post("/reminders/bulk/<int:export_id>/cancel")
@permission_required("edit")
def cancel_bulk_dunning(export_id):
    export = _planned_export(export_id)
    try:
        bulk.cancel(export)
    except bulk.PlanError as problem:
        db.session.rollback()
        return render_view("exports/_status.html", "exports/_status.html", export=export, error=str(problem))
    db.session.commit()
    return render_view("exports/_status.html", "exports/_status.html", export=export)
