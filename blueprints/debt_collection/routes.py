"""/debt-collection: the claims of the Automatic transfer and Manual transfer tabs, filtered, paged;
Pause, Resume, Close and Approve on the ticked claims (the table comes back with what was done or
why not); Settings → Debt collection."""
from datetime import date

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from blueprints._web.views import fragment, permission_required, render_view, wants_fragment
from domain import clock, debt_collection
from domain.debt_collection import ClaimError
from domain.models import CLAIM_STATUSES, CLOSE_REASONS, TRANSFER_OPTIONS
from domain.settings import SettingsError
from extensions import db
from jobs.base import require_background
from jobs.exports import enqueue_export

bp = Blueprint("debt_collection", __name__)


def _filters():
    return debt_collection.parse_filters(request.args if request.method == "GET" else request.form)


def _context(filters, **more) -> dict:
    counts = debt_collection.tab_counts(db.session)
    page = debt_collection.claim_rows(db.session, filters, counts)
    today = clock.today()
    return {"filters": filters, "page": page, "tabs": debt_collection.TABS, "statuses": CLAIM_STATUSES,
            "status_filters": debt_collection.STATUS_FILTERS, "reasons": CLOSE_REASONS, "options": TRANSFER_OPTIONS,
            "counts": counts, "today": today,
            "rules": debt_collection.calendar(db.session), "notice": None, "error": None, **more}


@bp.get("/debt-collection")
@permission_required("read")
def index():
    return render_view("debt_collection/index.html", "debt_collection/_claims.html", **_context(_filters()))


@bp.post("/debt-collection/<action>")
@permission_required("edit")
def act(action):
    if action not in ("pause", "resume", "close", "approve"):
        return fragment(render_template("debt_collection/_claims.html", **_context(
            _filters(), error=_("Unknown action."))), 404)
    filters, form = _filters(), request.form
    exports = []
    try:
        claims = debt_collection.claims_by_ids(
            db.session, form.getlist("claim"))
        if action == "pause":
            text = form.get("until", "").strip()
            try:
                until = date.fromisoformat(text) if text else None
            except ValueError:
                raise ClaimError(_("Give the end of the pause as a date, or none.")) from None
            debt_collection.pause(db.session, current_user, claims, form.get("reason", ""), until)
            done = ngettext("%(num)d paused.", "%(num)d paused.", len(claims))
        elif action == "resume":
            debt_collection.resume(db.session, current_user, claims)
            done = ngettext("%(num)d back in the list.", "%(num)d back in the list.", len(claims))
        elif action == "close":
            debt_collection.close(db.session, current_user, claims, form.get("close_reason", ""), form.get("note", ""))
            done = ngettext("%(num)d closed.", "%(num)d closed.", len(claims))
        else:
            require_background()
            exports = debt_collection.approve(db.session, current_user, claims)
            done = ngettext("%(num)d approved and transferred to debt collection: the collection file is being made "
                            "(the bell says when it is ready).",
                            "%(num)d approved and transferred to debt collection: the collection file is being made "
                            "(the bell says when it is ready).", len(claims))
        db.session.commit()
    except ClaimError as problem:
        db.session.rollback()
        html = render_template("debt_collection/_claims.html", **_context(filters, error=str(problem)))
        return fragment(html, 200 if wants_fragment() else 400)
    for export_id in exports:
        enqueue_export(export_id)
    return fragment(render_template("debt_collection/_claims.html", **_context(filters, notice=done)))


@bp.post("/settings/debt-collection")
@permission_required("edit")
def settings():
    form = request.form
    try:
        debt_collection.save_settings(db.session, current_user, option=form.get("transfer_option", ""),
                                      working_days_text=form.get("transfer_working_days", ""),
                                      auto_close=form.get("claim_auto_close_days", ""),
                                      country=form.get("holiday_country", ""), region=form.get("holiday_region", ""))
    except SettingsError as problem:
        db.session.rollback()
        html = render_template("debt_collection/_settings.html", rules=debt_collection.calendar(db.session),
                               options=TRANSFER_OPTIONS, form=form, errors=problem.errors, saved=None)
        return fragment(html, 200 if wants_fragment() else 400)
    db.session.commit()
    if not wants_fragment():
        return redirect(url_for("settings.index", _anchor="settings-debt-collection"), 303)
    return fragment(render_template("debt_collection/_settings.html", rules=debt_collection.calendar(db.session),
                                    options=TRANSFER_OPTIONS, form=None, errors={}, saved=_("Debt collection settings saved.")))
