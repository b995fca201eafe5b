"""`flask --app app demo`: fill an empty database with a realistic, deterministic demo ledger."""
from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import click
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from flask import current_app, render_template
from flask.cli import with_appcontext
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cli import Option, number
from demo.fec import write_fec
from demo.generator import MAX_INVOICE_PDFS, DemoError, DemoPlan, InvoicePrint, has_customers, load_demo
from domain import clock
from domain.money import format_money
from extensions import db

INVOICE_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def render_invoice_pdf(invoice: InvoicePrint) -> bytes:
    """The invoice as the customer received it, in their language (templates/pdf/invoice.html)."""
    from weasyprint import HTML  # slow to import; only this command needs it

    locale = INVOICE_LOCALES.get(invoice.language, "en_GB")
    with force_locale(locale):  # the template's words in the invoice's language
        html = render_template(
            "pdf/invoice.html",
            invoice=invoice,
            money=lambda cents: format_money(cents, invoice.currency, locale),
            day=lambda value: format_date(value, "long", locale=locale),
            quantity=lambda value: format_decimal(value, locale=locale),
            percent=lambda value: format_percent(Decimal(value) / 100, locale=locale),
        )
    return HTML(string=html, base_url=current_app.root_path).write_pdf()


@click.command("demo", help=_l("Fill an empty database with demo customers, entries, payments, reminders "
                               "and a few invoice PDFs. The same seed gives the same data."))
@click.option("--customers", type=click.IntRange(min=1), default=DemoPlan.customers, show_default=True)
@click.option("--entries", type=click.IntRange(min=0), default=DemoPlan.entries, show_default=True, cls=Option,
              help=_l("Invoices and credit notes, spread over the last 18 months."))
@click.option("--seed", type=int, default=DemoPlan.seed, show_default=True)
@click.option("--invoice-pdfs", type=click.IntRange(0, MAX_INVOICE_PDFS), default=DemoPlan.invoice_pdfs,
              show_default=True, cls=Option, help=_l("Invoice PDFs rendered and attached to recent open invoices."))
@click.option("--fec", "fec_path", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              cls=Option,
              help=_l("Write a sample FEC of this year to FILE (to try `import fec`) instead of loading the demo."))
@click.option("--if-empty", is_flag=True, cls=Option,
              help=_l("Skip quietly (exit 0) when the database already has data, instead of failing."))
@with_appcontext
def command(customers, entries, seed, invoice_pdfs, fec_path, if_empty):
    if fec_path is not None:
        today = clock.today()
        write_fec(fec_path, today.year, today.month)
        month = format_date(today, "MMMM", locale=str(get_locale() or "en_GB"))
        try_it = f"flask --app app import fec {fec_path} --dry-run"
        click.echo(_("Wrote a sample FEC of %(year)s (January to %(month)s) to %(path)s: %(command)s", year=today.year,
                     month=month, path=fec_path, command=try_it))
        return
    session = db.session
    if has_customers(session):
        if if_empty:
            click.echo(_("Database already has data; demo not loaded."))
            return
        raise click.ClickException(_(
            "The database already has customers; the demo only loads into an empty database. "
            "Point RELANCE_DATABASE_URL (or RELANCE_INSTANCE_PATH) at a fresh one, or use --if-empty."))
    plan = DemoPlan(customers=customers, entries=entries, seed=seed, invoice_pdfs=invoice_pdfs)
    started = time.monotonic()
    click.echo(_("Loading the demo: %(customers)s customers, %(entries)s entries (seed %(seed)s)…",
                 customers=number(customers), entries=number(entries), seed=seed))
    try:
        result = load_demo(
            session, plan,
            attachment_dir=current_app.config["ATTACHMENT_DIR"],
            render_invoice=render_invoice_pdf,
            progress=lambda message: click.echo(f"  {message}  [{time.monotonic() - started:.1f} s]"),
        )
    except DemoError as error:  # another process loaded data meanwhile
        raise click.ClickException(str(error)) from None
    click.echo(_("Demo loaded in %(seconds)s s: %(customers)s customers, %(entries)s entries, %(payments)s payments.",
                 seconds=number(time.monotonic() - started, "0.0"), customers=number(result.counts.get("customers", 0)),
                 entries=number(result.counts.get("entries", 0)), payments=number(result.counts.get("payments", 0))))
    click.echo("  " + _("Demo login: %(email)s / %(password)s (admin); finance@relance.test and support@relance.test "
                        "use the same password.", email=result.login[0], password=result.login[1]))
