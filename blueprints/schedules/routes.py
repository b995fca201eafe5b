"""Payment schedules: made on ticked invoices of the account status (the instalments previewed and
checked against what the invoices owe), one page each (instalments, what was paid, the PDF and the
"Payment plan agreed" e-mail that carries it, cancel), the overview on /schedules with the cash
expected month by month, exported to Excel."""
import secrets
from datetime import date, timedelta

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from blueprints._web.events import ACCOUNT_CHANGED, ENTRIES_CHANGED
from blueprints._web.views import (customer_or_404, fragment, get_or_404, permission_required, render_view,
                                   wants_fragment)
from domain import clock
from domain import exports as export_rules
from domain.ledger import schedules
from domain.ledger.schedules import Plan, ScheduleError
from domain.listing import whole_number
from domain.models import INVOICE, SCHEDULE_FREQUENCIES, SCHEDULE_STATUSES, Entry, PaymentSchedule
from domain.money import AmountError, parse_amount
from domain.reminders import instalments, outbox
from domain.reminders.outbox import OutboxError
from extensions import db
from jobs.base import require_background
from jobs.exports import enqueue_export
from jobs.reminders import hand_over

bp = Blueprint("schedules", __name__)


def _ticked(customer) -> list[Entry]:
    ids = [number for value in request.values.getlist("entry") if (number := whole_number(value)) is not None]
    if not ids:
        return []
    return [e for e in db.session.scalars(select(Entry).where(Entry.id.in_(ids), Entry.customer_id == customer.id)
                                          .order_by(Entry.due_date, Entry.number)) if e.kind == INVOICE]


def _dialog(customer, entries, error=None, form=None, status=200):
    default = {"frequency": "monthly", "first": (clock.today() + timedelta(days=7)).isoformat(), "count": "3"}
    html = render_template("schedules/_dialog.html", customer=customer, entries=entries, error=error,
                           form=form or default, frequencies=SCHEDULE_FREQUENCIES)
    return fragment(html, status)


def _plan(form) -> Plan:
    """The form as a plan: equal instalments every week or month, or "date amount" lines."""
    frequency = form.get("frequency", "")
    waive, note = form.get("waive_fees") == "1", form.get("note", "")
    if frequency == "custom":
        dates, amounts = [], []
        for number, line in enumerate((form.get("lines") or "").splitlines(), start=1):
            if not line.strip():
                continue
            day, _space, amount = line.strip().partition(" ")
            try:
                dates.append(date.fromisoformat(day.strip()))
            except ValueError:
                raise ScheduleError(_("Line %(number)s: %(day)s is not a date like 2026-07-15.", number=number,
                                       day=repr(day))) from None
            if amount.strip():
                try:
                    amounts.append(parse_amount(amount))
                except AmountError as error:
                    raise ScheduleError(_("Line %(number)s: %(error)s", number=number, error=error)) from None
        if amounts and len(amounts) != len(dates):
            raise ScheduleError(_("Give an amount on every line, or on none (equal instalments)."))
        return Plan("custom", dates=tuple(dates), amounts=tuple(amounts), waive_fees=waive, note=note)
    try:
        first = date.fromisoformat(form.get("first", "").strip())
    except ValueError:
        raise ScheduleError(_("Give the date of the first instalment.")) from None
    count = form.get("count", "").strip()
    if whole_number(count, 1000) is None:
        raise ScheduleError(_("Give the number of instalments."))
    return Plan(frequency, first=first, count=int(count), waive_fees=waive, note=note)


@bp.get("/customers/<account>/schedules/new")
@permission_required("edit")
def new(account):
    customer = customer_or_404(account)
    entries = _ticked(customer)
    if not entries:
        return _dialog(customer, [], error=_("Tick the invoices the schedule covers, then make the schedule."))
    return _dialog(customer, entries)


@bp.post("/customers/<account>/schedules")
@permission_required("edit")
def create(account):
    customer = customer_or_404(account)
    entries = _ticked(customer)
    try:
        schedule = schedules.create_schedule(db.session, current_user, customer, [e.id for e in entries],
                                             _plan(request.form))
        db.session.commit()
    except ScheduleError as problem:
        db.session.rollback()
        return _dialog(customer, entries, error=str(problem), form=request.form,
                       status=200 if wants_fragment() else 400)
    return fragment(render_template("schedules/_made.html", schedule=schedule), events=(ACCOUNT_CHANGED, ENTRIES_CHANGED))


@bp.get("/customers/<account>/schedules")
@permission_required("read")
def of_customer(account):
    customer = customer_or_404(account)
    return render_template("schedules/_of_customer.html", customer=customer,
                           schedules=schedules.schedules_of(db.session, customer))


