"""Log in and out. Every other page needs a login.

Wrong passwords are limited per e-mail and per address (Flask-Limiter, counted in Redis; only
failed attempts count): past the limit the form answers 429, even to the right password."""
import math
import time
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from domain.users import authenticate, close_session, open_session
from extensions import db

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only redirect inside this site after login; anything odd (control characters, another
    host, a scheme) goes to the start page."""
    if (target and target.startswith("/") and not target.startswith("//") and target.isprintable()
            and "\\" not in target and not urlsplit(target).netloc):
        return target
    return url_for("receivables.balances")


def _login_email() -> str:
    return "account:" + request.form.get("email", "").strip().lower()


def _failed(response) -> bool:
    return response.status_code == 401


def limit_login_attempts(app: Flask) -> None:
    """Put the limits on the login form, with a Limiter of this app's own (its storage and state
    are per app, read from the RATELIMIT_* settings that app.py sets)."""
    limiter = Limiter(get_remote_address, app=app)
    view = app.view_functions["auth.login"]
    for setting, key in (("LOGIN_LIMIT_PER_ACCOUNT", _login_email), ("LOGIN_LIMIT_PER_ADDRESS", get_remote_address)):
        view = limiter.limit(lambda setting=setting: current_app.config[setting], key_func=key,
                             methods=["POST"], deduct_when=_failed)(view)
    app.view_functions["auth.login"] = view
    app.extensions["login_limiter"] = limiter


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("receivables.balances"))
    error = None
    email = request.form.get("email", "")
    if request.method == "POST":
        user = authenticate(db.session, email, request.form.get("password", ""))
        if user is None:
            current_app.logger.warning("Failed login for %r from %s", email.strip().lower(), request.remote_addr)
            error = _("Wrong e-mail or password.")
        else:
            open_session(db.session, user)
            db.session.commit()
            login_user(user, remember=bool(request.form.get("remember")))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error, email=email), 401 if error else 200


@bp.errorhandler(RateLimitExceeded)
def too_many_attempts(_error):
    email = request.form.get("email", "")
    try:
        limit = current_app.extensions["login_limiter"].current_limit
        wait = max(1, math.ceil((limit.reset_at - 1 - time.time()) / 60))  # reset_at is rounded up
    except Exception:  # the storage went away meanwhile: the window is the longest wait
        wait = 15
    current_app.logger.warning("Login refused (too many failed attempts) for %r from %s",
                               email.strip().lower(), request.remote_addr)
    error = ngettext("Too many attempts, try again in %(num)d minute.",
                     "Too many attempts, try again in %(num)d minutes.", wait)
    response = current_app.make_response((render_template("auth/login.html", error=error, email=email), 429))
    response.headers["Retry-After"] = str(wait * 60)
    return response


@bp.post("/logout")
@login_required
def logout():
    close_session(db.session, current_user.session_token)
    db.session.commit()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
