"""Fixtures for the web tests beyond the shared chain in tests/conftest.py: a real SMTP server,
the worker run in-process, and a ready collection file with its case."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest

import jobs.base
from domain import clock
from domain.models import CollectionAgency, CollectionCase, CompanySettings, Export
from tests.smtp import closed_smtp_url, smtp_server  # noqa: F401  (pytest fixtures)

BASE_URL = "https://relance.example"


@pytest.fixture
def mail(app, smtp_server):
    """The app sends its mail to the in-process SMTP server; links point at BASE_URL."""
    app.config.update(SMTP_URL=smtp_server.url, BASE_URL=BASE_URL)
    return smtp_server


@pytest.fixture
def company(session):
    settings = CompanySettings(name="Acme SARL", registration_number="732829320",
                               sender_email="billing@acme-sarl.test", address="1 rue de la Paix\n75002 Paris")
    session.add(settings)
    session.commit()
    return settings


@pytest.fixture
def agency(session):
    agency = CollectionAgency(name="Gcollect", email="recouvrement@gcollect.test", active=True)
    session.add(agency)
    session.commit()
    return agency


@pytest.fixture
def collection_file(session, ledger_builder, users):
    """make(owner=..., expires_in=...) → (export, case, zip bytes): a ready collection file on
    disk, as the worker would leave it, with the case its entries were handed over in."""
    customer = ledger_builder.customer("C001", "Bistro du Port", address="3 quai des Brumes\n13002 Marseille")
    entries = [ledger_builder.entry(customer, 120, "900.10", level=5, number="INV-1001"),
               ledger_builder.entry(customer, 60, "99.90", level=3, number="INV-1002")]
    session.commit()

    def make(owner: str = "finance", expires_in: timedelta = timedelta(days=7), with_case: bool = True):
        export = Export(user_id=users[owner].id, kind="collection_file", status="ready", progress=100,
                        params=json.dumps({"entry_ids": [e.id for e in entries]}), customer_id=customer.id,
                        filename="Bistro du Port 2026-06-15.zip", finished_at=clock.now(),
                        expires_at=clock.now() + expires_in)
        session.add(export)
        session.flush()
        case = None
        if with_case:
            case = CollectionCase(customer_id=customer.id, status="open", opened_by_id=users[owner].id,
                                  export_id=export.id, status_changed_at=clock.now())
            session.add(case)
            session.flush()
            for entry in entries:
                entry.in_collection, entry.collection_case_id = True, case.id
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("Bistro du Port 2026-06-15.xlsx", b"summary")
            archive.writestr("INV-1001.pdf", b"%PDF-1.7 invoice")
        folder = jobs.base.export_path(export)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / export.filename).write_bytes(buffer.getvalue())
        session.commit()
        return export, case, buffer.getvalue()

    return make


def plan_and_confirm(client, session, run_jobs):
    """Bulk reminders: the worker makes the plan, the user confirms it (the next run_jobs sends)."""
    from sqlalchemy import select

    from domain.models import BulkRun

    run_jobs()
    session.expire_all()
    run = session.scalar(select(BulkRun).order_by(BulkRun.id.desc()))
    assert run.status == "planned", run.message
    response = client.post(f"/reminders/bulk/{run.id}/confirm", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Reminders queued" in response.get_data(as_text=True), \
        response.get_data(as_text=True)
    return run
