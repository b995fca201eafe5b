"""The outbox: every outgoing reminder e-mail is a row before it is a message on the wire.

    message, is_new = queue_message(session, customer=…, entries=…, level=…, to=…, subject=…,
                                    body=…, sent_by=user, copy_to_sender=True, dedupe_key=…)
    # job (jobs.reminders.send_outbox_message):
    message = claim(session, message_id)           # None: nothing to send (sent, sending, gone)
    session.commit()                               # "sending" is on disk before SMTP starts
    mailer.send(url, build_email(message))
    mark_sent(session, message) | mark_failed(session, message, error)

Statuses: queued → sending → sent | failed | unknown; failed or unknown → cancelled (a person
said not to send it, or what it is about was stopped, disputed or put in collection meanwhile). A message is claimed (status "sending", the attempt
time, attempts + 1) and committed before the SMTP exchange; only after the server has taken it
does it turn "sent", in one transaction with its ReminderActivity, the entries' level and
last-reminder date and the history event (domain.reminders.record_reminder). A message already
"sent" or "sending" is never claimed again. If the worker dies between SMTP and that commit, the
message stays "sending": after STALE_SENDING it turns "unknown" and is never retried by itself (the
Message-ID it went with is kept: look it up in the mailbox first); a person marks it sent or not
sent (`resolve_unknown`). Until then, and while a message is on its way (queued, sending, or failed
with a retry to come), no new message goes to that customer at the same or a lower level
(`unsettled_message`): it would remind them twice.

A message is checked again when its send starts (`hold_back`): if its entries or its customer were
stopped, disputed or put in collection since it was queued, it is cancelled instead of sent, unless
a person sent it anyway (`override_reason`).

A failure keeps the server's answer, and schedules the next try with back-off (BACKOFF);
after MAX_ATTEMPTS it gives up (no next try, the Deliveries page still offers Retry).

`dedupe_key` is unique: the same key twice (a double click; the daily run's customer + step +
date) gives back the first message.
"""
from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from domain import audit, clock, i18n
from domain.i18n import Joined, Said, _, say
from domain.models import (MESSAGE_KINDS, CompanySettings, Customer, Entry, Instalment, OutboxEntry, OutboxMessage,
                           PaymentSchedule, User)
from domain.reminders import sending
from domain.reminders.holds import STALE_SENDING  # noqa: F401 (STALE_SENDING, is_unknown: the outbox's words too)
from domain.reminders.holds import Hold, holds, is_unknown, pending_text, unsettled_message
from domain.settings import company as saved_company
from domain.settings import is_email
from mail import smtp as mailer
from mail.html import email_html

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
MAX_ATTEMPTS = 5
UNKNOWN_OUTCOME = say("outcome unknown — check your sent mail before resending")
MAX_RECIPIENTS = 20
SCHEDULE_KINDS = ("schedule_agreed", "instalment_notice", "instalment_overdue")  # messages about a payment schedule


class OutboxError(ValueError):
    """The message cannot be queued or retried; the message says why."""


@dataclass(frozen=True)
class StoredAttachment:
    path: str
    filename: str
    content_type: str = "application/pdf"


def parse_addresses(text: str | None, field: str) -> list[str]:
    """The addresses of a To/Cc field (commas or semicolons between them); a bad one is refused."""
    found = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        address = parseaddr(part)[1]
        if not is_email(address):
            raise OutboxError(_("%(address)s in %(field)s is not an e-mail address.", address=part, field=field))
        found.append(part)
    if len(found) > MAX_RECIPIENTS:
        raise OutboxError(_("At most %(count)s addresses in %(field)s.", count=MAX_RECIPIENTS, field=field))
    return found


