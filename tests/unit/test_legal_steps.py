"""A collection case's legal steps: dated, with a document and costs; an injunction order starts the
6-month service deadline, its service the 1-month opposition period; the court pack gathers the claim
broken down and the documents, in the worker."""
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from domain import clock, debt_collection
from domain.collection import legal
from domain.models import CaseTask, CollectionCase, Export, LegalStep
from domain.reminders import notices

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def case(session, users, ledger_builder, company, pinned_today):
    """Bistro's F-1 (1,000.00, due 03/04/2026): a formal notice of 04/05 claimed €10.32 interest and the
    €40.00 indemnity, expired unpaid, approved for debt collection: case #1."""
    company.iban = "FR7630006000011234567890189"
    customer = ledger_builder.customer("C1", "Bistro SARL", language="fr", registration_number="552100554")
    entry = ledger_builder.entry(customer, 73, "1000.00", number="F-1")
    session.commit()
    clock.pin(date(2026, 5, 4))
    notice, _ = notices.issue(session, users["finance"], customer, [entry.id], channel="letter", claim=True,
                              token="n", deadline=date(2026, 5, 12))
    notices.record_registered(session, users["finance"], notice, "1A 234 567 8901 2", date(2026, 5, 4))
    session.commit()
    clock.pin(date(2026, 5, 13))
    debt_collection.run(session)
    claim = debt_collection.claims_by_ids(session, [1])
    debt_collection.approve(session, users["finance"], claim)
    session.commit()
    clock.pin(date(2026, 6, 15))
    return session.scalars(select(CollectionCase)).one()


def test_the_steps_move_the_case_to_legal_and_start_the_deadlines(finance_client, session, case):
    page = finance_client.get(f"/collection/cases/{case.id}").get_data(as_text=True)
    assert "€1,050.32" in page and "Formal notice #1" in page
    answer = finance_client.post(f"/collection/cases/{case.id}/steps", data={
        "kind": "injunction_order", "on": "2026-06-10", "note": "Tribunal de commerce de Paris", "costs": "33,47",
        "document": (io.BytesIO(PDF), "ordonnance.pdf")}, content_type="multipart/form-data")
    assert answer.status_code == 303
    session.expire_all()
    assert session.get(CollectionCase, case.id).status == "legal"
    [task] = session.scalars(select(CaseTask)).all()
    assert task.due_on == date(2026, 12, 10) and "6 months" in task.text
    finance_client.post(f"/collection/cases/{case.id}/steps", data={"kind": "service", "on": "2026-06-12", "note": ""})
    tasks = session.scalars(select(CaseTask).order_by(CaseTask.due_on)).all()
    assert [t.due_on for t in tasks] == [date(2026, 7, 12), date(2026, 12, 10)]
    page = finance_client.get(f"/collection/cases/{case.id}").get_data(as_text=True)
    assert "Legal" in page and "€1,083.79" in page, "the costs are claimed with the rest"
    step = session.scalars(select(LegalStep).where(LegalStep.kind == "injunction_order")).one()
    document = finance_client.get(f"/collection/cases/{case.id}/steps/{step.id}/document")
    assert document.status_code == 200 and document.data == PDF


def test_a_wrong_step_is_refused_and_nothing_is_kept(finance_client, session, case, app):
    answer = finance_client.post(f"/collection/cases/{case.id}/steps", data={
        "kind": "summons", "on": "2026-06-10", "document": (io.BytesIO(b"not a pdf"), "x.pdf")},
        content_type="multipart/form-data")
    assert answer.status_code == 400 and "is not a PDF" in answer.get_data(as_text=True)
    future = finance_client.post(f"/collection/cases/{case.id}/steps", data={"kind": "summons", "on": "2026-07-01"})
    assert future.status_code == 400 and "today or before" in future.get_data(as_text=True)
    assert session.query(LegalStep).count() == 0
    assert not any(Path(app.config["ATTACHMENT_DIR"]).glob("*.pdf"))


def test_the_court_pack_breaks_the_claim_down_and_gathers_the_documents(finance_client, session, case, run_jobs,
                                                                        users):
    legal.record_step(session, users["finance"], case, "injunction_request", on=date(2026, 6, 1), note="Requête",
                      costs_cents=3347)
    session.commit()
    answer = finance_client.post(f"/collection/cases/{case.id}/court-pack", headers=HTMX)
    assert answer.status_code == 200
    run_jobs()
    session.expire_all()
    export = session.scalars(select(Export).where(Export.kind == "court_pack")).one()
    assert export.status == "ready", export.message
    download = finance_client.get(f"/exports/{export.id}/download")
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        names = archive.namelist()
        summary = archive.read("00 Récapitulatif.pdf")
    assert any(n.startswith("notices/") for n in names)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(summary)).pages).replace("\u202f", " ") \
        .replace("\xa0", " ")
    for expected in ("Bistro SARL", "552100554", "F-1", "1 000,00", "10,32", "40,00", "33,47", "1 083,79",
                     "Mise en demeure n° 1", "Injunction to pay requested"):
        assert expected in text, expected


def test_support_reads_the_case_but_cannot_add_a_step(client, users, session, case):
    from tests.conftest import login

    login(client, "support@relance.test")
    assert client.get(f"/collection/cases/{case.id}").status_code == 200
    assert client.post(f"/collection/cases/{case.id}/steps", data={"kind": "summons", "on": "2026-06-10"}) \
        .status_code == 403


def test_the_morning_digest_names_the_legal_deadlines(session, case, users):
    from domain import digest

    legal.record_step(session, users["finance"], case, "service", on=date(2026, 5, 25), note="")
    session.commit()
    found = digest.digest_of(session, date(2026, 6, 15))
    assert [t.due_on for t in found.deadlines] == [date(2026, 6, 25)]
    assert "legal deadline" in str(found.headline())
    assert any("case #1 Bistro SARL: Opposition period ends" in str(line) for line in found.lines())


def test_the_collection_export_carries_the_claimed_charges(finance_client, session, case, run_jobs):
    import re

    from openpyxl import load_workbook

    answer = finance_client.post("/collection/export", data={}, headers=HTMX).get_data(as_text=True)
    export_id = re.search(r"/exports/(\d+)", answer).group(1)
    run_jobs()
    sheet = load_workbook(io.BytesIO(finance_client.get(f"/exports/{export_id}/download").data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    figures = dict(zip(rows[1], next(r for r in rows if "F-1" in r)))
    # claimed by the notice of 04/05: €10.32 interest + €40.00 indemnity
    assert str(figures["Interest and fees claimed (unpaid)"]) == "50.32"
    page = finance_client.get(f"/collection/cases/{case.id}").get_data(as_text=True)
    assert "Formal notice" in page[page.index('data-testid="case-stage"'):][:80]
