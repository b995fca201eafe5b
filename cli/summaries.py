import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from domain.ledger.summaries import rebucket_all
from extensions import db


@click.group(help=_l("Per-customer balance summaries."))
def summaries():
    pass


@summaries.command("rebuild",
                   help=_l("Rebuild every customer's aged balance from the ledger (the daily run does this)."))
@with_appcontext
def rebuild():
    rebucket_all(db.session)
    db.session.commit()
    click.echo(_("Summaries rebuilt."))
