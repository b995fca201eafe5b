"""`flask --app app reminders run [--dry-run] [--day YYYY-MM-DD]`: the automatic follow-up run
(domain/follow_up.py), and `daily_run`, the RQ job the worker queues once a day.

Both hand the domain the two things it does not know: how a queued e-mail reaches the worker
(jobs.enqueue_outbox_message) and how a letter becomes a PDF on disk (documents/letter.py).
"""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

log = logging.getLogger("relance.follow_up")


def letter_maker(document_dir: str | Path):
    """make_letter(customer, entries, content) → (storage_name, filename): the letter PDF,
    written under the document directory the way a manual letter is."""
    from documents.letter import write_letter
    from domain import reminder_templates as templates
    from domain.settings import company as saved_company
    from extensions import db

    def make(customer, entries, content) -> tuple[str, str]:
        return write_letter(document_dir, saved_company(db.session), customer, entries, content,
                            f"{templates.level_name(content.level)} {customer.name} {content.day.isoformat()}")

    return make


def run_follow_up(app, day: date | None = None, dry_run: bool = False):
    """The run inside `app`'s context: the report (domain.follow_up.RunReport)."""
    import jobs
    from domain import follow_up
    from extensions import db

    if dry_run:
        return follow_up.run(db.session, day, dry_run=True)
    return follow_up.run(db.session, day, enqueue=jobs.enqueue_outbox_message,
                         make_letter=letter_maker(app.config["DOCUMENT_DIR"]))


def daily_run(day: str | None = None) -> str:
    """RQ job: today's automatic follow-up (queued once a day by worker.enqueue_daily_jobs)."""
    import jobs

    app = jobs._job_app()
    with app.app_context():
        from extensions import db

        db.engine.dispose(close=False)
        try:
            report = run_follow_up(app, date.fromisoformat(day) if day else None)
            summary = (f"{len(report.outcomes)} customers: {report.count('queued')} e-mails queued, "
                       f"{report.count('letter')} letters, {report.count('task')} tasks, "
                       f"{report.count('skipped')} skipped")
            log.info("Follow-up run for %s: %s", report.day, summary)
            return summary
        finally:
            db.session.remove()


@click.group("reminders", help="Automatic follow-up plans.")
def command() -> None:
    pass


@command.command("run")
@click.option("--dry-run", is_flag=True, help="Print what would be sent per customer; write nothing.")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Run as of this day (default: today).")
@with_appcontext
def run_command(dry_run: bool, day) -> None:
    """Send what the follow-up plans say is due today: one message per customer."""
    report = run_follow_up(current_app._get_current_object(), day.date() if day else None, dry_run=dry_run)
    for line in report.lines():
        click.echo(line)
