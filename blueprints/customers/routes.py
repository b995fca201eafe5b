"""One customer's account status, the switches on it (collection mark, stop reminders), and the
payments recorded on it by hand."""
import secrets
from datetime import date

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from blueprints._web.events import ACCOUNT_CHANGED, ENTRIES_CHANGED
from blueprints._web.layer import plain_amount
from blueprints._web.views import customer_or_404, found, fragment, get_or_404, permission_required, render_view
from domain import audit, clock
from domain import exports as export_rules
from domain.attachments import MAX_ATTACHMENT_BYTES, AttachmentError, attach_file
from domain.collection import files as collection_files
from domain.collection import marks
from domain.collection.files import CollectionFileError
from domain.collection.marks import FlagError
from domain.ledger import customers as customer_rules
from domain.ledger import entries as entry_rules
from domain.ledger import interest, queries, receipts, statements
from domain.listing import FilterError, whole_number
from domain.models import CREDIT_NOTE, PAYMENT_METHODS, TRANSFER_OPTIONS, Contact, Entry
from domain.money import AmountError, parse_amount
from extensions import db
from jobs.base import require_background
from jobs.exports import enqueue_export

bp = Blueprint("customers", __name__)


def _entry_or_404(entry_id: int) -> Entry:
    return get_or_404(Entry, entry_id, _("This entry does not exist (any more)."))


def _until(text: str | None) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FlagError(_("%(text)s is not a date.", text=repr(text))) from None


def _changed(response_html: str):
    """A fragment plus the event that refreshes the balance and history panels."""
    return fragment(response_html, events=(ACCOUNT_CHANGED,))


@bp.get("/customers/<account>")
@permission_required("read")
def account_status(account):
    customer = customer_or_404(account)
    status = queries.account_status(db.session, customer)
    history = audit.timeline(db.session, customer.id)
    return render_view("customers/account.html", "customers/account.html", status=status, history=history,
                       receipts=receipts.customer_receipts(db.session, customer))


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


@bp.get("/customers/<account>/late-payment")
@permission_required("read")
def late_charges(account):
    """Late-payment interest and the recovery indemnity of the open invoices (loaded after the page)."""
    customer = customer_or_404(account)
    today = clock.today()
    terms = interest.terms(db.session)
    charges = interest.open_entry_charges(db.session, customer, today, terms)
    return render_template("customers/_late_charges.html", customer=customer, charges=charges,
                           totals=interest.totals(charges), terms=terms,
                           missing=sorted({start for c in charges for start in c.missing}),
                           half_year_label=interest.half_year_label, today=today)


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
                               notice=_("This entry is no longer in collection."))
    return _changed(render_template("customers/_entry_row.html", entry=entry, customer=entry.customer,
                                    notice=_("Collection mark removed. The stop-reminders switch is unchanged.")))


@bp.get("/customers/<account>/entries")
@permission_required("read")
def entries(account):
    customer = customer_or_404(account)
    return render_template("customers/_entries.html", status=queries.account_status(db.session, customer),
                           customer=customer)


def _ticked_entry_ids() -> list[int]:
    return [number for value in request.values.getlist("entry") if (number := whole_number(value)) is not None]


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
        # In place of the form, inside the open dialog (not a second dialog in it).
        return render_template("customers/_collection_file_refused.html", error=str(problem))
    db.session.commit()
    if started.is_new:
        enqueue_export(started.export.id)
    html = render_template("customers/_collection_file_started.html", customer=customer, export=started.export)
    return fragment(html, events=(ACCOUNT_CHANGED, ENTRIES_CHANGED))


# --- Payments recorded by hand (a cheque, a transfer…) and their reversal -----------------------


def _form_cents(name: str) -> int:
    text = request.form.get(name, "").strip()
    return parse_amount(text) if text else 0


def _payment_dialog(customer, *, error: str | None = None, status: int = 200, **values):
    """The dialog, with what the user typed kept when something is wrong."""
    invoices = receipts.open_invoices(db.session, customer)
    values.setdefault("received_on", clock.today().isoformat())
    values.setdefault("dedupe_key", secrets.token_hex(16))
    html = render_template("customers/_payment_dialog.html", customer=customer, invoices=invoices, error=error,
                           methods=PAYMENT_METHODS, **values)
    return fragment(html, status)


