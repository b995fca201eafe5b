"""A formal notice as a PDF letter (WeasyPrint), in the customer's language, on the letters' page and
letterhead: what the law expects of a mise en demeure — the creditor and the debtor (SIREN), each
invoice and its principal unpaid, the interest and indemnity claimed, the total, the deadline, how to
pay and what follows. The notice itself is domain.reminders.notices'."""
from __future__ import annotations

from datetime import date
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
           "legal_basis": "Late-payment interest at the legal rate (French Commercial Code, art. L441-10: the ECB "
                          "rate + 10 points, at least 3 × the legal interest rate), simple interest on the amount "
                          "unpaid each day, from the day after each due date (or after the period claimed before) "
                          "to {day}: {rates}; and the fixed recovery indemnity of art. D441-5.",
           "contractual_basis": "Late-payment interest at the contractual rate (never below 3 × the legal interest "
                                "rate, art. L441-10), simple interest on the amount unpaid each day, from the day "
                                "after each due date (or after the period claimed before) to {day}: {rates}; and the "
                                "fixed recovery indemnity of art. D441-5 of the French Commercial Code.",
           "half": "{rate} from {start}", "runs_on": "Interest continues to run until payment in full.",
           "earlier": "Interest and indemnities claimed before, still unpaid",
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
           "legal_basis": "Pénalités de retard au taux légal (article L441-10 du Code de commerce : taux de la BCE "
                          "majoré de 10 points, au moins trois fois le taux de l'intérêt légal), intérêts simples sur "
                          "le montant impayé chaque jour, du lendemain de chaque échéance (ou de la période déjà "
                          "réclamée) au {day} : {rates} ; et indemnité forfaitaire de l'article D441-5.",
           "contractual_basis": "Pénalités de retard au taux contractuel (jamais inférieur à trois fois le taux de "
                                "l'intérêt légal, article L441-10), intérêts simples sur le montant impayé chaque jour, "
                                "du lendemain de chaque échéance (ou de la période déjà réclamée) au {day} : {rates} ; "
                                "et indemnité forfaitaire de l'article D441-5 du Code de commerce.",
           "half": "{rate} à partir du {start}", "runs_on": "Les pénalités continuent de courir jusqu'au paiement "
                                                              "complet.",
           "earlier": "Pénalités et indemnités réclamées précédemment, restant dues",
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


def notice_html(notice, company) -> str:
    """The notice as it was issued: its figures, and the basis and rates stored with it."""
    language = language_of(notice)
    locale, labels = LOCALES[language], LABELS[language]

    def percent(bp: int | None) -> str:
        return "—" if bp is None else f"{format_decimal(Decimal(bp).scaleb(-2), '0.00', locale=locale)} %"

    day = format_date(notice.issued_on, "short", locale=locale)
    rates = ", ".join(labels["half"].format(rate=percent(bp), start=format_date(date.fromisoformat(start), "short",
                                                                                 locale=locale))
                      for start, bp in (notice.rates or []))
    indemnities = [line.indemnity_cents for line in notice.lines if line.indemnity_cents]
    return _environment().get_template("notice.html").render(
        notice=notice, company=company, labels=labels, lang=language, customer=notice.customer,
        today=format_date(notice.issued_on, "long", locale=locale),
        deadline=format_date(notice.deadline, "long", locale=locale),
        iban=iban_numbers.format(company.iban) if company and company.iban else None,
        basis_text=labels["contractual_basis" if notice.basis == "contractual" else "legal_basis"].format(
            day=day, rates=rates),
        indemnity_count=len(indemnities), indemnity_each=indemnities[0] if indemnities else 0,
        money=lambda cents: format_money(cents, notice.currency, locale),
        day=lambda value: format_date(value, "short", locale=locale))


def write_notice_pdf(path: Path, notice, company) -> None:
    from weasyprint import HTML

    stylesheet, fonts = _stylesheet()
    HTML(string=notice_html(notice, company), base_url=str(TEMPLATES),
         url_fetcher=refusing_url_fetcher()).write_pdf(path, stylesheets=[stylesheet], font_config=fonts)
