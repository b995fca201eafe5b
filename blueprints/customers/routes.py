"""One customer's account status, and the switches on it (collection mark, stop reminders)."""
from datetime import date

from flask import Blueprint, render_template, request
from flask_login import current_user

from blueprints._web.events import ACCOUNT_CHANGED, ENTRIES_CHANGED
from blueprints._web.views import customer_or_404, fragment, get_or_404, permission_required, render_view
from domain import audit
from domain.collection import files as collection_files
from domain.collection import marks
from domain.collection.files import CollectionFileError
from domain.collection.marks import FlagError
from domain.ledger import queries
from domain.models import Entry
from extensions import db
from jobs.base import require_background
from jobs.exports import enqueue_export

bp = Blueprint("customers", __name__)



def _entry_or_404(entry_id: int) -> Entry:
    return get_or_404(Entry, entry_id, "This entry does not exist (any more).")


def _until(text: str | None) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FlagError(f"{text!r} is not a date.") from None


def _changed(response_html: str):
    """A fragment plus the event that refreshes the balance and history panels."""
    return fragment(response_html, events=(ACCOUNT_CHANGED,))


@bp.get("/customers/<account>")
@permission_required("read")
def account_status(account):
    customer = customer_or_404(account)
    status = queries.account_status(db.session, customer)
    history = audit.timeline(db.session, customer.id)
    return render_view("customers/account.html", "customers/account.html", status=status, history=history)


@bp.get("/customers/<account>/history")
@permission_required("read")
def history(account):
    customer = customer_or_404(account)
    return render_template("customers/_history.html", customer=customer,
                           history=audit.timeline(db.session, customer.id))


@bp.get("/entries/<int:entry_id>/history")
@permission_required("read")
def entry_history(entry_id):
    """One entry's timeline, in the page's dialog."""
    entry = _entry_or_404(entry_id)
    return render_template("customers/_entry_history.html", entry=entry,
                           history=audit.timeline(db.session, entry.customer_id, entry_id=entry.id))


@bp.get("/customers/<account>/balance")
@permission_required("read")
def balance(account):
    customer = customer_or_404(account)
    return render_template("customers/_balance.html", status=queries.account_status(db.session, customer))


@bp.get("/customers/<account>/stop-reminders")
@permission_required("read")
def customer_stop(account):
    """The customer's stop-reminders switch, redrawn when something else changed it (a collection file)."""
    return fragment(render_template("customers/_customer_stop.html", customer=customer_or_404(account), error=None))


@bp.post("/customers/<account>/stop-reminders")
@permission_required("edit")
def customer_stop_reminders(account):
    customer = customer_or_404(account)
    error = None
    try:
        marks.set_reminders_stopped(db.session, customer, current_user, request.form.get("stopped") == "1",
                                         request.form.get("reason"), _until(request.form.get("until")))
        db.session.commit()
    except FlagError as problem:
        db.session.rollback()
        error = str(problem)
    html = render_template("customers/_customer_stop.html", customer=customer, error=error)
    return _changed(html) if error is None else html


@bp.post("/entries/<int:entry_id>/stop-reminders")
@permission_required("edit")
def entry_stop_reminders(entry_id):
    entry = _entry_or_404(entry_id)
    error = None
    try:
        marks.set_reminders_stopped(db.session, entry, current_user, request.form.get("stopped") == "1",
                                         request.form.get("reason"), _until(request.form.get("until")))
        db.session.commit()
    except FlagError as problem:
        db.session.rollback()
        error = str(problem)
    html = render_template("customers/_entry_row.html", entry=entry, customer=entry.customer, error=error)
    return _changed(html) if error is None else html


@bp.post("/entries/<int:entry_id>/collection-mark/remove")
@permission_required("remove_collection_mark")
def remove_collection_mark(entry_id):
    entry = _entry_or_404(entry_id)
    removed = marks.remove_collection_mark(db.session, entry, current_user, request.form.get("reason"))
    db.session.commit()
    if not removed:  # e.g. already removed from another tab: say so, change nothing
        return render_template("customers/_entry_row.html", entry=entry, customer=entry.customer,
                               notice="This entry is no longer in collection.")
    return _changed(render_template("customers/_entry_row.html", entry=entry, customer=entry.customer,
                                    notice="Collection mark removed. The stop-reminders switch is unchanged."))


@bp.get("/customers/<account>/entries")
@permission_required("read")
def entries(account):
    customer = customer_or_404(account)
    return render_template("customers/_entries.html", status=queries.account_status(db.session, customer),
                           customer=customer)


def _ticked_entry_ids() -> list[int]:
    return [int(value) for value in request.values.getlist("entry") if value.isdigit()]


@bp.get("/customers/<account>/collection-file")
@permission_required("edit")
def collection_file_dialog(account):
    """The dialog: what the file will hold, and the two options (both on by default)."""
    customer = customer_or_404(account)
    try:
        entries = collection_files.selected_entries(db.session, customer, _ticked_entry_ids())
        error = None
    except CollectionFileError as problem:
        entries, error = [], str(problem)
    return render_template("customers/_collection_file_dialog.html", customer=customer, entries=entries, error=error)


@bp.post("/customers/<account>/collection-file")
@permission_required("edit")
def start_collection_file(account):
    customer = customer_or_404(account)
    require_background()  # before reminders are stopped or entries handed over
    try:
        started = collection_files.start_collection_file(
            db.session, current_user, customer, _ticked_entry_ids(),
            stop_reminders=request.form.get("stop_reminders") == "1",
            mark_in_collection=request.form.get("mark_in_collection") == "1")
    except CollectionFileError as problem:
        db.session.rollback()
        return render_template("customers/_collection_file_dialog.html", customer=customer, entries=[],
                               error=str(problem))
    db.session.commit()
    if started.is_new:
        enqueue_export(started.export.id)
    html = render_template("customers/_collection_file_started.html", customer=customer, export=started.export)
    return fragment(html, events=(ACCOUNT_CHANGED, ENTRIES_CHANGED))
