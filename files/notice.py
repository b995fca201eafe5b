"""A formal notice as a PDF letter (WeasyPrint), in the customer's language, on the letters' page and
letterhead: what the law expects of a mise en demeure — the creditor and the debtor (SIREN), each
invoice and its principal unpaid, the interest and indemnity claimed, the total, the deadline, how to
pay and what follows. The notice itself is domain.reminders.notices'."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_decimal
from stdnum import iban as iban_numbers

from domain.money import format_money
from files.pdf import TEMPLATES, _environment, refusing_url_fetcher
from files.statement import _stylesheet

LABELS = {
    "en": {"title": "Formal notice to pay", "reference": "no.", "account": "Account", "registration": "Registration no.",
           "registered": "By registered letter with acknowledgement of receipt",
           "creditor": "Creditor", "debtor": "Debtor",
           "intro": "Despite our reminders, the following invoices remain unpaid:",
           "entry": "Invoice", "issued": "Date", "due": "Due date", "principal": "Principal unpaid",
           "interest": "Interest", "indemnity": "Indemnity", "total": "Total",
           "sum_principal": "Principal unpaid", "sum_interest": "Late-payment interest to {day}",
           "sum_indemnity": "Fixed recovery indemnity ({count} × {amount})", "sum_total": "Total claimed",
           "legal_basis": "Interest at {rate} a year from the day after each due date (French Commercial Code, "
                          "art. L441-10) and the fixed recovery indemnity of art. D441-5.",
           "contractual_basis": "Interest at the contractual rate of {rate} a year from the day after each due "
                                "date, and the fixed recovery indemnity of art. D441-5 of the French Commercial Code.",
           "demand": "We hereby formally demand that you pay the sum of {total} by {deadline} at the latest.",
           "pay": "Please pay by bank transfer, quoting your account {account}:",
           "iban": "IBAN", "bic": "BIC", "beneficiary": "Beneficiary",
           "follows": "Failing payment by that date, we will take any action necessary to recover this debt, "
                      "including legal proceedings, without further notice and at your expense.",
           "ignore": "If you have paid in the meantime, please disregard this letter.",
           "signature": "For {company}"},
    "fr": {"title": "Mise en demeure de payer", "reference": "n°", "account": "Compte", "registration": "SIREN",
           "registered": "Lettre recommandée avec accusé de réception",
           "creditor": "Créancier", "debtor": "Débiteur",
           "intro": "Malgré nos relances, les factures suivantes restent impayées :",
           "entry": "Facture", "issued": "Date", "due": "Échéance", "principal": "Principal dû",
           "interest": "Pénalités", "indemnity": "Indemnité", "total": "Total",
           "sum_principal": "Principal restant dû", "sum_interest": "Pénalités de retard au {day}",
           "sum_indemnity": "Indemnité forfaitaire pour frais de recouvrement ({count} × {amount})",
           "sum_total": "Total réclamé",
           "legal_basis": "Pénalités au taux annuel de {rate} à compter du lendemain de chaque échéance (article "
                          "L441-10 du Code de commerce) et indemnité forfaitaire de l'article D441-5.",
           "contractual_basis": "Pénalités au taux contractuel annuel de {rate} à compter du lendemain de chaque "
                                "échéance et indemnité forfaitaire de l'article D441-5 du Code de commerce.",
           "demand": "Nous vous mettons en demeure de nous régler la somme de {total} au plus tard le {deadline}.",
           "pay": "Merci de régler par virement en rappelant votre compte {account} :",
           "iban": "IBAN", "bic": "BIC", "beneficiary": "Bénéficiaire",
           "follows": "À défaut de paiement à cette date, nous engagerons toute action utile au recouvrement de "
                      "cette créance, y compris judiciaire, sans autre avis et à vos frais.",
           "ignore": "Si vous avez réglé entre-temps, nous vous prions de ne pas tenir compte de ce courrier.",
           "signature": "Pour {company}"},
}
LOCALES = {"en": "en_GB", "fr": "fr_FR"}


def language_of(notice) -> str:
    language = (notice.language or "en").split("_")[0].lower()
    return language if language in LABELS else "en"


def notice_html(notice, company, rate_bp: int | None, basis: str) -> str:
    language = language_of(notice)
    locale, labels = LOCALES[language], LABELS[language]
    rate_label = "—" if rate_bp is None else f"{format_decimal(Decimal(rate_bp).scaleb(-2), '0.00', locale=locale)} %"
    indemnities = [line.indemnity_cents for line in notice.lines if line.indemnity_cents]
    return _environment().get_template("notice.html").render(
        notice=notice, company=company, labels=labels, lang=language, customer=notice.customer,
        today=format_date(notice.issued_on, "long", locale=locale),
        deadline=format_date(notice.deadline, "long", locale=locale),
        iban=iban_numbers.format(company.iban) if company and company.iban else None,
        basis_text=labels["legal_basis" if basis == "legal" else "contractual_basis"].format(rate=rate_label),
        indemnity_count=len(indemnities), indemnity_each=indemnities[0] if indemnities else 0,
        money=lambda cents: format_money(cents, notice.currency, locale),
        day=lambda value: format_date(value, "short", locale=locale))


def write_notice_pdf(path: Path, notice, company, rate_bp: int | None, basis: str) -> None:
    from weasyprint import HTML

    stylesheet, fonts = _stylesheet()
    HTML(string=notice_html(notice, company, rate_bp, basis), base_url=str(TEMPLATES),
         url_fetcher=refusing_url_fetcher()).write_pdf(path, stylesheets=[stylesheet], font_config=fonts)