def _typed_allocation(invoices) -> dict[int, int]:
    return {entry.id: _form_cents(f"alloc-{entry.id}") for entry in invoices if f"alloc-{entry.id}" in request.form}


@bp.get("/customers/<account>/payments/new")
@permission_required("edit")
def payment_dialog(account):
    """Record a payment: the amount (by default what the ticked invoices owe), spread over the
    open invoices the oldest first; every part can be changed before it is recorded."""
    customer = customer_or_404(account)
    invoices = receipts.open_invoices(db.session, customer)
    ticked = set(_ticked_entry_ids())
    chosen = [e for e in invoices if e.id in ticked] or invoices
    if len({e.currency for e in chosen}) > 1:
        chosen = [e for e in chosen if e.currency == chosen[0].currency]
    amount = sum(e.open_cents for e in chosen) if ticked else 0
    return _payment_dialog(customer, amount=plain_amount(amount) if amount else "",
                           allocation=receipts.propose(chosen, amount))


@bp.post("/customers/<account>/payments/proposal")
@permission_required("edit")
def payment_proposal(account):
    """The allocation again, the oldest first, for the amount as typed now."""
    customer = customer_or_404(account)
    invoices = receipts.open_invoices(db.session, customer)
    error = None
    try:
        allocation = receipts.propose(invoices, _form_cents("amount"))
    except AmountError as problem:
        allocation, error = _typed_allocation(invoices), str(problem)
    return render_template("customers/_payment_allocation.html", customer=customer, invoices=invoices,
                           allocation=allocation, error=error)


@bp.post("/customers/<account>/payments")
@permission_required("edit")
def record_payment(account):
    customer = customer_or_404(account)
    invoices = receipts.open_invoices(db.session, customer)
    kept = {name: request.form.get(name, "") for name in ("amount", "received_on", "method", "reference", "dedupe_key")}
    try:
        allocation = _typed_allocation(invoices)
        form = receipts.ReceiptForm(received_on=_payment_date(kept["received_on"]), amount_cents=_form_cents("amount"),
                                    method=kept["method"], reference=kept["reference"], allocations=allocation,
                                    dedupe_key=kept["dedupe_key"][:64] or None)
        receipt = receipts.record(db.session, current_user, customer, form)
        db.session.commit()
    except (AmountError, receipts.ReceiptError) as problem:
        db.session.rollback()
        typed = {e.id: request.form.get(f"alloc-{e.id}", "") for e in invoices}
        return _payment_dialog(customer, error=str(problem), typed=typed, **kept)
    html = render_template("customers/_payment_recorded.html", customer=customer, receipt=receipt)
    return fragment(html, events=(ACCOUNT_CHANGED, ENTRIES_CHANGED))


def _payment_date(text: str):
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise receipts.ReceiptError(_("%(text)s is not a date.", text=repr(text))) from None


@bp.get("/customers/<account>/paid")
@permission_required("read")
def paid(account):
    """The settled entries with their payments (loaded after the page: it is the open entries that count first)."""
    customer = customer_or_404(account)
    entries, count = queries.paid_entries(db.session, customer)
    return render_template("customers/_paid_entries.html", customer=customer, paid=entries, paid_count=count)


@bp.get("/customers/<account>/payments")
@permission_required("read")
def payments(account):
    customer = customer_or_404(account)
    return render_template("customers/_payments.html", customer=customer,
                           receipts=receipts.customer_receipts(db.session, customer))


def _receipt_or_404(customer, receipt_id: int):
    return found(receipts.customer_receipt(db.session, customer, receipt_id), _("There is no such payment."))


@bp.get("/customers/<account>/payments/<int:receipt_id>/reverse")
@permission_required("edit")
def reverse_dialog(account, receipt_id):
    customer = customer_or_404(account)
    return render_template("customers/_payment_reverse.html", customer=customer,
                           receipt=_receipt_or_404(customer, receipt_id), error=None)


