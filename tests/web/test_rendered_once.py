"""What a page renders once and reuses (the top bar's links per area, role and language; a cached list's
table per language and role) never shows one reader what belongs to another, nor an old state after a change."""
from __future__ import annotations

import re

import pytest

from tests.conftest import login

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}
HTMX = {"HX-Request": "true"}


@pytest.fixture
def ledger(session, ledger_builder, users):
    b = ledger_builder
    acme = b.customer("C001", "Acme Industries")
    b.entry(acme, 40, "900.00", number="INV-1001")
    globex = b.customer("C002", "Globex")
    b.entry(globex, 10, "250.00", number="INV-2001")
    session.commit()
    return acme


def _client(app, role: str):
    client = app.test_client()
    assert login(client, f"{role}@relance.test").status_code == 302
    return client


def _current_link(html: str) -> str:
    match = re.search(r'<a href="([^"]+)" aria-current="page">', html)
    return match.group(1) if match else ""


def test_each_role_sees_its_own_rows_and_menus_of_the_same_cached_list(app, ledger):
    finance, support, admin = (_client(app, role) for role in ("finance", "support", "admin"))
    for _ in range(2):  # the second time from what was rendered once
        seen_by_finance = finance.get("/").get_data(as_text=True)
        seen_by_support = support.get("/").get_data(as_text=True)
        seen_by_admin = admin.get("/").get_data(as_text=True)
        assert 'name="customer" value="C001"' in seen_by_finance  # ticks to send reminders
        assert 'name="customer" value="C001"' not in seen_by_support  # support may not send
        assert "Acme Industries" in seen_by_support
        assert ">Users</a>" in seen_by_admin and ">Users</a>" not in seen_by_finance
        assert ">Import</a>" in seen_by_finance and ">Import</a>" not in seen_by_support
        assert 'class="reminder-actions"' in finance.get("/due-dates").get_data(as_text=True)
        assert 'class="reminder-actions"' not in support.get("/due-dates").get_data(as_text=True)
        fragment = support.get("/", headers=HTMX).get_data(as_text=True)
        assert "Acme Industries" in fragment
        assert 'name="customer"' not in fragment
        assert 'aria-label="Main"' not in fragment  # the table alone, no layout


def test_the_top_bar_marks_the_page_one_is_on(app, ledger):
    finance = _client(app, "finance")
    for _ in range(2):
        assert _current_link(finance.get("/").get_data(as_text=True)) == "/"
        assert _current_link(finance.get("/due-dates").get_data(as_text=True)) == "/due-dates"
        assert _current_link(finance.get("/customers/C001").get_data(as_text=True)) == ""


def test_each_language_reads_the_same_cached_list_in_its_own_words(app, ledger):
    english, french = _client(app, "finance"), _client(app, "finance")
    for _ in range(2):
        in_english = english.get("/").get_data(as_text=True)
        in_french = french.get("/", headers=FRENCH).get_data(as_text=True)
        assert "Who owes you what?" in in_english and "€900.00" in in_english
        assert "Qui vous doit quoi" in in_french and "900,00\xa0€" in in_french
        assert "Due dates" in english.get("/due-dates").get_data(as_text=True)
        assert "Suivi des échéances" in french.get("/due-dates", headers=FRENCH).get_data(as_text=True)


def test_a_change_shows_at_the_next_view_of_a_list_rendered_before(app, ledger):
    finance = _client(app, "finance")
    before = finance.get("/").get_data(as_text=True)
    marker = '<span title="Reminders stopped">'
    assert marker not in before
    token = re.search(r'"X-CSRFToken": "([^"]+)"', before).group(1)
    changed = finance.post("/customers/C001/stop-reminders", data={"stopped": "1", "reason": "Called us"},
                           headers={"X-CSRFToken": token, **HTMX})
    assert changed.status_code == 200
    assert marker in finance.get("/").get_data(as_text=True)
    assert marker in finance.get("/due-dates").get_data(as_text=True)
    assert marker in finance.get("/", headers=HTMX).get_data(as_text=True)
