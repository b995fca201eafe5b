"""My account (every logged-in user): my name, my language, my password."""
from flask import Blueprint, request
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required

from blueprints._web.views import render_view, wants_fragment
from domain import users as user_rules
from domain.models import LANGUAGES
from domain.users import LANGUAGE_NAMES, MIN_PASSWORD_LENGTH, AccountError
from extensions import db

bp = Blueprint("account", __name__, url_prefix="/account")


def _answer(fragment: str, failed: bool = False, **overrides):
    context = {
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "min_password_length": MIN_PASSWORD_LENGTH, "role_label": user_rules.ROLE_LABELS.get(current_user.role),
        "profile_form": None, "profile_errors": {}, "profile_notice": None,
        "password_errors": {}, "password_notice": None,
    }
    context.update(overrides)
    response = render_view("account/index.html", fragment, **context)
    if failed and not wants_fragment():
        response.status_code = 400
    return response


@bp.get("/")
@login_required
def index():
    return _answer("account/index.html")


@bp.post("/profile")
@login_required
def profile():
    form = request.form
    language_before = current_user.language
    try:
        user_rules.update_profile(db.session, current_user, form.get("name", ""), form.get("language", ""))
    except AccountError as problem:
        db.session.rollback()
        return _answer("account/_profile.html", failed=True, profile_form=form, profile_errors=problem.errors)
    changed_language = current_user.language != language_before
    db.session.commit()
    if changed_language:
        refresh()  # this answer already speaks the new language
    response = _answer("account/_profile.html", profile_notice=_("Saved."))
    if changed_language and wants_fragment():
        response.headers["HX-Refresh"] = "true"  # every word on the page changes: reload it whole
    return response


@bp.post("/password")
@login_required
def password():
    form = request.form
    try:
        user_rules.change_own_password(db.session, current_user, form.get("current_password", ""),
                                       form.get("new_password", ""), form.get("confirmation", ""))
    except AccountError as problem:
        db.session.rollback()
        return _answer("account/_password.html", failed=True, password_errors=problem.errors)
    db.session.commit()
    return _answer("account/_password.html",
                   password_notice=_("Password changed. Your other sessions (other browsers, devices) are logged out."))