@bp.post("/customers/<account>/payments/<int:receipt_id>/reverse")
@permission_required("edit")
def reverse_payment(account, receipt_id):
    """The payment did not come through (a cheque returned unpaid): the invoices owe it again."""
    customer = customer_or_404(account)
    receipt = _receipt_or_404(customer, receipt_id)
    try:
        receipts.reverse(db.session, current_user, receipt, request.form.get("reason", ""))
        db.session.commit()
    except receipts.ReceiptError as problem:
        db.session.rollback()
        html = render_template("customers/_payment_reverse.html", customer=customer, receipt=receipt,
                               error=str(problem))
        return fragment(html)
    html = render_template("customers/_payment_recorded.html", customer=customer, receipt=receipt, reversed=True)
    return fragment(html, events=(ACCOUNT_CHANGED, ENTRIES_CHANGED))


# --- The statement of account (relevé de compte) --------------------------------------------------


def _statement_request(customer):
    """The period and currency asked for (by default this year to today, the most used currency)."""
    today = clock.today()
    values = {"start": request.values.get("start") or date(today.year, 1, 1).isoformat(),
              "end": request.values.get("end") or today.isoformat(),
              "currency": request.values.get("currency") or statements.currencies(db.session, customer)[0]}
    try:
        start, end = date.fromisoformat(values["start"]), date.fromisoformat(values["end"])
    except ValueError:
        raise statements.StatementError(_("Enter the period's dates as dates.")) from None
    if values["currency"] not in statements.currencies(db.session, customer):
        raise statements.StatementError(_("This customer has no entry in %(currency)s.", currency=values["currency"]))
    return values, start, end


@bp.get("/customers/<account>/statement")
@permission_required("read")
def statement(account):
    """The statement on screen, with its PDF and Excel made in the worker."""
    customer = customer_or_404(account)
    try:
        values, start, end = _statement_request(customer)
        found = statements.statement(db.session, customer, start, end, values["currency"])
    except statements.StatementError as problem:
        values = {name: request.values.get(name, "") for name in ("start", "end", "currency")}
        return render_template("customers/statement.html", customer=customer, statement=None, error=str(problem),
                               currencies=statements.currencies(db.session, customer), **values), 400
    return render_template("customers/statement.html", customer=customer, statement=found, error=None,
                           currencies=statements.currencies(db.session, customer), **values)


@bp.post("/customers/<account>/statement/export")
@permission_required("read")
def statement_export(account):
    customer = customer_or_404(account)
    kind = request.form.get("kind")
    try:
        if kind not in export_rules.STATEMENTS:
            raise statements.StatementError(_("Choose PDF or Excel."))
        values, start, end = _statement_request(customer)
        if end < start:
            raise statements.StatementError(_("The period ends before it starts."))
    except statements.StatementError as problem:
        return fragment(render_template("customers/_statement_refused.html", reason=str(problem)))
    export, is_new = export_rules.request_export(db.session, current_user, kind, values, customer_id=customer.id)
    db.session.commit()
    if is_new:
        enqueue_export(export.id)
    return render_view("exports/_status.html", "exports/_status.html", export=export)


# --- Customers by hand: the list, creating and changing a customer and its contacts --------------


@bp.get("/customers")
@permission_required("read")
def customer_list():
    """Every customer, those owing nothing too: search, owing or not, sort, pages."""
    try:
        page, filters = customer_rules.list_customers(db.session, request.args)
    except FilterError as problem:
        abort(400, description=str(problem))
    return render_view("customers/list.html", "customers/_list.html", page=page, filters=filters,
                       owing_choices=customer_rules.OWING,
                       totals=customer_rules.totals_of(db.session, page.rows))


def _customer_form(template: str, customer=None, *, values=None, errors=None, status: int = 200):
    return render_template(template, customer=customer, values=values or {}, errors=errors or {},
                           labels=customer_rules.LABELS, transfer_options=TRANSFER_OPTIONS), status


