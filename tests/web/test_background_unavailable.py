"""Redis frozen (SIGSTOP) or gone: pages keep answering, and every action that needs the worker
answers at once (well within 3 s, never a 500) with "Background work is unavailable right now;
nothing was started — try again in a minute", changes nothing, or leaves a failed export whose
Retry works once Redis is back.

Each test gets a real redis-server of its own (the bundled one), frozen with SIGSTOP as a hung
Redis would be, or stopped for good; the suite's Redis is left alone.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

import jobs.base
from domain.models import BulkRun, CollectionCase, Customer, Entry, Export, OutboxMessage
from domain.reminders import outbox

HTMX = {"HX-Request": "true"}
MESSAGE = "Background work is unavailable right now; nothing was started — try again in a minute"
ANSWER_WITHIN = 3.0


class PrivateRedis:
    """A redis-server of the test's own, on a short unix socket path, that it can freeze, thaw and stop."""

    def __init__(self):
        from runtime.redis_server import BundledRedis

        self.folder = Path(tempfile.mkdtemp(prefix="rr-"))  # unix socket paths are short
        self.server = BundledRedis(self.folder).start()
        self.url, self.pid = self.server.url, self.server.process.pid

    def freeze(self):
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.pid, signal.SIGCONT)

    def close(self):
        try:
            self.thaw()
        except ProcessLookupError:
            pass
        self.server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def redis_server(app):
    """The app's Redis for this test: a private redis-server, running until the test freezes it."""
    server = PrivateRedis()
    app.config["REDIS_URL"] = server.url
    yield server
    jobs.base.use_app(None)
    server.close()


@pytest.fixture
def frozen(redis_server):
    redis_server.freeze()
    return redis_server


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_refused_at_once(response, elapsed):
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html[:500]
    assert MESSAGE in html and "data-error-message" in html, html[:500]
    assert elapsed < ANSWER_WITHIN, f"answered after {elapsed:.1f} s"


def run_worker(app):
    jobs.base.use_app(app)
    queue = jobs.base.queue(app)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


@pytest.fixture
def ledger(session, ledger_builder, users, company):
    acme = ledger_builder.customer("C001", "Acme Industries", emails="ap@acme.test")
    ledger_builder.entry(acme, 120, "900.10", level=1, number="INV-1001")
    ledger_builder.entry(acme, 40, "100.00", level=1, number="INV-1002")
    session.commit()
    return acme


def test_pages_and_the_bell_answer_while_redis_is_frozen(finance_client, ledger, frozen):
    for path in ("/", "/due-dates", "/collection/", "/customers/C001", "/exports/", "/reminders/deliveries",
                 "/notifications/bell", "/notifications/"):
        response, elapsed = timed(lambda: finance_client.get(path, headers=HTMX if "notifications" in path else {}))
        assert response.status_code == 200, (path, response.status_code)
        assert elapsed < 1.0, f"{path} took {elapsed:.1f} s with Redis frozen"


@pytest.mark.parametrize("fault", ["frozen", "stopped"])
def test_an_excel_export_is_refused_at_once_and_its_retry_works_once_redis_is_back(
        finance_client, ledger, session, app, redis_server, fault):
    if fault == "frozen":
        redis_server.freeze()
    else:
        redis_server.server.stop()  # nothing listens on the socket any more

    response, elapsed = timed(lambda: finance_client.post("/exports/balances", data={}, headers=HTMX))
    assert_refused_at_once(response, elapsed)
    assert response.headers["Retry-After"] == "60"
    [export] = session.scalars(select(Export)).all()
    assert export.status == "failed" and MESSAGE in export.message, "never left queued with no job"
    page = finance_client.get("/exports/").get_data(as_text=True)
    assert MESSAGE in page and "Retry" in page

    # Retry while Redis is still away: the same answer, still failed (not stuck "queued").
    response, elapsed = timed(lambda: finance_client.post(f"/exports/{export.id}/retry", headers=HTMX))
    assert_refused_at_once(response, elapsed)
    session.expire_all()
    assert session.get(Export, export.id).status == "failed"

    if fault == "frozen":
        redis_server.thaw()
    else:
        redis_server.server.start()  # back on the same socket
    retried = finance_client.post(f"/exports/{export.id}/retry", headers=HTMX)
    assert retried.status_code == 200 and "Export queued" in retried.get_data(as_text=True)
    run_worker(app)
    session.expire_all()
    export = session.get(Export, export.id)
    assert export.status == "ready", export.message
    assert finance_client.get(f"/exports/{export.id}/download").status_code == 200


