"""Invoice PDFs: attach one to an entry from its row, upload a .zip of them, download one."""
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, send_from_directory,
                   url_for)
from flask_login import current_user

from domain.documents import (MAX_DOCUMENT_BYTES, DocumentError, DocumentImportError, attach_document_once,
                              display_name, document_path, import_document_zip)
from domain.models import Document, Entry
from extensions import db
from web import permission_required, render_view, wants_fragment

bp = Blueprint("documents", __name__)

# The account page refreshes its history panel on this event (see blueprints/customers).
ACCOUNT_CHANGED = "accountChanged"
SHOWN_LINES = 500  # a huge archive's report lists its first files; the command line lists them all


def _directory() -> str:
    return current_app.config["DOCUMENT_DIR"]


def _upload_context(**context) -> dict:
    return {"report": None, "problem": None, "shown_lines": SHOWN_LINES,
            "max_mb": MAX_DOCUMENT_BYTES // (1024 * 1024), **context}


@bp.get("/documents/upload")
@permission_required("edit")
def upload_page():
    return render_template("documents_upload/index.html", **_upload_context())


@bp.post("/documents/upload")
@permission_required("edit")
def upload_zip():
    upload = request.files.get("file")
    report, problem = None, None
    if upload is None or not upload.filename:
        problem = "Choose a .zip file of invoice PDFs."
    else:
        try:
            report = import_document_zip(db.session, upload.stream, current_user._get_current_object(),
                                         directory=_directory(), zip_name=display_name(upload.filename))
        except DocumentImportError as error:
            problem = str(error)
    if report is not None:
        db.session.commit()
    else:
        db.session.rollback()
    response = render_view("documents_upload/index.html", "documents_upload/_report.html",
                           **_upload_context(report=report, problem=problem))
    # htmx swaps only 2xx answers: the fragment says what is wrong with a 200, the full page with a 400.
    if (problem is not None or not report.ok) and not wants_fragment():
        response.status_code = 400
    return response


@bp.post("/entries/<int:entry_id>/documents")
@permission_required("edit")
def attach(entry_id):
    """One PDF from the entry's row on the account status; answers the row."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        abort(404, description="This entry does not exist (any more).")
    upload = request.files.get("file")
    notice, error = None, None
    if upload is None or not upload.filename:
        error = "Choose the invoice PDF to attach."
    else:
        try:
            document, is_new = attach_document_once(db.session, entry, upload.filename,
                                                    upload.read(MAX_DOCUMENT_BYTES + 1),
                                                    current_user._get_current_object(), directory=_directory())
            db.session.commit()
            notice = f"{document.filename} attached." if is_new else f"{document.filename} was already attached."
        except DocumentError as problem:
            db.session.rollback()
            error = str(problem)
    if not wants_fragment():
        flash(error or notice, "error" if error else "info")
        return redirect(url_for("customers.account_status", account=entry.customer.account) + f"#entry-{entry.id}")
    html = render_template("customers/_entry_row.html", entry=entry, customer=entry.customer,
                           document_notice=notice, document_error=error)
    headers = {"Vary": "HX-Request"}
    if notice:
        headers["HX-Trigger"] = ACCOUNT_CHANGED
    return html, 200, headers


@bp.get("/documents/<int:document_id>")
@permission_required("read")
def download(document_id):
    document = db.session.get(Document, document_id)
    if document is None or not document_path(_directory(), document).is_file():
        abort(404, description="This document is not available.")
    # Always as a download: the bytes came from a user, the browser should not render them in our origin.
    return send_from_directory(_directory(), document.storage_name, mimetype="application/pdf",
                               as_attachment=True, download_name=document.filename)
