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
from flask_babel import force_locale
from flask_babel import gettext as _
from stdnum import iban as iban_numbers

from domain.i18n import language_of
from domain.money import format_money
from files.pdf import TEMPLATES, _environment, locale_of, refusing_url_fetcher
from files.statement import _stylesheet


def locale_of_notice(notice) -> str:
    """The notice speaks its customer's language (stored with it when it was issued)."""
    return locale_of(notice.language)


def notice_title(notice) -> str:
    """"Formal notice to pay", in the notice's language: its PDF's title and file name."""
    with force_locale(locale_of_notice(notice)):
        return _("Formal notice to pay")


def notice_html(notice, company) -> str:
    """The notice as it was issued: its figures, and the basis and rates stored with it."""
    locale = locale_of_notice(notice)
    with force_locale(locale):
        return _notice_html(notice, company, locale)


def _notice_html(notice, company, locale: str) -> str:
    def percent(bp: int | None) -> str:
        return "—" if bp is None else f"{format_decimal(Decimal(bp).scaleb(-2), '0.00', locale=locale)} %"

    def money(cents: int) -> str:
        return format_money(cents, notice.currency, locale)

    day = format_date(notice.issued_on, "short", locale=locale)
    rates = ", ".join(_("%(rate)s from %(start)s", rate=percent(bp),
                        start=format_date(date.fromisoformat(start), "short", locale=locale))
                      for start, bp in (notice.rates or []))
    if notice.basis == "contractual":
        basis_text = _("Late-payment interest at the contractual rate (never below 3 × the legal interest rate, art. "
                       "L441-10), simple interest on the amount unpaid each day, from the day after each due date "
                       "(or after the period claimed before) to %(day)s: %(rates)s; and the fixed recovery indemnity "
                       "of art. D441-5 of the French Commercial Code.", day=day, rates=rates)
    else:
        basis_text = _("Late-payment interest at the legal rate (French Commercial Code, art. L441-10: the ECB rate + "
                       "10 points, at least 3 × the legal interest rate), simple interest on the amount unpaid each "
                       "day, from the day after each due date (or after the period claimed before) to %(day)s: "
                       "%(rates)s; and the fixed recovery indemnity of art. D441-5.", day=day, rates=rates)
    indemnities = [line.indemnity_cents for line in notice.lines if line.indemnity_cents]
    today = format_date(notice.issued_on, "long", locale=locale)
    return _environment().get_template("notice.html").render(
        notice=notice, company=company, lang=language_of(locale), customer=notice.customer,
        title=_("Formal notice to pay"), today=today,
        deadline=format_date(notice.deadline, "long", locale=locale),
        iban=iban_numbers.format(company.iban) if company and company.iban else None,
        basis_text=basis_text,
        indemnity_count=len(indemnities), indemnity_each=indemnities[0] if indemnities else 0,
        money=money, day=lambda value: format_date(value, "short", locale=locale))


def write_notice_pdf(path: Path, notice, company) -> None:
    from weasyprint import HTML

    stylesheet, fonts = _stylesheet()
    HTML(string=notice_html(notice, company), base_url=str(TEMPLATES),
         url_fetcher=refusing_url_fetcher()).write_pdf(path, stylesheets=[stylesheet], font_config=fonts)
