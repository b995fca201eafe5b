"""The Collection page: entries in collection with who marked them, their case and its file;
filters, sorting, pages, the case status control and the Excel export."""
import io
import re
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook

import jobs
from domain import exports
from domain.collection import files as collection_files
from domain.collection import marks
from domain.ledger.payments import record_payment
from domain.models import AuditEvent, CollectionCase, Entry, Export


@pytest.fixture
def ledger(session, ledger_builder, users):
    """Acme: a case of two invoices (file ready); Bistro: a case of one (legal); Castor: not in collection."""
    b = ledger_builder
    acme = b.customer("C001", "Acme Industries")
    a1 = b.entry(acme, 120, "900.00", number="INV-1001")
    a2 = b.entry(acme, 90, "100.00", number="INV-1002", open_amount="40.00")
    bistro = b.customer("C002", "Bistro du Port")
    b1 = b.entry(bistro, 200, "250.00", number="INV-2001")
    castor = b.customer("C003", "Castor Ltd")
    b.entry(castor, 100, "75.00", number="INV-3001")
    session.commit()
    acme_case = collection_files.start_collection_file(session, users["finance"], acme, [a1.id, a2.id]).case
    bistro_case = collection_files.start_collection_file(session, users["admin"], bistro, [b1.id]).case
    bistro_case.status = "legal"
    exports.mark_ready(acme_case.export, "Acme Industries 2026-06-15.zip")
    a1.collection_marked_at = a2.collection_marked_at = datetime(2026, 6, 1, 10, 0)
    b1.collection_marked_at = datetime(2026, 6, 12, 9, 30)
    session.commit()
    return {"acme_case": acme_case, "bistro_case": bistro_case, "a1": a1, "a2": a2, "b1": b1}


def numbers_in(html: str) -> list[str]:
    return re.findall(r'<tr id="collection-entry-\d+" data-number="([^"]+)"', html)