def test_the_collection_export_is_refused_at_once(finance_client, ledger, session, frozen):
    response, elapsed = timed(lambda: finance_client.post("/collection/export", data={}, headers=HTMX))
    assert_refused_at_once(response, elapsed)
    assert [e.status for e in session.scalars(select(Export))] == ["failed"]


def test_a_collection_file_is_refused_before_anything_changes(finance_client, ledger, session, frozen):
    entries = session.scalars(select(Entry).order_by(Entry.id)).all()
    data = {"entry": [e.id for e in entries], "stop_reminders": "1", "mark_in_collection": "1"}
    response, elapsed = timed(lambda: finance_client.post("/customers/C001/collection-file", data=data,
                                                          headers=HTMX))
    assert_refused_at_once(response, elapsed)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Export)) == 0
    assert session.scalar(select(func.count()).select_from(CollectionCase)) == 0
    assert not any(e.in_collection for e in session.scalars(select(Entry)))
    assert not session.scalar(select(Customer)).reminders_stopped


def test_bulk_reminders_are_refused_at_once_and_send_nothing(finance_client, ledger, session, frozen):
    response, elapsed = timed(lambda: finance_client.post("/reminders/bulk", data={"customer": ["C001"]},
                                                          headers=HTMX))
    assert_refused_at_once(response, elapsed)
    assert [run.status for run in session.scalars(select(BulkRun))] == ["failed"]
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_manual_email_is_refused_at_once_and_nothing_is_queued(finance_client, ledger, session, frozen):
    entries = session.scalars(select(Entry).order_by(Entry.id)).all()
    data = {"to": "ap@acme.test", "cc": "", "subject": "Relance", "body": "Merci de régler.", "level": "R2",
            "dedupe_key": "k1", "entry": [e.id for e in entries]}
    response, elapsed = timed(lambda: finance_client.post("/customers/C001/reminders/email", data=data,
                                                          headers=HTMX))
    assert_refused_at_once(response, elapsed)
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_retrying_a_delivery_is_refused_at_once_and_the_message_stays_failed(
        finance_client, ledger, session, users, frozen):
    entries = session.scalars(select(Entry).order_by(Entry.id)).all()
    message, _ = outbox.queue_message(session, customer=ledger, entries=entries, level=2, to="ap@acme.test",
                                      subject="Relance", body="Merci.", sent_by=users["finance"], dedupe_key="d1")
    outbox.mark_failed(session, message, "Cannot reach the mail server")
    session.commit()
    response, elapsed = timed(lambda: finance_client.post(f"/reminders/messages/{message.id}/retry", headers=HTMX))
    assert_refused_at_once(response, elapsed)
    session.expire_all()
    assert session.get(OutboxMessage, message.id).status == "failed"
    assert "Retry" in finance_client.get("/reminders/deliveries").get_data(as_text=True)


def test_send_to_agency_is_refused_at_once_and_its_status_answers(
        finance_client, session, collection_file, company, agency, frozen):
    export, case, _ = collection_file()
    response, elapsed = timed(lambda: finance_client.post(f"/exports/{export.id}/agency",
                                                          data={"agency_id": agency.id}, headers=HTMX))
    assert_refused_at_once(response, elapsed)
    session.expire_all()
    assert session.get(CollectionCase, case.id).status == "open", "nothing was sent"

    status, elapsed = timed(lambda: finance_client.get(f"/exports/{export.id}/agency/status", headers=HTMX))
    html = status.get_data(as_text=True)
    assert status.status_code == 200 and elapsed < ANSWER_WITHIN
    assert "Background work is unavailable right now" in html and "Send to agency" in html
