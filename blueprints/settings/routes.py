"""Settings: how each user hears about exports (any role, their own), the company and the
collection agencies (admin and finance change them; support reads them)."""
from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from blueprints._web.views import get_or_404, permission_required, render_view, wants_fragment
from domain import clock, debt_collection
from domain import settings as settings_rules
from domain.collection import agency as agency_rules
from domain.collection.agency import AgencyError
from domain.ledger import interest
from domain.models import TRANSFER_OPTIONS, CollectionAgency
from domain.notifications import PREFERENCES
from domain.settings import SettingsError
from extensions import db
from mail import smtp as mailer

bp = Blueprint("settings", __name__, url_prefix="/settings")


def _context(**overrides) -> dict:
    context = {
        "preferences": PREFERENCES,
        "company": settings_rules.company_or_blank(db.session),
        "agencies": agency_rules.all_agencies(db.session),
        "can_edit": current_user.can("edit"),
        "preference_notice": None, "preference_error": None,
        "company_form": None, "company_errors": {}, "company_notice": None,
        "agency_form": {}, "agency_errors": {}, "agency_notice": None, "editing": None,
        "mail_server": mailer.describe(current_app.config.get("SMTP_URL")), "mail_notice": None, "mail_error": None,
        "debt_rules": debt_collection.calendar(db.session), "transfer_options": TRANSFER_OPTIONS,
        "late": interest.overview(db.session, clock.today()), "bases": interest.BASES,
        "bp_to_percent": interest.bp_to_percent, "half_year_label": interest.half_year_label,
        "late_form": None, "late_errors": {}, "late_notice": None, "rate_form": {}, "rate_errors": {}, "rate_notice": None,
    }
    context.update(overrides)
    return context


def _answer(fragment: str, failed: bool = False, **context):
    """The section htmx swaps (200 even when a field is wrong, so htmx shows it), or the whole
    page for a plain form post (400 when nothing was saved)."""
    response = render_view("settings/index.html", fragment, **_context(**context))
    if failed and not wants_fragment():
        response.status_code = 400
    return response


def _agency_or_404(agency_id: int) -> CollectionAgency:
    return get_or_404(CollectionAgency, agency_id, _("There is no such collection agency."))


@bp.get("/")
@permission_required("read")
def index():
    return render_template("settings/index.html", **_context())


@bp.post("/notifications")
@permission_required("read")
def notifications():
    choice = request.form.get("export_notifications", "")
    try:
        settings_rules.set_export_notifications(current_user, choice)
        current_user.morning_digest = request.form.get("morning_digest") == "1"
    except SettingsError as problem:
        db.session.rollback()
        return _answer("settings/_notifications.html", failed=True, preference_error=str(problem))
    db.session.commit()
    return _answer("settings/_notifications.html",
                   preference_notice=_("Saved: %(choice)s.", choice=str(PREFERENCES[choice]).lower()))


@bp.post("/company")
@permission_required("edit")
def company():
    form = request.form
    try:
        settings_rules.save_company(db.session, current_user, name=form.get("name", ""),
                                    registration_number=form.get("registration_number", ""),
                                    sender_email=form.get("sender_email", ""), address=form.get("address"),
                                    iban=form.get("iban"), bic=form.get("bic"),
                                    **{field: form.get(field) for field in settings_rules.DAY_SETTINGS})
    except SettingsError as problem:
        db.session.rollback()
        return _answer("settings/_company.html", failed=True, company_form=form, company_errors=problem.errors)
    db.session.commit()
    return _answer("settings/_company.html", company_notice=_("Company settings saved."))


@bp.post("/late-payment")
@permission_required("edit")
def late_payment():
    form = request.form
    currencies = interest.overview(db.session, clock.today()).currencies
    try:
        interest.save_terms(db.session, current_user, basis=form.get("basis", ""),
                            contractual_rate=form.get("contractual_rate", ""), notice_days=form.get("notice_days", ""),
                            indemnities={c: form.get(f"indemnity_{c}", "") for c in currencies})
    except interest.RateError as problem:
        db.session.rollback()
        return _answer("settings/_late_payment.html", failed=True, late_form=form, late_errors=problem.errors)
    db.session.commit()
    return _answer("settings/_late_payment.html", late_notice=_("Late-payment settings saved."))


