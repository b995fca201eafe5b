"""A customer's statement (relevé de compte) as PDF (WeasyPrint) and as Excel (openpyxl): the
company's letterhead, the customer, the period, the opening balance, every line with its running
balance, the closing balance. The statement itself is domain.ledger.statements'; this only lays
it out. Like the letters, the PDF loads nothing from outside."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.dates import format_date

from domain.ledger.statements import Statement
from domain.money import format_money, to_decimal
from files.cells import MONEY_FORMAT, xlsx_cell
from files.pdf import TEMPLATES, _environment, refusing_url_fetcher

STATEMENT_TEMPLATE = "statement.html"
STATEMENT_CSS = "letter.css"  # the letters' page, letterhead and table styles

LABELS = {
    "en": {"title": "Statement of account", "period": "From {start} to {end}", "account": "Account",
           "registration": "Registration no.", "date": "Date", "entry": "Entry", "label": "Description",
           "debit": "Debit", "credit": "Credit", "balance": "Balance", "opening": "Opening balance",
           "closing": "Closing balance", "totals": "Totals of the period",
           "undated": "{amount} was settled outside Relance on a day it does not know: it is not in this "
                      "statement, which ends before today.",
           "kinds": {"invoice": "Invoice", "credit_note": "Credit note", "payment": "Payment",
                     "reversal": "Payment reversed", "cancelled": "Cancelled", "settled": "Settled outside Relance"}},
    "fr": {"title": "Relevé de compte", "period": "Du {start} au {end}", "account": "Compte",
           "registration": "SIREN", "date": "Date", "entry": "Pièce", "label": "Libellé",
           "debit": "Débit", "credit": "Crédit", "balance": "Solde", "opening": "Solde d'ouverture",
           "closing": "Solde de clôture", "totals": "Totaux de la période",
           "undated": "{amount} a été réglé hors de Relance à une date inconnue : ce montant n'est pas dans ce "
                      "relevé, qui s'arrête avant aujourd'hui.",
           "kinds": {"invoice": "Facture", "credit_note": "Avoir", "payment": "Règlement",
                     "reversal": "Règlement annulé", "cancelled": "Annulée", "settled": "Réglé hors de Relance"}},
}
LOCALES = {"en": "en_GB", "fr": "fr_FR"}


@lru_cache(maxsize=1)
def _stylesheet():
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    return CSS(filename=str(TEMPLATES / STATEMENT_CSS), font_config=fonts), fonts


def _language(customer_language: str | None) -> str:
    language = (customer_language or "en").split("_")[0].lower()
    return language if language in LABELS else "en"


def statement_html(statement: Statement, company, day) -> str:
    language = _language(statement.customer.language)
    locale, labels = LOCALES[language], LABELS[language]

    def when(value):
        return format_date(value, "short", locale=locale)

    return _environment().get_template(STATEMENT_TEMPLATE).render(
        statement=statement, company=company, labels=labels, lang=language, today=when(day),
        period=labels["period"].format(start=when(statement.start), end=when(statement.end)),
        undated=labels["undated"].format(amount=format_money(abs(statement.undated_cents), statement.currency, locale)),
        money=lambda cents: format_money(cents, statement.currency, locale), day=when)


def write_statement_pdf(path: Path, statement: Statement, company, day) -> None:
    from weasyprint import HTML

    stylesheet, fonts = _stylesheet()
    HTML(string=statement_html(statement, company, day), base_url=str(TEMPLATES),
         url_fetcher=refusing_url_fetcher()).write_pdf(path, stylesheets=[stylesheet], font_config=fonts)


def write_statement_xlsx(path: Path, statement: Statement, day) -> None:
    """The same statement as a workbook: amounts are numbers (a sheet can sum them), dates are dates."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    labels = LABELS[_language(statement.customer.language)]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(labels["title"][:31])
    bold = Font(bold=True)
    customer = statement.customer

    def amount(cents):
        return xlsx_cell(sheet, to_decimal(cents), number_format=MONEY_FORMAT) if cents else xlsx_cell(sheet, None)

    sheet.append([xlsx_cell(sheet, labels["title"], font=bold)])
    sheet.append([xlsx_cell(sheet, customer.name), xlsx_cell(sheet, f"{labels['account']} {customer.account}")])
    sheet.append([xlsx_cell(sheet, statement.start, number_format="yyyy-mm-dd"),
                  xlsx_cell(sheet, statement.end, number_format="yyyy-mm-dd"), xlsx_cell(sheet, statement.currency)])
    sheet.append([])
    sheet.append([xlsx_cell(sheet, text, font=bold) for text in
                  (labels["date"], labels["entry"], labels["label"], labels["debit"], labels["credit"],
                   labels["balance"])])
    sheet.append([xlsx_cell(sheet, statement.start, number_format="yyyy-mm-dd"), xlsx_cell(sheet, ""),
                  xlsx_cell(sheet, labels["opening"], font=bold), xlsx_cell(sheet, None), xlsx_cell(sheet, None),
                  xlsx_cell(sheet, to_decimal(statement.opening_cents), number_format=MONEY_FORMAT)])
    for line in statement.lines:
        sheet.append([xlsx_cell(sheet, line.day, number_format="yyyy-mm-dd"), xlsx_cell(sheet, line.number),
                      xlsx_cell(sheet, line.label), amount(line.debit_cents), amount(line.credit_cents),
                      xlsx_cell(sheet, to_decimal(line.balance_cents), number_format=MONEY_FORMAT)])
    sheet.append([xlsx_cell(sheet, statement.end, number_format="yyyy-mm-dd"), xlsx_cell(sheet, ""),
                  xlsx_cell(sheet, labels["closing"], font=bold), amount(statement.debit_cents),
                  amount(statement.credit_cents),
                  xlsx_cell(sheet, to_decimal(statement.closing_cents), number_format=MONEY_FORMAT)])
    if statement.undated_cents:
        sheet.append([])
        sheet.append([xlsx_cell(sheet, labels["undated"].format(amount=f"{to_decimal(abs(statement.undated_cents))} "
                                                                       f"{statement.currency}"))])
    workbook.save(path)
