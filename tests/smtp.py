"""A real SMTP server inside the test process (aiosmtpd), keeping every message it receives.

`smtp_server` is a fixture (registered by tests/unit/conftest.py and tests/web/conftest.py);
`running_smtp_server(**options)` starts one with Controller options (TLS, authentication).
"""
from __future__ import annotations

import email
import socket
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Inbox:
    """The aiosmtpd handler: keeps the envelope of every message it accepts; recipients added to
    `refused` get "550 mailbox unavailable", as a real server answers for an unknown mailbox."""

    def __init__(self):
        self.envelopes = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int, inbox: Inbox, scheme: str = "smtp"):
        self.host, self.port, self.inbox = HOST, port, inbox
        self.url = f"{scheme}://{HOST}:{port}"

    @property
    def envelopes(self) -> list:
        return self.inbox.envelopes

    @property
    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.inbox.envelopes]


@contextmanager
def running_smtp_server(scheme: str = "smtp", **controller_options):
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname=HOST, port=port, **controller_options)
    controller.start()
    try:
        yield SmtpServer(port, inbox, scheme)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def closed_smtp_url() -> str:
    """A port nothing listens on: the mail server is down."""
    return f"smtp://{HOST}:{free_port()}?timeout=2"
