"""The receivables screens through the Flask client: full pages, htmx fragments, errors, roles."""
from datetime import timedelta

import pytest

from domain.models import AuditEvent, Entry


@pytest.fixture
def ledger(session, ledger_builder, users):
    """Three customers: Acme (R4, > 90 days), Bistro (R1, 1–30) and Castor (not due, EUR + USD)."""
    b = ledger_builder
    acme = b.customer("C001", "Acme Industries", registration_number="732829320", emails="ap@acme.test")
    b.entry(acme, 120, "900.00", level=4, number="INV-1001")
    b.entry(acme, 40, "100.00", level=2, number="INV-1002")
    bistro = b.customer("C002", "Bistro du Port", language="fr")
    b.entry(bistro, 10, "250.00", level=1, number="INV-2001")
    castor = b.customer("C003", "Castor Ltd")
    b.entry(castor, -20, "75.00", number="INV-3001")
    b.entry(castor, -20, "40.00", number="INV-3002", currency="USD")
    settled = b.customer("C004", "Dormant SA")
    b.entry(settled, 10, "10.00", number="INV-4001", open_amount="0")
    session.commit()
    return {"acme": acme, "bistro": bistro, "castor": castor}


def rows_of(html: str) -> list[str]:
    return [account for account in ("C001", "C002", "C003", "C004") if f'data-account="{account}"' in html]


