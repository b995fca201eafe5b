"""A payment schedule as a PDF (WeasyPrint) to send to the customer for signature, in the customer's
language, on the letters' page and letterhead. The schedule itself is domain.ledger.schedules'."""
from __future__ import annotations

from pathlib import Path

from babel.dates import format_date
from flask_babel import force_locale, pgettext

from domain.i18n import language_of
from domain.money import format_money
from files.pdf import TEMPLATES, _environment, locale_of, refusing_url_fetcher
from files.statement import _stylesheet


def schedule_title(schedule) -> str:
    """"Payment schedule", in its customer's language: the PDF's title and file name."""
    with force_locale(locale_of(schedule.customer.language)):
        return pgettext("schedule document", "Payment schedule")


def schedule_html(schedule, company, day) -> str:
    """The schedule's page, in its customer's language."""
    locale = locale_of(schedule.customer.language)
    with force_locale(locale):
        return _environment().get_template("schedule.html").render(
            schedule=schedule, company=company, lang=language_of(locale),
            title=pgettext("schedule document", "Payment schedule"),
            today=format_date(day, "long", locale=locale),
            money=lambda cents: format_money(cents, schedule.currency, locale),
            day=lambda value: format_date(value, "short", locale=locale))


def write_schedule_pdf(path: Path, schedule, company, day) -> None:
    from weasyprint import HTML

    stylesheet, fonts = _stylesheet()
    HTML(string=schedule_html(schedule, company, day), base_url=str(TEMPLATES),
         url_fetcher=refusing_url_fetcher()).write_pdf(path, stylesheets=[stylesheet], font_config=fonts)