@bp.post("/late-payment/rates")
@permission_required("set_reference_rates")
def reference_rate():
    form = request.form
    try:
        saved = interest.set_half_year(db.session, current_user, form.get("starts_on", ""), form.get("ecb", ""),
                                       form.get("legal", ""))
    except interest.RateError as problem:
        db.session.rollback()
        return _answer("settings/_late_payment.html", failed=True, rate_form=form, rate_errors=problem.errors)
    db.session.commit()
    return _answer("settings/_late_payment.html",
                   rate_notice=_("Rates of the %(half_year)s saved: late-payment rate %(rate)s %%.",
                                 half_year=interest.half_year_label(saved.starts_on),
                                 rate=interest.bp_to_percent(saved.late_payment_bp)))


@bp.get("/agencies")
@permission_required("read")
def agencies():
    return _answer("settings/_agencies.html")


@bp.post("/agencies")
@permission_required("edit")
def add_agency():
    form = request.form
    try:
        agency = agency_rules.add_agency(db.session, current_user, form.get("name", ""), form.get("email", ""))
    except AgencyError as problem:
        db.session.rollback()
        return _answer("settings/_agencies.html", failed=True, agency_form=form, agency_errors=problem.errors)
    db.session.commit()
    return _answer("settings/_agencies.html", agency_notice=_("%(agency)s added.", agency=agency.name))


@bp.get("/agencies/<int:agency_id>/edit")
@permission_required("edit")
def edit_agency(agency_id):
    agency = _agency_or_404(agency_id)
    return _answer("settings/_agencies.html", editing=agency.id, agency_form={"name": agency.name, "email": agency.email})


@bp.post("/agencies/<int:agency_id>")
@permission_required("edit")
def update_agency(agency_id):
    agency, form = _agency_or_404(agency_id), request.form
    try:
        agency_rules.update_agency(db.session, current_user, agency, form.get("name", ""), form.get("email", ""))
    except AgencyError as problem:
        db.session.rollback()
        return _answer("settings/_agencies.html", failed=True, editing=agency_id, agency_form=form,
                       agency_errors=problem.errors)
    db.session.commit()
    return _answer("settings/_agencies.html", agency_notice=_("%(agency)s saved.", agency=agency.name))


@bp.post("/agencies/<int:agency_id>/active")
@permission_required("edit")
def agency_active(agency_id):
    agency = _agency_or_404(agency_id)
    active = request.form.get("active") == "1"
    agency_rules.set_agency_active(db.session, current_user, agency, active)
    db.session.commit()
    return _answer("settings/_agencies.html",
                   agency_notice=_("%(agency)s reactivated.", agency=agency.name) if active
                   else _("%(agency)s deactivated: it is no longer offered.", agency=agency.name))


@bp.post("/mail/test")
@permission_required("edit")
def test_mail():
    """Send a test e-mail to the user now, through the configured server, and say what it answered."""
    company = settings_rules.company(db.session)
    sender = mailer.address(company.name, company.sender_email) if company and company.sender_email else \
        current_user.email
    try:
        message = mailer.build_message(sender=sender, to=current_user.email, subject=_("Relance: test e-mail"),
                                       body=_("This test e-mail shows that Relance can send mail through %(server)s.",
                                              server=mailer.describe(current_app.config.get("SMTP_URL"))) + "\n")
        mailer.send(current_app.config.get("SMTP_URL"), message)
    except mailer.MailError as problem:
        current_app.logger.warning("Test e-mail to %s not sent: %s", current_user.email, problem)
        return _answer("settings/_mail.html", mail_error=_("Not sent: %(problem)s", problem=problem))
    return _answer("settings/_mail.html",
                   mail_notice=_("Sent to %(email)s: check that it arrived.", email=current_user.email))
