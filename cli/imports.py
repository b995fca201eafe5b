"""`flask --app app import customers|entries|payments FILE [--dry-run]`,
`flask --app app import fec FILE [--dry-run] [--terms-days N]` and
`flask --app app import attachments FILE.zip`."""
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy.exc import IntegrityError

from cli import Option, number
from domain.attachments import AttachmentImportError, import_attachment_zip
from domain.imports.fec import DEFAULT_CUSTOMER_ACCOUNTS, import_fec, parse_accounts
from domain.imports.receivables import COLUMNS, CONCURRENT_CHANGE, KINDS, ImportFileError, import_file
from domain.money import plain
from extensions import db


@click.group("import", help=_l("Import customers, entries or payments from a .csv (UTF-8, Windows-1252 or "
                               "ISO-8859-15; comma, semicolon, tab or | separated) or .xlsx file. A file with any bad "
                               "line imports nothing."))
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
        columns = ", ".join(f"{header!r} -> {column}" for column, header in report.mapping.items())
        click.echo(_("Columns remembered from the last import: %(columns)s", columns=columns)
                   if report.mapping_remembered else _("Columns as given: %(columns)s", columns=columns))
    if not report.ok:
        for error in report.errors:
            click.echo(str(error), err=True)
        if report.mapping_needed:
            example = " ".join(f"--column {column}={header!r}" for column, header in report.guesses.items())
            click.echo(_("The file's headers are not Relance's: say which holds what with --column, e.g. %(example)s",
                         example=example), err=True)
        click.echo(report.summary(), err=True)
        click.get_current_context().exit(1)
    click.echo(report.summary())


def _mapping(_context, _parameter, values: tuple[str, ...]) -> dict[str, str] | None:
    mapping = {}
    for value in values:
        column, separator, header = value.partition("=")
        if not separator or not header.strip():
            raise click.BadParameter(_('%(value)s: write COLUMN=HEADER, e.g. number="N° facture"', value=repr(value)))
        mapping[column.strip()] = header.strip()
    return mapping or None


def _add_kind(kind: str, what: str) -> None:
    columns = COLUMNS[kind]
    required, optional = ", ".join(columns.required), ", ".join(columns.optional)
    help_text = (_l("Import %(what)s. Columns: %(required)s; optional: %(optional)s.", what=what, required=required,
                    optional=optional) if optional
                 else _l("Import %(what)s. Columns: %(required)s.", what=what, required=required))

    @command.command(kind, help=help_text)
    @click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, cls=Option,
                  help=_l("Check every line and show the counts; write nothing."))
    @click.option("--decimal-mark", type=click.Choice([".", ","]), default=None, cls=Option,
                  help=_l("The amounts' decimal mark, when the file cannot tell (amounts like 1,234 only)."))
    @click.option("--column", "mapping", multiple=True, callback=_mapping, metavar="COLUMN=HEADER", cls=Option,
                  help=_l("Which of the file's headers holds a column, when its headers are not Relance's "
                          "(repeat it; remembered for the next import of this kind)."))
    @with_appcontext
    def run(path: Path, dry_run: bool, decimal_mark: str | None, mapping: dict[str, str] | None) -> None:
        _run(kind, path, dry_run, decimal_mark, mapping)


_WHAT = {
    "customers": _l("customers, matched by account"),
    "entries": _l("invoices and credit notes, matched by number"),
    "payments": _l("payments on entries, matched by entry number + reference (a bank export read twice pays once)"),
}
for _kind in KINDS:
    _add_kind(_kind, _WHAT[_kind])


def _accounts(_context, _parameter, value: str) -> tuple[str, ...]:
    try:
        return parse_accounts(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@command.command("fec", help=_l("Import an FEC (Fichier des Écritures Comptables): customers from the auxiliary "
                                "accounts of the customer accounts, invoices and credit notes from the sales journals, "
                                "payments from the others, settled by the file's lettering. Importing it again, or "
                                "next month's FEC, adds what is new."))
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, cls=Option, help=_l("Read the file and show the report; write nothing."))
@click.option("--terms-days", type=click.IntRange(0, 365), default=None, cls=Option,
              help=_l("Due date = piece date + this many days, for customers without payment terms "
                      "(default: Settings → Company, 30 days unless changed)."))
@click.option("--accounts", default=",".join(DEFAULT_CUSTOMER_ACCOUNTS), show_default=True, callback=_accounts,
              cls=Option, help=_l("The customer accounts: CompteNum prefixes, comma separated."))
@click.option("--apply-on-account", is_flag=True, cls=Option,
              help=_l("Apply the payments no lettering uses to each customer's oldest open invoices."))
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
    lines = [_("Read %(file)s: %(encoding)s, separated by %(separator)s, %(layout)s; %(lines)s lines, "
               "%(customer_lines)s on customer accounts (%(accounts)s); sales journals: %(journals)s.",
               file=report.filename, encoding=report.encoding, separator=report.separator, layout=report.layout,
               lines=number(report.lines), customer_lines=number(report.customer_lines),
               accounts=", ".join(report.accounts),
               journals=", ".join(report.sales_journals) or pgettext("sales journals", "none")),
             _("Customers: %(created)s new, %(known)s known. Invoices: %(invoices)s, credit notes: %(credit_notes)s, "
               "payments: %(payments)s, lettered groups: %(lettered_groups)s.",
               created=report.customers_created, known=report.customers_known, invoices=report.invoices,
               credit_notes=report.credit_notes, payments=report.payments, lettered_groups=report.lettered_groups)]
    if report.open_by_currency:
        open_total = ", ".join(f"{plain(cents)} {currency}"
                               for currency, cents in sorted(report.open_by_currency.items()))
        lines.append(_("Entries: %(created)s new, %(known)s known, %(open)s still open; open total %(total)s.",
                       created=report.entries_created, known=report.entries_known, open=report.entries_open,
                       total=open_total))
    else:
        lines.append(_("Entries: %(created)s new, %(known)s known, none open.",
                       created=report.entries_created, known=report.entries_known))
    if report.on_account_found:
        if report.apply_on_account:
            lines.append(_("Payments on account, applied to the oldest open invoices: %(count)s (%(amount)s).",
                           count=len(report.on_account_found), amount=plain(report.on_account_cents)))
        else:
            lines.append(_("Payments on account, not applied: %(count)s (%(amount)s). If applied oldest-first "
                           "(--apply-on-account), the open total would be %(total)s.",
                           count=len(report.on_account_found), amount=plain(report.on_account_cents),
                           total=plain(report.on_account_open_cents)))
    lines.append(report.control())
    lines += ["  " + (_("line %(line)s: %(text)s: %(amount)s", line=d.line, text=d.text, amount=plain(d.cents))
                      if d.line else _("%(text)s: %(amount)s", text=d.text, amount=plain(d.cents)))
              for d in report.differences]
    lines += [_("Warning: %(warning)s", warning=warning) for warning in report.warnings]
    lines.append(report.summary())
    return lines


@command.command("attachments", help=_l("Attach invoice PDFs from a .zip: each file goes to the entry whose number "
                                        "is in its name (the longest wins; case does not matter). Files that are not "
                                        "PDFs or match no entry are listed and skipped. Exit status 1 when nothing is "
                                        "attached."))
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
                                  help=_l("The former name of `import attachments`.")))