def queue_message(session: Session, *, customer: Customer, entries: list[Entry], level: int, to: str | Iterable[str],
                  subject: str, body: str, sent_by: User | None, dedupe_key: str, cc: str | Iterable[str] = "",
                  copy_to_sender: bool = False, attachments: Iterable[StoredAttachment] = (),
                  company: CompanySettings | None = None, override_reason: str | None = None,
                  kind: str = "reminder") -> tuple[OutboxMessage, bool]:
    """A queued message (and True), or the message already queued under `dedupe_key` (and False).
    From is the company's sender address (`company`: the settings a run read once; else read
    here); Reply-To the user who sends it (the company for an automatic run); the copy goes to
    the user as a Bcc. `kind`: a reminder, or a message about a payment schedule (MESSAGE_KINDS),
    which another reminder still on its way does not hold back."""
    dedupe_key = (dedupe_key or "").strip()
    if not dedupe_key:
        raise OutboxError("A message needs a dedupe key.")
    existing = queued_under(session, dedupe_key)
    if existing is not None:
        return existing, False
    to_list = parse_addresses(to if isinstance(to, str) else ", ".join(to), "To")
    if not to_list:
        raise OutboxError(_("%(name)s has no e-mail address: fill in To.", name=customer.name))
    cc_list = parse_addresses(cc if isinstance(cc, str) else ", ".join(cc), "Cc")
    subject = " ".join((subject or "").split())
    if not subject:
        raise OutboxError(_("The subject is empty."))
    if len(subject) > 500:
        raise OutboxError(_("The subject has at most 500 characters."))
    if not (body or "").strip():
        raise OutboxError(_("The message is empty."))
    if not entries:
        raise OutboxError(_("A reminder covers at least one entry."))
    if any(e.customer_id != customer.id for e in entries):
        raise OutboxError(_("Every entry of a reminder belongs to its customer."))
    if kind not in MESSAGE_KINDS:
        raise OutboxError(f"Unknown kind of message: {kind}.")
    pending = unsettled_message(session, customer.id, level) if kind == "reminder" else None
    if pending is not None:
        raise OutboxError(pending_text(pending))
    try:
        sender = sending.company_sender(company if company is not None else saved_company(session))
    except sending.ReminderError as error:
        raise OutboxError(str(error)) from None
    if sent_by is not None:
        reply_to = mailer.address(sent_by.name, sent_by.email)
    else:
        reply_to = sender
    bcc = sent_by.email if copy_to_sender and sent_by is not None else ""
    message = OutboxMessage(
        dedupe_key=dedupe_key, customer_id=customer.id, customer=customer, level=level, sender=sender,
        to_addresses=", ".join(to_list), cc_addresses=", ".join(cc_list), bcc_addresses=bcc, reply_to=reply_to,
        subject=subject, body=body.replace("\r\n", "\n"),
        attachments=json.dumps([{"path": str(a.path), "filename": a.filename, "content_type": a.content_type}
                                for a in attachments]),
        message_id=make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None),
        status="queued", attempts=0, created_by_id=sent_by.id if sent_by else None,
        override_reason=override_reason or None, kind=kind)
    message.covered = [OutboxEntry(entry_id=e.id, open_cents=e.open_cents) for e in entries]
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:  # the same key committed a moment ago by another request
        existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is None:
            raise
        return existing, False
    return message, True


def sending_problem(session: Session) -> str | None:
    """Why no e-mail can go right now (no sender address for the company), or None: said when a
    send form opens, not after the user wrote."""
    try:
        sending.company_sender(saved_company(session))
    except sending.ReminderError as error:
        return str(error)
    return None


def label(message: OutboxMessage) -> str:
    """What the message is, in the users' words: its reminder level, or what it says of a schedule."""
    if message.kind == "reminder":
        return sending.templates.level_name(message.level)
    return str(MESSAGE_KINDS.get(message.kind, message.kind))


def label_said(message: OutboxMessage):
    """What the message is, in a kept sentence: its level, or what it says of a schedule (translated when read)."""
    if message.kind == "reminder":
        return sending.templates.level_said(message.level)
    return MESSAGE_KINDS.get(message.kind, message.kind)


def queued_under(session: Session, dedupe_key: str) -> OutboxMessage | None:
    """The message already queued under this key (a double click), if any."""
    return session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))


def attachments_of(message: OutboxMessage) -> list[StoredAttachment]:
    return [StoredAttachment(**item) for item in json.loads(message.attachments or "[]")]


