import click
from flask.cli import with_appcontext

from domain.ledger.summaries import rebucket_all
from extensions import db


@click.group(help="Per-customer balance summaries.")
def summaries():
    pass


@summaries.command("rebuild", help="Rebuild every customer's aged balance from the ledger (the daily run does this).")
@with_appcontext
def rebuild():
    rebucket_all(db.session)
    db.session.commit()
    click.echo("Summaries rebuilt.")
