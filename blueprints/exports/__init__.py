"""The user's exports: status fragments that poll until final, the list, and downloads."""
from flask import Blueprint, abort, current_app, render_template, send_from_directory
from flask_login import current_user

from domain import exports as export_rules
from extensions import db
from jobs import enqueue_export, export_path
from web import permission_required

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _export_or_404(export_id: int):
    # Someone else's export is "not found", not "forbidden": its existence is nobody else's business.
    export = export_rules.visible_export(db.session, current_user, export_id)
    if export is None:
        abort(404, description="There is no such export.")
    return export


@bp.get("/")
@permission_required("read")
def index():
    return render_template("exports/index.html", exports=export_rules.user_exports(db.session, current_user),
                           kinds=export_rules.KINDS)


@bp.get("/<int:export_id>/status")
@permission_required("read")
def status(export_id):
    return render_template("exports/_status.html", export=_export_or_404(export_id))


@bp.post("/<int:export_id>/retry")
@permission_required("read")
def retry(export_id):
    export = _export_or_404(export_id)
    if export.status == "failed":
        export.status, export.progress, export.message, export.finished_at = "queued", 0, None, None
        db.session.commit()
        enqueue_export(export.id)
    return render_template("exports/_status.html", export=export)


@bp.get("/<int:export_id>/download")
@permission_required("read")
def download(export_id):
    export = _export_or_404(export_id)
    if export.status != "ready" or not export.filename:
        abort(404, description="This export is not ready.")
    directory = export_path(export)
    if not (directory / export.filename).is_file():
        abort(404, description="This export's file is no longer available.")
    current_app.logger.info("Export %s downloaded by %s", export.id, current_user.email)
    return send_from_directory(directory, export.filename, as_attachment=True)
