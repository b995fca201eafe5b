"""Invoice PDFs attached to entries: one at a time from the account status, or a .zip of them
whose file names hold the invoice numbers.

Files are stored under the attachment directory with a random name; the user's file name is kept
only as a label, so no name can choose where a file lands. The same bytes attached to the same
entry again give back the existing attachment.
"""
from __future__ import annotations

import os
import re
import secrets
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Union

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit
from domain.i18n import _
from domain.i18n import lazy_gettext as _l
from domain.i18n import say
from domain.models import Attachment, Entry, User

Source = Union[str, Path, IO[bytes]]

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_ZIP_TOTAL_BYTES = 500 * 1024 * 1024  # what one archive may unpack to, whatever its headers claim
MAX_ZIP_MEMBERS = 5000
CHUNK = 500  # candidate numbers per IN (...)
TOO_LARGE = _l("larger than %(size)s MB", size=MAX_ATTACHMENT_BYTES // (1024 * 1024))


class AttachmentError(ValueError):
    """A file that cannot be attached; the message says why."""


class AttachmentImportError(ValueError):
    """The archive cannot be read at all."""


def is_pdf(data: bytes) -> bool:
    """A PDF starts with the %PDF- header and ends with the %%EOF marker (readers look for it in
    the last kilobyte). Enough to refuse a renamed Word file or a truncated download."""
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]


def display_name(filename: str) -> str:
    """The last part of an uploaded name, without any folder, as a label (never as a path)."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:255] or "invoice.pdf"


def attachment_path(directory: str | Path, attachment: Attachment) -> Path:
    """Where an attachment's bytes are."""
    return Path(directory) / attachment.storage_name


def _problem(data: bytes) -> str | None:
    """Why these bytes cannot be attached (a reason of the .zip's report), or None."""
    if len(data) > MAX_ATTACHMENT_BYTES:
        return str(TOO_LARGE)
    if not is_pdf(data):
        return _("not a PDF file")
    return None


def _same_attachment(directory: Path, entry: Entry, data: bytes) -> Attachment | None:
    for attachment in entry.attachments:
        if attachment.size != len(data):
            continue
        path = attachment_path(directory, attachment)
        if path.is_file() and path.read_bytes() == data:
            return attachment
    return None


def store_bytes(directory: Path, data: bytes, suffix: str = ".pdf") -> str:
    """Write the bytes under a new random name (via a temporary file, so a half-written
    attachment is never read) and return that name."""
    directory.mkdir(parents=True, exist_ok=True)
    storage_name = f"{secrets.token_hex(16)}{suffix}"
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".partial-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, directory / storage_name)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return storage_name


