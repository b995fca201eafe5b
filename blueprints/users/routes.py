"""Settings → Users (admin only): create users, change roles, deactivate, reset passwords. Each
change is a history line (domain.audit); the last active admin is kept (domain.users)."""
from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from blueprints._web.views import get_or_404, permission_required, render_view, wants_fragment
from domain import audit
from domain import users as user_rules
from domain.models import ROLES, User
from domain.users import UserError
from extensions import db

bp = Blueprint("users", __name__, url_prefix="/settings/users")


def _context(**overrides) -> dict:
    context = {
        "users": db.session.scalars(select(User).order_by(User.active.desc(), User.email)).all(),
        "roles": ROLES, "role_labels": user_rules.ROLE_LABELS,
        "history": audit.account_history(db.session),
        "create_form": {}, "create_error": None, "create_notice": None,
        "row": None, "row_error": None, "row_notice": None, "shown_password": None,
    }
    context.update(overrides)
    return context


def _answer(fragment: str, failed: bool = False, **context):
    """The parts htmx swaps (200 even when refused, so htmx shows the message), or the whole page
    for a plain form post (400 when nothing was changed)."""
    response = render_view("users/index.html", fragment, **_context(**context))
    if failed and not wants_fragment():
        response.status_code = 400
    return response


def _user_or_404(user_id: int) -> User:
    return get_or_404(User, user_id, _("There is no such user."))


def _row_change(user: User, change, notice: str, **extra):
    try:
        change()
    except UserError as problem:
        db.session.rollback()
        return _answer("users/_changed.html", failed=True, row=user.id, row_error=_sentence(problem))
    db.session.commit()
    return _answer("users/_changed.html", row=user.id, row_notice=notice, **extra)


@bp.get("/")
@permission_required("manage_users")
def index():
    return render_view("users/index.html", "users/index.html", **_context())


@bp.post("/")
@permission_required("manage_users")
def create():
    form = request.form
    password = form.get("password", "")
    generated = not password
    if generated:
        password = user_rules.generate_password()
    try:
        user = user_rules.add_user(db.session, current_user, form.get("email", ""), password,
                                   form.get("role", ""), form.get("name", ""))
    except UserError as problem:
        db.session.rollback()
        return _answer("users/_created.html", failed=True, create_form=form, create_error=_sentence(problem))
    db.session.commit()
    notice = _("%(name)s can now log in as %(role)s.", name=user.display_name, role=user_rules.ROLE_LABELS[user.role])
    return _answer("users/_created.html", create_notice=notice, row=user.id,
                   shown_password=password if generated else None)


@bp.post("/<int:user_id>/role")
@permission_required("manage_users")
def role(user_id):
    user, new_role = _user_or_404(user_id), request.form.get("role", "")
    return _row_change(user, lambda: user_rules.set_role(db.session, current_user, user, new_role),
                       _("%(name)s is now %(role)s.", name=user.display_name,
                         role=user_rules.ROLE_LABELS.get(new_role, new_role)))


@bp.post("/<int:user_id>/active")
@permission_required("manage_users")
def active(user_id):
    user, active = _user_or_404(user_id), request.form.get("active") == "1"
    notice = (_("%(name)s is active again.", name=user.display_name) if active
              else _("%(name)s is deactivated and logged out everywhere.", name=user.display_name))
    return _row_change(user, lambda: user_rules.set_active(db.session, current_user, user, active), notice)


@bp.post("/<int:user_id>/password")
@permission_required("manage_users")
def password(user_id):
    user = _user_or_404(user_id)
    new_password = request.form.get("password", "")
    generated = not new_password
    if generated:
        new_password = user_rules.generate_password()
    return _row_change(user, lambda: user_rules.set_password(db.session, current_user, user, new_password),
                       _("Password of %(name)s reset.", name=user.display_name) if user.id == current_user.id
                       else _("Password of %(name)s reset; they are logged out everywhere.", name=user.display_name),
                       shown_password=new_password if generated else None)


def _sentence(problem: Exception) -> str:
    text = str(problem)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
