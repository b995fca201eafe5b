"""Users, roles and what each role may do; their logins (sessions) and the account rules."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from domain import audit, clock
from domain.i18n import Joined, _, lazy_pgettext, say
from domain.models import LANGUAGES, ROLES, User, UserSession

MIN_PASSWORD_LENGTH = 8
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}  # each in its own language: not translated
# What each role is called on screen and in the history (the code stays in forms and the database).
ROLE_LABELS = {"admin": lazy_pgettext("role", "Admin"), "finance": lazy_pgettext("role", "Finance"),
               "support": lazy_pgettext("role", "Support")}
# A login lasts at most this long, even with "Keep me logged in" (the remember cookie as well).
SESSION_LIFETIME = timedelta(days=30)


class UserError(ValueError):
    pass


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(_("the password must have at least %(count)s characters", count=MIN_PASSWORD_LENGTH))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(_("unknown role %(role)s: choose one of %(roles)s", role=repr(role), roles=", ".join(ROLES)))


def generate_password() -> str:
    """A password an admin hands over once: 16 URL-safe characters (96 random bits)."""
    return secrets.token_urlsafe(12)


def create_user(session: Session, email: str, password: str, role: str, name: str = "") -> User:
    """A new user, not recorded in the history (set-up and demo data; people use add_user)."""
    email = email.strip().lower()
    _check_role(role)
    if "@" not in email:
        raise UserError(_("%(email)s is not an e-mail address", email=repr(email)))
    _check_password(password)
    if find_user(session, email) is not None:
        raise UserError(_("a user %(email)s already exists", email=email))
    user = User(email=email, name=name.strip(), role=role, password_hash=generate_password_hash(password))
    session.add(user)
    return user


def add_user(session: Session, actor: User | None, email: str, password: str, role: str, name: str = "") -> User:
    """A user created by an admin (Settings → Users) or the command line, with its history line."""
    user = create_user(session, email, password, role, name)
    audit.record(session, actor, "user.created", say("Created %(user)s as %(role)s", user=_who(user),
                                                     role=ROLE_LABELS[role]), subject_user=user)
    return user


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user with this e-mail and password, if active. An unknown e-mail is checked against a
    dummy hash, so it is refused in the same time as a wrong password: timing tells nothing."""
    user = find_user(session, email)
    matches = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if user is None or not matches or not user.active:
        return None
    return user


# --- logins -------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user: User) -> str:
    """A new login for `user`; its token becomes the user's Flask-Login id (user.get_id())."""
    now = clock.now()
    token = secrets.token_urlsafe(32)
    session.execute(delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at <= now))
    session.add(UserSession(id=_digest(token), user_id=user.id, created_at=now, expires_at=now + SESSION_LIFETIME))
    user.last_login_at = now
    user.session_token = token
    return token


def user_for_session(session: Session, token: str) -> User | None:
    """The active user of an open login, or None: one query on the primary key, for every request."""
    user = session.scalar(
        select(User).join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.id == _digest(token), UserSession.expires_at > clock.now(), User.active.is_(True)))
    if user is not None:
        user.session_token = token
    return user


def close_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(UserSession).where(UserSession.id == _digest(token)))


