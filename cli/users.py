"""`flask --app app users …`: the same rules as Settings → Users (the last active admin stays),
recorded in the history as done from the command line."""
import click
from flask.cli import with_appcontext

from domain import users as user_rules
from domain.models import ROLES, User
from domain.users import UserError
from extensions import db


@click.group(help="Manage users.")
def users():
    pass


def _user(email: str) -> User:
    user = user_rules.find_user(db.session, email)
    if user is None:
        raise click.ClickException(f"there is no user {email.strip().lower()}")
    return user


def _apply(change) -> None:
    try:
        change()
    except UserError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()


@users.command("create", help="Create a user who can log in.")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="")
@with_appcontext
def create(email, password, role, name):
    _apply(lambda: user_rules.add_user(db.session, None, email, password, role, name))
    click.echo(f"Created {role} {email.strip().lower()}")


@users.command("set-role", help="Give a user another role.")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@with_appcontext
def set_role(email, role):
    user = _user(email)
    _apply(lambda: user_rules.set_role(db.session, None, user, role))
    click.echo(f"{user.email} is {role}")


@users.command("deactivate", help="Stop a user from logging in; their open sessions end at once.")
@click.argument("email")
@with_appcontext
def deactivate(email):
    user = _user(email)
    _apply(lambda: user_rules.set_active(db.session, None, user, False))
    click.echo(f"{user.email} is deactivated")


@users.command("activate", help="Let a deactivated user log in again.")
@click.argument("email")
@with_appcontext
def activate(email):
    user = _user(email)
    _apply(lambda: user_rules.set_active(db.session, None, user, True))
    click.echo(f"{user.email} is active")


@users.command("set-password", help="Set a user's password; their open sessions end.")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def set_password(email, password):
    user = _user(email)
    _apply(lambda: user_rules.set_password(db.session, None, user, password))
    click.echo(f"Password of {user.email} set")