def recipients_of(message: OutboxMessage) -> list[str]:
    """Every envelope recipient: To, Cc and the sender's copy."""
    text = ", ".join(filter(None, (message.to_addresses, message.cc_addresses, message.bcc_addresses)))
    return [address for _name, address in getaddresses([text]) if address]


def build_email(message: OutboxMessage) -> EmailMessage:
    """The e-mail as it goes out, with the attachments read from disk and the Message-ID the
    outbox chose (the same on every attempt). Raises OSError when an attachment is gone."""
    files = [mailer.Attachment(a.filename, Path(a.path).read_bytes(),
                               a.content_type or mimetypes.guess_type(a.filename)[0] or "application/octet-stream")
             for a in attachments_of(message)]
    # The HTML part is made from the stored text each time: the same words, so every attempt sends the same e-mail.
    language = (message.customer.language if message.customer is not None else None) or "en"
    email = mailer.build_message(sender=message.sender, to=[a.strip() for a in message.to_addresses.split(",")],
                                 subject=message.subject, body=message.body, reply_to=message.reply_to or None,
                                 attachments=files,
                                 html=email_html(message.body, subject=message.subject, language=language))
    if message.cc_addresses:
        email["Cc"] = message.cc_addresses
    if message.bcc_addresses:  # smtplib sends to Bcc and strips the header from what it transmits
        email["Bcc"] = message.bcc_addresses
    del email["Message-ID"]
    email["Message-ID"] = message.message_id
    return email


def expire_stale_sending(session: Session, now: datetime | None = None) -> int:
    """Messages left "sending" for longer than STALE_SENDING (a worker killed mid-send) turn
    "unknown": never retried by themselves, shown on Deliveries until a person says what happened."""
    now = now or clock.now()
    stale = list(session.scalars(select(OutboxMessage).where(OutboxMessage.status == "sending",
                                                             OutboxMessage.attempted_at < now - STALE_SENDING)))
    for message in stale:
        message.status, message.shown_last_error, message.next_attempt_at = "unknown", UNKNOWN_OUTCOME, None
    return len(stale)


def hold_back(session: Session, message: OutboxMessage, today=None) -> Said | None:
    """Called when a send starts: if the customer or a covered entry was stopped, disputed or put in
    collection since the message was queued (and nobody sent it anyway), the message is cancelled
    and the reason returned; None: it may go."""
    if message.override_reason:
        return None
    found = [Hold(text) for text in [schedule_gone(session, message)] if text]
    if message.kind != "schedule_agreed" and not found:  # the agreement: a person sends it, whatever holds
        found = holds(session, message.customer, [c.entry for c in message.covered], today, kind=message.kind)
    if not found:
        return None
    reason = say("Not sent: %(holds)s", holds=Joined([h.said for h in found], " "))
    message.status, message.shown_last_error, message.next_attempt_at = "cancelled", reason, None
    return reason


def schedule_of(session: Session, message: OutboxMessage) -> tuple[PaymentSchedule | None, Instalment | None]:
    """The payment schedule (and instalment) a message about one is about, from its key:
    schedule:{id}:agreed:{token} or instalment:{id}:{step}."""
    kind, _, rest = message.dedupe_key.partition(":")
    number = rest.partition(":")[0]
    if not number.isdigit():
        return None, None
    if kind == "schedule":
        return session.get(PaymentSchedule, int(number)), None
    if kind == "instalment":
        instalment = session.get(Instalment, int(number))
        return (instalment.schedule if instalment else None), instalment
    return None, None


def schedule_gone(session: Session, message: OutboxMessage) -> Said | None:
    """Why a message about a payment schedule no longer applies when its send starts (a retry may come
    days later): the schedule ended, the instalment was paid meanwhile."""
    if message.kind not in SCHEDULE_KINDS:
        return None
    schedule, instalment = schedule_of(session, message)
    if schedule is None:
        return say("the payment schedule no longer exists.")
    if schedule.status == "completed":
        return say("payment schedule #%(id)s is completed.", id=schedule.id)
    if schedule.status == "broken":
        return say("payment schedule #%(id)s is broken.", id=schedule.id)
    if not schedule.is_active:
        return say("payment schedule #%(id)s is cancelled.", id=schedule.id)
    if instalment is not None and instalment.status == "paid":
        return say("instalment %(number)s of payment schedule #%(id)s was paid meanwhile.", number=instalment.number,
                   id=schedule.id)
    return None


