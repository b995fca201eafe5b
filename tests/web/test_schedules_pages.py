"""Payment schedules in the browser's requests: made on ticked invoices (equal or custom
instalments, checked against what the invoices owe), marked with a calendar, on the account status and their own
page, cancelled with a reason, the overview with the cash expected by month, the filter, Excel."""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from domain.models import Customer, Entry, PaymentSchedule

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


def make(client, session, *numbers, **fields):
    data = {"entry": entry_ids(session, *numbers), "frequency": "monthly", "first": "2026-07-01", "count": "3",
            **fields}
    return client.post("/customers/C1/schedules", data=data, headers=HTMX)


def test_a_schedule_made_on_ticked_invoices_holds_them_and_shows(finance_client, session, alpha):
    dialog = finance_client.get("/customers/C1/schedules/new", query_string={"entry": entry_ids(session, "F-1", "F-2")},
                                headers=HTMX).get_data(as_text=True)
    assert "which owe €300.00" in dialog
    made = make(finance_client, session, "F-1", "F-2")
    assert "€300.00 in 3\n      instalments from 01/07/2026 to 01/09/2026." in made.get_data(as_text=True)
    page = finance_client.get("/customers/C1").get_data(as_text=True)
    assert page.count('data-testid="schedule-marker"') == 2
    assert page.count("#calendar\"></use></svg> Reminded by its schedule's instalments") == 2, \
        "not 'Active' in the Reminders column"
    panel = finance_client.get("/customers/C1/schedules").get_data(as_text=True)
    assert "01/07/2026: €100.00" in panel and "Running" in panel
    own = finance_client.get("/schedules/1").get_data(as_text=True)
    assert own.count("<td>Due</td>") == 3
    balances = finance_client.get("/?scheduled=1").get_data(as_text=True)
    assert "Alpha" in balances and 'role="img" aria-label="Under a payment schedule"' in balances, \
        "the calendar on Who owes you what?"
    due = finance_client.get("/due-dates?scheduled=1").get_data(as_text=True)
    assert "F-1" in due and "F-3" not in due


def test_custom_instalments_must_add_up_and_say_why(finance_client, session, alpha):
    refused = make(finance_client, session, "F-1", frequency="custom", lines="2026-07-01 40,00\n2026-08-01 50,00")
    assert "The instalments add up to €90.00; the invoices owe €100.00" in refused.get_data(as_text=True)
    bad = make(finance_client, session, "F-1", frequency="custom", lines="1st of July 100")
    assert "Line 1: &#39;1st&#39; is not a date" in bad.get_data(as_text=True)
    assert session.scalar(select(PaymentSchedule)) is None
    done = make(finance_client, session, "F-1", frequency="custom", lines="2026-07-01 40,00\n2026-08-01 60,00")
    assert "€100.00 in 2" in done.get_data(as_text=True)


def test_cancel_the_overview_and_the_export(finance_client, session, alpha, run_jobs):
    from openpyxl import load_workbook

    make(finance_client, session, "F-1", "F-2")
    overview = finance_client.get("/schedules").get_data(as_text=True)
    assert 'data-schedule="1"' in overview and "07/2026" in overview and "€100.00" in overview
    queued = finance_client.post("/schedules/export", data={}, headers=HTMX).get_data(as_text=True)
    run_jobs()
    export_id = re.search(r"/exports/(\d+)/status", queued)[1]
    workbook = load_workbook(io.BytesIO(finance_client.get(f"/exports/{export_id}/download").data))
    assert [(row[0], row[2], row[3].date(), row[4], row[6]) for row in
            workbook["Instalments"].iter_rows(min_row=2, values_only=True)] == [
        (1, 1, date(2026, 7, 1), 100, "Due"), (1, 2, date(2026, 8, 1), 100, "Due"), (1, 3, date(2026, 9, 1), 100, "Due")]
    refused = finance_client.post("/schedules/1/cancel", data={"reason": ""})
    assert refused.status_code == 400 and "Say why" in refused.get_data(as_text=True)
    finance_client.post("/schedules/1/cancel", data={"reason": "Paid in full"})
    session.expire_all()
    assert session.get(PaymentSchedule, 1).status == "cancelled"
    assert not session.scalar(select(Entry.scheduled).where(Entry.number == "F-1"))


def test_the_schedule_pdf_for_signature_reads_back(finance_client, session, alpha, run_jobs):
    from pypdf import PdfReader

    alpha.language = "fr"
    session.commit()
    make(finance_client, session, "F-1", "F-2", waive_fees="1")
    queued = finance_client.post("/schedules/1/pdf", headers=HTMX).get_data(as_text=True)
    run_jobs()
    export_id = re.search(r"/exports/(\d+)/status", queued)[1]
    download = finance_client.get(f"/exports/{export_id}/download")
    assert download.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(download.data)).pages)
    assert "Échéancier de paiement" in text and "01/08/2026" in text and "300,00" in text
    assert "ni intérêts de retard ni indemnité forfaitaire" in text and "Date et signature" in text
