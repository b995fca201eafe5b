"""Upload a customers, entries or payments file, or an FEC: check it (a dry run) or import it, all or nothing."""
from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from blueprints._web.views import permission_required, render_view, wants_fragment
from domain.imports.fec import DEFAULT_CUSTOMER_ACCOUNTS, import_fec, parse_accounts
from domain.imports.receivables import COLUMNS, CONCURRENT_CHANGE, DECIMAL_MARKS, KINDS, ImportFileError, import_file
from domain.listing import whole_number
from extensions import db

bp = Blueprint("imports", __name__, url_prefix="/imports")

LABELS = {
    "customers": _l("Customers"),
    "entries": _l("Invoices and credit notes"),
    "payments": _l("Payments (bank export)"),
}
SHOWN_ERRORS = 500  # a broken 100,000-line file needs its first errors, not a 100,000-row page


def _page_context(**context) -> dict:
    return {"kinds": KINDS, "labels": LABELS, "columns": COLUMNS, "shown_errors": SHOWN_ERRORS,
            "kind": "entries", "report": None, "problem": None, "fec": None, "fec_problem": None,
            "fec_form": {"accounts": ", ".join(DEFAULT_CUSTOMER_ACCOUNTS), "terms_days": "", "apply_on_account": False},
            **context}


@bp.get("/")
@permission_required("edit")
def index():
    kind = request.args.get("kind")
    return render_template("imports/index.html", **_page_context(kind=kind if kind in KINDS else "entries"))


@bp.post("/")
@permission_required("edit")
def upload():
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    dry_run = request.form.get("action") != "import"  # anything but an explicit Import only checks
    report, problem = None, None
    if kind not in KINDS:
        problem = _("Choose what the file holds: customers, invoices and credit notes, or payments.")
    elif upload is None or not upload.filename:
        problem = _("Choose a .csv or .xlsx file.")
    else:
        try:
            mark = request.form.get("decimal_mark")
            mapping = {column: request.form.get(f"map_{column}", "").strip() for column in COLUMNS[kind].all
                       if f"map_{column}" in request.form}
            report = import_file(db.session, kind, upload.stream, upload.filename, dry_run=dry_run,
                                 actor=current_user._get_current_object(),
                                 decimal_mark=mark if mark in DECIMAL_MARKS else None, mapping=mapping or None)
        except ImportFileError as error:
            problem = str(error)
    if report is not None and report.written:
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            report, problem = None, CONCURRENT_CHANGE
    else:
        db.session.rollback()
    response = render_view("imports/index.html", "imports/_result.html",
                           **_page_context(kind=kind if kind in KINDS else "entries", report=report, problem=problem))
    # htmx swaps only 2xx answers: the fragment says what is wrong with a 200, the full page with a 400.
    if (problem is not None or not report.ok) and not wants_fragment():
        response.status_code = 400
    return response


@bp.post("/fec")
@permission_required("edit")
def upload_fec():
    upload = request.files.get("file")
    dry_run = request.form.get("action") != "import"
    form = {"accounts": request.form.get("accounts", "").strip() or ", ".join(DEFAULT_CUSTOMER_ACCOUNTS),
            "terms_days": request.form.get("terms_days", "").strip(),
            "apply_on_account": request.form.get("apply_on_account") == "1"}
    report, problem, accounts, terms_days = None, None, DEFAULT_CUSTOMER_ACCOUNTS, None
    try:
        accounts = parse_accounts(form["accounts"])
    except ValueError as error:
        problem = _("Customer accounts: %(error)s.", error=error)
    if form["terms_days"]:
        terms_days = whole_number(form["terms_days"], 10_000)
        terms_days = -1 if terms_days is None else terms_days
        if not 0 <= terms_days <= 365:
            problem = _("Payment terms: a number of days from 0 to 365.")
    if problem is None and (upload is None or not upload.filename):
        problem = _("Choose the FEC file (.txt or .csv).")
    if problem is None:
        try:
            report = import_fec(db.session, upload.stream, upload.filename, dry_run=dry_run,
                                actor=current_user._get_current_object(), terms_days=terms_days, accounts=accounts,
                                apply_on_account=form["apply_on_account"])
        except ImportFileError as error:
            problem = str(error)
    if report is not None and report.written:
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            report, problem = None, CONCURRENT_CHANGE
    else:
        db.session.rollback()
    response = render_view("imports/index.html", "imports/_fec_result.html",
                           **_page_context(fec=report, fec_problem=problem, fec_form=form))
    if (problem is not None or not report.ok) and not wants_fragment():
        response.status_code = 400
    return response
