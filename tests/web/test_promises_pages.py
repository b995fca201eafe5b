"""Promises in the browser's requests: recorded from ticked invoices of the account status, shown on
the entries (handshake icon) and in the account's Promises panel with the customer's reliability, cancelled with
a reason, listed on /promises by view and exported to Excel; a broken one on the bell opens the account."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from domain import clock
from domain.ledger import promises
from domain.models import Customer, Entry, Notification, Promise
from tests.conftest import TODAY

HTMX = {"HX-Request": "true"}


@pytest.fixture
def alpha(session):
    customer = Customer(account="C1", name="Alpha", entries=[
        Entry(number=f"F-{n}", kind="invoice", issue_date=date(2026, 3, n), due_date=date(2026, 4, n),
              amount_cents=10000 * n, open_cents=10000 * n) for n in (1, 2, 3)])
    session.add(customer)
    session.commit()
    return customer


def entry_ids(session, *numbers):
    return [session.scalar(select(Entry.id).where(Entry.number == number)) for number in numbers]


def record(client, session, *numbers, **fields):
    data = {"entry": entry_ids(session, *numbers), "promised_on": (TODAY + timedelta(days=10)).isoformat(),
            "channel": "phone", **fields}
    return client.post("/customers/C1/promises", data=data, headers=HTMX)


def test_a_promise_recorded_on_ticked_invoices_pauses_them_and_shows(finance_client, session, alpha):
    dialog = finance_client.get("/customers/C1/promises/new", query_string={"entry": entry_ids(session, "F-1", "F-2")},
                                headers=HTMX).get_data(as_text=True)
    assert 'value="300.00"' in dialog and f'value="{(TODAY + timedelta(days=7)).isoformat()}"' in dialog
    recorded = record(finance_client, session, "F-1", "F-2", amount="250")
    assert recorded.status_code == 200 and "€250.00 by 25/06/2026" in recorded.get_data(as_text=True)
    assert recorded.headers["HX-Trigger"] == "accountChanged, entriesChanged"
    page = finance_client.get("/customers/C1").get_data(as_text=True)
    assert page.count('data-testid="promise-marker"') == 2
    assert 'aria-label="Promised" focusable="false"><use href="/static/vendor/icons.svg#handshake"></use></svg> 28/06/2026' \
        in page
    panel = finance_client.get("/customers/C1/promises").get_data(as_text=True)
    assert "no promise kept or broken in the last 12 months yet." in panel and "reminders wait until 28/06/2026" in panel
    assert 'aria-label="Promised: reminders wait until 28/06/2026"' in finance_client.get("/due-dates").get_data(as_text=True)


def test_a_bad_promise_says_why_and_records_nothing(finance_client, session, alpha):
    refused = finance_client.post("/customers/C1/promises", data={"entry": entry_ids(session, "F-1"),
                                                                   "promised_on": "2026-01-01", "channel": "phone"})
    assert refused.status_code == 400 and "The promised date has passed" in refused.get_data(as_text=True)
    assert "at most what these invoices owe" in record(finance_client, session, "F-1", amount="1000").get_data(
        as_text=True)
    assert session.scalar(select(Promise)) is None


def test_a_promise_is_cancelled_with_a_reason(finance_client, session, alpha):
    record(finance_client, session, "F-1")
    refused = finance_client.post("/promises/1/cancel", data={"reason": ""}, headers=HTMX).get_data(as_text=True)
    assert "Say why the promise is cancelled." in refused
    done = finance_client.post("/promises/1/cancel", data={"reason": "Wrong customer"}, headers=HTMX)
    assert "Cancelled: Wrong customer" in done.get_data(as_text=True)
    assert session.scalar(select(Entry.promised_until).where(Entry.number == "F-1")) is None


def test_the_promises_page_views_and_export(finance_client, session, alpha, users, run_jobs):
    from openpyxl import load_workbook

    record(finance_client, session, "F-1", promised_on=(TODAY + timedelta(days=3)).isoformat())
    record(finance_client, session, "F-2", promised_on=(TODAY + timedelta(days=30)).isoformat())
    week = finance_client.get("/promises?view=week").get_data(as_text=True)
    assert 'data-promise="1"' in week and 'data-promise="2"' not in week
    clock.pin(TODAY + timedelta(days=7))  # the daily run, the day after the grace
    assert [p.status for p in promises.evaluate(session)] == ["broken"]
    session.commit()
    broken = finance_client.get("/promises?view=broken").get_data(as_text=True)
    assert 'data-promise="1"' in broken and "Broken" in broken

    queued = finance_client.post("/promises/export", data={"view": "all"}, headers=HTMX).get_data(as_text=True)
    export_id = re.search(r"/exports/(\d+)/status", queued)[1]
    run_jobs()
    rows = list(load_workbook(io.BytesIO(finance_client.get(f"/exports/{export_id}/download").data))
                .active.iter_rows(values_only=True))
    assert [(row[0], row[3], row[11]) for row in rows[2:]] == [(1, "F-1", "Broken"), (2, "F-2", "Open")]

    note = session.scalar(select(Notification))
    opened = finance_client.get(f"/notifications/{note.id}/open")
    assert opened.headers["Location"].endswith("/customers/C1#promises")


def test_who_owes_and_due_dates_filter_by_open_and_broken_promises(finance_client, session, alpha, users):
    beta = Customer(account="C2", name="Beta", entries=[
        Entry(number="G-1", kind="invoice", issue_date=date(2026, 3, 1), due_date=date(2026, 4, 1),
              amount_cents=5000, open_cents=5000)])
    session.add(beta)
    session.commit()
    record(finance_client, session, "F-1", promised_on=(TODAY + timedelta(days=1)).isoformat())
    balances = finance_client.get("/?promise=open").get_data(as_text=True)
    assert "Alpha" in balances and "Beta" not in balances
    alpha_row = finance_client.get("/").get_data(as_text=True).split('href="/customers/C1">')[1].split("</tr>")[0]
    assert 'role="img" aria-label="Promise to pay open"' in alpha_row, "the handshake on Who owes you what?"
    due = finance_client.get("/due-dates?promise=open").get_data(as_text=True)
    assert "F-1" in due and "F-2" not in due and "G-1" not in due
    clock.pin(TODAY + timedelta(days=5))
    promises.evaluate(session)
    session.commit()
    assert "Alpha" in finance_client.get("/?promise=broken").get_data(as_text=True)
    assert "F-1" in finance_client.get("/due-dates?promise=broken").get_data(as_text=True)
    assert "Alpha" not in finance_client.get("/?promise=open").get_data(as_text=True)
    assert finance_client.get("/?promise=maybe").status_code == 400
