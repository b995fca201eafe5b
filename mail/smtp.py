"""Outgoing mail through a real SMTP server.

Where the mail goes is one URL, RELANCE_SMTP_URL (app config SMTP_URL):

    smtp://mail.example.com:25                      plain SMTP (a local relay; tests)
    smtp://user:secret@mail.example.com:587?starttls=1
    smtp+starttls://user:secret@mail.example.com:587  STARTTLS after connecting (the usual
                                                      submission port)
    smtps://user:secret@mail.example.com:465        implicit TLS from the first byte

- The port defaults to 25 (smtp://), 587 (smtp+starttls://) and 465 (smtps://).
- User and password are percent-encoded: a user `me@example.com` is written `me%40example.com`.
- `?timeout=20` changes how many seconds connecting and each exchange may take (default 10):
  a mail server that does not answer must not hold a worker forever.
- TLS checks the server's certificate against the system's trusted authorities.

Two plain functions do the work, so jobs, the CLI and tests call them directly:
`build_message(...)` makes an `email.message.EmailMessage` (with attachments) and
`send(url, message)` delivers it. Nothing here reads Flask's configuration: the caller passes
the URL. Without a URL, `send` raises `MailNotConfigured`; any other failure to deliver raises
`MailError` with a message a person can act on (the password never appears in it).
"""
from __future__ import annotations

import functools
import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_TIMEOUT = 10.0
DEFAULT_PORTS = {"plain": 25, "starttls": 587, "tls": 465}
TRUE_WORDS = {"1", "true", "yes", "on"}


class MailText(NamedTuple):
    """A sentence of this module's, kept as its message id and values: str() gives its English; the domain,
    which this module may not import, keeps it as a Said (domain.reminders.outbox.failure_said) so each
    reader sees it in their language. The values (a host, a server's reply) are never translated."""

    msgid: str
    values: dict

    def __str__(self) -> str:
        return self.msgid % self.values if self.values else self.msgid


def say(msgid: str, **values) -> MailText:
    """Marked for gettext (the `say` keyword of `make messages`) like domain.i18n.say."""
    return MailText(msgid, values)


class MailError(RuntimeError):
    """The mail could not be delivered; the message says why (in English; `text`: the sentence to translate)."""

    def __init__(self, text: MailText | str):
        super().__init__(str(text))
        self.text = text if isinstance(text, MailText) else None


class MailNotConfigured(MailError):
    """No usable SMTP server (or no sender address) is configured, so no mail can go out."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # plain | starttls | tls
    username: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


def parse_smtp_url(url: str | None) -> SmtpSettings:
    """The SMTP server described by `url` (the forms are in the module docstring)."""
    if not url or not url.strip():
        raise MailNotConfigured(say("No mail server is configured: set RELANCE_SMTP_URL, e.g. smtp://localhost:25."))
    parts = urlsplit(url.strip())
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if parts.scheme == "smtp":
        security = "starttls" if query.get("starttls", "").lower() in TRUE_WORDS else "plain"
    elif parts.scheme == "smtp+starttls":
        security = "starttls"
    elif parts.scheme == "smtps":
        security = "tls"
    else:
        raise MailNotConfigured(say("RELANCE_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://, not "
                                    "%(scheme)s://.", scheme=parts.scheme or "(nothing)"))
    try:
        port = parts.port
    except ValueError:
        raise MailNotConfigured(say("RELANCE_SMTP_URL has a port that is not a number between 1 and 65535.")) from None
    if not parts.hostname:
        raise MailNotConfigured(say("RELANCE_SMTP_URL names no host, e.g. smtp://mail.example.com:25."))
    try:
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise MailNotConfigured(say("The timeout in RELANCE_SMTP_URL must be a number of seconds.")) from None
    if timeout <= 0:
        raise MailNotConfigured(say("The timeout in RELANCE_SMTP_URL must be more than 0 seconds."))
    return SmtpSettings(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[security],
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
    )


def describe(url: str | None) -> str | None:
    """The mail server as Settings shows it, the password hidden; None when none is configured."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if parts.password is None:
        return url.strip()
    # Only the password is hidden: the rest of netloc is kept as written (a bad port, an IPv6 host).
    user, _, where = parts.netloc.rpartition("@")
    name = user.partition(":")[0]
    return parts._replace(netloc=f"{name}:•••@{where}").geturl()


