"""The worker's daily run and its recovery of interrupted exports, against real Redis."""
from datetime import timedelta

from rq import SimpleWorker

import jobs
import worker
from domain import clock
from domain.models import CustomerSummary, Export


def test_daily_rebucketing_is_queued_once_per_day_and_moves_amounts(app, session, ledger_builder, pinned_today):
    connection = jobs.redis_connection(app)
    for key in connection.scan_iter("relance:daily:*"):
        connection.delete(key)
    queue = jobs.queue(app)
    queue.empty()
    jobs.use_app(app)
    acme = ledger_builder.customer("C1", "Acme")
    ledger_builder.entry(acme, 30, "100.00")
    session.commit()

    clock.pin(pinned_today + timedelta(days=1))
    assert worker.enqueue_daily_jobs(app) is True
    assert worker.enqueue_daily_jobs(app) is False, "a restart the same day does not queue it again"
    assert queue.count == 1
    SimpleWorker([queue], connection=connection).work(burst=True)

    session.expire_all()
    row = session.get(CustomerSummary, (acme.id, "EUR"))
    assert (row.days_1_30_cents, row.days_31_60_cents) == (0, 10000)
    jobs.use_app(None)


def test_exports_left_running_by_a_dead_worker_become_failed(app, session, users):
    export = Export(user_id=users["finance"].id, kind="balances_xlsx", status="running", progress=40)
    session.add(export)
    session.commit()
    worker.fail_interrupted_exports(app)
    session.expire_all()
    assert export.status == "failed"
    assert "Retry" in export.message


def test_outbox_retries_are_queued_once_a_minute(app):
    connection = jobs.redis_connection(app)
    for key in connection.scan_iter("relance:outbox-retry:*"):
        connection.delete(key)
    queue = jobs.queue(app)
    queue.empty()
    assert worker.enqueue_outbox_retries(app) is True
    assert worker.enqueue_outbox_retries(app) is False, "the same minute queues it once"
    assert queue.count == 1
    queue.empty()
