"""The interface speaks the user's language (My account), else the browser's (Accept-Language), else
RELANCE_LOCALE; numbers, money and dates follow it; what goes to a customer speaks the customer's."""
from __future__ import annotations

import re

from sqlalchemy import select

from domain.models import User
from tests.conftest import login

HTMX = {"HX-Request": "true"}
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


def text(response) -> str:
    """The page's words with French no-break spaces (before ? : ; ! and in numbers) as plain spaces."""
    return re.sub("[\u00a0\u202f]", " ", response.get_data(as_text=True))


def _set_language(session, email: str, language: str | None) -> None:
    user = session.scalar(select(User).filter_by(email=email))
    user.language = language
    session.commit()


def test_a_user_without_a_language_gets_the_browsers(client, users, ledger_builder):
    customer = ledger_builder.customer("C001", "Cafe Rouge")
    ledger_builder.entry(customer, 40, "1234.50")
    login(client, "finance@relance.test")

    english = text(client.get("/"))
    assert '<html lang="en' in english and "Who owes you what?" in english and "€1,234.50" in english

    french = text(client.get("/", headers=FRENCH))
    assert '<html lang="fr' in french
    assert "Qui vous doit quoi ?" in french and "Who owes you what?" not in french
    assert "1 234,50 €" in french  # Babel's fr_FR money, not an English format with French words

    german = text(client.get("/", headers={"Accept-Language": "de-DE,de"}))
    assert "Who owes you what?" in german  # a language Relance does not speak: RELANCE_LOCALE (en_GB)


def test_the_users_choice_wins_over_the_browser(client, users, session):
    _set_language(session, "finance@relance.test", "fr")
    login(client, "finance@relance.test")
    assert "Qui vous doit quoi ?" in text(client.get("/", headers={"Accept-Language": "en-GB,en"}))

    _set_language(session, "finance@relance.test", "en")
    assert "Who owes you what?" in text(client.get("/", headers=FRENCH))


def test_my_account_changes_the_language_and_reloads_the_page(client, users, session):
    login(client, "finance@relance.test")
    page = text(client.get("/account/"))
    assert "Your browser's language" in page

    answer = client.post("/account/profile", data={"name": "Fin", "language": "fr"}, headers=HTMX)
    assert answer.status_code == 200
    assert answer.headers.get("HX-Refresh") == "true"  # every word of the page changes
    assert "Mon compte" in text(client.get("/account/"))
    session.expire_all()
    assert session.scalar(select(User.language).filter_by(email="finance@relance.test")) == "fr"

    answer = client.post("/account/profile", data={"name": "Fin", "language": ""}, headers=HTMX)
    assert answer.headers.get("HX-Refresh") == "true"
    session.expire_all()
    assert session.scalar(select(User.language).filter_by(email="finance@relance.test")) is None
    assert "Who owes you what?" in text(client.get("/"))  # no Accept-Language: RELANCE_LOCALE

    same = client.post("/account/profile", data={"name": "Fin 2", "language": ""}, headers=HTMX)
    assert "HX-Refresh" not in same.headers  # only the name changed: the fragment is enough


def test_an_unknown_language_is_refused_and_nothing_changes(client, users, session):
    login(client, "finance@relance.test")
    answer = client.post("/account/profile", data={"name": "Fin", "language": "xx"})
    assert answer.status_code == 400
    session.expire_all()
    assert session.scalar(select(User.language).filter_by(email="finance@relance.test")) is None


def test_error_pages_and_the_login_page_speak_the_browsers_language(client, users):
    login_page = text(client.get("/login", headers=FRENCH))
    assert '<html lang="fr' in login_page and "Mot de passe" in login_page
    login(client, "finance@relance.test")
    missing = client.get("/customers/NOPE", headers=FRENCH)
    assert missing.status_code == 404
    assert "Not found" not in text(missing)


def test_relance_locale_is_the_default_when_the_browser_says_nothing(app_config, users, database_url):
    from app import create_app

    app = create_app({**app_config, "BABEL_LOCALE": "fr_FR"})
    client = app.test_client()
    login(client, "finance@relance.test")
    assert "Qui vous doit quoi ?" in text(client.get("/"))
