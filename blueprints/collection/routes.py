"""The Collection page: entries in collection with their case and file, the case status control,
and its Excel export."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints._web.views import fragment, permission_required, render_view, wants_fragment
from domain import exports as export_rules
from domain.collection import cases
from domain.collection.cases import CaseError
from domain.models import CASE_STATUS_LABELS, CASE_STATUSES
from extensions import db
from jobs.exports import enqueue_export

bp = Blueprint("collection", __name__, url_prefix="/collection")

EXPORT_KIND = "collection_xlsx"


def _page_context(**context) -> dict:
    return {"statuses": [(s, CASE_STATUS_LABELS[s]) for s in CASE_STATUSES],
            "default_sort": cases.COLLECTION_DEFAULT_SORT, "status_choices": cases.status_choices, **context}


@bp.get("/")
@permission_required("read")
def index():
    filters = cases.parse_case_filters(request.args)
    page = cases.collection_entries(db.session, filters)
    return render_view("collection/index.html", "collection/_entries.html",
                       **_page_context(filters=filters, page=page, case_sizes=cases.case_sizes(db.session, page.rows)))


@bp.post("/cases/<int:case_id>/status")
@permission_required("edit")
def change_status(case_id):
    """Answers the row the control sits in; the case's other rows follow out of band."""
    entry_id = request.form.get("entry", "")
    entry = cases.collection_entry(db.session, int(entry_id)) if entry_id.isdigit() else None
    if entry is None or entry.collection_case_id != case_id:
        abort(404, description="This entry is not in that collection case (any more).")
    error = None
    try:
        cases.set_case_status(db.session, entry.collection_case, request.form.get("status", ""), current_user)
        db.session.commit()
    except CaseError as problem:
        db.session.rollback()
        error = str(problem)
    if not wants_fragment():
        if error:
            flash(error, "error")
        return redirect(url_for("collection.index"))
    entry = cases.collection_entry(db.session, entry.id)
    others = [e for e in entry.collection_case.entries if e.id != entry.id and e.in_collection]
    html = render_template("collection/_row_changed.html", **_page_context(
        entry=entry, others=others, error=error, case_sizes=cases.case_sizes(db.session, [entry])))
    return fragment(html)


@bp.post("/export")
@permission_required("read")
def export():
    """Excel export of the filtered Collection view, built in the worker."""
    filters = cases.parse_case_filters(request.form)
    export, is_new = export_rules.request_export(db.session, current_user, EXPORT_KIND, filters.query_args(page=1))
    db.session.commit()
    if is_new:
        enqueue_export(export.id)
    return render_view("exports/_status.html", "exports/_status.html", export=export)