@bp.get("/customers/new")
@permission_required("edit")
def new_customer():
    return _customer_form("customers/edit.html", values={"language": "fr"})


@bp.post("/customers/new")
@permission_required("edit")
def create_customer():
    values, errors = customer_rules.check_customer(request.form)
    if not errors:
        try:
            customer = customer_rules.create(db.session, current_user, values)
            db.session.commit()
            return redirect(url_for("customers.account_status", account=customer.account), 303)
        except customer_rules.CustomerError as problem:
            db.session.rollback()
            errors = {"account": str(problem)}
    return _customer_form("customers/edit.html", values=dict(request.form), errors=errors, status=400)


@bp.get("/customers/<account>/edit")
@permission_required("edit")
def edit_customer(account):
    customer = customer_or_404(account)
    values = {name: getattr(customer, name) or "" for name in customer_rules.FIELDS}
    values["emails"] = ", ".join(customer.email_list)
    values["late_payment_charges"] = "1" if customer.late_payment_charges else "0"
    return _customer_form("customers/edit.html", customer, values=values)


@bp.post("/customers/<account>/edit")
@permission_required("edit")
def update_customer(account):
    customer = customer_or_404(account)
    fields = tuple(name for name in customer_rules.FIELDS if name != "account")
    values, errors = customer_rules.check_customer(request.form, fields=fields)
    if errors:
        return _customer_form("customers/edit.html", customer, values={**dict(request.form), "account": account},
                              errors=errors, status=400)
    customer_rules.update(db.session, current_user, customer, values)
    db.session.commit()
    return redirect(url_for("customers.account_status", account=customer.account), 303)


def _contact_or_404(customer, contact_id: int):
    contact = db.session.get(Contact, contact_id)
    return found(contact if contact is not None and contact.customer_id == customer.id else None,
                 _("There is no such contact."))


def _contacts_fragment(customer, *, errors=None, values=None, editing: int | None = None):
    html = render_template("customers/_contacts.html", customer=customer, errors=errors or {}, values=values or {},
                           editing=editing)
    return fragment(html, events=(ACCOUNT_CHANGED,) if not errors else ())


@bp.post("/customers/<account>/contacts")
@permission_required("edit")
def add_contact(account):
    customer = customer_or_404(account)
    values, errors = customer_rules.check_contact(request.form)
    if errors:
        return _contacts_fragment(customer, errors=errors, values=dict(request.form))
    customer_rules.add_contact(db.session, current_user, customer, values)
    db.session.commit()
    return _contacts_fragment(customer)


@bp.post("/customers/<account>/contacts/<int:contact_id>")
@permission_required("edit")
def change_contact(account, contact_id):
    customer = customer_or_404(account)
    contact = _contact_or_404(customer, contact_id)
    values, errors = customer_rules.check_contact(request.form)
    if errors:
        return _contacts_fragment(customer, errors=errors, values=dict(request.form), editing=contact.id)
    customer_rules.update_contact(db.session, current_user, contact, values)
    db.session.commit()
    return _contacts_fragment(customer)


@bp.post("/customers/<account>/contacts/<int:contact_id>/remove")
@permission_required("edit")
def remove_contact(account, contact_id):
    customer = customer_or_404(account)
    customer_rules.remove_contact(db.session, current_user, _contact_or_404(customer, contact_id))
    db.session.commit()
    return _contacts_fragment(customer)



# --- Entries by hand: add an invoice or a credit note, change it, cancel it ---------------------


def _entry_dialog(customer, entry=None, *, values=None, errors=None, error=None):
    return fragment(render_template("customers/_entry_dialog.html", customer=customer, entry=entry,
                                    values=values or {}, errors=errors or {}, error=error,
                                    labels=entry_rules.LABELS, kinds=entry_rules.KIND_LABELS))


def _entry_saved(customer, entry, message: str):
    html = render_template("customers/_entry_saved.html", customer=customer, entry=entry, message=message)
    return fragment(html, events=(ACCOUNT_CHANGED, ENTRIES_CHANGED))


