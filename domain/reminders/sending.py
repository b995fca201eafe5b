"""Manual and grouped reminders to one customer: which entries, at what level, the draft filled
from the reminder template, the invoice PDFs to attach, and what a reminder that went out leaves
behind (an activity, the entries' level and last-reminder date raised, a history event).

E-mails go through the outbox (domain/reminders/outbox.py), which calls `record_reminder` once the mail
server has taken the message; letters are recorded with `record_letter` as soon as their PDF is
made. No Flask here: the blueprint, the jobs and the CLI pass plain arguments.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit, clock
from domain.i18n import Joined, _, ngettext, nsay, say
from domain.models import (MAX_LEVEL, Attachment, CompanySettings, Customer, Entry, ReminderActivity, ReminderEntry,
                           ReminderLetter, User)
from domain.reminders import holds as hold_rules
from domain.reminders import templates
from domain.settings import company as saved_company

CHANNELS = ("email", "letter")


class ReminderError(ValueError):
    """The reminder cannot be made or sent; the message says why, in the user's words."""


@dataclass(frozen=True)
class Draft:
    """What the compose window is filled with (the user may change to, cc, subject and body)."""

    level: int
    channel: str
    language: str
    to: str
    cc: str
    subject: str
    body: str
    body_html: str
    attachments: tuple[str, ...]  # file names of the invoice PDFs that go with it


@dataclass(frozen=True)
class InvoiceFile:
    """An invoice PDF to attach: where its bytes are and the name the customer sees."""

    entry_id: int
    path: Path
    filename: str
    content_type: str = "application/pdf"


def selected_entries(session: Session, customer: Customer, entry_ids: Iterable[int]) -> list[Entry]:
    """The ticked entries, by due date, when they are all open entries of `customer`; anything
    else is refused: a grouped follow-up is for one customer only."""
    ids = sorted({int(i) for i in entry_ids})
    if not ids:
        raise ReminderError(_("Tick at least one entry to remind the customer of."))
    entries = list(session.scalars(select(Entry).where(Entry.id.in_(ids)).order_by(Entry.due_date, Entry.id)))
    if len(entries) != len(ids):
        raise ReminderError(_("Some ticked entries no longer exist: reload the page."))
    others = [e for e in entries if e.customer_id != customer.id]
    if others:
        names = sorted({e.customer.name for e in others})
        raise ReminderError(ngettext(
            "A grouped follow-up is for one customer only: %(numbers)s belongs to %(names)s, not to %(customer)s. "
            "Untick it and try again.",
            "A grouped follow-up is for one customer only: %(numbers)s belong to %(names)s, not to %(customer)s. "
            "Untick them and try again.",
            len(others), numbers=", ".join(e.number for e in others), names=", ".join(names), customer=customer.name))
    closed = [e.number for e in entries if not e.is_open]
    if closed:
        raise ReminderError(_("These entries are already settled: %(numbers)s.", numbers=", ".join(closed)))
    return entries


def check_holds(session: Session, actor: User | None, customer: Customer, entries: list[Entry], level: int,
                override_reason: str | None, today: date | None = None) -> str | None:
    """The reminder may go: None, or the reason given to send it anyway (kept in the history).
    Refused (ReminderError) while something holds it back and no reason overrides it."""
    found = hold_rules.holds(session, customer, entries, today, level)
    blocking = [h for h in found if not h.overridable]
    if blocking:
        raise ReminderError(" ".join(h.text for h in blocking))
    if not found:
        return None
    reason = " ".join((override_reason or "").split())
    if not reason:
        raise ReminderError(_("%(holds)s Give a reason to send it anyway.", holds=" ".join(h.text for h in found)))
    audit.record(session, actor, "reminder.override",
                 say("Sent anyway: %(holds)s", holds=Joined([h.said for h in found], " ")),
                 customer=customer, entry=entries[0] if len(entries) == 1 else None, reason=reason[:500])
    return reason[:500]


def default_level(entries: Iterable[Entry]) -> int:
    """One level above the most advanced entry, at most R5."""
    return min(MAX_LEVEL, max((e.reminder_level or 0 for e in entries), default=0) + 1)


def check_level(level: int | None, entries: Iterable[Entry]) -> int:
    if level is None:
        return default_level(entries)
    if level not in templates.LEVELS:
        raise ReminderError(_("Choose a reminder level between prevention and R%(max)s.", max=MAX_LEVEL))
    return level


def company_sender(company: CompanySettings | None) -> str:
    """The company's From address; refused when Settings → Company has none."""
    if company is None or not (company.sender_email or "").strip():
        raise ReminderError(_("No sender e-mail address for the company: set it in Settings → Company before "
                              "sending reminders."))
    from mail.smtp import address

    return address(company.name, company.sender_email.strip())


