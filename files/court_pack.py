"""The court pack of a collection case: what an injunction to pay (France: injonction de payer, CPC
art. 1405 and following) is filed with, as one .zip.

    00 Summary.pdf                 the parties, the claim broken down (principal, interest, indemnity,
                                   costs), the steps of the case and the list of the documents below
    invoices/<number>.pdf          each invoice's PDF
    notices/<Formal notice n>.pdf  each formal notice, with its proof of sending in the summary
    reminders/<date> R<n> ….pdf    each reminder about the case's invoices
    steps/<date> <step>.<ext>      the documents recorded on the case's steps (order, contract…)

`write_court_pack` knows no database: the job loads a `CourtPack` (plain data). Documents that cannot
be read are named in the summary as not available, never a failed pack.
"""
from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import pgettext

from domain.money import format_money
from files.collection_zip import CollectionFileContents, _copy_invoice, letterhead_of
from files.names import UniqueNames
from files.pdf import TEMPLATES, ReminderPdfWriter, _environment, language_of, refusing_url_fetcher
from files.statement import _stylesheet

NOTICE_FOLDER, STEP_FOLDER = "notices", "steps"


@dataclass(frozen=True)
class PackLine:
    number: str
    issue_date: date
    due_date: date
    principal_cents: int
    interest_cents: int
    indemnity_cents: int


@dataclass(frozen=True)
class PackStep:
    on: date
    label: str
    note: str
    costs_cents: int
    path: Path | None = None       # its document, if any
    filename: str | None = None


@dataclass(frozen=True)
class PackNotice:
    id: int
    issued_on: date
    deadline: date
    channel: str
    path: Path
    filename: str
    registered_tracking: str | None = None
    registered_on: date | None = None


@dataclass
class CourtPack:
    case_id: int
    currency: str
    contents: CollectionFileContents   # the customer, the company, the invoices and the reminders
    lines: list[PackLine]
    steps: list[PackStep] = field(default_factory=list)
    notices: list[PackNotice] = field(default_factory=list)

    @property
    def costs_cents(self) -> int:
        return sum(step.costs_cents for step in self.steps)

    def total(self, name: str) -> int:
        return sum(getattr(line, name) for line in self.lines)

    @property
    def total_cents(self) -> int:
        return (self.total("principal_cents") + self.total("interest_cents") + self.total("indemnity_cents")
                + self.costs_cents)


def _copy(archive, source: Path, path: str, member) -> bool:
    try:
        handle = open(source, "rb")
    except OSError:
        return False
    with handle, archive.open(member(path, zipfile.ZIP_STORED), "w") as out:
        shutil.copyfileobj(handle, out, 1 << 16)
    return True


def write_court_pack(target: Path, pack: CourtPack) -> list[tuple[str, str | None]]:
    """Write the pack to `target` (a .zip); returns the documents listed: (what, its path or None). In the
    language of `pack.contents.locale`."""
    with force_locale(pack.contents.locale):
        return _write_court_pack(target, pack)


def _write_court_pack(target: Path, pack: CourtPack) -> list[tuple[str, str | None]]:
    contents = pack.contents
    language = language_of(contents.locale)
    names = UniqueNames()
    stamp = (contents.exported_at or datetime.combine(contents.exported_on, datetime.min.time())).timetuple()[:6]

    def member(path: str, compress: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=stamp)
        info.compress_type = compress
        info.external_attr = 0o644 << 16
        return info

    def day(value: date) -> str:
        return format_date(value, "short", locale=contents.locale)

    documents: list[tuple[str, str | None]] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for entry in contents.entries:
            documents.append((_("Invoice %(number)s", number=entry.number),
                              _copy_invoice(archive, entry, names, member)))
        for notice in pack.notices:
            what = _("Formal notice no. %(id)s of %(day)s, deadline %(deadline)s", id=notice.id,
                     day=day(notice.issued_on), deadline=day(notice.deadline))
            if notice.registered_tracking:
                what += ", " + _("sent by registered letter %(tracking)s on %(day)s", tracking=notice.registered_tracking,
                                 day=day(notice.registered_on or notice.issued_on))
            elif notice.channel == "email":
                what += ", " + pgettext("formal notice", "sent by e-mail")
            path = names.claim(NOTICE_FOLDER, Path(notice.filename).stem, ".pdf")
            documents.append((what, path if _copy(archive, notice.path, path, member) else None))
        if contents.reminders:
            writer = ReminderPdfWriter(letterhead_of(contents), contents.locale)
            for reminder in contents.reminders:
                path = names.claim("reminders", f"{reminder.sent_at.date().isoformat()} R{reminder.level} "
                                                f"{reminder.channel}", ".pdf")
                with archive.open(member(path, zipfile.ZIP_DEFLATED), "w") as out:
                    writer.write(reminder, out)
                documents.append((_("Reminder R%(level)s (%(channel)s) of %(day)s", level=reminder.level,
                                     channel=reminder.channel, day=day(reminder.sent_at.date())), path))
        for step in pack.steps:
            if step.path is None:
                continue
            extension = Path(step.filename or "").suffix.lower() or ".pdf"
            path = names.claim(STEP_FOLDER, f"{step.on.isoformat()} {step.label}", extension)
            documents.append((f"{step.label} ({day(step.on)})", path if _copy(archive, step.path, path, member) else None))

        html = _environment().get_template("court_pack.html").render(
            pack=pack, contents=contents, lang=language, documents=documents, day=day,
            today=format_date(contents.exported_on, "long", locale=contents.locale),
            money=lambda cents: format_money(cents, pack.currency, contents.locale))
        from weasyprint import HTML

        stylesheet, fonts = _stylesheet()
        summary = names.claim("", "00 " + pgettext("court pack file", "Summary"), ".pdf")
        with archive.open(member(summary, zipfile.ZIP_DEFLATED), "w") as out:
            HTML(string=html, base_url=str(TEMPLATES), url_fetcher=refusing_url_fetcher()).write_pdf(
                out, stylesheets=[stylesheet], font_config=fonts)
    return documents
