"""domain.reminders.bulk with the letter option: the caller's make_letter writes the letter (the domain
knows no documents), the message carries it first, a failure leaves no letter behind."""
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.models import BulkRun, CompanySettings, OutboxMessage
from domain.reminders import bulk, outbox


@pytest.fixture
def bistro(session, ledger_builder, users):
    customer = ledger_builder.customer("C100", "Bistro du Port", emails="compta@bistro.test")
    ledger_builder.entry(customer, 40, "1200.50", level=2, number="INV-2001")
    session.commit()
    return customer


def a_run(session, user, **params) -> BulkRun:
    run = BulkRun(user_id=user.id, status="running",
                    params=json.dumps({"customer": ["C100"], **params}))
    session.add(run)
    session.commit()
    return run


def with_company(session):
    session.add(CompanySettings(name="Acme SARL", sender_email="billing@acme-sarl.test"))
    session.commit()


class Maker:
    def __init__(self, folder: Path):
        self.folder, self.calls = folder, []

    def __call__(self, customer, entries, content, name):
        self.calls.append((customer.account, [e.number for e in entries], content.level, name))
        (self.folder / "letters").mkdir(parents=True, exist_ok=True)
        (self.folder / "letters" / f"{name}.pdf").write_bytes(b"%PDF-1.7 letter")
        return f"letters/{name}.pdf", "R3 Bistro du Port.pdf"


def test_the_letter_is_made_at_the_customers_level_and_attached(session, bistro, users, pinned_today, tmp_path):
    with_company(session)
    run = a_run(session, users["finance"], letter="1")
    maker = Maker(tmp_path)
    report = bulk.run_bulk_dunning(session, run, users["finance"], today=pinned_today, attachment_dir=tmp_path,
                                      make_letter=maker)
    assert report.summary == "sent 1 · skipped 0 · failed 0"
    assert maker.calls == [("C100", ["INV-2001"], 3, bulk.letter_name(run.id, bistro.id))]
    message = session.scalar(select(OutboxMessage))
    assert outbox.attachments_of(message) == [outbox.StoredAttachment(
        str(tmp_path / "letters" / f"bulk-{run.id}-{bistro.id}.pdf"), "R3 Bistro du Port.pdf", "application/pdf")]


def test_no_letter_without_the_option(session, bistro, users, pinned_today, tmp_path):
    with_company(session)
    maker = Maker(tmp_path)
    bulk.run_bulk_dunning(session, a_run(session, users["finance"]), users["finance"], today=pinned_today,
                             attachment_dir=tmp_path, make_letter=maker)
    assert maker.calls == []
    assert outbox.attachments_of(session.scalar(select(OutboxMessage))) == []


def test_asked_for_a_letter_without_a_maker_the_message_fails(session, bistro, users, pinned_today, tmp_path):
    with_company(session)
    report = bulk.run_bulk_dunning(session, a_run(session, users["finance"], letter="1"), users["finance"],
                                      today=pinned_today, attachment_dir=tmp_path)
    assert [(line.outcome, line.reason) for line in report.lines] == [(bulk.FAILED, bulk.NO_LETTER_MAKER)]
    assert session.scalar(select(OutboxMessage)) is None


def test_no_letter_is_made_when_the_message_cannot_be_queued(session, bistro, users, pinned_today, tmp_path):
    maker = Maker(tmp_path)  # no company sender address: nothing can be queued
    report = bulk.run_bulk_dunning(session, a_run(session, users["finance"], letter="1"), users["finance"],
                                      today=pinned_today, attachment_dir=tmp_path, make_letter=maker)
    assert report.failed == 1 and "No sender e-mail address" in report.lines[0].reason
    assert maker.calls == []


def test_a_letter_for_a_refused_message_is_removed(session, ledger_builder, users, pinned_today, tmp_path):
    with_company(session)
    ledger_builder.entry(ledger_builder.customer("C100", "Bistro du Port", emails="not an address"), 40, "10.00")
    session.commit()
    maker = Maker(tmp_path)
    report = bulk.run_bulk_dunning(session, a_run(session, users["finance"], letter="1"), users["finance"],
                                      today=pinned_today, attachment_dir=tmp_path, make_letter=maker)
    assert report.failed == 1 and "not an e-mail address" in report.lines[0].reason
    assert len(maker.calls) == 1 and list((tmp_path / "letters").iterdir()) == []
