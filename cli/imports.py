"""`flask --app app import customers|entries|payments FILE [--dry-run]` and
`flask --app app import attachments FILE.zip`."""
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from domain.attachments import AttachmentImportError, import_attachment_zip
from domain.imports.receivables import COLUMNS, CONCURRENT_CHANGE, KINDS, ImportFileError, import_file
from extensions import db


@click.group("import", help="Import customers, entries or payments from a .csv (UTF-8, Windows-1252 or ISO-8859-15; "
                            "comma, semicolon, tab or | separated) or .xlsx file. A file with any bad line imports "
                            "nothing.")
def command():
    pass


def _run(kind: str, path: Path, dry_run: bool, decimal_mark: str | None = None) -> None:
    try:
        report = import_file(db.session, kind, path, path.name, dry_run=dry_run, actor=None,
                             decimal_mark=decimal_mark)
    except ImportFileError as problem:
        db.session.rollback()
        raise click.ClickException(str(problem)) from None
    if report.written:
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise click.ClickException(CONCURRENT_CHANGE) from None
    else:
        db.session.rollback()
    if not report.ok:
        for error in report.errors:
            click.echo(str(error), err=True)
        click.echo(report.summary(), err=True)
        click.get_current_context().exit(1)
    click.echo(report.summary())


def _add_kind(kind: str, what: str) -> None:
    columns = COLUMNS[kind]
    optional = f"; optional: {', '.join(columns.optional)}" if columns.optional else ""
    help_text = f"Import {what}. Columns: {', '.join(columns.required)}{optional}."

    @command.command(kind, help=help_text)
    @click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check every line and show the counts; write nothing.")
    @click.option("--decimal-mark", type=click.Choice([".", ","]), default=None,
                  help="The amounts' decimal mark, when the file cannot tell (amounts like 1,234 only).")
    @with_appcontext
    def run(path: Path, dry_run: bool, decimal_mark: str | None) -> None:
        _run(kind, path, dry_run, decimal_mark)


_WHAT = {
    "customers": "customers, matched by account",
    "entries": "invoices and credit notes, matched by number",
    "payments": "payments on entries, matched by entry number + reference (a bank export read twice pays once)",
}
for _kind in KINDS:
    _add_kind(_kind, _WHAT[_kind])


@command.command("attachments", help="Attach invoice PDFs from a .zip: each file goes to the entry whose number is "
                                   "in its name (the longest wins; case does not matter). Files that are not PDFs "
                                   "or match no entry are listed and skipped. Exit status 1 when nothing is attached.")
@click.argument("path", metavar="FILE.zip", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def attachments(path: Path) -> None:
    try:
        report = import_attachment_zip(db.session, path, None, directory=current_app.config["ATTACHMENT_DIR"])
    except (AttachmentImportError, OSError) as problem:
        db.session.rollback()
        raise click.ClickException(str(problem)) from None
    db.session.commit()
    for line in report.lines:
        click.echo(str(line), err=line.outcome == "skipped")
    click.echo(report.summary(), err=not report.ok)
    if not report.ok:
        click.get_current_context().exit(1)


# The name this command had before invoice PDFs were called attachments: scripts (cron) keep working.
command.add_command(click.Command("documents", callback=attachments.callback, params=attachments.params, hidden=True,
                                  help="The former name of `import attachments`."))
