"""Disputes: opened on ticked entries from the account status, worked on their own page (notes and
files, status, owner, follow-up date, resolution), listed on /disputes."""
from datetime import date
from pathlib import Path

from flask import Blueprint, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from blueprints._web.events import ACCOUNT_CHANGED, ENTRIES_CHANGED
from blueprints._web.views import (customer_or_404, found, fragment, get_or_404, permission_required, render_view,
                                   wants_fragment)
from domain import clock
from domain import exports as export_rules
from domain.ledger import disputes
from domain.ledger.disputes import DisputeError
from domain.listing import whole_number
from domain.models import (DISPUTE_OUTCOMES, DISPUTE_REASONS, DISPUTE_STATUSES, Contact, Dispute, DisputeEvent, Entry,
                           User)
from domain.money import AmountError, parse_amount, plain
from extensions import db
from jobs.exports import enqueue_export

bp = Blueprint("disputes", __name__)


def _dispute_or_404(dispute_id: int) -> Dispute:
    return get_or_404(Dispute, dispute_id, _("This dispute does not exist."))


def _file_dir() -> Path:
    return Path(current_app.config["ATTACHMENT_DIR"]) / "disputes"


def _users() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name, User.email)))


def _day(text: str | None, label: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DisputeError(_("%(label)s: %(text)s is not a date.", label=label, text=repr(text))) from None


def _user_id(text: str | None) -> int | None:
    text = (text or "").strip()
    return whole_number(text)


# --- opening one, from the account status ------------------------------------------------------

def _open_dialog(customer, entries, error=None, form=None, status=200):
    contacts = list(db.session.scalars(select(Contact).where(Contact.customer_id == customer.id).order_by(Contact.name)))
    html = render_template("disputes/_open_dialog.html", customer=customer, entries=entries, error=error,
                           form=form or {"owner": str(current_user.id)}, reasons=DISPUTE_REASONS,
                           contacts=contacts, users=_users())
    return fragment(html, status)


def _ticked(customer) -> list[Entry]:
    ids = [number for value in request.values.getlist("entry") if (number := whole_number(value)) is not None]
    if not ids:
        return []
    return list(db.session.scalars(select(Entry).where(Entry.id.in_(ids), Entry.customer_id == customer.id)
                                   .order_by(Entry.due_date, Entry.number)))


@bp.get("/customers/<account>/disputes/new")
@permission_required("edit")
def new(account):
    customer = customer_or_404(account)
    entries = _ticked(customer)
    if not entries:
        return _open_dialog(customer, [], error=_("Tick the entries the customer disputes, then open the dispute."))
    return _open_dialog(customer, entries)


@bp.get("/disputes/new")
@permission_required("edit")
def new_for_entry():
    """The same dialog for entries given by id (`?entry=…`), the customer found from the first: the
    Due dates rows, of many customers, need one URL for every row."""
    first = next((number for value in request.values.getlist("entry") if (number := whole_number(value)) is not None),
                 None)
    entry = found(db.session.get(Entry, first) if first else None, _("This entry does not exist: reload the page."))
    return _open_dialog(entry.customer, _ticked(entry.customer))


@bp.post("/customers/<account>/disputes")
@permission_required("edit")
def open_dispute(account):
    customer = customer_or_404(account)
    entries = _ticked(customer)
    form = request.form
    try:
        dispute = disputes.open_dispute(
            db.session, current_user, customer, [entry.id for entry in entries], form.get("reason", ""),
            note=form.get("note", ""), contact_id=_user_id(form.get("contact")),
            follow_up_on=_day(form.get("follow_up_on"), _("Follow up on")), owner_id=_user_id(form.get("owner")))
        db.session.commit()
    except DisputeError as problem:
        db.session.rollback()
        return _open_dialog(customer, entries, error=str(problem), form=form,
                            status=200 if wants_fragment() else 400)
    html = render_template("disputes/_opened.html", dispute=dispute)
    return fragment(html, events=(ACCOUNT_CHANGED, ENTRIES_CHANGED))


@bp.get("/customers/<account>/disputes")
@permission_required("read")
def of_customer(account):
    """The account status's Disputes panel (redrawn when the account changes)."""
    customer = customer_or_404(account)
    return render_template("disputes/_of_customer.html", customer=customer,
                           disputes=disputes.disputes_of(db.session, customer))


# --- the list --------------------------------------------------------------------------------

@bp.get("/disputes")
@permission_required("read")
def index():
    filters = disputes.parse_filters(request.args)
    rows, total = disputes.dispute_rows(db.session, filters)
    pages = max(1, -(-total // disputes.PAGE_SIZE))
    if filters.page > pages:  # past the end: the last page
        return redirect(url_for("disputes.index", **{**filters.as_args(), "page": pages}))
    return render_template("disputes/index.html", rows=rows, total=total, filters=filters, pages=pages,
                           reasons=DISPUTE_REASONS, statuses=DISPUTE_STATUSES, users=_users(),
                           stale_days=disputes.stale_days(db.session))


@bp.post("/disputes/export")
@permission_required("read")
def export():
    """Excel export of the filtered Disputes view, built in the worker."""
    filters = disputes.parse_filters(request.form)
    export, is_new = export_rules.request_export(db.session, current_user, "disputes_xlsx", filters.as_args())
    db.session.commit()
    if is_new:
        enqueue_export(export.id)
    return render_view("exports/_status.html", "exports/_status.html", export=export)


# --- one dispute -----------------------------------------------------------------------------

def _page(dispute: Dispute, error: str | None = None, failed: bool = False, notice: str | None = None):
    context = {"dispute": dispute, "error": error, "notice": notice, "reasons": DISPUTE_REASONS,
               "statuses": DISPUTE_STATUSES, "outcomes": DISPUTE_OUTCOMES, "users": _users(),
               "today": clock.today(), "open_cents": sum(entry.balance_cents for entry in dispute.entries),
               "currency": dispute.entries[0].currency if dispute.entries else "EUR",
               "invoice_open_cents": sum(e.open_cents for e in dispute.entries if e.kind == "invoice"),
               "plain": plain}
    if wants_fragment():
        return fragment(render_template("disputes/_dispute.html", status_out_of_band=True, **context),
                        events=() if failed else (ACCOUNT_CHANGED, ENTRIES_CHANGED))
    if failed:
        return render_template("disputes/page.html", **context), 400
    return render_template("disputes/page.html", **context)


def _done(dispute: Dispute, notice: str):
    """After a change: the fragment for htmx, else back to the page (a reload does not post twice)."""
    if wants_fragment():
        return _page(dispute, notice=notice)
    return redirect(url_for("disputes.show", dispute_id=dispute.id))


@bp.get("/disputes/<int:dispute_id>")
@permission_required("read")
def show(dispute_id):
    return _page(_dispute_or_404(dispute_id))


def _change(dispute_id: int, change, notice: str):
    dispute = _dispute_or_404(dispute_id)
    try:
        change(dispute)
        db.session.commit()
    except (DisputeError, AmountError) as problem:
        db.session.rollback()
        return _page(db.session.get(Dispute, dispute_id), error=str(problem), failed=True)
    return _done(dispute, notice)


@bp.post("/disputes/<int:dispute_id>/notes")
@permission_required("edit")
def add_note(dispute_id):
    upload = request.files.get("file")
    file = (upload.filename, upload.read()) if upload is not None and upload.filename else None
    return _change(dispute_id, lambda dispute: disputes.add_note(
        db.session, current_user, dispute, request.form.get("text", ""), file=file, directory=_file_dir()),
        _("Note added."))


@bp.post("/disputes/<int:dispute_id>/status")
@permission_required("edit")
def set_status(dispute_id):
    def change(dispute):
        disputes.set_status(db.session, current_user, dispute, request.form.get("status", ""))
        disputes.assign(db.session, current_user, dispute, _user_id(request.form.get("owner")))
        disputes.set_follow_up(db.session, current_user, dispute,
                               _day(request.form.get("follow_up_on"), _("Follow up on")))
    return _change(dispute_id, change, _("Saved."))


@bp.post("/disputes/<int:dispute_id>/resolve")
@permission_required("edit")
def resolve(dispute_id):
    def change(dispute):
        outcome = request.form.get("outcome", "")
        amount = (request.form.get("credit_note", "") or "").strip()
        cents = parse_amount(amount) if outcome == "justified" and amount else None
        disputes.resolve(db.session, current_user, dispute, outcome, note=request.form.get("note", ""),
                         credit_note_cents=cents)
    return _change(dispute_id, change, _("Resolved."))


@bp.post("/disputes/<int:dispute_id>/credit-note")
@permission_required("edit")
def credit_note(dispute_id):
    def change(dispute):
        disputes.record_credit_note(db.session, current_user, dispute, request.form.get("number", ""),
                                    _day(request.form.get("issue_date"), _("Issued on")) or clock.today(),
                                    parse_amount(request.form.get("amount", "")))
    return _change(dispute_id, change, _("Credit note recorded."))


@bp.get("/disputes/<int:dispute_id>/files/<int:event_id>")
@permission_required("read")
def file(dispute_id, event_id):
    event = found(db.session.scalar(select(DisputeEvent).where(DisputeEvent.id == event_id,
                                                               DisputeEvent.dispute_id == dispute_id,
                                                               DisputeEvent.storage_name.is_not(None))),
                  _("This file does not exist."))
    path = _file_dir() / event.storage_name
    found(path if path.is_file() else None, _("This file is missing from the server."))
    return send_file(path, mimetype=disputes.file_type(event), as_attachment=True, download_name=event.filename)