def resolve_unknown(session: Session, message: OutboxMessage, actor: User, was_sent: bool) -> None:
    """A person checked the sent mail: the message went (recorded as sent, levels raised) or did not
    (failed, no retry by itself: Deliveries offers Retry). Either way another message may follow."""
    if not is_unknown(message):
        raise OutboxError(_("Only a message whose outcome is unknown can be marked sent or not sent."))
    values = {"what": label_said(message), "subject": message.subject,
              "at": message.attempted_at}
    if was_sent:
        mark_sent(session, message, now=message.attempted_at)
        detail = say('The %(what)s e-mail "%(subject)s" of %(at)s, of unknown outcome, was sent.', **values)
    else:
        message.status, message.next_attempt_at = "failed", None
        message.shown_last_error = say("Not sent (checked by %(name)s).", name=actor.display_name)
        detail = say('The %(what)s e-mail "%(subject)s" of %(at)s, of unknown outcome, was not sent.', **values)
    audit.record(session, actor, "outbox.resolved", detail, customer=message.customer)


def cancel(session: Session, message: OutboxMessage, actor: User) -> None:
    """A person decides a failed (or unknown) message is not to be sent: it is never retried."""
    if message.status not in ("failed", "unknown") and not is_unknown(message):
        raise OutboxError(_("Only a message that failed or whose outcome is unknown can be cancelled."))
    message.status, message.next_attempt_at = "cancelled", None
    message.shown_last_error = say("Cancelled by %(name)s: not to be sent.", name=actor.display_name)
    audit.record(session, actor, "outbox.cancelled",
                 say('The %(what)s e-mail "%(subject)s" will not be sent.', what=label_said(message),
                     subject=message.subject), customer=message.customer)


def claim(session: Session, message_id: int, now: datetime | None = None) -> OutboxMessage | None:
    """The message, marked "sending" for this attempt, when it is queued or failed; None when it
    is sent, being sent, or gone. The caller commits before talking to the mail server."""
    message = loaded(session, message_id, for_update=True)
    if message is None or message.status not in ("queued", "failed"):
        return None
    begin_attempt(message, now)
    session.flush()
    return message


def loaded(session: Session, message_id: int, *, for_update: bool = False) -> OutboxMessage | None:
    """The message with its covered entries (mark_sent raises their levels)."""
    # populate_existing: the entries' levels are read afresh even when the session kept them.
    return session.get(OutboxMessage, message_id, with_for_update=for_update, populate_existing=True,
                       options=[selectinload(OutboxMessage.covered).joinedload(OutboxEntry.entry)])


def read_entries_again(session: Session, message: OutboxMessage) -> None:
    """The entries `message` covers, read afresh in one query, for a caller that kept the message
    since it queued it (loaded() reads everything again): mark_sent raises their levels."""
    covered = {c.entry_id: c for c in message.covered}
    for entry in session.scalars(select(Entry).where(Entry.id.in_(list(covered)))
                                 .execution_options(populate_existing=True)):
        set_committed_value(covered[entry.id], "entry", entry)


def begin_attempt(message: OutboxMessage, now: datetime | None = None) -> None:
    """An attempt starts: "sending", to be committed before the SMTP exchange. `claim` does it for
    a message in the database; a run that queues and sends at once does it before its commit."""
    message.status, message.attempted_at, message.next_attempt_at = "sending", now or clock.now(), None
    message.attempts = (message.attempts or 0) + 1