def close_sessions(session: Session, user: User, keep: str | None = None) -> None:
    """End every login of `user` (but `keep`, the one making the change)."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    if keep:
        statement = statement.where(UserSession.id != _digest(keep))
    session.execute(statement)


# --- account changes (Settings → Users, the CLI, My account) -------------------------------


def _who(user: User) -> str:
    return f"{user.name} ({user.email})" if user.name else user.email


def _keep_an_admin(session: Session, user: User, change) -> None:
    """Apply `change` to `user`, refusing it if no active admin would be left.

    Safe when two admins demote each other at once: PostgreSQL locks the active admins' rows
    first (the second transaction waits, then counts what the first committed); SQLite lets one
    writer at a time, and the count runs after this write, inside its transaction."""
    was_admin = user.active and user.role == "admin"
    if was_admin:
        session.execute(select(User.id).where(User.role == "admin", User.active.is_(True)).with_for_update()).all()
    change()
    if was_admin and not (user.active and user.role == "admin"):
        session.flush()
        admins = session.scalar(select(func.count()).select_from(User)
                                .where(User.role == "admin", User.active.is_(True)))
        if not admins:
            raise UserError(_("%(user)s is the last active admin: make another user admin first, so someone can "
                              "still manage users.", user=_who(user)))


def set_role(session: Session, actor: User | None, user: User, role: str) -> bool:
    """False when the user already has this role (nothing recorded)."""
    _check_role(role)
    if user.role == role:
        return False
    before = user.role

    def change():
        user.role = role

    _keep_an_admin(session, user, change)
    audit.record(session, actor, "user.role", say("Role of %(user)s: %(before)s → %(role)s", user=_who(user),
                                                  before=ROLE_LABELS.get(before, before), role=ROLE_LABELS[role]),
                 subject_user=user)
    return True


def set_active(session: Session, actor: User | None, user: User, active: bool) -> bool:
    """Deactivating ends the user's logins at once (their next request is refused)."""
    if user.active == active:
        return False
    if not active and actor is not None and actor.id == user.id:
        raise UserError(_("You cannot deactivate your own account: ask another admin."))

    def change():
        user.active = active

    _keep_an_admin(session, user, change)
    if not active:
        close_sessions(session, user)
    detail = say("Reactivated %(user)s", user=_who(user)) if active else say("Deactivated %(user)s", user=_who(user))
    audit.record(session, actor, "user.active", detail, subject_user=user)
    return True


def set_password(session: Session, actor: User | None, user: User, password: str) -> None:
    """An admin (or the CLI) sets a user's password: every login of that user ends, except the
    admin's own when they reset their own password."""
    _check_password(password)
    user.password_hash = generate_password_hash(password)
    keep = actor.session_token if actor is not None and actor.id == user.id else None
    close_sessions(session, user, keep=keep)
    audit.record(session, actor, "user.password", say("Password of %(user)s reset", user=_who(user)), subject_user=user)


def change_own_password(session: Session, user: User, current: str, new: str, confirmation: str) -> None:
    """My account: the current password is required; the user's other logins end."""
    errors = {}
    if not check_password_hash(user.password_hash, current):
        errors["current_password"] = _("This is not your current password.")
    if len(new) < MIN_PASSWORD_LENGTH:
        errors["new_password"] = _("The new password must have at least %(count)s characters.",
                                   count=MIN_PASSWORD_LENGTH)
    elif new != confirmation:
        errors["confirmation"] = _("The two new passwords differ.")
    if errors:
        raise AccountError(errors)
    user.password_hash = generate_password_hash(new)
    close_sessions(session, user, keep=user.session_token)
    audit.record(session, user, "user.password", say("%(user)s changed their password", user=_who(user)),
                 subject_user=user)


def update_profile(session: Session, user: User, name: str, language: str) -> None:
    """My account: the name shown to others and the interface language."""
    name = name.strip()
    errors = {}
    if len(name) > 200:
        errors["name"] = _("The name is too long (200 characters at most).")
    language = language or None  # none chosen: the browser's language
    if language is not None and language not in LANGUAGES:
        errors["language"] = _("Choose one of: %(languages)s.",
                               languages=", ".join(LANGUAGE_NAMES[code] for code in LANGUAGES))
    if errors:
        raise AccountError(errors)
    changes = []
    if name != user.name:
        changes.append(say("name “%(before)s” → “%(after)s”", before=user.name, after=name))
        user.name = name
    if language != user.language:
        changes.append(say("language %(before)s → %(after)s", before=_language_label(user.language),
                           after=_language_label(language)))
        user.language = language
    if changes:
        audit.record(session, user, "user.profile", say("%(email)s changed their %(changes)s", email=user.email,
                                                        changes=Joined(changes, ", ")), subject_user=user)


def _language_label(language: str | None):
    """A language in the history: its code (en, fr), or "browser" (none chosen) in the reader's words."""
    return language or lazy_pgettext("language", "browser")


class AccountError(UserError):
    """Errors by form field, for My account."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors
