"""The user's exports: status fragments that poll until final, the list, downloads (refused
once expired), and sending a collection file to an agency."""
from flask import Blueprint, abort, current_app, render_template, request, send_from_directory
from flask_babel import gettext as _
from flask_login import current_user

from blueprints._web.events import EXPORT_CHANGED
from blueprints._web.views import found, fragment, permission_required, render_view
from domain import exports as export_rules
from domain import notifications as notification_rules
from domain.collection import agency as agency_rules
from domain.collection.agency import SendRefused
from domain.i18n import day as short_day
from domain.ledger import queries
from domain.ledger.queries import parse_filters
from domain.listing import whole_number
from domain.models import CollectionAgency
from extensions import db
from jobs.base import export_path
from jobs.collection import agency_send_state, enqueue_send_to_agency
from jobs.exports import enqueue_export

bp = Blueprint("exports", __name__, url_prefix="/exports")


@bp.app_template_global()
def export_expired(export) -> bool:
    return notification_rules.is_expired(export)


@bp.app_template_global()
def export_expires_at(export):
    return notification_rules.expires_at_of(export)


@bp.app_template_global()
def export_label(export) -> str:
    return notification_rules.export_label(export)


def _export_or_404(export_id: int):
    # Someone else's export is "not found", not "forbidden": its existence is nobody else's business.
    return found(export_rules.visible_export(db.session, current_user, export_id), _("There is no such export."))


@bp.get("/")
@permission_required("read")
def index():
    exports = export_rules.user_exports(db.session, current_user)
    return render_template("exports/index.html", exports=exports, kinds=export_rules.KINDS,
                           cases=agency_rules.cases_by_export(db.session, exports))


@bp.post("/balances")
@permission_required("read")
def balances():
    """Excel export of the filtered Who owes you what? view, built in the worker."""
    filters = parse_filters(request.form, tuple(queries.BALANCE_SORTS))
    export, is_new = export_rules.request_export(db.session, current_user, "balances_xlsx",
                                                 filters.query_args(page=1))
    db.session.commit()
    if is_new:
        enqueue_export(export.id)
    return render_view("exports/_status.html", "exports/_status.html", export=export)


@bp.get("/<int:export_id>/status")
@permission_required("read")
def status(export_id):
    export = _export_or_404(export_id)
    html = render_template("exports/_status.html", export=export,
                           cases=agency_rules.cases_by_export(db.session, [export]))
    return fragment(html, events=(EXPORT_CHANGED,) if export.is_final else ())


@bp.post("/<int:export_id>/retry")
@permission_required("read")
def retry(export_id):
    export = _export_or_404(export_id)
    if export.status == "failed":
        export.status, export.progress, export.shown_message, export.finished_at = "queued", 0, None, None
        db.session.commit()
        enqueue_export(export.id)
    return render_template("exports/_status.html", export=export)


@bp.get("/<int:export_id>/download")
@permission_required("read")
def download(export_id):
    export = _export_or_404(export_id)
    if export.status != "ready" or not export.filename:
        abort(404, description=_("This export is not ready."))
    if notification_rules.is_expired(export):
        abort(410, description=_("This export expired on %(day)s and its file was deleted: make the export again.",
                                 day=short_day(notification_rules.expires_at_of(export))))
    directory = export_path(export)
    if not (directory / export.filename).is_file():
        abort(404, description=_("This export's file is no longer available."))
    current_app.logger.info("Export %s downloaded by %s", export.id, current_user.email)
    return send_from_directory(directory, export.filename, as_attachment=True)


# --- Send to agency ----------------------------------------------------------------------------

def _agency_fragment(export, case, state: str, **context):
    return render_template("exports/_agency_send.html", export=export, case=case, state=state, **context)


@bp.get("/<int:export_id>/agency")
@permission_required("read")
def agency_dialog(export_id):
    """Choose the agency, or the reason the file cannot go to one."""
    export = _export_or_404(export_id)
    case = agency_rules.case_of_export(db.session, export)
    try:
        agency_rules.check_send(db.session, current_user, export, case, agency_chosen=False)
    except SendRefused as refusal:
        return _agency_fragment(export, case, "refused", message=str(refusal))
    return _agency_fragment(export, case, "choose", agencies=agency_rules.active_agencies(db.session))


@bp.post("/<int:export_id>/agency")
@permission_required("read")
def send_to_agency(export_id):
    export = _export_or_404(export_id)
    case = agency_rules.case_of_export(db.session, export)
    agency_id = request.form.get("agency_id", "")
    agency = db.session.get(CollectionAgency, number) if (number := whole_number(agency_id)) is not None else None
    try:
        agency_rules.check_send(db.session, current_user, export, case, agency)
    except SendRefused as refusal:
        return _agency_fragment(export, case, "choose", message=str(refusal),
                                agencies=agency_rules.active_agencies(db.session))
    queued = enqueue_send_to_agency(case.id, agency.id, current_user.id)
    return _agency_fragment(export, case, "sending", agency=agency,
                            message=None if queued else _("This file is already on its way to an agency."))


@bp.get("/<int:export_id>/agency/status")
@permission_required("read")
def agency_status(export_id):
    """Where the hand-off stands; polled while it is on its way."""
    export = _export_or_404(export_id)
    case = agency_rules.case_of_export(db.session, export)
    state, message = agency_send_state(case.id) if case is not None else (None, None)
    html = _agency_fragment(export, case, state or "offer", message=message)
    return fragment(html, events=(EXPORT_CHANGED,) if state in ("sent", "failed") else ())
