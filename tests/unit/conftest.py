"""Fixtures for unit tests beyond the shared chain in tests/conftest.py."""
import pytest

from domain.models import CompanySettings
from tests.smtp import closed_smtp_url, smtp_server  # noqa: F401  (pytest fixtures)


@pytest.fixture
def mail(app, smtp_server):  # noqa: F811
    """The app sends its mail to the in-process SMTP server."""
    app.config.update(SMTP_URL=smtp_server.url)
    return smtp_server


@pytest.fixture
def company(session):
    """The company that signs reminders, with a sender address: e-mails can go."""
    settings = CompanySettings(name="Acme SARL", registration_number="732829320",
                               sender_email="billing@acme-sarl.test", address="1 rue de la Paix\n75002 Paris")
    session.add(settings)
    session.commit()
    return settings