def invoice_files(session: Session, entries: Iterable[Entry], attachment_dir: str | Path) -> list[InvoiceFile]:
    """Each entry's invoice PDF (its latest PDF attachment), in the order of `entries`; an entry
    without one, or whose file is missing on disk, has none."""
    entries = list(entries)
    ids = [e.id for e in entries]
    latest: dict[int, Attachment] = {}
    if ids:
        for attachment in session.scalars(select(Attachment).where(Attachment.entry_id.in_(ids))
                                        .order_by(Attachment.uploaded_at, Attachment.id)):
            if "pdf" in (attachment.content_type or "") or attachment.filename.lower().endswith(".pdf"):
                latest[attachment.entry_id] = attachment
    files = []
    for entry in entries:
        attachment = latest.get(entry.id)
        if attachment is None:
            continue
        path = Path(attachment_dir) / Path(attachment.storage_name).name
        if path.is_file():
            files.append(InvoiceFile(entry.id, path, attachment.filename, attachment.content_type or "application/pdf"))
    return files


def rendered(session: Session, customer: Customer, entries: list[Entry], level: int, channel: str,
             sender: User | None, company: CompanySettings | None = None, *,
             template_level: int | None = None) -> templates.RenderedMessage:
    """The template of the level (or of `template_level`, a follow-up step's other wording) in the
    customer's language, rendered for these entries; it speaks of the level reached."""
    wording = level if template_level is None else template_level
    text = templates.template_for(session, wording, channel, customer.language)
    context = templates.reminder_context(session, customer, entries, sender=sender, company=company, level=level)
    return _render(text, context)


def _render(text: templates.TemplateText, context: dict) -> templates.RenderedMessage:
    try:
        return templates.render(text, context)
    except templates.TemplateError as error:
        if text.channel == "letter":
            problem = _("The %(level)s letter template cannot be used: %(problem)s. Fix it under Reminder templates.",
                        level=templates.level_name(text.level), problem=error)
        else:
            problem = _("The %(level)s email template cannot be used: %(problem)s. Fix it under Reminder templates.",
                        level=templates.level_name(text.level), problem=error)
        raise ReminderError(problem) from error


class RunTexts:
    """The texts of a run that writes many reminders (bulk dunning, the daily follow-up run): the
    company and the templates are read once for the whole run (one wording from start to end),
    and each customer's e-mail and letter are rendered from one context."""

    def __init__(self, session: Session, sender: User | None):
        self.session, self.sender = session, sender
        self.company = saved_company(session)
        self._templates = templates.all_templates(session)

    def context(self, customer: Customer, entries: list[Entry], level: int) -> dict:
        """What the templates of `level` say about these entries (for `email` and `letter`)."""
        return templates.reminder_context(self.session, customer, entries, sender=self.sender, company=self.company,
                                          level=level)

    def email(self, customer: Customer, context: dict, *, template_level: int | None = None) -> templates.RenderedMessage:
        return _render(self._template(customer, context, "email", template_level), context)

    def letter(self, customer: Customer, context: dict, *, template_level: int | None = None) -> LetterContent:
        message = _render(self._template(customer, context, "letter", template_level), context)
        return _letter_content(context["level"], customer, message)

    def _template(self, customer: Customer, context: dict, channel: str,
                  template_level: int | None) -> templates.TemplateText:
        wording = context["level"] if template_level is None else template_level
        language = templates.template_language(customer.language)
        templates.check_key(wording, channel, language)  # as template_for: a bad level is a bug, said plainly
        return self._templates[(wording, channel, language)]


def draft(session: Session, customer: Customer, entries: list[Entry], sender: User, *, level: int | None = None,
          channel: str = "email", attachment_dir: str | Path = ".") -> Draft:
    """The compose window's content: the template of the level (default: entry level + 1) in the
    customer's language, addressed to the billing contact and the customer's e-mail addresses."""
    if channel not in CHANNELS:
        raise ReminderError(_("A reminder goes by e-mail or by letter."))
    level = check_level(level, entries)
    message = rendered(session, customer, entries, level, channel, sender)
    emails = customer.reminder_emails
    return Draft(level=level, channel=channel, language=templates.template_language(customer.language),
                 to=", ".join(emails[:1]), cc=", ".join(emails[1:]), subject=message.subject, body=message.body,
                 body_html=str(message.body_html),
                 attachments=tuple(f.filename for f in invoice_files(session, entries, attachment_dir)))


def record_reminder(session: Session, *, customer: Customer, covered: list[tuple[Entry, int]], channel: str,
                    level: int, sender: str, recipient: str, subject: str, body: str, sent_by: User | None,
                    sent_at: datetime | None = None) -> ReminderActivity:
    """A reminder went out: its activity (as sent), the covered entries' level raised to `level`
    (never lowered) and their last-reminder date set, and a history event. In the caller's
    transaction, written at its next flush (link to the activity, not to its id). `covered` pairs
    each entry with its open amount when the reminder was written."""
    sent_at = sent_at or clock.now()
    activity = ReminderActivity(customer_id=customer.id, sent_at=sent_at, channel=channel, level=level,
                                sender=sender or "", recipient=recipient, subject=subject, body=body,
                                sent_by_id=sent_by.id if sent_by else None)
    activity.covered = [ReminderEntry(entry_id=entry.id, open_cents=open_cents) for entry, open_cents in covered]
    session.add(activity)
    day = clock.today()
    for entry, _open in covered:
        entry.reminder_level = max(entry.reminder_level or 0, level)
        if entry.last_reminder_on is None or entry.last_reminder_on < day:
            entry.last_reminder_on = day
    values = {"level": templates.level_said(level), "numbers": ", ".join(entry.number for entry, _open in covered),
              "subject": subject}
    if channel == "email":
        detail = nsay("Reminder %(level)s e-mailed to %(recipient)s for %(num)s entry: %(numbers)s — %(subject)s",
                      "Reminder %(level)s e-mailed to %(recipient)s for %(num)s entries: %(numbers)s — %(subject)s",
                      len(covered), recipient=recipient, **values)
    else:
        detail = nsay("Reminder %(level)s made as a letter for %(num)s entry: %(numbers)s — %(subject)s",
                      "Reminder %(level)s made as a letter for %(num)s entries: %(numbers)s — %(subject)s",
                      len(covered), **values)
    audit.record(session, sent_by, f"reminder.{channel}", detail,
                 customer=customer, entry=covered[0][0] if len(covered) == 1 else None)
    return activity


