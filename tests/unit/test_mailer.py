"""mailer: the SMTP URL forms, the message, and delivery to a real (in-process) SMTP server."""
import shutil
import socket
import ssl
import subprocess
import time

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from mail import smtp as mailer
from tests.smtp import HOST, free_port, running_smtp_server


def message(**overrides):
    fields = {"sender": "Acme SARL <billing@acme-sarl.test>", "to": "finance@relance.test",
              "subject": "Collection file — Acme SARL — SIREN 732829320", "body": "Hello,\n\nThe file.\n"}
    return mailer.build_message(**{**fields, **overrides})


@pytest.mark.parametrize("url, expected", [
    ("smtp://mail.example.com", ("mail.example.com", 25, "plain", None, None)),
    ("smtp://mail.example.com:2525", ("mail.example.com", 2525, "plain", None, None)),
    ("smtp://me%40example.com:s%3Acret@mail.example.com:587?starttls=1",
     ("mail.example.com", 587, "starttls", "me@example.com", "s:cret")),
    ("smtp+starttls://u:p@mail.example.com", ("mail.example.com", 587, "starttls", "u", "p")),
    ("smtps://u:p@mail.example.com", ("mail.example.com", 465, "tls", "u", "p")),
])
def test_smtp_url_forms(url, expected):
    settings = mailer.parse_smtp_url(url)
    assert (settings.host, settings.port, settings.security, settings.username, settings.password) == expected
    assert settings.timeout == mailer.DEFAULT_TIMEOUT


def test_timeout_comes_from_the_url():
    assert mailer.parse_smtp_url("smtp://localhost?timeout=2.5").timeout == 2.5


@pytest.mark.parametrize("url, words", [
    (None, "RELANCE_SMTP_URL"),
    ("", "RELANCE_SMTP_URL"),
    ("http://mail.example.com", "must start with smtp://"),
    ("smtp://mail.example.com:99999", "port"),
    ("smtp://", "names no host"),
    ("smtp://localhost?timeout=soon", "timeout"),
])
def test_missing_or_bad_url_is_not_configured(url, words):
    with pytest.raises(mailer.MailNotConfigured, match=words):
        mailer.parse_smtp_url(url)


def test_send_without_a_url_raises_not_configured():
    with pytest.raises(mailer.MailNotConfigured):
        mailer.send(None, message())


def test_message_without_a_sender_is_not_configured():
    with pytest.raises(mailer.MailNotConfigured, match="sender"):
        message(sender="")


def test_base_url_defaults_to_this_machine_on_the_port(monkeypatch):
    monkeypatch.delenv("RELANCE_BASE_URL", raising=False)
    assert mailer.base_url({"PORT": 8123}) == "http://localhost:8123"
    monkeypatch.setenv("RELANCE_BASE_URL", "https://relance.acme.test/")
    assert mailer.base_url({"PORT": 8123}) == "https://relance.acme.test"
    assert mailer.base_url({"BASE_URL": "https://other.test", "PORT": 1}) == "https://other.test"


def test_delivers_with_headers_and_attachment(smtp_server):
    sent = message(to=["agency@gcollect.test"], reply_to="Finance <finance@relance.test>",
                   attachments=[mailer.Attachment("Bistro du Port 2026-06-15.zip", b"PK\x03\x04zip", "application/zip")])
    mailer.send(smtp_server.url, sent)

    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "billing@acme-sarl.test"
    assert envelope.rcpt_tos == ["agency@gcollect.test"], "Reply-To is not a recipient"
    (received,) = smtp_server.messages
    assert received["Subject"] == "Collection file — Acme SARL — SIREN 732829320"
    assert received["From"].addresses[0].addr_spec == "billing@acme-sarl.test"
    assert received["From"].addresses[0].display_name == "Acme SARL"
    assert received["Reply-To"].addresses[0].addr_spec == "finance@relance.test"
    assert received["Message-ID"].endswith("@acme-sarl.test>")
    assert received.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hello,\n\nThe file.\n"
    (attachment,) = received.iter_attachments()
    assert attachment.get_filename() == "Bistro du Port 2026-06-15.zip"
    assert attachment.get_content_type() == "application/zip"
    assert attachment.get_content() == b"PK\x03\x04zip"


def test_server_down_is_a_clear_error(closed_smtp_url):
    started = time.monotonic()
    with pytest.raises(mailer.MailError, match=r"Cannot reach the mail server 127\.0\.0\.1:\d+"):
        mailer.send(closed_smtp_url, message())
    assert time.monotonic() - started < 5


def test_a_server_that_never_answers_times_out():
    with socket.socket() as silent:  # accepts connections (the backlog) but never greets
        silent.bind((HOST, 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(mailer.MailError, match="did not answer within 0.5 seconds"):
            mailer.send(f"smtp://{HOST}:{port}?timeout=0.5", message())
        assert time.monotonic() - started < 3


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"relance", b"s3cret")
    return AuthResult(success=ok, handled=False)  # unhandled: aiosmtpd answers 535 itself


def test_logs_in_with_the_urls_user_and_password():
    with running_smtp_server(authenticator=_authenticator, auth_require_tls=False) as server:
        mailer.send(f"smtp://relance:s3cret@{HOST}:{server.port}", message())
        assert len(server.messages) == 1
        with pytest.raises(mailer.MailError, match="refused the user name or password") as refused:
            mailer.send(f"smtp://relance:wrong@{HOST}:{server.port}", message())
        assert "wrong" not in str(refused.value), "the password never appears in the error"


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1: (server context, client context trusting it)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=IP:{HOST}"],
                   check=True, capture_output=True)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))


def test_starttls(certificate):
    server_context, client_context = certificate
    with running_smtp_server(tls_context=server_context, require_starttls=True) as server:
        with pytest.raises(mailer.MailError):
            mailer.send(f"smtp://{HOST}:{server.port}", message())  # the server insists on STARTTLS
        mailer.send(f"smtp+starttls://{HOST}:{server.port}", message(), ssl_context=client_context)
        mailer.send(f"smtp://{HOST}:{server.port}?starttls=1", message(), ssl_context=client_context)
        assert len(server.messages) == 2


def test_implicit_tls(certificate):
    server_context, client_context = certificate
    with running_smtp_server(scheme="smtps", ssl_context=server_context) as server:
        mailer.send(server.url, message(), ssl_context=client_context)
        assert len(server.messages) == 1
        with pytest.raises(mailer.MailError, match="secure connection"):
            mailer.send(server.url, message())  # the system does not trust a self-signed certificate


def test_unused_port_helper_gives_a_free_port():
    port = free_port()
    with socket.socket() as probe:
        assert probe.connect_ex((HOST, port)) != 0
