"""Manual reminders from the account status and the due dates: the compose window (e-mail or
letter) for one entry (✉️, @) or for the ticked entries of the customer (grouped follow-up), the
letter PDFs, the status of a queued e-mail, and the Deliveries page listing the messages that failed.

Whatever changes entries' levels answers with HX-Trigger `entriesChanged` (and `accountChanged`):
each page redraws its own list on it."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request, send_file, send_from_directory
from flask_babel import gettext as _
from flask_login import current_user

import jobs.base
import jobs.reminders
from blueprints._web.events import ACCOUNT_CHANGED, ENTRIES_CHANGED, EXPORT_CHANGED
from blueprints._web.views import customer_or_404, found, fragment, get_or_404, permission_required, render_view
from domain import notifications as notification_rules
from domain.ledger import queries
from domain.ledger.queries import parse_filters
from domain.listing import whole_number
from domain.models import Entry, OutboxMessage
from domain.reminders import bulk
from domain.reminders import holds as hold_rules
from domain.reminders import outbox, sending, templates
from domain.reminders.outbox import OutboxError
from domain.reminders.sending import ReminderError
from domain.settings import company as saved_company
from extensions import db

bp = Blueprint("reminders", __name__)

CHANGED = (ACCOUNT_CHANGED, ENTRIES_CHANGED)  # the events of a reminder that changed levels


def _ticked() -> list[int]:
    return [number for value in request.values.getlist("entry") if (number := whole_number(value)) is not None]


def _level() -> int | None:
    text = (request.values.get("level") or "").strip()
    if not text:
        return None
    level = templates.parse_level(text)
    if level is None:
        raise ReminderError(_("%(text)s is not a reminder level.", text=repr(text)))
    return level


def _channel() -> str:
    channel = request.values.get("channel", "email")
    return channel if channel in sending.CHANNELS else "email"


def _attachment_dir() -> Path:
    return Path(current_app.config["ATTACHMENT_DIR"])


def _user():
    return current_user._get_current_object()


def _dialog(customer, entries, channel, *, error=None, draft=None, form=None, dedupe_key=None, level=None):
    """The compose window; what holds the reminder back (stopped, disputed, in collection, a message
    still on its way) is said at the top, and Send becomes "Send anyway" with a reason."""
    if level is None and draft is not None:
        level = draft.level
    holds = hold_rules.holds(db.session, customer, entries, level=level) if entries else []
    html = render_template("reminders/_compose.html", customer=customer, entries=entries, channel=channel,
                           error=error, draft=draft, form=form or {}, levels=templates.LEVELS,
                           level_name=templates.level_name, level_key=templates.level_key,
                           dedupe_key=dedupe_key or secrets.token_urlsafe(18), holds=holds,
                           blocked=any(not h.overridable for h in holds),
                           has_sender=bool((getattr(saved_company(db.session), "sender_email", "") or "").strip()))
    # A refused send answers 409 to anything but htmx, which swaps only 2xx answers into the window.
    status = 409 if error and request.method == "POST" and not request.htmx else 200
    return fragment(html, status)


@bp.get("/customers/<account>/reminders/compose")
@permission_required("edit")
def compose(account):
    """The compose window, filled from the template of the level (default: entry level + 1)."""
    return _compose(customer_or_404(account))


@bp.get("/reminders/compose")
@permission_required("edit")
def compose_entry():
    """The same window for entries given by id (`?entry=…&channel=…`), the customer found from the
    first: lists of entries of many customers (Due dates) need one URL for every row, not one per row."""
    ticked = _ticked()
    entry = found(db.session.get(Entry, ticked[0]) if ticked else None,
                  _("This entry does not exist: reload the page."))
    return _compose(entry.customer)


def _compose(customer):
    channel = _channel()
    try:
        entries = sending.selected_entries(db.session, customer, _ticked())
        draft = sending.draft(db.session, customer, entries, _user(), level=_level(), channel=channel,
                                attachment_dir=_attachment_dir())
    except ReminderError as problem:
        return _dialog(customer, [], channel, error=str(problem))
    return _dialog(customer, entries, channel, draft=draft)


def _safe_level(entries) -> int | None:
    """The level asked for, for the window shown again after a refusal (None when it is not one)."""
    try:
        return sending.check_level(_level(), entries) if entries else None
    except ReminderError:
        return None


def _form() -> dict:
    return {name: request.form.get(name, "") for name in ("to", "cc", "subject", "body", "level", "copy",
                                                           "override_reason")}


@bp.post("/customers/<account>/reminders/email")
@permission_required("edit")
def send_email(account):
    """Queue the e-mail in the outbox; the worker sends it. The same dedupe key (a double click)
    gives back the message already queued."""
    customer = customer_or_404(account)
    jobs.base.require_background()  # nothing is queued in the outbox that the worker cannot hear of
    form, dedupe_key = _form(), (request.form.get("dedupe_key") or "").strip()[:100]
    entries = []
    try:
        entries = sending.selected_entries(db.session, customer, _ticked())
        level = sending.check_level(_level(), entries)
        existing = outbox.queued_under(db.session, f"manual:{dedupe_key}") if dedupe_key else None
        if existing is None:  # a double click gets its first message back, whatever happened since
            override = sending.check_holds(db.session, _user(), customer, entries, level, form["override_reason"])
        files = sending.invoice_files(db.session, entries, _attachment_dir())
        message, is_new = outbox.queue_message(
            db.session, customer=customer, entries=entries, level=level, to=form["to"], cc=form["cc"],
            subject=form["subject"], body=form["body"], sent_by=_user(), copy_to_sender=form["copy"] == "1",
            dedupe_key=f"manual:{dedupe_key}" if dedupe_key else "",
            attachments=[outbox.StoredAttachment(str(f.path), f.filename, f.content_type) for f in files],
            override_reason=None if existing is not None else override)
    except (ReminderError, OutboxError) as problem:
        db.session.rollback()
        return _dialog(customer, entries, "email", error=str(problem), form=form,
                       dedupe_key=dedupe_key or None, level=_safe_level(entries))
    db.session.commit()
    if is_new:
        jobs.reminders.hand_over(message)
    # Already sent (a double click after the send): the page catches up now.
    return fragment(render_template("reminders/_sent.html", message=message, customer=customer),
                    events=CHANGED if message.status == "sent" else ())


@bp.get("/reminders/messages/<int:message_id>/status")
@permission_required("read")
def message_status(message_id):
    message = get_or_404(OutboxMessage, message_id, _("This message does not exist."))
    html = render_template("reminders/_message_status.html", message=message, customer=message.customer)
    # Once sent, the level and last-reminder columns of the page change.
    return fragment(html, events=CHANGED if message.status == "sent" else ())


@bp.post("/customers/<account>/reminders/letter")
@permission_required("edit")
def make_letter(account):
    """Make the letter PDF now (one page or two: well under a second), store it and keep it as a
    reminder activity that raises the entries' level like a sent e-mail."""
    customer = customer_or_404(account)
    entries = []
    try:
        entries = sending.selected_entries(db.session, customer, _ticked())
        content = sending.letter_content(db.session, customer, entries, _user(), level=_level())
        previous = sending.recent_letter(db.session, _user(), customer, entries, content.level)
        if previous is None:
            sending.check_holds(db.session, _user(), customer, entries, content.level,
                                  request.form.get("override_reason"))
    except ReminderError as problem:
        db.session.rollback()
        draft = None
        if entries:
            try:
                draft = sending.draft(db.session, customer, entries, _user(), level=_level(), channel="letter")
            except ReminderError:
                pass
        return _dialog(customer, entries, "letter", error=str(problem), draft=draft, form=_form(),
                       level=_safe_level(entries))
    if previous is not None and sending.letter_of(db.session, previous.id) is not None:  # a double click
        html = render_template("reminders/_letter_ready.html", activity=previous, customer=customer,
                               filename=sending.letter_of(db.session, previous.id).filename, entries=entries,
                               level_name=templates.level_name)
        return fragment(html)
    storage_name, filename = jobs.reminders.letter_maker(_attachment_dir())(customer, entries, content)
    activity = sending.record_letter(db.session, _user(), customer, entries, content, storage_name, filename)
    db.session.commit()
    html = render_template("reminders/_letter_ready.html", activity=activity, customer=customer, filename=filename,
                           entries=entries, level_name=templates.level_name)
    return fragment(html, events=CHANGED)