def next_attempt(attempts: int, now: datetime) -> datetime | None:
    """When to try again after `attempts` failed attempts; None once MAX_ATTEMPTS is reached."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def mark_failed(session: Session, message: OutboxMessage, error: str | Said | Exception | None,
                now: datetime | None = None) -> None:
    """`error`: why it did not go. A Said or a MailError is read in each reader's language; a plain text (a mail
    server's answer) is kept as written."""
    now = now or clock.now()
    error = failure_said(error)
    message.status = "failed"
    message.shown_last_error = error[:2000] if isinstance(error, str) else error or say("unknown error")
    message.next_attempt_at = next_attempt(message.attempts or 0, now)


def failure_said(error):
    """Why a send failed, as a record keeps it: a MailError's sentence as a Said (its server's words kept as
    written); anything else as it is."""
    return i18n.said(error) or error  # a MailError's MailText becomes a Said there


def mark_sent(session: Session, message: OutboxMessage, now: datetime | None = None):
    """The mail server took it: sent, with its activity, the entries' level and last-reminder date
    raised and the history event, in the caller's transaction. A message about a payment schedule
    raises no level: its history event says what went."""
    now = now or clock.now()
    if message.kind != "reminder":
        message.status, message.sent_at, message.last_error, message.next_attempt_at = "sent", now, None, None
        schedule, instalment = schedule_of(session, message)
        values = {"kind": MESSAGE_KINDS[message.kind], "to": message.to_addresses, "subject": message.subject}
        if schedule is not None and instalment is not None:
            detail = say('Payment schedule #%(id)s: instalment %(number)s, %(kind)s e-mail sent to %(to)s: '
                         '"%(subject)s"', id=schedule.id, number=instalment.number, **values)
        elif schedule is not None:
            detail = say('Payment schedule #%(id)s: %(kind)s e-mail sent to %(to)s: "%(subject)s"', id=schedule.id,
                         **values)
        else:
            detail = say('%(kind)s e-mail sent to %(to)s: "%(subject)s"', **values)
        audit.record(session, message.created_by, "outbox.sent", detail, customer=message.customer)
        return None
    covered = [(c.entry, c.open_cents) for c in sorted(message.covered, key=lambda c: (c.entry.due_date, c.entry_id))]
    recipient = ", ".join(filter(None, (message.to_addresses, message.cc_addresses)))
    activity = sending.record_reminder(
        session, customer=message.customer, covered=covered, channel="email", level=message.level,
        sender=message.sender, recipient=recipient[:500], subject=message.subject, body=message.body,
        sent_by=message.created_by, sent_at=now)
    message.status, message.sent_at, message.activity = "sent", now, activity
    message.last_error, message.next_attempt_at = None, None
    return activity


def retry(session: Session, message: OutboxMessage) -> None:
    """A user asks to send a failed message again (after fixing the cause)."""
    if message.status != "failed":
        raise OutboxError(_("Only a failed message can be retried.") if message.status != "sent"
                          else _("This message was sent: it is not sent again."))
    message.status, message.next_attempt_at = "queued", None


def due_for_retry(session: Session, now: datetime | None = None) -> list[OutboxMessage]:
    """Failed messages whose next try has come (the back-off schedule)."""
    now = now or clock.now()
    return list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.status == "failed", OutboxMessage.next_attempt_at.is_not(None),
        OutboxMessage.next_attempt_at <= now).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)))


def failed_messages(session: Session, limit: int = 200, now: datetime | None = None) -> list[OutboxMessage]:
    """The Deliveries page: messages whose outcome is unknown, then failed ones and those held
    back or cancelled in the last 30 days, the newest attempt first."""
    now = now or clock.now()
    return list(session.scalars(
        select(OutboxMessage).where(or_(
            OutboxMessage.status.in_(("failed", "unknown")),
            and_(OutboxMessage.status == "sending", OutboxMessage.attempted_at < now - STALE_SENDING),
            and_(OutboxMessage.status == "cancelled", OutboxMessage.created_at >= now - timedelta(days=30))))
        .options(joinedload(OutboxMessage.customer), selectinload(OutboxMessage.covered))
        .order_by((OutboxMessage.status.in_(("unknown", "sending"))).desc(), OutboxMessage.attempted_at.desc(),
                  OutboxMessage.id.desc()).limit(limit)))
