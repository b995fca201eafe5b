"""The Collection page: entries in collection with their case and file, the case status control,
and its Excel export; a case's page: its claim, its legal steps and deadlines, the court pack."""
from datetime import date
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints._web.views import fragment, get_or_404, permission_required, render_view, wants_fragment
from domain import clock
from domain import exports as export_rules
from domain.attachments import MAX_ATTACHMENT_BYTES, display_name, is_pdf, store_bytes
from domain.collection import cases, legal
from domain.collection.cases import CaseError
from domain.collection.legal import LegalError
from domain.listing import whole_number
from domain.models import CASE_STATUS_LABELS, CASE_STATUSES, LEGAL_STEPS, CaseTask, CollectionCase, LegalStep
from domain.money import AmountError, parse_amount
from extensions import db
from jobs.base import require_background
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
    entry = cases.collection_entry(db.session, number) if (number := whole_number(entry_id)) is not None else None
    if entry is None or entry.collection_case_id != case_id:
        abort(404, description=_("This entry is not in that collection case (any more)."))
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


# --- One case: its claim, its steps and deadlines, the court pack -----------------------------------

def _case_or_404(case_id: int) -> CollectionCase:
    return get_or_404(CollectionCase, case_id, _("There is no such collection case."))


def _case_page(case, error=None, notice=None, status=200, export=None):
    steps = legal.steps_of(db.session, case)
    try:
        breakdown = legal.claim_breakdown(db.session, case)
    except LegalError as problem:
        breakdown, error = None, error or str(problem)
    notices = legal.notices_of_case(db.session, case)
    html = render_template("collection/case.html", case=case, breakdown=breakdown,
                           steps=steps, tasks=legal.tasks_of(db.session, case),
                           stage=legal.STAGES[legal.stage_of(steps, notices)], kinds=LEGAL_STEPS,
                           notices=notices, error=error, notice=notice,
                           export=export, today=clock.today())
    return html, status


@bp.get("/cases/<int:case_id>")
@permission_required("read")
def case(case_id):
    return _case_page(_case_or_404(case_id))


@bp.post("/cases/<int:case_id>/steps")
@permission_required("edit")
def add_step(case_id):
    """A dated step, with its document (a PDF) and costs; the deadlines it starts become tasks."""
    found = _case_or_404(case_id)
    form, upload = request.form, request.files.get("document")
    stored = None
    directory = Path(current_app.config["ATTACHMENT_DIR"])
    try:
        try:
            on = date.fromisoformat(form.get("on", "").strip())
        except ValueError:
            raise LegalError(_("Give the step's date.")) from None
        costs = parse_amount(form["costs"]) if form.get("costs", "").strip() else 0
        document = None
        if upload is not None and upload.filename:
            data = upload.read(MAX_ATTACHMENT_BYTES + 1)
            if len(data) > MAX_ATTACHMENT_BYTES or not is_pdf(data):
                raise LegalError(_("%(name)s is not a PDF of at most %(size)s MB: nothing was recorded.",
                                   name=display_name(upload.filename), size=MAX_ATTACHMENT_BYTES // (1024 * 1024)))
            stored = store_bytes(directory, data)
            document = (display_name(upload.filename), stored)
        legal.record_step(db.session, current_user, found, form.get("kind", ""), on=on, note=form.get("note", ""),
                          costs_cents=costs, document=document)
        db.session.commit()
    except (LegalError, AmountError) as problem:
        db.session.rollback()
        if stored:
            (directory / stored).unlink(missing_ok=True)
        return _case_page(found, error=str(problem), status=400)
    return redirect(url_for("collection.case", case_id=found.id), 303)


@bp.get("/cases/<int:case_id>/steps/<int:step_id>/document")
@permission_required("read")
def step_document(case_id, step_id):
    step = db.session.get(LegalStep, step_id)
    if step is None or step.case_id != case_id or not step.document_storage:
        abort(404, description=_("This step has no document."))
    return send_file(Path(current_app.config["ATTACHMENT_DIR"]) / step.document_storage, mimetype="application/pdf",
                     as_attachment=True, download_name=step.document_filename)


@bp.post("/cases/<int:case_id>/tasks/<int:task_id>/done")
@permission_required("edit")
def task_done(case_id, task_id):
    found = _case_or_404(case_id)
    task = db.session.get(CaseTask, task_id)
    if task is None or task.case_id != case_id:
        abort(404, description=_("There is no such task."))
    try:
        legal.complete_task(db.session, current_user, task)
        db.session.commit()
    except LegalError as problem:
        db.session.rollback()
        return _case_page(found, error=str(problem), status=400)
    return redirect(url_for("collection.case", case_id=found.id), 303)


@bp.post("/cases/<int:case_id>/court-pack")
@permission_required("edit")
def court_pack(case_id):
    """The court pack is built by the worker; the status follows on the page (and the bell)."""
    found = _case_or_404(case_id)
    require_background()
    export, is_new = export_rules.request_export(db.session, current_user, "court_pack", {"case_id": found.id},
                                                 customer_id=found.customer_id)
    db.session.commit()
    if is_new:
        enqueue_export(export.id)
    return render_view("exports/_status.html", "exports/_status.html", export=export)
