"""`flask --app app reminders run [--dry-run] [--day YYYY-MM-DD]`: the automatic follow-up run
(domain/reminders/follow_up.py) by hand, as jobs.reminders.daily_run does it once a day."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

from cli import Option
from jobs.reminders import run_follow_up


@click.group("reminders", help=_l("Automatic follow-up plans."))
def command() -> None:
    pass


@command.command("run", help=_l("Send what the follow-up plans say is due today: one message per customer."))
@click.option("--dry-run", is_flag=True, cls=Option, help=_l("Print what would be sent per customer; write nothing."))
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, cls=Option,
              help=_l("Run as of this day (default: today)."))
@with_appcontext
def run_command(dry_run: bool, day) -> None:
    """Send what the follow-up plans say is due today: one message per customer."""
    report = run_follow_up(current_app._get_current_object(), day.date() if day else None, dry_run=dry_run)
    for line in report.lines():
        click.echo(line)
