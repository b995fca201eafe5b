"""A payment schedule as a PDF (WeasyPrint) to send to the customer for signature, in the customer's
language, on the letters' page and letterhead. The schedule itself is domain.ledger.schedules'."""
from __future__ import annotations

from pathlib import Path

from babel.dates import format_date

from domain.money import format_money
from files.pdf import TEMPLATES, _environment, refusing_url_fetcher
from files.statement import _stylesheet

LABELS = {
    "en": {"title": "Payment schedule", "reference": "no.", "account": "Account", "registration": "Registration no.",
           "intro": "As agreed, the invoices below, {total} in all, are paid in {count} instalments:",
           "entry": "Invoice", "due": "Due date", "open": "Amount due", "plan": "The instalments:",
           "instalment": "Instalment", "date": "Date", "amount": "Amount", "total": "Total",
           "terms": "Each instalment is paid on its date at the latest. If {count} instalments are not paid, the "
                    "schedule ends and the whole amount still due is payable at once.",
           "waived": "While the schedule is kept, no late-payment interest and no recovery indemnity are claimed.",
           "for_company": "For", "for_customer": "For", "signature": "Date and signature"},
    "fr": {"title": "Échéancier de paiement", "reference": "n°", "account": "Compte", "registration": "SIREN",
           "intro": "Comme convenu, les factures ci-dessous, d'un montant total de {total}, sont réglées en {count} "
                    "échéances :",
           "entry": "Facture", "due": "Échéance", "open": "Reste dû", "plan": "Les échéances :",
           "instalment": "Échéance", "date": "Date", "amount": "Montant", "total": "Total",
           "terms": "Chaque échéance est réglée au plus tard à sa date. Si {count} échéances restent impayées, "
                    "l'échéancier prend fin et la totalité du montant restant dû devient exigible.",
           "waived": "Tant que l'échéancier est respecté, ni pénalités de retard ni indemnité forfaitaire de "
                     "recouvrement ne sont réclamées.",
           "for_company": "Pour", "for_customer": "Pour", "signature": "Date et signature"},
}
LOCALES = {"en": "en_GB", "fr": "fr_FR"}


def schedule_html(schedule, company, day) -> str:
    language = (schedule.customer.language or "en").split("_")[0].lower()
    language = language if language in LABELS else "en"
    locale = LOCALES[language]
    return _environment().get_template("schedule.html").render(
        schedule=schedule, company=company, labels=LABELS[language], lang=language,
        today=format_date(day, "long", locale=locale),
        money=lambda cents: format_money(cents, schedule.currency, locale),
        day=lambda value: format_date(value, "short", locale=locale))


def write_schedule_pdf(path: Path, schedule, company, day) -> None:
    from weasyprint import HTML

    stylesheet, fonts = _stylesheet()
    HTML(string=schedule_html(schedule, company, day), base_url=str(TEMPLATES),
         url_fetcher=refusing_url_fetcher()).write_pdf(path, stylesheets=[stylesheet], font_config=fonts)
