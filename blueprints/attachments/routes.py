"""Invoice PDFs: attach one to an entry from its row, upload a .zip of them, download one."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints._web.events import ACCOUNT_CHANGED
from blueprints._web.views import fragment, get_or_404, permission_required, render_view, wants_fragment
from domain.attachments import (MAX_ATTACHMENT_BYTES, AttachmentError, AttachmentImportError, attach_file_once,
                                attachment_path, display_name, import_attachment_zip)
from domain.models import Attachment, Entry
from extensions import db

bp = Blueprint("attachments", __name__)

SHOWN_LINES = 500  # a huge archive's report lists its first files; the command line lists them all


def _directory() -> str:
    return current_app.config["ATTACHMENT_DIR"]


def _upload_context(**context) -> dict:
    return {"report": None, "problem": None, "shown_lines": SHOWN_LINES,
            "max_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024), **context}


@bp.get("/attachments/upload")
@permission_required("edit")
def upload_page():
    return render_template("attachments/index.html", **_upload_context())


@bp.post("/attachments/upload")
@permission_required("edit")
def upload_zip():
    upload = request.files.get("file")
    report, problem = None, None
    if upload is None or not upload.filename:
        problem = _("Choose a .zip file of invoice PDFs.")
    else:
        try:
            report = import_attachment_zip(db.session, upload.stream, current_user._get_current_object(),
                                         directory=_directory(), zip_name=display_name(upload.filename))
        except AttachmentImportError as error:
            problem = str(error)
    if report is not None:
        db.session.commit()
    else:
        db.session.rollback()
    response = render_view("attachments/index.html", "attachments/_report.html",
                           **_upload_context(report=report, problem=problem))
    # htmx swaps only 2xx answers: the fragment says what is wrong with a 200, the full page with a 400.
    if (problem is not None or not report.ok) and not wants_fragment():
        response.status_code = 400
    return response


@bp.post("/entries/<int:entry_id>/attachments")
@permission_required("edit")
def attach(entry_id):
    """One PDF from the entry's row on the account status; answers the row."""
    entry = get_or_404(Entry, entry_id, _("This entry does not exist (any more)."))
    upload = request.files.get("file")
    notice, error = None, None
    if upload is None or not upload.filename:
        error = _("Choose the invoice PDF to attach.")
    else:
        try:
            attachment, is_new = attach_file_once(db.session, entry, upload.filename,
                                                    upload.read(MAX_ATTACHMENT_BYTES + 1),
                                                    current_user._get_current_object(), directory=_directory())
            db.session.commit()
            notice = (_("%(filename)s attached.", filename=attachment.filename) if is_new
                      else _("%(filename)s was already attached.", filename=attachment.filename))
        except AttachmentError as problem:
            db.session.rollback()
            error = str(problem)
    if not wants_fragment():
        flash(error or notice, "error" if error else "info")
        return redirect(url_for("customers.account_status", account=entry.customer.account) + f"#entry-{entry.id}")
    html = render_template("customers/_entry_row.html", entry=entry, customer=entry.customer,
                           attachment_notice=notice, attachment_error=error)
    return fragment(html, events=(ACCOUNT_CHANGED,) if notice else ())


@bp.get("/attachments/<int:attachment_id>")
@permission_required("read")
def download(attachment_id):
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or not attachment_path(_directory(), attachment).is_file():
        abort(404, description=_("This attachment is not available."))
    # Always as a download: the bytes came from a user, the browser should not render them in our origin.
    return send_from_directory(_directory(), attachment.storage_name, mimetype="application/pdf",
                               as_attachment=True, download_name=attachment.filename)
