"""A worker killed while the mail server holds a bulk reminder, with real processes: the message
stays "sending" (its outcome is unknown: the server may have delivered it), a second bulk run does
not send it again, the outbox never retries it by itself, and Deliveries says so.

`python worker.py` runs the confirmed bulk run as `make run` starts it, against the suite's database
and Redis; the mail server is an in-process aiosmtpd that keeps the message and holds its answer,
so the kill lands after the server has the message and before the worker hears back."""
from __future__ import annotations

import asyncio
import json
import sys
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from tests.smtp import HOST, Inbox, SmtpServer, free_port
from tests.unit.test_worker_killed import START_TIMEOUT, Worker, _wait_until, app_config, instance  # noqa: F401

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses process groups")


class HoldingInbox(Inbox):
    """Keeps each message, then holds its "250" answer until released."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        while not self.release.is_set():
            await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


def test_a_worker_killed_mid_send_leaves_the_outcome_unknown_and_a_second_run_sends_nothing(
        app, session, users, ledger_builder, instance, redis_url, database_url, tmp_path, run_jobs):
    import jobs.base
    import jobs.reminders
    from domain import clock
    from domain.models import CompanySettings, OutboxMessage
    from domain.reminders import bulk, outbox
    from tests.conftest import login

    inbox, port = HoldingInbox(), free_port()
    controller = Controller(inbox, hostname=HOST, port=port)
    controller.start()
    smtp = SmtpServer(port, inbox)
    app.config["SMTP_URL"] = smtp.url
    worker = None
    try:
        session.add(CompanySettings(name="Maison Dupont SAS", sender_email="compta@dupont.test"))
        customer = ledger_builder.customer("K001", "Kaolin Ceramics", emails="ap@kaolin.test")
        ledger_builder.entry(customer, 40, "4200.00", level=4, number="INV-K-001")
        run, _ = bulk.request_run(session, users["finance"], {"customer": ["K001"]})
        run.result = json.dumps(bulk.plan(session, run, users["finance"], today=clock.today(),
                                                mail_server=True))
        run.status = "planned"
        bulk.confirm(session, run, users["finance"])  # the formal notice (R5) is confirmed
        session.commit()
        queue = jobs.base.queue(app)
        queue.empty()
        jobs.reminders.enqueue_run(run.id)

        worker = Worker(instance, database_url, redis_url, tmp_path / "worker.log", RELANCE_SMTP_URL=smtp.url)
        assert _wait_until(lambda: len(smtp.envelopes) == 1, START_TIMEOUT + 20), worker.output()
        worker.kill()  # the server has the message; the worker never hears its answer
        inbox.release.set()

        session.rollback()
        session.expire_all()
        message = session.scalar(select(OutboxMessage))
        assert message.status == "sending" and message.level == 5
        assert message.sent_at is None and message.activity_id is None

        # A second bulk run, as a user would start it: planned, nothing to send, nothing sent.
        client = app.test_client()
        login(client, "finance@relance.test")
        client.post("/reminders/bulk", data={"customer": ["K001"]}, headers={"HX-Request": "true"})
        run_jobs()
        session.expire_all()
        second = session.scalar(select(type(run)).order_by(type(run).id.desc()))
        assert json.loads(second.result)["send"] == 0
        assert "a reminder still on its way" in json.loads(second.result)["summary"]

        # Later: the outbox gives up waiting, never resends, and Deliveries asks a person.
        message.attempted_at = clock.now() - outbox.STALE_SENDING - timedelta(seconds=1)
        session.commit()
        assert jobs.reminders.retry_due_outbox_messages() == 0
        run_jobs()
        session.expire_all()
        assert session.get(OutboxMessage, message.id).status == "unknown"
        page = client.get("/reminders/deliveries").get_data(as_text=True)
        assert "Outcome unknown — check your sent mail before resending" in page
        assert len(smtp.envelopes) == 1
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    finally:
        inbox.release.set()
        if worker is not None:
            worker.stop()
        controller.stop()
