"""The edges of the lists: a page past the end goes to the last page, a pasted page of text is cut to a
search, a credit note is never overdue."""
from __future__ import annotations

import pytest

HTMX = {"HX-Request": "true"}


@pytest.fixture
def ledger(session, ledger_builder, users):
    b = ledger_builder
    acme = b.customer("C001", "Acme Industries")
    b.entry(acme, 40, "900.00", number="INV-1001")
    b.entry(acme, 30, "120.00", number="CN-1001", kind="credit_note")
    session.commit()
    return acme


@pytest.mark.parametrize("path", ["/", "/due-dates", "/customers", "/collection/"])
def test_a_page_past_the_end_goes_to_the_last_page(finance_client, ledger, path):
    answer = finance_client.get(f"{path}?page=999&sort=total&dir=desc" if path == "/" else f"{path}?page=999")
    assert answer.status_code == 302
    target = answer.headers["Location"]
    assert "page=999" not in target and "page=" not in target  # one page of rows: the first is the last
    if path == "/":
        assert "sort=total" in target and "dir=desc" in target  # the rest of the view is kept
    assert finance_client.get(target).status_code == 200
    assert finance_client.get(f"{path}?page=999", headers=HTMX).status_code == 302  # htmx follows it


def test_a_page_number_that_is_not_a_number_is_a_clear_400(finance_client, ledger):
    answer = finance_client.get("/?page=abc")
    assert answer.status_code == 400 and "positive whole number" in answer.get_data(as_text=True)


def _row(html: str, number: str) -> str:
    return next(row for row in html.split("<tr")[1:] if number in row.split("</tr>")[0]).split("</tr>")[0]


def test_a_very_long_search_is_cut_not_refused(finance_client, ledger):
    pasted = "Acme" + "x" * 3000
    for path in ("/search", "/customers", "/due-dates", "/"):
        answer = finance_client.get(path, query_string={"q": pasted})
        assert answer.status_code == 200, path
        html = answer.get_data(as_text=True)
        assert 'value="Acme' + "x" * 96 + '"' in html or path == "/search", path  # the filter keeps what fits
    page = finance_client.get("/").get_data(as_text=True)
    assert page.count('maxlength="100"') >= 2  # the browser cuts it before sending: top search and the list's


def test_a_credit_note_is_never_overdue(finance_client, ledger):
    due = _row(finance_client.get("/due-dates").get_data(as_text=True), "CN-1001")
    assert 'class="not-due"' in due and '<td class="num days-overdue"></td>' in due
    assert 'class="overdue"' in _row(finance_client.get("/due-dates").get_data(as_text=True), "INV-1001")
    account = _row(finance_client.get("/customers/C001").get_data(as_text=True), 'data-number="CN-1001"')
    assert 'class="not-due"' in account and '<td class="num days-overdue"></td>' in account
