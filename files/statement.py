"""A customer's statement (relevé de compte) as PDF (WeasyPrint) and as Excel (openpyxl): the
company's letterhead, the customer, the period, the opening balance, every line with its running
balance, the closing balance. The statement itself is domain.ledger.statements'; this only lays
it out. Like the letters, the PDF loads nothing from outside."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import pgettext

from domain.i18n import language_of
from domain.ledger.statements import Statement
from domain.money import format_money, to_decimal
from files.cells import MONEY_FORMAT, xlsx_cell
from files.pdf import TEMPLATES, _environment, locale_of, refusing_url_fetcher

STATEMENT_TEMPLATE = "statement.html"
STATEMENT_CSS = "letter.css"  # the letters' page, letterhead and table styles


@lru_cache(maxsize=1)
def _stylesheet():
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    return CSS(filename=str(TEMPLATES / STATEMENT_CSS), font_config=fonts), fonts


def _undated(amount: str) -> str:
    """The line saying an amount settled on no known day is not in the statement."""
    return _("%(amount)s was settled outside Relance on a day it does not know: it is not in this statement, which "
             "ends before today.", amount=amount)


def statement_html(statement: Statement, company, day) -> str:
    """The statement's page, in the customer's language."""
    locale = locale_of(statement.customer.language)

    def when(value):
        return format_date(value, "short", locale=locale)

    with force_locale(locale):
        return _environment().get_template(STATEMENT_TEMPLATE).render(
            statement=statement, company=company, lang=language_of(locale), today=when(day),
            period=_("From %(start)s to %(end)s", start=when(statement.start), end=when(statement.end)),
            undated=_undated(format_money(abs(statement.undated_cents), statement.currency, locale)),
            kinds={"invoice": _("Invoice"), "credit_note": _("Credit note")},
            money=lambda cents: format_money(cents, statement.currency, locale), day=when)


def write_statement_pdf(path: Path, statement: Statement, company, day) -> None:
    from weasyprint import HTML

    stylesheet, fonts = _stylesheet()
    HTML(string=statement_html(statement, company, day), base_url=str(TEMPLATES),
         url_fetcher=refusing_url_fetcher()).write_pdf(path, stylesheets=[stylesheet], font_config=fonts)


def write_statement_xlsx(path: Path, statement: Statement, day) -> None:
    """The same statement as a workbook: amounts are numbers (a sheet can sum them), dates are dates. In the
    customer's language."""
    with force_locale(locale_of(statement.customer.language)):
        _write_statement_xlsx(path, statement)


def _write_statement_xlsx(path: Path, statement: Statement) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    title = _("Statement of account")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    bold = Font(bold=True)
    customer = statement.customer

    def amount(cents):
        return xlsx_cell(sheet, to_decimal(cents), number_format=MONEY_FORMAT) if cents else xlsx_cell(sheet, None)

    sheet.append([xlsx_cell(sheet, title, font=bold)])
    sheet.append([xlsx_cell(sheet, customer.name), xlsx_cell(sheet, f"{_('Account')} {customer.account}")])
    sheet.append([xlsx_cell(sheet, statement.start, number_format="yyyy-mm-dd"),
                  xlsx_cell(sheet, statement.end, number_format="yyyy-mm-dd"), xlsx_cell(sheet, statement.currency)])
    sheet.append([])
    sheet.append([xlsx_cell(sheet, text, font=bold) for text in
                  (_("Date"), pgettext("statement", "Entry"), pgettext("statement", "Description"), _("Debit"),
                   _("Credit"), _("Balance"))])
    sheet.append([xlsx_cell(sheet, statement.start, number_format="yyyy-mm-dd"), xlsx_cell(sheet, ""),
                  xlsx_cell(sheet, _("Opening balance"), font=bold), xlsx_cell(sheet, None), xlsx_cell(sheet, None),
                  xlsx_cell(sheet, to_decimal(statement.opening_cents), number_format=MONEY_FORMAT)])
    for line in statement.lines:
        sheet.append([xlsx_cell(sheet, line.day, number_format="yyyy-mm-dd"), xlsx_cell(sheet, line.number),
                      xlsx_cell(sheet, line.label), amount(line.debit_cents), amount(line.credit_cents),
                      xlsx_cell(sheet, to_decimal(line.balance_cents), number_format=MONEY_FORMAT)])
    sheet.append([xlsx_cell(sheet, statement.end, number_format="yyyy-mm-dd"), xlsx_cell(sheet, ""),
                  xlsx_cell(sheet, _("Closing balance"), font=bold), amount(statement.debit_cents),
                  amount(statement.credit_cents),
                  xlsx_cell(sheet, to_decimal(statement.closing_cents), number_format=MONEY_FORMAT)])
    if statement.undated_cents:
        sheet.append([])
        sheet.append([xlsx_cell(sheet, _undated(f"{to_decimal(abs(statement.undated_cents))} "
                                                           f"{statement.currency}"))])
    workbook.save(path)
