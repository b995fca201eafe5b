"""`flask --app app users …`: the same rules as Settings → Users (the last active admin stays),
recorded in the history as done from the command line."""
import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from domain import users as user_rules
from domain.models import ROLES, User
from domain.users import UserError
from extensions import db


@click.group(help=_l("Manage users."))
def users():
    pass


def _user(email: str) -> User:
    user = user_rules.find_user(db.session, email)
    if user is None:
        raise click.ClickException(_("there is no user %(email)s", email=email.strip().lower()))
    return user


def _apply(change) -> None:
    try:
        change()
    except UserError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()


@users.command("create", help=_l("Create a user who can log in."))
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="")
@with_appcontext
def create(email, password, role, name):
    _apply(lambda: user_rules.add_user(db.session, None, email, password, role, name))
    click.echo(_("Created %(role)s %(email)s", role=role, email=email.strip().lower()))


@users.command("set-role", help=_l("Give a user another role."))
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@with_appcontext
def set_role(email, role):
    user = _user(email)
    _apply(lambda: user_rules.set_role(db.session, None, user, role))
    click.echo(_("%(email)s is %(role)s", email=user.email, role=role))


@users.command("deactivate", help=_l("Stop a user from logging in; their open sessions end at once."))
@click.argument("email")
@with_appcontext
def deactivate(email):
    user = _user(email)
    _apply(lambda: user_rules.set_active(db.session, None, user, False))
    click.echo(_("%(email)s is deactivated", email=user.email))


@users.command("activate", help=_l("Let a deactivated user log in again."))
@click.argument("email")
@with_appcontext
def activate(email):
    user = _user(email)
    _apply(lambda: user_rules.set_active(db.session, None, user, True))
    click.echo(_("%(email)s is active", email=user.email))


@users.command("set-password", help=_l("Set a user's password; their open sessions end."))
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def set_password(email, password):
    user = _user(email)
    _apply(lambda: user_rules.set_password(db.session, None, user, password))
    click.echo(_("Password of %(email)s set", email=user.email))
