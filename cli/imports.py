"""`flask --app app import customers|entries|payments FILE [--dry-run]`,
`flask --app app import fec FILE [--dry-run] [--terms-days N]` and
`flask --app app import attachments FILE.zip`."""
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from domain.attachments import AttachmentImportError, import_attachment_zip
from domain.imports.fec import DEFAULT_CUSTOMER_ACCOUNTS, import_fec, parse_accounts
from domain.imports.receivables import COLUMNS, CONCURRENT_CHANGE, KINDS, ImportFileError, import_file
from domain.money import plain
from extensions import db


@click.group("import", help="Import customers, entries or payments from a .csv (UTF-8, Windows-1252 or ISO-8859-15; "
                            "comma, semicolon, tab or | separated) or .xlsx file. A file with any bad line imports "
                            "nothing.")
def command():
    pass


def _run(kind: str, path: Path, dry_run: bool, decimal_mark: str | None = None,
         mapping: dict[str, str] | None = None) -> None:
    try:
        report = import_file(db.session, kind, path, path.name, dry_run=dry_run, actor=None,
                             decimal_mark=decimal_mark, mapping=mapping)
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
    if report.mapping:
        source = "remembered from the last import" if report.mapping_remembered else "as given"
        click.echo(f"Columns {source}: " + ", ".join(f"{header!r} -> {column}"
                                                    for column, header in report.mapping.items()))
    if not report.ok:
        for error in report.errors:
            click.echo(str(error), err=True)
        if report.mapping_needed:
            click.echo("The file's headers are not Relance's: say which holds what with --column, e.g. "
                       + " ".join(f"--column {column}={header!r}" for column, header in report.guesses.items()),
                       err=True)
        click.echo(report.summary(), err=True)
        click.get_current_context().exit(1)
    click.echo(report.summary())


def _mapping(_context, _parameter, values: tuple[str, ...]) -> dict[str, str] | None:
    mapping = {}
    for value in values:
        column, separator, header = value.partition("=")
        if not separator or not header.strip():
            raise click.BadParameter(f"{value!r}: write COLUMN=HEADER, e.g. number=\"N° facture\"")
        mapping[column.strip()] = header.strip()
    return mapping or None


def _add_kind(kind: str, what: str) -> None:
    columns = COLUMNS[kind]
    optional = f"; optional: {', '.join(columns.optional)}" if columns.optional else ""
    help_text = f"Import {what}. Columns: {', '.join(columns.required)}{optional}."

    @command.command(kind, help=help_text)
    @click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check every line and show the counts; write nothing.")
    @click.option("--decimal-mark", type=click.Choice([".", ","]), default=None,
                  help="The amounts' decimal mark, when the file cannot tell (amounts like 1,234 only).")
    @click.option("--column", "mapping", multiple=True, callback=_mapping, metavar="COLUMN=HEADER",
                  help="Which of the file's headers holds a column, when its headers are not Relance's "
                       "(repeat it; remembered for the next import of this kind).")
    @with_appcontext
    def run(path: Path, dry_run: bool, decimal_mark: str | None, mapping: dict[str, str] | None) -> None:
        _run(kind, path, dry_run, decimal_mark, mapping)


_WHAT = {
    "customers": "customers, matched by account",
    "entries": "invoices and credit notes, matched by number",
    "payments": "payments on entries, matched by entry number + reference (a bank export read twice pays once)",
}
for _kind in KINDS:
    _add_kind(_kind, _WHAT[_kind])


def _accounts(_context, _parameter, value: str) -> tuple[str, ...]:
    try:
        return parse_accounts(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@command.command("fec", help="Import an FEC (Fichier des Écritures Comptables): customers from the auxiliary accounts "
                             "of the customer accounts, invoices and credit notes from the sales journals, payments "
                             "from the others, settled by the file's lettering. Importing it again, or next month's "
                             "FEC, adds what is new.")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Read the file and show the report; write nothing.")
@click.option("--terms-days", type=click.IntRange(0, 365), default=None,
              help="Due date = piece date + this many days, for customers without payment terms "
                   "(default: Settings → Company, 30 days unless changed).")
@click.option("--accounts", default=",".join(DEFAULT_CUSTOMER_ACCOUNTS), show_default=True, callback=_accounts,
              help="The customer accounts: CompteNum prefixes, comma separated.")
@click.option("--apply-on-account", is_flag=True,
              help="Apply the payments no lettering uses to each customer's oldest open invoices.")
@with_appcontext
def fec(path: Path, dry_run: bool, terms_days: int | None, accounts: tuple[str, ...], apply_on_account: bool) -> None:
    try:
        report = import_fec(db.session, path, path.name, dry_run=dry_run, terms_days=terms_days, accounts=accounts,
                            apply_on_account=apply_on_account)
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
    for line in fec_report_lines(report):
        click.echo(line)


def fec_report_lines(report) -> list[str]:
    """The FEC report as the terminal shows it."""
    lines = [f"Read {report.filename}: {report.encoding}, separated by {report.separator}, {report.layout}; "
             f"{report.lines:,} lines, {report.customer_lines:,} on customer accounts "
             f"({', '.join(report.accounts)}); sales journals: {', '.join(report.sales_journals) or 'none'}.",
             f"Customers: {report.customers_created} new, {report.customers_known} known. "
             f"Invoices: {report.invoices}, credit notes: {report.credit_notes}, payments: {report.payments}, "
             f"lettered groups: {report.lettered_groups}.",
             f"Entries: {report.entries_created} new, {report.entries_known} known, {report.entries_open} still open; "
             + "open total " + ", ".join(f"{plain(cents)} {currency}" for currency, cents
                                         in sorted(report.open_by_currency.items())) + "."
             if report.open_by_currency else
             f"Entries: {report.entries_created} new, {report.entries_known} known, none open."]
    if report.on_account_found:
        applied = "applied to the oldest open invoices" if report.apply_on_account else "not applied"
        other_view = "" if report.apply_on_account else (
            f" If applied oldest-first (--apply-on-account), the open total would be "
            f"{plain(report.on_account_open_cents)}.")
        lines.append(f"Payments on account, {applied}: {len(report.on_account_found)} "
                     f"({plain(report.on_account_cents)}).{other_view}")
    lines.append(report.control())
    lines += [f"  {'line ' + str(d.line) + ': ' if d.line else ''}{d.text}: {plain(d.cents)}"
              for d in report.differences]
    lines += [f"Warning: {warning}" for warning in report.warnings]
    lines.append(report.summary())
    return lines


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
