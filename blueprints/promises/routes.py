"""Promises to pay: recorded on ticked invoices of the account status, cancelled with a reason,
listed on /promises (open, due this week, broken, kept) and exported to Excel. Nobody marks one
kept or broken: domain.ledger.promises decides."""
from datetime import date, timedelta

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from blueprints._web.events import ACCOUNT_CHANGED, ENTRIES_CHANGED
from blueprints._web.layer import plain_amount
from blueprints._web.views import (customer_or_404, fragment, get_or_404, permission_required, render_view,
                                   wants_fragment)
from domain import clock
from domain import exports as export_rules
from domain.ledger import promises
from domain.ledger.promises import PromiseError
from domain.listing import whole_number
from domain.models import INVOICE, PROMISE_CHANNELS, PROMISE_STATUSES, Contact, Entry, Promise, User
from domain.money import AmountError, parse_amount
from extensions import db
from jobs.exports import enqueue_export

bp = Blueprint("promises", __name__)


def _ticked(customer) -> list[Entry]:
    ids = [number for value in request.values.getlist("entry") if (number := whole_number(value)) is not None]
    if not ids:
        return []
    return list(db.session.scalars(select(Entry).where(Entry.id.in_(ids), Entry.customer_id == customer.id)
                                   .order_by(Entry.due_date, Entry.number)))


def _dialog(customer, entries, error=None, form=None, status=200):
    contacts = list(db.session.scalars(select(Contact).where(Contact.customer_id == customer.id).order_by(Contact.name)))
    invoices = [entry for entry in entries if entry.kind == INVOICE]
    open_total = sum(entry.open_cents for entry in invoices)
    default = {"amount": plain_amount(open_total) if open_total else "",
               "promised_on": (clock.today() + timedelta(days=7)).isoformat()}
    html = render_template("promises/_dialog.html", customer=customer, entries=invoices, error=error,
                           form=form or default, channels=PROMISE_CHANNELS, contacts=contacts,
                           grace=promises.grace_days(db.session))
    return fragment(html, status)


@bp.get("/customers/<account>/promises/new")
@permission_required("edit")
def new(account):
    customer = customer_or_404(account)
    entries = _ticked(customer)
    if not any(entry.kind == INVOICE for entry in entries):
        return _dialog(customer, [],
                       error=_("Tick the invoices the customer promises to pay, then record the promise."))
    return _dialog(customer, entries)


@bp.post("/customers/<account>/promises")
@permission_required("edit")
def record(account):
    customer = customer_or_404(account)
    entries = _ticked(customer)
    form = request.form
    try:
        try:
            promised_on = date.fromisoformat(form.get("promised_on", "").strip())
        except ValueError:
            raise PromiseError(_("Give the date the customer promised to pay by.")) from None
        amount = parse_amount(form["amount"]) if form.get("amount", "").strip() else None
        contact = form.get("contact", "")
        promise = promises.record_promise(db.session, current_user, customer, [entry.id for entry in entries],
                                          promised_on=promised_on, channel=form.get("channel", ""), amount_cents=amount,
                                          contact_id=whole_number(contact),
                                          note=form.get("note", ""))
        db.session.commit()
    except (PromiseError, AmountError) as problem:
        db.session.rollback()
        return _dialog(customer, entries, error=str(problem), form=form, status=200 if wants_fragment() else 400)
    return fragment(render_template("promises/_recorded.html", promise=promise), events=(ACCOUNT_CHANGED, ENTRIES_CHANGED))


@bp.get("/customers/<account>/promises")
@permission_required("read")
def of_customer(account):
    """The account status's Promises panel: the customer's reliability and its promises."""
    customer = customer_or_404(account)
    return render_template("promises/_of_customer.html", customer=customer,
                           promises=promises.promises_of(db.session, customer),
                           reliability=promises.reliability(db.session, customer))


@bp.post("/promises/<int:promise_id>/cancel")
@permission_required("edit")
def cancel(promise_id):
    promise = get_or_404(Promise, promise_id, _("This promise does not exist."))
    customer = promise.customer
    try:
        promises.cancel_promise(db.session, current_user, promise, request.form.get("reason", ""))
        db.session.commit()
        error = None
    except PromiseError as problem:
        db.session.rollback()
        error = str(problem)
    if not wants_fragment():
        return redirect(url_for("customers.account_status", account=customer.account, _anchor="promises"))
    html = render_template("promises/_of_customer.html", customer=customer, error=error,
                           promises=promises.promises_of(db.session, customer),
                           reliability=promises.reliability(db.session, customer))
    return fragment(html, events=() if error else (ENTRIES_CHANGED,))


def _filters():
    return promises.parse_filters(request.args if request.method == "GET" else request.form, parse_amount)


@bp.get("/promises")
@permission_required("read")
def index():
    filters = _filters()
    rows, total = promises.promise_rows(db.session, filters)
    pages = max(1, -(-total // promises.PAGE_SIZE))
    if filters.page > pages:
        return redirect(url_for("promises.index", page=pages, **filters.as_args()))
    users = list(db.session.scalars(select(User).order_by(User.name, User.email)))
    return render_template("promises/index.html", rows=rows, total=total, filters=filters, pages=pages,
                           views=promises.VIEWS, statuses=PROMISE_STATUSES, users=users)


@bp.post("/promises/export")
@permission_required("read")
def export():
    filters = _filters()
    export, is_new = export_rules.request_export(db.session, current_user, "promises_xlsx", filters.as_args())
    db.session.commit()
    if is_new:
        enqueue_export(export.id)
    return render_view("exports/_status.html", "exports/_status.html", export=export)