@bp.get("/reminders/letters/<int:activity_id>")
@permission_required("read")
def letter_pdf(activity_id):
    letter = sending.letter_of(db.session, activity_id)
    path = _attachment_dir() / letter.storage_name if letter else None
    if letter is None or not path.is_file() or ".." in Path(letter.storage_name).parts:
        abort(404, description=_("This letter is not available."))
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=letter.filename)


@bp.get("/reminders/activities/<int:activity_id>")
@permission_required("read")
def activity(activity_id):
    """Exactly what a reminder sent: headers, body, attachments, the entries it covered."""
    sent = found(sending.sent_reminder(db.session, activity_id), _("There is no such reminder."))
    return render_view("reminders/activity.html", "reminders/_activity.html", sent=sent)


@bp.get("/reminders/deliveries")
@permission_required("read")
def deliveries():
    """The messages that failed, with the server's answer and when the next try is."""
    messages = outbox.failed_messages(db.session)
    return render_view("reminders/deliveries.html", "reminders/_deliveries.html", messages=messages,
                       max_attempts=outbox.MAX_ATTEMPTS, error=None, is_unknown=outbox.is_unknown)


def _message_or_404(message_id: int) -> OutboxMessage:
    return get_or_404(OutboxMessage, message_id, _("This message does not exist."))


