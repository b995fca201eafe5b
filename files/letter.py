"""Reminder letters as PDF (WeasyPrint): the company's letterhead, the customer's address block,
the date, the object line (the rendered subject), the letter text (the rendered template, already
escaped as HTML by domain.reminders.templates) and the table of the entries concerned.

The page's HTML is autoescaped; only `body_html` (escaped text with <p>, <br> and <pre>) goes in
as markup. Like files/pdf.py, a letter loads nothing from outside.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from babel.dates import format_date
from flask_babel import force_locale, pgettext
from markupsafe import Markup

from domain.i18n import language_of
from domain.money import format_money
from files.pdf import TEMPLATES, _environment, locale_of, refusing_url_fetcher

LETTER_TEMPLATE = "letter.html"
LETTER_CSS = "letter.css"

_PRE_TABLE = re.compile(r'<pre class="entries">.*?</pre>', re.S)


@dataclass(frozen=True)
class LetterLine:
    number: str
    issue_date: date
    due_date: date
    open_cents: int  # signed: a credit note is negative
    currency: str
    days_overdue: int = 0
    is_credit_note: bool = False


@dataclass(frozen=True)
class LetterDocument:
    company_name: str
    customer_name: str
    customer_account: str
    day: date
    subject: str
    body_html: str
    language: str = "en"
    company_address: str = ""
    company_registration: str = ""
    company_email: str = ""
    customer_address: str = ""
    lines: tuple[LetterLine, ...] = field(default_factory=tuple)

    def totals(self) -> list[tuple[str, int]]:
        sums: dict[str, int] = {}
        for line in self.lines:
            sums[line.currency] = sums.get(line.currency, 0) + line.open_cents
        return list(sums.items())


@lru_cache(maxsize=1)
def _stylesheet():
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    return CSS(filename=str(TEMPLATES / LETTER_CSS), font_config=fonts), fonts


def letter_html(letter: LetterDocument) -> str:
    """The letter's page, in the letter's language (its customer's)."""
    locale = locale_of(letter.language)
    # The entries table of the text (a <pre>) gives way to the real table, where the text has it.
    parts = _PRE_TABLE.split(letter.body_html, maxsplit=1)
    before, after = parts[0], parts[1] if len(parts) > 1 else ""
    with force_locale(locale):
        return _environment().get_template(LETTER_TEMPLATE).render(
            letter=letter, lang=language_of(locale), before=Markup(before), after=Markup(after),
            # The date line: "12 March 2026" in English, "Le 12 mars 2026" in French.
            date_line=pgettext("letter date line", "%(day)s", day=format_date(letter.day, "long", locale=locale)),
            money=lambda cents, currency: format_money(cents, currency, locale),
            day=lambda value: format_date(value, "short", locale=locale) if value else "")


def render_letter(letter: LetterDocument) -> bytes:
    """The letter as PDF bytes."""
    from weasyprint import HTML

    stylesheet, fonts = _stylesheet()
    return HTML(string=letter_html(letter), base_url=str(TEMPLATES), url_fetcher=refusing_url_fetcher()).write_pdf(
        stylesheets=[stylesheet], font_config=fonts)


def letter_document(company, customer, entries, content) -> LetterDocument:
    """What a reminder letter shows: the company's letterhead, the customer's address, the text
    (domain.reminders.LetterContent) and the entries it covers."""
    return LetterDocument(
        company_name=(company.name if company else "") or "",
        company_address=(company.address if company else "") or "",
        company_registration=(company.registration_number if company else "") or "",
        company_email=(company.sender_email if company else "") or "",
        customer_name=customer.name, customer_account=customer.account, customer_address=customer.address or "",
        day=content.day, subject=content.subject, body_html=content.body_html, language=content.language,
        lines=tuple(LetterLine(number=e.number, issue_date=e.issue_date, due_date=e.due_date,
                               open_cents=e.balance_cents, currency=e.currency,
                               days_overdue=e.days_overdue(content.day), is_credit_note=e.kind == "credit_note")
                    for e in entries))


def write_letter(attachment_dir, company, customer, entries, content, title: str) -> tuple[str, str]:
    """Render a reminder letter and store it under `attachment_dir`/letters; returns the storage
    name (random: never the customer's text) and the file name offered on download. The one
    place letters are made, by hand (blueprints/reminders) or by a follow-up plan."""
    import secrets
    from pathlib import Path

    from files.names import safe_name

    letter = letter_document(company, customer, entries, content)
    folder = Path(attachment_dir) / "letters"
    folder.mkdir(parents=True, exist_ok=True)
    storage_name = f"letters/{secrets.token_hex(16)}.pdf"
    (Path(attachment_dir) / storage_name).write_bytes(render_letter(letter))
    return storage_name, safe_name(title, fallback="letter", max_chars=120) + ".pdf"