@dataclass(frozen=True)
class LetterContent:
    """What a reminder letter says, before it is laid out as a PDF (files/letter.py)."""

    level: int
    language: str
    day: date
    subject: str
    body: str
    body_html: str


def letter_content(session: Session, customer: Customer, entries: list[Entry], sender: User | None,
                   level: int | None = None, *, template_level: int | None = None,
                   company: CompanySettings | None = None) -> LetterContent:
    level = check_level(level, entries)
    message = rendered(session, customer, entries, level, "letter", sender, company, template_level=template_level)
    return _letter_content(level, customer, message)


def _letter_content(level: int, customer: Customer, message: templates.RenderedMessage) -> LetterContent:
    return LetterContent(level=level, language=templates.template_language(customer.language), day=clock.today(),
                         subject=message.subject, body=message.body, body_html=str(message.body_html))


def record_letter(session: Session, user: User, customer: Customer, entries: list[Entry], content: LetterContent,
                  storage_name: str, filename: str) -> ReminderActivity:
    """A letter was made (its PDF stored as `storage_name`): kept as an activity like a sent e-mail."""
    company = saved_company(session)
    recipient = customer.name + (f"\n{customer.address}" if customer.address else "")
    activity = record_reminder(session, customer=customer, covered=[(e, e.open_cents) for e in entries],
                               channel="letter", level=content.level,
                               sender=company.name if company and company.name else user.display_name,
                               recipient=recipient[:500], subject=content.subject, body=content.body, sent_by=user)
    session.add(ReminderLetter(activity=activity, storage_name=storage_name, filename=filename))
    return activity


def recent_letter(session: Session, user: User, customer: Customer, entries: list[Entry],
                  level: int) -> ReminderActivity | None:
    """The letter this user made a moment ago for the same entries at the same level (a double
    click gives it back instead of a second letter)."""
    from domain.exports import DOUBLE_CLICK_WINDOW

    wanted = {e.id for e in entries}
    candidates = session.scalars(
        select(ReminderActivity).where(ReminderActivity.customer_id == customer.id, ReminderActivity.channel == "letter",
                                       ReminderActivity.sent_by_id == user.id, ReminderActivity.level == level,
                                       ReminderActivity.sent_at >= clock.now() - DOUBLE_CLICK_WINDOW)
        .order_by(ReminderActivity.id.desc()))
    return next((a for a in candidates if {c.entry_id for c in a.covered} == wanted), None)


def letter_of(session: Session, activity_id: int) -> ReminderLetter | None:
    return session.get(ReminderLetter, activity_id)


@dataclass
class SentReminder:
    """Exactly what went out: the headers, the body as sent, the attachments' names."""

    activity: ReminderActivity
    headers: list[tuple[str, str]]
    attachments: list[str]
    letter: ReminderLetter | None


def sent_reminder(session: Session, activity_id: int) -> SentReminder | None:
    import json

    from domain.models import OutboxMessage

    activity = session.get(ReminderActivity, activity_id)
    if activity is None:
        return None
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.activity_id == activity.id))
    letter = letter_of(session, activity.id)
    if message is not None:
        headers = [("From", message.sender), ("To", message.to_addresses)]
        if message.cc_addresses:
            headers.append(("Cc", message.cc_addresses))
        headers += [("Reply-To", message.reply_to), ("Subject", message.subject),
                    ("Date", (message.sent_at or activity.sent_at).isoformat(sep=" ", timespec="minutes")),
                    ("Message-ID", message.message_id)]
        attachments = [item.get("filename", "") for item in json.loads(message.attachments or "[]")]
        # The copy to the sender travels in the envelope only (Bcc): shown here, never in the headers.
        if message.bcc_addresses:
            headers.append(("Copy to", message.bcc_addresses))
    else:
        headers = [("From", activity.sender), ("To", activity.recipient), ("Subject", activity.subject),
                   ("Date", activity.sent_at.isoformat(sep=" ", timespec="minutes"))]
        attachments = [letter.filename] if letter else []
    return SentReminder(activity, [(name, value) for name, value in headers if value], attachments, letter)