def test_every_page_needs_a_login(client):
    for url in ("/", "/due-dates", "/search?q=a", "/customers/C001", "/exports/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_login_form_has_email_and_password_fields(client, users):
    html = client.get("/login").get_data(as_text=True)
    assert '<label for="email">Email</label>' in html
    assert '<label for="password">Password</label>' in html
    wrong = client.post("/login", data={"email": "finance@relance.test", "password": "nope"})
    assert wrong.status_code == 401
    assert "Wrong e-mail or password" in wrong.get_data(as_text=True)


def test_who_owes_what_lists_customers_with_a_balance_and_totals(finance_client, ledger):
    response = finance_client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in html
    assert rows_of(html) == ["C001", "C002", "C003"], "largest balance first; the settled customer is absent"
    assert "€1,000.00" in html  # Acme's total
    assert "Total EUR" in html and "Total USD" in html, "one totals row per currency"
    assert "US$40.00" in html


def test_filter_by_minimum_level_returns_the_fragment_for_htmx(finance_client, ledger):
    response = finance_client.get("/?level=3", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html, "an htmx request gets only the table fragment"
    assert "HX-Request" in response.headers["Vary"]
    assert rows_of(html) == ["C001"]
    assert "1 customer" in html


def test_pushed_filter_url_renders_the_full_page(finance_client, ledger):
    html = finance_client.get("/?level=3").get_data(as_text=True)
    assert "<html" in html and rows_of(html) == ["C001"]
    assert '<option value="3" selected>' in html


def test_boosted_navigation_gets_the_full_page(finance_client, ledger):
    html = finance_client.get("/", headers={"HX-Request": "true", "HX-Boosted": "true"}).get_data(as_text=True)
    assert "<html" in html


@pytest.mark.parametrize("query, expected", [
    ("bucket=90%2B", ["C001"]),
    ("bucket=1-30", ["C002"]),
    ("bucket=not_due", ["C003"]),
    ("q=bistro", ["C002"]),
    ("q=C003", ["C003"]),
    ("sort=customer", ["C001", "C002", "C003"]),
    ("sort=customer&dir=desc", ["C003", "C002", "C001"]),
])
def test_balances_filters_and_sorting(finance_client, ledger, query, expected):
    html = finance_client.get(f"/?{query}", headers={"HX-Request": "true"}).get_data(as_text=True)
    order = sorted(expected, key=lambda account: html.index(f'data-account="{account}"'))
    assert rows_of(html) == sorted(expected) and order == expected


def test_marker_filters(finance_client, ledger, session, users):
    from domain.collection import marks

    acme_old = session.query(Entry).filter_by(number="INV-1001").one()
    marks.mark_in_collection(session, acme_old, users["finance"])
    marks.set_disputed(session, session.query(Entry).filter_by(number="INV-2001").one(), users["finance"], True,
                            "price")
    marks.set_reminders_stopped(session, ledger["castor"], users["finance"], True, "promise to pay")
    session.commit()
    get = lambda q: rows_of(finance_client.get(f"/?{q}").get_data(as_text=True))  # noqa: E731
    assert get("collection=1") == ["C001"]
    assert get("disputed=1") == ["C002"]
    assert get("stopped=1") == ["C003"]


@pytest.mark.parametrize("query", ["level=9", "level=abc", "bucket=old", "sort=password", "page=0", "page=x",
                                   "collection=maybe", "dir=up"])
def test_bad_filter_value_is_a_400_message_not_a_500(finance_client, ledger, query):
    response = finance_client.get(f"/?{query}")
    assert response.status_code == 400
    assert "data-error-message" in response.get_data(as_text=True)


def test_bad_filter_on_htmx_request_answers_the_message_fragment(finance_client, ledger):
    response = finance_client.get("/?level=7", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<html" not in html and "R1 to R5" in html


def test_pagination(finance_client, session, ledger_builder, users):
    for n in range(120):
        ledger_builder.entry(ledger_builder.customer(f"P{n:04d}", f"Customer {n:04d}"), 5, f"{n + 1}.00")
    session.commit()
    page1 = finance_client.get("/?sort=account").get_data(as_text=True)
    page3 = finance_client.get("/?sort=account&page=3").get_data(as_text=True)
    assert 'data-account="P0000"' in page1 and 'data-account="P0050"' not in page1
    assert "1–50 of 120" in page1
    assert 'data-account="P0100"' in page3 and "101–120 of 120" in page3
    assert "Next" not in page3


def test_due_dates_lists_open_entries_overdue_first(finance_client, ledger):
    html = finance_client.get("/due-dates").get_data(as_text=True)
    positions = [html.index(number) for number in ("INV-1001", "INV-1002", "INV-2001", "INV-3001")]
    assert positions == sorted(positions)
    assert "INV-4001" not in html, "settled entries are not listed"


def test_due_dates_date_range_and_filters(finance_client, ledger, pinned_today):
    start = (pinned_today - timedelta(days=50)).isoformat()
    end = (pinned_today - timedelta(days=5)).isoformat()
    html = finance_client.get(f"/due-dates?from={start}&to={end}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "INV-1002" in html and "INV-2001" in html
    assert "INV-1001" not in html and "INV-3001" not in html
    html = finance_client.get("/due-dates?level=2").get_data(as_text=True)
    assert "INV-1001" in html and "INV-1002" in html and "INV-2001" not in html
    assert finance_client.get("/due-dates?from=2026-13-01").status_code == 400
    assert finance_client.get("/due-dates?from=2026-06-10&to=2026-06-01").status_code == 400


def test_search_with_one_match_goes_to_the_account(finance_client, ledger):
    for query in ("INV-2001", "inv-2001", "Bistro", "C002"):
        response = finance_client.get(f"/search?q={query}")
        assert response.status_code == 302, query
        assert response.headers["Location"].endswith("/customers/C002")


def test_search_by_registration_number(finance_client, ledger):
    response = finance_client.get("/search?q=732 829 320")
    assert response.headers["Location"].endswith("/customers/C001")


def test_search_with_several_matches_lists_them(finance_client, ledger):
    html = finance_client.get("/search?q=INV-").get_data(as_text=True)
    assert "Acme Industries" in html and "Bistro du Port" in html
    nothing = finance_client.get("/search?q=zzz-nothing").get_data(as_text=True)
    assert "Nothing matches" in nothing


def test_search_as_you_type_returns_the_popup_fragment(finance_client, ledger):
    response = finance_client.get("/search?q=Bistro", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and "/customers/C002" in html


def test_account_status(finance_client, ledger):
    html = finance_client.get("/customers/C001").get_data(as_text=True)
    assert "Acme Industries" in html and "732829320" in html and "ap@acme.test" in html
    assert "INV-1001" in html and "INV-1002" in html
    assert 'name="entry"' in html, "entries have check boxes"
    assert "€900.00" in html and "R4" in html


def test_unknown_customer_is_a_404_page(finance_client, ledger):
    response = finance_client.get("/customers/NOPE")
    assert response.status_code == 404
    assert "NOPE" in response.get_data(as_text=True)


def test_removing_a_collection_mark_keeps_reminders_stopped_and_is_in_history(support_client, session, ledger, users):
    from domain.collection import marks

    entry = session.query(Entry).filter_by(number="INV-1001").one()
    marks.mark_in_collection(session, entry, users["finance"])
    marks.set_reminders_stopped(session, entry, users["finance"], True, "sent to collection")
    session.commit()

    response = support_client.post(f"/entries/{entry.id}/collection-mark/remove", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "accountChanged"
    assert "Collection mark removed" in html and '#pause"></use></svg> Stopped' in html
    session.expire_all()
    assert entry.in_collection is False
    assert entry.reminders_stopped is True, "removing the mark must not silently restart reminders"
    event = session.query(AuditEvent).filter_by(action="collection.unmarked").one()
    assert event.actor.email == "support@relance.test"
    history = support_client.get("/customers/C001/history").get_data(as_text=True)
    assert "Collection mark removed from entry INV-1001" in history and "Support" in history


def test_support_changes_nothing_else(support_client, session, ledger):
    entry = session.query(Entry).filter_by(number="INV-1001").one()
    for url, data in ((f"/entries/{entry.id}/stop-reminders", {"stopped": "1", "reason": "x"}),
                      ("/customers/C001/stop-reminders", {"stopped": "1", "reason": "x"})):
        response = support_client.post(url, data=data, headers={"HX-Request": "true"})
        assert response.status_code == 403
        assert "does not allow" in response.get_data(as_text=True)
    session.expire_all()
    assert not entry.reminders_stopped


def test_stop_reminders_on_an_entry_needs_a_reason(finance_client, session, ledger):
    entry = session.query(Entry).filter_by(number="INV-2001").one()
    response = finance_client.post(f"/entries/{entry.id}/stop-reminders", data={"stopped": "1", "reason": " "},
                                   headers={"HX-Request": "true"})
    assert response.status_code == 200, "a validation error answers 200 so htmx swaps the row with the message"
    assert "Give a reason" in response.get_data(as_text=True)
    assert "HX-Trigger" not in response.headers

    response = finance_client.post(f"/entries/{entry.id}/stop-reminders",
                                   data={"stopped": "1", "reason": "promise to pay", "until": "2026-07-01"},
                                   headers={"HX-Request": "true"})
    assert '#pause"></use></svg> Stopped until 01/07/2026' in response.get_data(as_text=True)
    session.expire_all()
    assert entry.reminders_stopped and entry.stop_reason == "promise to pay"
    assert str(entry.stop_until) == "2026-07-01"
    assert finance_client.get("/?stopped=1").get_data(as_text=True).count('data-account="C002"') == 1

    finance_client.post(f"/entries/{entry.id}/stop-reminders", data={"stopped": "0"})
    session.expire_all()
    assert not entry.reminders_stopped
    actions = [e.action for e in session.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions == ["reminders.stopped", "reminders.restarted"]


def test_customer_stop_reminders_switch(finance_client, session, ledger):
    response = finance_client.post("/customers/C002/stop-reminders",
                                   data={"stopped": "1", "reason": "dispute on delivery"}, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "Reminders stopped for this customer" in html and "dispute on delivery" in html
    history = finance_client.get("/customers/C002").get_data(as_text=True)
    assert "Reminders stopped for customer" in history and "Finance" in history


def test_stop_until_in_the_past_is_refused(finance_client, session, ledger):
    html = finance_client.post("/customers/C002/stop-reminders",
                               data={"stopped": "1", "reason": "x", "until": "2020-01-01"}).get_data(as_text=True)
    assert "in the past" in html
    bad = finance_client.post("/customers/C002/stop-reminders", data={"stopped": "1", "reason": "x", "until": "soon"})
    assert bad.status_code == 200 and "is not a date" in bad.get_data(as_text=True)


def test_unknown_entry_is_a_404(finance_client, ledger):
    assert finance_client.post("/entries/999999/stop-reminders", data={"stopped": "0"}).status_code == 404


def test_mutations_need_a_csrf_token(app, session, ledger, users):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"email": "finance@relance.test", "password": "correct-horse-battery",
                                       "csrf_token": token}).status_code == 302
    entry = session.query(Entry).filter_by(number="INV-2001").one()
    refused = client.post(f"/entries/{entry.id}/stop-reminders", data={"stopped": "1", "reason": "price"},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 400
    assert "security token" in refused.get_data(as_text=True)
    page = client.get("/customers/C002").get_data(as_text=True)
    header_token = page.split('"X-CSRFToken": "')[1].split('"')[0]
    accepted = client.post(f"/entries/{entry.id}/stop-reminders", data={"stopped": "1", "reason": "price"},
                           headers={"HX-Request": "true", "X-CSRFToken": header_token})
    assert accepted.status_code == 200
    session.expire_all()
    assert entry.reminders_stopped


def test_a_page_seen_before_shows_a_payment_made_since(finance_client, session, ledger, pinned_today):
    """List views are cached until the ledger changes: a payment must show at once."""
    from domain.ledger.payments import record_payment

    assert "€1,000.00" in finance_client.get("/").get_data(as_text=True)
    assert "INV-1001" in finance_client.get("/due-dates").get_data(as_text=True)
    invoice = session.query(Entry).filter_by(number="INV-1001").one()
    record_payment(session, invoice, pinned_today, 90000, "BANK-9")
    session.commit()
    assert "€1,000.00" not in finance_client.get("/").get_data(as_text=True)
    assert "INV-1001" not in finance_client.get("/due-dates").get_data(as_text=True)


def test_tables_show_the_last_follow_up_and_the_automatic_follow_up_marker(finance_client, session, ledger, users):
    from domain.reminders import follow_up

    plan = follow_up.create_plan(session, users["finance"], "Standard")
    follow_up.assign(session, users["finance"], plan, ledger["acme"])
    acme_old = session.query(Entry).filter_by(number="INV-1001").one()
    acme_old.last_reminder_on = acme_old.due_date
    session.commit()
    due = finance_client.get("/due-dates").get_data(as_text=True)
    assert "Last follow-up" in due
    row = due[due.index("INV-1001"):due.index("INV-1002")]
    assert 'role="img" aria-label="Automatic follow-up plan"' in row and "INV-2001" not in row
    balances = finance_client.get("/").get_data(as_text=True)
    acme = balances[balances.index('data-account="C001"'):balances.index('data-account="C002"')]
    assert 'role="img" aria-label="Automatic follow-up plan"' in acme and "Last follow-up" in balances