def _delivery_row(message, error=None, changed=False):
    html = render_template("reminders/_delivery_row.html", message=message, error=error,
                           max_attempts=outbox.MAX_ATTEMPTS, is_unknown=outbox.is_unknown)
    return fragment(html, events=CHANGED if changed else ())


@bp.post("/reminders/messages/<int:message_id>/retry")
@permission_required("edit")
def retry(message_id):
    message = _message_or_404(message_id)
    error = None
    jobs.base.require_background()
    try:
        outbox.retry(db.session, message)
        db.session.commit()
        jobs.reminders.hand_over(message)
    except OutboxError as problem:
        db.session.rollback()
        error = str(problem)
    return _delivery_row(message, error)


@bp.post("/reminders/messages/<int:message_id>/resolve")
@permission_required("edit")
def resolve(message_id):
    """A person checked the sent mail for a message of unknown outcome: it was sent, or it was not."""
    message = found(outbox.loaded(db.session, message_id), _("This message does not exist."))
    try:
        outbox.resolve_unknown(db.session, message, _user(), was_sent=request.form.get("was_sent") == "1")
        db.session.commit()
    except OutboxError as problem:
        db.session.rollback()
        return _delivery_row(message, str(problem))
    return _delivery_row(message, changed=message.status == "sent")


@bp.post("/reminders/messages/<int:message_id>/cancel")
@permission_required("edit")
def cancel(message_id):
    """Don't send: a failed message is never retried."""
    message = _message_or_404(message_id)
    try:
        outbox.cancel(db.session, message, _user())
        db.session.commit()
    except OutboxError as problem:
        db.session.rollback()
        return _delivery_row(message, str(problem))
    return _delivery_row(message)


# --- Bulk reminders (planned, then confirmed) from Who owes you what? --------------------------


@bp.app_template_global()
def message_label(message) -> str:
    """R2, Prevention, Payment plan agreed…: what an outbox message is."""
    return outbox.label(message)


@bp.app_template_global()
def bulk_result(run) -> dict:
    """What the run's job found (its plan, then its counts), as a dict; its summary in the reader's language."""
    found = bulk.plan_of(run)
    if found:
        found["summary"] = bulk.summary_of(found)
    return found


@bp.app_template_global()
def bulk_queued(run) -> int:
    return bulk.queued_count(db.session, run)