@bp.get("/customers/<account>/entries/new")
@permission_required("edit")
def new_entry(account):
    customer = customer_or_404(account)
    values = {"kind": "invoice", "issue_date": clock.today().isoformat(),
              "currency": statements.currencies(db.session, customer)[0]}
    return _entry_dialog(customer, values=values)


@bp.post("/customers/<account>/entries/new")
@permission_required("edit")
def add_entry(account):
    customer = customer_or_404(account)
    values, errors = entry_rules.check_entry(request.form, customer,
                                             default_terms=entry_rules.default_terms_days(db.session))
    if errors:
        return _entry_dialog(customer, values=dict(request.form), errors=errors)
    upload = request.files.get("pdf")
    try:
        entry = entry_rules.add(db.session, current_user, customer, values)
        if upload is not None and upload.filename:  # the invoice PDF, in the same transaction
            attach_file(db.session, entry, upload.filename, upload.read(MAX_ATTACHMENT_BYTES + 1), current_user,
                        directory=current_app.config["ATTACHMENT_DIR"])
        db.session.commit()
    except (entry_rules.EntryError, AttachmentError) as problem:
        db.session.rollback()
        field = "pdf" if isinstance(problem, AttachmentError) else "number"
        return _entry_dialog(customer, values=dict(request.form), errors={field: str(problem)})
    return _entry_saved(customer, entry, _added_message(entry))


def _added_message(entry: Entry) -> str:
    """Said once an entry is added: whole sentences, an invoice and a credit note agreeing apart."""
    due = format_date(entry.due_date, "short")  # the |day filter's style
    if entry.kind == CREDIT_NOTE:
        if entry.attachments:
            return _("Credit note %(number)s added with its PDF, due %(due)s.", number=entry.number, due=due)
        return _("Credit note %(number)s added, due %(due)s.", number=entry.number, due=due)
    if entry.attachments:
        return _("Invoice %(number)s added with its PDF, due %(due)s.", number=entry.number, due=due)
    return _("Invoice %(number)s added, due %(due)s.", number=entry.number, due=due)


@bp.get("/entries/<int:entry_id>/edit")
@permission_required("edit")
def edit_entry(entry_id):
    entry = _entry_or_404(entry_id)
    values = {"issue_date": entry.issue_date.isoformat(), "due_date": entry.due_date.isoformat(),
              "amount": plain_amount(entry.amount_cents), "currency": entry.currency}
    return _entry_dialog(entry.customer, entry, values=values)


@bp.post("/entries/<int:entry_id>/edit")
@permission_required("edit")
def change_entry(entry_id):
    entry = _entry_or_404(entry_id)
    values, errors = entry_rules.check_entry(request.form, entry.customer, new=False,
                                             default_terms=entry_rules.default_terms_days(db.session))
    if errors:
        return _entry_dialog(entry.customer, entry, values=dict(request.form), errors=errors)
    try:
        changes = entry_rules.change(db.session, current_user, entry, values)
        db.session.commit()
    except entry_rules.EntryError as problem:
        db.session.rollback()
        return _entry_dialog(entry.customer, entry, values=dict(request.form), error=str(problem))
    message = (_("%(number)s changed: %(changes)s.", number=entry.number, changes="; ".join(changes)) if changes
               else _("Nothing was changed."))
    return _entry_saved(entry.customer, entry, message)


@bp.post("/entries/<int:entry_id>/cancel")
@permission_required("edit")
def cancel_entry(entry_id):
    """Cancelled by mistake? It stays listed, struck through, out of every balance."""
    entry = _entry_or_404(entry_id)
    try:
        entry_rules.cancel(db.session, current_user, entry, request.form.get("reason", ""))
        db.session.commit()
    except entry_rules.EntryError as problem:
        db.session.rollback()
        values = {"issue_date": entry.issue_date.isoformat(), "due_date": entry.due_date.isoformat(),
                  "amount": plain_amount(entry.amount_cents), "currency": entry.currency}
        return _entry_dialog(entry.customer, entry, values=values, error=str(problem))
    return _entry_saved(entry.customer, entry,
                        _("%(number)s cancelled: it no longer counts in any balance.", number=entry.number))