@bp.get("/schedules/<int:schedule_id>")
@permission_required("read")
def show(schedule_id):
    schedule = get_or_404(PaymentSchedule, schedule_id, _("This payment schedule does not exist."))
    return render_template("schedules/page.html", schedule=schedule, error=None,
                           sent=instalments.agreements(db.session, schedule))


@bp.post("/schedules/<int:schedule_id>/pdf")
@permission_required("read")
def pdf(schedule_id):
    """The schedule as a PDF for the customer to sign, made in the worker like any export."""
    schedule = get_or_404(PaymentSchedule, schedule_id, _("This payment schedule does not exist."))
    export, is_new = export_rules.request_export(db.session, current_user, "schedule_pdf",
                                                 {"schedule": str(schedule.id)}, customer_id=schedule.customer_id)
    db.session.commit()
    if is_new:
        enqueue_export(export.id)
    return render_view("exports/_status.html", "exports/_status.html", export=export)


def _agreement(schedule, error=None, form=None, status=200):
    """The "Payment plan agreed" e-mail to review before it goes (the PDF is attached when sent)."""
    if form is None:
        emails, message = instalments.draft_agreement(db.session, schedule, current_user)
        form = {"to": ", ".join(emails[:1]), "cc": ", ".join(emails[1:]), "subject": message.subject,
                "body": message.body, "token": secrets.token_urlsafe(18)}
        error = outbox.sending_problem(db.session)  # said before the user writes, not after
    html = render_template("schedules/_agreement.html", schedule=schedule, form=form, error=error,
                           sent=instalments.agreements(db.session, schedule),
                           warnings=instalments.agreement_warnings(db.session, schedule))
    return fragment(html, status)


@bp.get("/schedules/<int:schedule_id>/agreement")
@permission_required("edit")
def agreement(schedule_id):
    schedule = get_or_404(PaymentSchedule, schedule_id, _("This payment schedule does not exist."))
    return _agreement(schedule)


@bp.post("/schedules/<int:schedule_id>/agreement")
@permission_required("edit")
def send_agreement(schedule_id):
    """Queue the e-mail in the outbox; the worker makes the PDF, attaches it and sends it. The same
    token (a double click) gives back the message already queued."""
    schedule = get_or_404(PaymentSchedule, schedule_id, _("This payment schedule does not exist."))
    require_background()
    form = {name: request.form.get(name, "") for name in ("to", "cc", "subject", "body", "token")}
    try:
        message, is_new = instalments.queue_agreement(db.session, current_user, schedule, to=form["to"], cc=form["cc"],
                                                      subject=form["subject"], body=form["body"],
                                                      token=form["token"].strip()[:100])
    except OutboxError as problem:
        db.session.rollback()
        return _agreement(schedule, str(problem), form, 200 if wants_fragment() else 400)
    db.session.commit()
    if is_new:
        hand_over(message)
    return fragment(render_template("schedules/_agreement_sent.html", message=message, customer=schedule.customer))


@bp.post("/schedules/<int:schedule_id>/cancel")
@permission_required("edit")
def cancel(schedule_id):
    schedule = get_or_404(PaymentSchedule, schedule_id, _("This payment schedule does not exist."))
    try:
        schedules.cancel_schedule(db.session, current_user, schedule, request.form.get("reason", ""))
        db.session.commit()
    except ScheduleError as problem:
        db.session.rollback()
        return render_template("schedules/page.html", schedule=schedule, error=str(problem),
                               sent=instalments.agreements(db.session, schedule)), 400
    return redirect(url_for("schedules.show", schedule_id=schedule.id))


def _filters():
    return schedules.parse_filters(request.args if request.method == "GET" else request.form)


@bp.get("/schedules")
@permission_required("read")
def index():
    filters = _filters()
    rows, total = schedules.schedule_rows(db.session, filters)
    pages = max(1, -(-total // schedules.PAGE_SIZE))
    if filters.page > pages:
        return redirect(url_for("schedules.index", page=pages, **filters.as_args()))
    return render_template("schedules/index.html", rows=rows, total=total, filters=filters, pages=pages,
                           statuses=SCHEDULE_STATUSES, cash=schedules.expected_cash(db.session))


@bp.post("/schedules/export")
@permission_required("read")
def export():
    export, is_new = export_rules.request_export(db.session, current_user, "schedules_xlsx", _filters().as_args())
    db.session.commit()
    if is_new:
        enqueue_export(export.id)
    return render_view("exports/_status.html", "exports/_status.html", export=export)
