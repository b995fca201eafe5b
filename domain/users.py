"""Users, roles and what each role may do."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from domain.models import ROLES, User

# admin: everything and users; finance: everything but users;
# support: reads everything and may remove collection marks set by mistake.
PERMISSIONS = {
    "read": {"admin", "finance", "support"},
    "remove_collection_mark": {"admin", "finance", "support"},
    "edit": {"admin", "finance"},
    "manage_users": {"admin"},
}


def role_allows(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]


class UserError(ValueError):
    pass


def create_user(session: Session, email: str, password: str, role: str, name: str = "") -> User:
    email = email.strip().lower()
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if "@" not in email:
        raise UserError(f"{email!r} is not an e-mail address")
    if len(password) < 8:
        raise UserError("the password must have at least 8 characters")
    if find_user(session, email) is not None:
        raise UserError(f"a user {email} already exists")
    user = User(email=email, name=name, role=role, password_hash=generate_password_hash(password))
    session.add(user)
    return user


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = find_user(session, email)
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        return None
    return user
