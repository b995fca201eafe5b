"""Fixtures for unit tests beyond the shared chain in tests/conftest.py."""
from tests.smtp import closed_smtp_url, smtp_server  # noqa: F401  (pytest fixtures)