def attach_file_once(session: Session, entry: Entry, filename: str, data: bytes, actor: User | None, *,
                         directory: str | Path) -> tuple[Attachment, bool]:
    """attach_file, saying whether the attachment is new (False: these bytes were already on the entry)."""
    directory = Path(directory)
    name = display_name(filename)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise AttachmentError(_("%(name)s is larger than %(size)s MB.", name=name,
                                size=MAX_ATTACHMENT_BYTES // (1024 * 1024)))
    if not is_pdf(data):
        raise AttachmentError(_("%(name)s is not a PDF file.", name=name))
    existing = _same_attachment(directory, entry, data)
    if existing is not None:
        return existing, False
    attachment = Attachment(entry=entry, filename=name, storage_name=store_bytes(directory, data),
                        content_type="application/pdf", size=len(data))
    session.add(attachment)
    audit.record(session, actor, "document.attached", say("Invoice PDF %(name)s attached to entry %(number)s",
                                                                 name=name, number=entry.number),
                 entry=entry)
    return attachment, True


def attach_file(session: Session, entry: Entry, filename: str, data: bytes, actor: User | None, *,
                    directory: str | Path) -> Attachment:
    """Attach a PDF to an entry, in the caller's transaction (actor None = the command line).
    Raises AttachmentError when the file is not a PDF or is too large."""
    attachment, _is_new = attach_file_once(session, entry, filename, data, actor, directory=directory)
    return attachment


# --- a .zip of invoice PDFs ------------------------------------------------------------------

ATTACHED, ALREADY_ATTACHED, SKIPPED = "attached", "already attached", "skipped"


@dataclass(frozen=True)
class AttachmentLine:
    """What happened to one file of the archive."""

    name: str  # as written in the archive
    outcome: str  # attached | already attached | skipped
    entry_number: str | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.outcome == SKIPPED:
            return _("%(name)s: skipped, %(reason)s", name=self.name, reason=self.reason)
        if self.outcome == ALREADY_ATTACHED:
            return _("%(name)s: already attached to %(number)s", name=self.name, number=self.entry_number)
        return _("%(name)s: attached to %(number)s", name=self.name, number=self.entry_number)


@dataclass
class AttachmentImportReport:
    filename: str
    lines: list[AttachmentLine] = field(default_factory=list)

    def _with(self, outcome: str) -> list[AttachmentLine]:
        return [line for line in self.lines if line.outcome == outcome]

    @property
    def attached(self) -> list[AttachmentLine]:
        return self._with(ATTACHED)

    @property
    def already_attached(self) -> list[AttachmentLine]:
        return self._with(ALREADY_ATTACHED)

    @property
    def skipped(self) -> list[AttachmentLine]:
        return self._with(SKIPPED)

    @property
    def ok(self) -> bool:
        """At least one file of the archive is on its entry (now, or from an earlier import):
        importing the same archive twice is not a failure."""
        return bool(self.attached or self.already_attached)

    def summary(self) -> str:
        return _("%(file)s: %(attached)s attached, %(already)s already attached, %(skipped)s skipped.",
                 file=self.filename, attached=len(self.attached), already=len(self.already_attached),
                 skipped=len(self.skipped))


def _is_junk(name: str) -> bool:
    """Folders and what macOS and Windows add to archives: not files anyone meant to send."""
    parts = PurePosixPath(name).parts
    base = parts[-1] if parts else ""
    return (name.endswith("/") or "__MACOSX" in parts or base.startswith("._")
            or base in (".DS_Store", "Thumbs.db", "desktop.ini"))


def _escapes(name: str) -> bool:
    """A name that would land outside a folder it was extracted into (../, /abs, C:\\)."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or bool(re.match(r"[A-Za-z]:", name))


_RUN = re.compile(r"[0-9A-Za-z]+")


def candidate_numbers(filename: str) -> set[str]:
    """Every piece of the file name (without its extension) that starts and ends on a letter or
    digit run: "Facture INV-2026-000123 (copy)" gives "INV-2026-000123", "2026-000123", "000123",
    "Facture INV", … An entry number found in the name is one of these."""
    stem = display_name(filename)
    stem = stem[: -len(".pdf")] if stem.lower().endswith(".pdf") else stem
    runs = [(m.start(), m.end()) for m in _RUN.finditer(stem[:200])]
    return {stem[runs[i][0]:runs[j][1]] for i in range(len(runs)) for j in range(i, min(len(runs), i + 12))}


def _match_numbers(session: Session, candidates: set[str]) -> dict[str, Entry]:
    """Entries whose number is among the candidates, case-insensitively, keyed by upper-case
    number. The number's unique index serves the lookup: each candidate is tried as written,
    in upper and in lower case, and the results compared without case."""
    variants = sorted({v for c in candidates for v in (c, c.upper(), c.lower())})
    wanted = {c.upper() for c in candidates}
    found: dict[str, Entry] = {}
    for start in range(0, len(variants), CHUNK):
        for entry in session.scalars(select(Entry).where(Entry.number.in_(variants[start:start + CHUNK]))):
            if entry.number.upper() in wanted:
                found[entry.number.upper()] = entry
    return found


def _entry_for(name: str, entries: dict[str, Entry]) -> tuple[Entry | None, str]:
    """The entry a file name points at: the longest entry number in it. Two different numbers
    of that length make it ambiguous."""
    matches = sorted({c.upper() for c in candidate_numbers(name)} & entries.keys(), key=len, reverse=True)
    if not matches:
        return None, _("no entry number in its name")
    longest = [m for m in matches if len(m) == len(matches[0])]
    if len(longest) > 1:
        return None, _("its name holds several entry numbers (%(numbers)s)",
                       numbers=", ".join(entries[m].number for m in longest))
    return entries[matches[0]], ""


def import_attachment_zip(session: Session, zip_source: Source, actor: User | None, *, directory: str | Path,
                        zip_name: str | None = None) -> AttachmentImportReport:
    """Attach the PDFs of a .zip to the entries named in their file names, in the caller's
    transaction (commit when `report.ok`). Each file is reported: attached, already attached, or
    skipped with the reason (not a PDF, no matching entry, unsafe name, too large).
    Raises AttachmentImportError when the archive cannot be read at all."""
    if zip_name is None:
        zip_name = Path(zip_source).name if isinstance(zip_source, (str, Path)) else "archive.zip"
    report = AttachmentImportReport(filename=zip_name)
    try:
        archive = zipfile.ZipFile(zip_source)
    except (zipfile.BadZipFile, EOFError):
        raise AttachmentImportError(_("%(name)s is not a .zip archive.", name=zip_name)) from None
    except OSError as error:
        raise AttachmentImportError(_("Cannot read %(name)s: %(problem)s.", name=zip_name,
                                      problem=error.strerror or error)) from None
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir() and not _is_junk(info.filename)]
        if len(members) > MAX_ZIP_MEMBERS:
            raise AttachmentImportError(_("%(name)s holds %(count)s files; at most %(most)s per archive.",
                                          name=zip_name, count=len(members), most=MAX_ZIP_MEMBERS))
        entries = _match_numbers(session, set().union(*(candidate_numbers(m.filename) for m in members)))
        directory, read_total = Path(directory), 0

        def skip(name: str, reason: str) -> None:
            report.lines.append(AttachmentLine(name, SKIPPED, reason=reason))

        for info in members:
            name = info.filename
            if _escapes(name):
                skip(name, _("its path leads outside the archive"))
                continue
            entry, why_not = _entry_for(name, entries)
            if entry is None:
                skip(name, why_not)
                continue
            if info.file_size > MAX_ATTACHMENT_BYTES:
                skip(name, str(TOO_LARGE))
                continue
            if read_total >= MAX_ZIP_TOTAL_BYTES:
                skip(name, _("the archive unpacks to more than %(size)s MB", size=MAX_ZIP_TOTAL_BYTES // (1024 * 1024)))
                continue
            try:
                # Read at most one byte past the limit: the header's size may lie (a zip bomb).
                with archive.open(info) as member:
                    data = member.read(MAX_ATTACHMENT_BYTES + 1)
            except RuntimeError:  # zipfile's word for an encrypted member
                skip(name, _("it is password-protected"))
                continue
            except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError):
                skip(name, _("it is damaged in the archive"))
                continue
            read_total += len(data)
            problem = _problem(data)
            if problem:
                skip(name, problem)
                continue
            _attachment, is_new = attach_file_once(session, entry, name, data, actor, directory=directory)
            report.lines.append(AttachmentLine(name, ATTACHED if is_new else ALREADY_ATTACHED, entry.number))
    return report