def test_the_page_lists_the_entries_in_collection(finance_client, ledger):
    response = finance_client.get("/collection/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert 'aria-current="page">Collection cases</a>' in html, "the nav link points here"
    assert '<summary aria-current="page">Collection</summary>' in html, "and its menu says where you are"
    assert numbers_in(html) == ["INV-2001", "INV-1001", "INV-1002"], "latest mark first; Castor is not in collection"
    row = html.split('data-number="INV-1002"')[1].split("</tr>")[0]
    assert "€100.00" in row and "€40.00" in row, "amount and open amount"
    assert "Finance" in row, "who marked it"
    assert "01/06/2026" in row, "when"
    export_id = ledger["acme_case"].export_id
    assert f'href="/exports/{export_id}/download"' in row and "Acme Industries 2026-06-15.zip" in row
    assert '<option value="open" selected>Open</option>' in row
    bistro = html.split('data-number="INV-2001"')[1].split("</tr>")[0]
    assert "Admin" in bistro and '<option value="legal" selected>Legal</option>' in bistro
    assert "Being built" in bistro, "the file is not ready: no link yet"
    assert 'href="/customers/C002#entry-' in bistro


def test_support_sees_the_status_but_no_control(support_client, ledger):
    html = support_client.get("/collection/").get_data(as_text=True)
    assert numbers_in(html) == ["INV-2001", "INV-1001", "INV-1002"]
    assert "<select name=\"status\" aria-label=\"Status" not in html
    assert ">Legal</span>" in html and ">Open</span>" in html


@pytest.mark.parametrize("query, expected", [
    ("status=legal", ["INV-2001"]),
    ("status=open", ["INV-1001", "INV-1002"]),
    ("status=paid", []),
    ("q=acme", ["INV-1001", "INV-1002"]),
    ("q=C002", ["INV-2001"]),
    ("q=INV-1002", ["INV-1002"]),
    ("from=2026-06-05", ["INV-2001"]),
    ("to=2026-06-01", ["INV-1001", "INV-1002"]),
    ("sort=customer", ["INV-1001", "INV-1002", "INV-2001"]),
    ("sort=open&dir=desc", ["INV-1001", "INV-2001", "INV-1002"]),
    ("sort=number&dir=desc", ["INV-2001", "INV-1002", "INV-1001"]),
    ("sort=status", ["INV-1001", "INV-1002", "INV-2001"]),
])
def test_filters_and_sorting_answer_the_table_fragment(finance_client, ledger, query, expected):
    response = finance_client.get(f"/collection/?{query}", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and "HX-Request" in response.headers["Vary"]
    assert numbers_in(html) == expected


def test_a_pushed_filter_url_renders_the_full_page_with_the_filters_set(finance_client, ledger):
    html = finance_client.get("/collection/?status=legal&sort=customer").get_data(as_text=True)
    assert "<html" in html and numbers_in(html) == ["INV-2001"]
    assert '<option value="legal" selected>Legal</option>' in html
    assert '<input type="hidden" name="sort" value="customer" form="collection-filters">' in html
    assert 'hx-push-url="true"' in html


def test_sort_links_flip_the_direction(finance_client, ledger):
    html = finance_client.get("/collection/?sort=customer").get_data(as_text=True)
    assert 'href="/collection/?sort=customer&amp;dir=desc"' in html
    assert 'aria-sort="ascending"' in html


@pytest.mark.parametrize("query", ["status=lost", "sort=bogus", "from=yesterday", "page=0"])
def test_a_bad_filter_is_a_400_message(finance_client, ledger, query):
    response = finance_client.get(f"/collection/?{query}")
    assert response.status_code == 400
    assert "data-error-message" in response.get_data(as_text=True)


def test_pagination_50_per_page(finance_client, session, ledger_builder, users):
    many = ledger_builder.customer("C100", "Many Invoices")
    for n in range(55):
        entry = ledger_builder.entry(many, 100, "10.00", number=f"INV-9{n:03d}")
        marks.mark_in_collection(session, entry, users["finance"])
    session.commit()
    first = finance_client.get("/collection/?sort=number").get_data(as_text=True)
    assert len(numbers_in(first)) == 50 and "1–50 of 55" in first
    assert 'href="/collection/?sort=number&amp;page=2"' in first
    second = finance_client.get("/collection/?sort=number&page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert numbers_in(second) == [f"INV-9{n:03d}" for n in range(50, 55)]
    assert "No case" in second, "marked without a case: listed all the same"


def test_changing_the_status_answers_the_rows_and_is_in_history(finance_client, session, ledger, users):
    case, a1, a2 = ledger["acme_case"], ledger["a1"], ledger["a2"]
    response = finance_client.post(f"/collection/cases/{case.id}/status", data={"status": "amicable", "entry": a1.id},
                                   headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="collection-entry-{a1.id}"'), "the row that asked comes first"
    assert f'<template><tr id="collection-entry-{a2.id}" data-number="INV-1002" hx-swap-oob="true">' in html, \
        "the case's other row follows out of band"
    assert html.count('<option value="amicable" selected>Amicable</option>') == 2
    session.expire_all()
    assert session.get(CollectionCase, case.id).status == "amicable"
    event = session.query(AuditEvent).filter_by(action="collection_case.status").one()
    assert event.actor_id == users["finance"].id and "Open → Amicable" in event.detail
    history = finance_client.get("/customers/C001/history").get_data(as_text=True)
    assert "Open → Amicable" in history


def test_a_refused_status_change_says_why_in_the_row(finance_client, session, ledger):
    case, a1 = ledger["acme_case"], ledger["a1"]
    response = finance_client.post(f"/collection/cases/{case.id}/status", data={"status": "paid", "entry": a1.id},
                                   headers={"HX-Request": "true"})
    assert response.status_code == 200, "htmx swaps only 2xx: the row carries the message"
    assert "role=\"alert\"" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(CollectionCase, case.id).status == "open"


def test_status_change_without_htmx_goes_back_to_the_page(finance_client, session, ledger):
    case, b1 = ledger["bistro_case"], ledger["b1"]
    response = finance_client.post(f"/collection/cases/{case.id}/status", data={"status": "closed", "entry": b1.id})
    assert response.status_code == 302 and response.headers["Location"].endswith("/collection/")
    session.expire_all()
    assert session.get(CollectionCase, case.id).status == "closed"


def test_an_entry_of_another_case_is_a_404(finance_client, ledger):
    response = finance_client.post(f"/collection/cases/{ledger['acme_case'].id}/status",
                                   data={"status": "legal", "entry": ledger["b1"].id})
    assert response.status_code == 404


def test_support_cannot_change_a_case_status(support_client, session, ledger):
    case, a1 = ledger["acme_case"], ledger["a1"]
    response = support_client.post(f"/collection/cases/{case.id}/status", data={"status": "legal", "entry": a1.id},
                                   headers={"HX-Request": "true"})
    assert response.status_code == 403
    session.expire_all()
    assert session.get(CollectionCase, case.id).status == "open"


def test_the_status_change_needs_a_csrf_token(app, session, ledger, users):
    from tests.conftest import PASSWORD

    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    token = client.get("/login").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"email": "finance@relance.test", "password": PASSWORD, "csrf_token": token})
    case, a1 = ledger["acme_case"], ledger["a1"]
    url = f"/collection/cases/{case.id}/status"
    assert client.post(url, data={"status": "legal", "entry": a1.id}, headers={"HX-Request": "true"}).status_code == 400
    page = client.get("/collection/").get_data(as_text=True)
    header_token = page.split('"X-CSRFToken": "')[1].split('"')[0]
    accepted = client.post(url, data={"status": "legal", "entry": a1.id},
                           headers={"HX-Request": "true", "X-CSRFToken": header_token})
    assert accepted.status_code == 200


def test_a_case_shows_paid_once_its_entries_are_paid(finance_client, session, ledger):
    a1, a2 = session.get(Entry, ledger["a1"].id), session.get(Entry, ledger["a2"].id)
    record_payment(session, a1, date(2026, 6, 14), a1.open_cents, "VIR-1")
    record_payment(session, a2, date(2026, 6, 14), a2.open_cents, "VIR-2")
    session.commit()
    html = finance_client.get("/collection/?status=paid").get_data(as_text=True)
    assert numbers_in(html) == ["INV-1001", "INV-1002"], "paid entries stay on the page with their case"
    assert '<option value="paid" selected>Paid</option>' in html
    history = finance_client.get("/customers/C001/history").get_data(as_text=True)
    assert "Relance" in history and "Case paid" in history


# --- Excel export -------------------------------------------------------------------------

def test_the_excel_export_of_the_filtered_view_is_built_in_the_worker(finance_client, session, ledger, run_jobs):
    response = finance_client.post("/collection/export", data={"status": "open", "sort": "number", "dir": "desc"},
                                   headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Export queued" in html
    export_id = int(re.search(r'id="export-(\d+)"', html).group(1))
    assert session.get(Export, export_id).kind == "collection_xlsx"

    run_jobs()

    status = finance_client.get(f"/exports/{export_id}/status").get_data(as_text=True)
    assert "Ready" in status and "hx-get" not in status
    download = finance_client.get(f"/exports/{export_id}/download")
    assert download.status_code == 200
    rows = list(load_workbook(io.BytesIO(download.data)).active.iter_rows(values_only=True))
    assert rows[1][:3] == ("Account", "Customer", "Entry")
    body = rows[2:]
    assert [row[2] for row in body] == ["INV-1002", "INV-1001"], "only the open case, in the view's order"
    first = dict(zip(rows[1], body[0]))
    assert first["Account"] == "C001" and float(first["Amount"]) == pytest.approx(100.0)
    assert float(first["Open amount"]) == pytest.approx(40.0)
    assert first["Marked by"] == "Finance" and first["Case status"] == "Open"
    assert first["Collection file"] == "Acme Industries 2026-06-15.zip"
    assert "Collection (Excel)" in finance_client.get("/exports/").get_data(as_text=True)


def test_the_export_with_a_bad_filter_is_refused(finance_client, session, ledger):
    before = session.query(Export).count()
    assert finance_client.post("/collection/export", data={"status": "lost"}).status_code == 400
    assert session.query(Export).count() == before


def test_what_customers_said_filters_the_collection_and_shows_on_its_rows(finance_client, session, users, ledger):
    from domain.ledger import disputes, promises

    disputes.open_dispute(session, users["finance"], ledger["a1"].customer, [ledger["a1"].id], "not_received")
    promises.record_promise(session, users["finance"], ledger["b1"].customer, [ledger["b1"].id],
                            promised_on=date(2026, 6, 30), channel="phone")
    session.commit()
    disputed = finance_client.get("/collection/?disputed=1").get_data(as_text=True)
    assert numbers_in(disputed) == ["INV-1001"]
    assert 'aria-label="Disputed"' in disputed.split('data-number="INV-1001"')[1].split("</tr>")[0]
    promised = finance_client.get("/collection/?promise=open").get_data(as_text=True)
    assert numbers_in(promised) == ["INV-2001"] and 'aria-label="Promise to pay"' in promised
    assert numbers_in(finance_client.get("/collection/?scheduled=1").get_data(as_text=True)) == []
    assert finance_client.get("/collection/?promise=someday").status_code == 400
