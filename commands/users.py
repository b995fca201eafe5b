import click
from flask.cli import with_appcontext

from domain.models import ROLES
from domain.users import UserError, create_user
from extensions import db


@click.group(help="Manage users.")
def users():
    pass


@users.command("create", help="Create a user who can log in.")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="")
@with_appcontext
def create(email, password, role, name):
    try:
        user = create_user(db.session, email, password, role, name)
    except UserError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}")