def address(name: str | None, email: str) -> str:
    """`Name <email>` for a From or Reply-To header (just the address when there is no name)."""
    return formataddr((name or "", email)) if name else email


def base_url(config: Mapping) -> str:
    """The address people open Relance at, for links in e-mails: BASE_URL in the app config,
    else RELANCE_BASE_URL, else this machine on the configured port."""
    url = config.get("BASE_URL") or os.environ.get("RELANCE_BASE_URL") or f"http://localhost:{config.get('PORT') or 5000}"
    return url.rstrip("/")


def build_message(
    *,
    sender: str,
    to: str | Sequence[str],
    subject: str,
    body: str,
    reply_to: str | None = None,
    attachments: Sequence[Attachment] = (),
    html: str | None = None,
) -> EmailMessage:
    """A plain-text e-mail with its attachments, ready for `send`; with `html`, multipart/alternative:
    the plain text first, the HTML part (mail.html.email_html) after it, as mail programs prefer."""
    if not sender or "@" not in parseaddr(sender)[1]:
        raise MailNotConfigured(say("No sender e-mail address: set it in Settings → Company."))
    recipients = [to] if isinstance(to, str) else list(to)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=attachment.filename)
    return message


def send(url: str | None, message: EmailMessage, *, ssl_context: ssl.SSLContext | None = None) -> None:
    """Deliver `message` through the SMTP server at `url`. `ssl_context` replaces the default
    certificate checks (a private authority; tests)."""
    settings = parse_smtp_url(url)
    context = (ssl_context or _default_tls_context()) if settings.security != "plain" else None
    where, seconds = settings.where, f"{settings.timeout:g}"
    try:
        if settings.security == "tls":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
            if settings.username:
                client.login(settings.username, settings.password or "")
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as error:
        raise MailError(say("The mail server %(where)s refused the user name or password (%(reply)s).", where=where,
                            reply=_reply(error))) from error
    except smtplib.SMTPRecipientsRefused as error:
        refused = ", ".join(sorted(error.recipients))
        raise MailError(say("The mail server %(where)s refused the recipient %(refused)s.", where=where,
                            refused=refused)) from error
    except smtplib.SMTPSenderRefused as error:
        raise MailError(say("The mail server %(where)s refused the sender %(sender)s (%(reply)s).", where=where,
                            sender=str(error.sender), reply=_reply(error))) from error
    except smtplib.SMTPServerDisconnected as error:
        if isinstance(error.__context__, TimeoutError):  # smtplib reports a read timeout as a disconnection
            raise MailError(say("The mail server %(where)s did not answer within %(seconds)s seconds.", where=where,
                                seconds=seconds)) from error
        raise MailError(say("The mail server %(where)s closed the connection: %(error)s.", where=where,
                            error=str(error))) from error
    except smtplib.SMTPNotSupportedError as error:
        raise MailError(say("The mail server %(where)s does not offer what RELANCE_SMTP_URL asks for: %(error)s.",
                            where=where, error=str(error))) from error
    except smtplib.SMTPException as error:
        raise MailError(say("The mail server %(where)s did not take the message: %(error)s.", where=where,
                            error=str(error))) from error
    except TimeoutError as error:
        raise MailError(say("The mail server %(where)s did not answer within %(seconds)s seconds.", where=where,
                            seconds=seconds)) from error
    except ssl.SSLError as error:
        raise MailError(say("The secure connection to the mail server %(where)s failed: %(error)s.", where=where,
                            error=str(error.reason or error))) from error
    except OSError as error:
        raise MailError(say("Cannot reach the mail server %(where)s: %(error)s.", where=where,
                            error=str(error.strerror or error))) from error


@functools.cache
def _default_tls_context() -> ssl.SSLContext:
    """The system's trusted authorities, loaded once per process: loading them takes longer than
    sending a message to a local relay."""
    return ssl.create_default_context()


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
    return f"{error.smtp_code} {text}".strip()
