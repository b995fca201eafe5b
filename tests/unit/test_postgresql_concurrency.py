"""What two people (or two workers) do at the same moment on PostgreSQL, where it really happens at once:
one wins, nothing doubles, the other is told in words. Each side runs on its own connection and transaction,
as two web requests or two worker processes would.

PostgreSQL only: SQLite serialises writers (a second writer waits for the first to commit), so it proves
nothing here.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.imports.receivables import import_file
from domain.models import AuditEvent, Customer, Entry, OutboxMessage, ReminderActivity
from domain.reminders import outbox
from jobs.reminders import send_outbox_message
from tests.unit.test_imports import ENTRIES, write_csv

PG = (os.environ.get("RELANCE_DATABASE_URL") or "").startswith("postgresql")
pytestmark = pytest.mark.skipif(not PG, reason="needs PostgreSQL (RELANCE_DATABASE_URL=postgresql+psycopg://…): "
                                               "SQLite serialises writers")


def at_once(*actions):
    """Run each action on its own thread, started together; their results (or the exception each raised)."""
    start = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(index, action):
        start.wait()
        try:
            results[index] = action()
        except Exception as error:  # noqa: BLE001 — the test says what each side saw
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_sends_of_the_same_outbox_key_at_once_queue_one_message_and_send_it_once(app, session, company, mail,
                                                                                       ledger_builder, users):
    acme = ledger_builder.customer("C001", "Acme SA", emails="ap@acme.test")
    invoice = ledger_builder.entry(acme, 40, "1200.00", number="INV-1")
    session.commit()
    engine = session.get_bind()
    hold = threading.Event()

    def queue_it():
        with app.app_context(), Session(engine) as own:
            customer, entry = own.get(Customer, acme.id), own.get(Entry, invoice.id)
            message, new = outbox.queue_message(own, customer=customer, entries=[entry], level=1, to="ap@acme.test",
                                                subject="First reminder", body="Dear customer, INV-1 is due.",
                                                sent_by=None, dedupe_key="follow-up:C001:step-1:2026-06-15")
            if new:
                hold.wait(1.0)  # the winner keeps its transaction open a moment: the other one has to wait on it
            own.commit()
            return message.id, new

    first, second = at_once(queue_it, lambda: (time.sleep(0.2), hold.set(), queue_it())[2])
    assert not isinstance(first, Exception) and not isinstance(second, Exception), (first, second)
    assert first[0] == second[0], "both are told about the same message"
    assert sorted([first[1], second[1]]) == [False, True], "one queued it, the other found it queued"
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1

    message_id = first[0]

    def send_it():
        with app.app_context():
            return send_outbox_message(message_id)

    answers = at_once(send_it, send_it)
    assert sorted(map(str, answers)) == ["nothing to send", "sent"], answers
    assert len(mail.messages) == 1, "the customer receives it once"
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ReminderActivity)) == 1
    assert session.get(Entry, invoice.id).reminder_level == 1


def test_two_imports_of_the_same_file_at_once_write_it_once(app, session, tmp_path):
    session.add_all([Customer(account="C001", name="Acme SA"), Customer(account="C002", name="Globex SARL")])
    session.commit()
    path = write_csv(tmp_path / "entries.csv", ENTRIES)
    engine = session.get_bind()

    def import_it():
        with app.app_context(), Session(engine) as own:
            report = import_file(own, "entries", Path(path), path.name)
            if report.written:
                own.commit()
            else:
                own.rollback()
            return report

    reports = at_once(import_it, import_it)
    problems = [r for r in reports if isinstance(r, Exception)]
    assert not problems, f"an import at the same moment must be told in words, not crash: {problems!r}"
    session.expire_all()
    numbers = session.scalars(select(Entry.number).order_by(Entry.number)).all()
    assert numbers == ["CN-1", "INV-1", "INV-2", "INV-3"], "every entry once"
    written = [r for r in reports if r.written]
    assert len(written) >= 1
    for report in reports:
        if not report.written:
            assert report.errors, "the one that wrote nothing says why"
    # The history says what was imported, once per import that wrote.
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "import.entries", AuditEvent.customer_id.is_(None))) == len(written)