def _run_fragment(run, error: str | None = None, status: int = 200):
    html = render_template("reminders/_bulk_run.html", run=run, error=error)
    return fragment(html, status, events=(EXPORT_CHANGED,) if run.is_final else ())


@bp.post("/reminders/bulk")
@permission_required("edit")
def bulk_run():
    """Plan reminders to the ticked customers (or all that match the filter), in the worker, each
    with the reminder letter as a PDF when "Attach the reminder letter" is ticked; the status
    fragment polls and ends with the plan to confirm (nothing is sent before)."""
    filters = parse_filters(request.form, tuple(queries.BALANCE_SORTS))
    accounts = sorted({a.strip() for a in request.form.getlist("customer") if a.strip()})
    take_all = request.form.get("all") == "1"
    if not take_all and not accounts:
        return render_template("receivables/_dunning_refused.html",
                               reason=_("Tick at least one customer, or choose all that match the filter."))
    params = filters.query_args(page=1)
    params.update({"all": "1"} if take_all else {"customer": accounts})
    if request.form.get("letter") == "1":
        params[bulk.LETTER_PARAM] = "1"
    run, is_new = bulk.request_run(db.session, current_user, params)
    db.session.commit()
    if is_new:
        jobs.reminders.enqueue_run(run.id)
    return _run_fragment(run)


@bp.get("/reminders/bulk")
@permission_required("read")
def bulk_runs():
    """The user's bulk runs (an admin's: everyone's), newest first."""
    return render_template("reminders/bulk_runs.html", runs=bulk.user_runs(db.session, current_user))


def _run_or_404(run_id: int):
    # Someone else's run is "not found", not "forbidden": its existence is nobody else's business.
    return found(bulk.visible_run(db.session, current_user, run_id), _("There are no such reminders."))


@bp.get("/reminders/bulk/<int:run_id>/status")
@permission_required("read")
def bulk_status(run_id):
    return _run_fragment(_run_or_404(run_id))


@bp.post("/reminders/bulk/<int:run_id>/confirm")
@permission_required("edit")
def confirm_bulk_run(run_id):
    """The user confirmed the plan: the worker sends, to the planned customers only."""
    run = _run_or_404(run_id)
    try:
        bulk.confirm(db.session, run, current_user)
    except bulk.PlanError as problem:
        db.session.rollback()
        return _run_fragment(run, str(problem))
    db.session.commit()
    jobs.reminders.enqueue_run(run.id)
    return _run_fragment(run)


@bp.post("/reminders/bulk/<int:run_id>/cancel")
@permission_required("edit")
def cancel_bulk_run(run_id):
    run = _run_or_404(run_id)
    try:
        bulk.cancel(run)
    except bulk.PlanError as problem:
        db.session.rollback()
        return _run_fragment(run, str(problem))
    db.session.commit()
    return _run_fragment(run)


@bp.post("/reminders/bulk/<int:run_id>/retry")
@permission_required("edit")
def retry_bulk_run(run_id):
    """A failed run again: it goes on with what was confirmed (never queuing a message twice), or
    makes a new plan to confirm when the confirmation is more than an hour old."""
    run = _run_or_404(run_id)
    if bulk.retry(run):
        db.session.commit()
        jobs.reminders.enqueue_run(run.id)
    return _run_fragment(run)


@bp.get("/reminders/bulk/<int:run_id>/report")
@permission_required("read")
def bulk_report(run_id):
    """The run's CSV report: who was sent what, who was skipped and why."""
    run = _run_or_404(run_id)
    if run.status != "done" or not run.filename:
        abort(404, description=_("These reminders have no report yet."))
    if notification_rules.is_expired(run):
        deleted_on = notification_rules.expires_at_of(run).strftime("%Y-%m-%d")
        abort(410, description=_("This report was deleted on %(day)s.", day=deleted_on))
    folder = jobs.base.run_path(run)
    if not (folder / run.filename).is_file():
        abort(404, description=_("This report is no longer available."))
    return send_from_directory(folder, run.filename, as_attachment=True)
