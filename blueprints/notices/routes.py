"""Formal notices: the dialog on the ticked invoices of an account status (what it claims, why it
cannot go), issued as a letter to post or an e-mail the worker sends with the letter attached; the
notices and claimed charges of an account; registered letter, cancel, settle a charge."""
import secrets
from datetime import date

from flask import Blueprint, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

from blueprints._web.events import ACCOUNT_CHANGED
from blueprints._web.views import customer_or_404, fragment, get_or_404, permission_required, wants_fragment
from domain import clock
from domain.listing import whole_number
from domain.models import CHARGE_KINDS, CHARGE_STATUSES, NOTICE_CHANNELS, ClaimedCharge, FormalNotice
from domain.reminders import notices, outbox
from domain.reminders.notices import NoticeError
from extensions import db
from jobs.base import require_background
from jobs.reminders import hand_over, notice_file

bp = Blueprint("notices", __name__)


def _ticked() -> list[int]:
    return [number for value in request.values.getlist("entry") if (number := whole_number(value)) is not None]


def _dialog(customer, error=None, form=None, status=200):
    found = notices.draft(db.session, customer, _ticked())
    default = {"channel": "letter", "claim": "1" if customer.late_payment_charges and not found.charge_problems else "",
               "deadline": found.deadline.isoformat(), "to": ", ".join(customer.reminder_emails), "cc": "",
               "token": secrets.token_urlsafe(16)}
    html = render_template("notices/_dialog.html", customer=customer, draft=found, error=error,
                           form=form or default, channels=NOTICE_CHANNELS,
                           sender_problem=outbox.sending_problem(db.session))
    return fragment(html, status)


@bp.get("/customers/<account>/formal-notice")
@permission_required("edit")
def new(account):
    return _dialog(customer_or_404(account))


@bp.post("/customers/<account>/formal-notice")
@permission_required("edit")
def issue(account):
    customer = customer_or_404(account)
    form = request.form
    channel = form.get("channel", "")
    try:
        if channel == "email":
            require_background()
        try:
            deadline = date.fromisoformat(form.get("deadline", "").strip())
        except ValueError:
            raise NoticeError(_("Give the deadline to pay as a date.")) from None
        notice, is_new = notices.issue(db.session, current_user, customer, _ticked(), channel=channel,
                                       claim=form.get("claim") == "1", token=form.get("token", ""), deadline=deadline,
                                       to=form.get("to", ""), cc=form.get("cc", ""))
        db.session.commit()
    except (NoticeError, outbox.OutboxError) as problem:
        db.session.rollback()
        return _dialog(customer, str(problem), form, 200 if wants_fragment() else 400)
    if is_new and notice.outbox_message is not None:
        hand_over(notice.outbox_message)
    elif is_new:
        notice_file(notice)  # the letter as issued, with the company's details of today
    return fragment(render_template("notices/_issued.html", notice=notice), events=(ACCOUNT_CHANGED,))


def _notices(customer, error=None, status=200, events=()):
    html = render_template("notices/_of_customer.html", customer=customer,
                           notices=notices.notices_of(db.session, customer),
                           charges=notices.claimed_charges(db.session, customer), error=error, today=clock.today(),
                           states=notices.STATES, state=notices.state, channels=NOTICE_CHANNELS,
                           kinds=CHARGE_KINDS, statuses=CHARGE_STATUSES)
    return fragment(html, status, events=events)


@bp.get("/customers/<account>/formal-notices")
@permission_required("read")
def of_customer(account):
    return _notices(customer_or_404(account))


def _notice_or_404(notice_id: int) -> FormalNotice:
    return get_or_404(FormalNotice, notice_id, _("There is no such formal notice."))


@bp.get("/formal-notices/<int:notice_id>/pdf")
@permission_required("read")
def pdf(notice_id):
    path, filename = notice_file(_notice_or_404(notice_id))
    db.session.commit()
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=filename)


def _refused(notice, problem):
    db.session.rollback()
    return _notices(notice.customer, str(problem), 200 if wants_fragment() else 400)


@bp.post("/formal-notices/<int:notice_id>/registered")
@permission_required("edit")
def registered(notice_id):
    notice = _notice_or_404(notice_id)
    try:
        text = request.form.get("posted_on", "").strip()
        try:
            day = date.fromisoformat(text) if text else None
        except ValueError:
            raise NoticeError(_("Give the day it was posted as a date.")) from None
        notices.record_registered(db.session, current_user, notice, request.form.get("tracking", ""), day)
        db.session.commit()
    except NoticeError as problem:
        return _refused(notice, problem)
    return _notices(notice.customer)


@bp.post("/formal-notices/<int:notice_id>/cancel")
@permission_required("edit")
def cancel(notice_id):
    notice = _notice_or_404(notice_id)
    try:
        notices.cancel(db.session, current_user, notice, request.form.get("reason", ""))
        db.session.commit()
    except NoticeError as problem:
        return _refused(notice, problem)
    return _notices(notice.customer)


@bp.post("/claimed-charges/<int:charge_id>/settle")
@permission_required("edit")
def settle(charge_id):
    charge = get_or_404(ClaimedCharge, charge_id, _("There is no such claimed charge."))
    try:
        notices.settle_charge(db.session, current_user, charge, request.form.get("status", ""),
                              request.form.get("reason", ""))
        db.session.commit()
    except NoticeError as problem:
        return _refused(charge.notice, problem)
    return _notices(charge.notice.customer)
