"""`flask --app app demo`: deterministic demo data that obeys the ledger's own rules."""
from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from stdnum.fr import siren

from demo.generator import DEMO_LOGIN, DEMO_USERS, REMINDER_OFFSETS, DemoActors, DemoLedger, DemoPlan
from domain.ledger.summaries import refresh_summaries
from domain.models import (Attachment, AuditEvent, Customer, CustomerSummary, Entry, Payment, ReminderActivity,
                           ReminderEntry)
from domain.users import authenticate

SMALL = ("--customers", "30", "--entries", "400", "--seed", "7")
TODAY = date(2026, 6, 15)  # the `app` fixture pins today


def demo(app, *args: str):
    return app.test_cli_runner().invoke(args=["demo", *args])


@pytest.fixture
def loaded(app, session):
    result = demo(app, *SMALL, "--invoice-pdfs", "2")
    assert result.exit_code == 0, result.output
    session.expire_all()
    return result


def checksum(plan: DemoPlan, today: date = TODAY) -> str:
    ledger = DemoLedger(plan, today, DemoActors(admin=1, finance=2, support=3))
    digest = hashlib.sha256()
    for table, rows in ledger.batches():
        digest.update(table.encode())
        for row in rows:
            digest.update(repr(sorted(row.items())).encode())
    digest.update(repr(ledger.invoice_prints).encode())
    return digest.hexdigest()


def test_same_seed_gives_the_same_rows():
    plan = DemoPlan(customers=30, entries=400, seed=7, invoice_pdfs=2)
    assert checksum(plan) == checksum(plan)
    assert checksum(plan) != checksum(DemoPlan(customers=30, entries=400, seed=8, invoice_pdfs=2))


def test_the_database_holds_the_generated_rows(loaded, session):
    assert session.scalar(select(func.min(Customer.id))) == 1  # a fresh database: ids start at 1
    actors = {user[1]: authenticate(session, user[0], DEMO_LOGIN[1]).id for user in DEMO_USERS}
    ledger = DemoLedger(DemoPlan(customers=30, entries=400, seed=7, invoice_pdfs=2), TODAY, DemoActors(**actors))
    expected = [(r["number"], r["amount_cents"], r["open_cents"], r["reminder_level"])
                for table, rows in ledger.batches() if table == "entries" for r in rows]
    stored = session.execute(select(Entry.number, Entry.amount_cents, Entry.open_cents, Entry.reminder_level)
                             .order_by(Entry.id)).all()
    assert [tuple(row) for row in stored] == expected
    assert len(expected) == 400


def test_refuses_a_database_that_has_customers(app, loaded):
    result = demo(app, *SMALL)
    assert result.exit_code != 0
    assert "already has customers" in result.output


def test_if_empty_leaves_a_loaded_database_alone(app, session, loaded):
    result = demo(app, *SMALL, "--if-empty")
    assert result.exit_code == 0
    assert "Database already has data; demo not loaded." in result.output
    assert session.scalar(select(func.count()).select_from(Customer)) == 30


def test_demo_users_can_log_in_with_the_advertised_password(loaded, session):
    from cli.serve import DEMO_LOGIN as SERVED_LOGIN

    assert DEMO_LOGIN == SERVED_LOGIN == ("demo@relance.test", "demo-password")
    roles = {email: authenticate(session, email, DEMO_LOGIN[1]).role for email, _, _ in DEMO_USERS}
    assert roles == {"demo@relance.test": "admin", "finance@relance.test": "finance", "support@relance.test": "support"}
    assert "demo@relance.test / demo-password" in loaded.output


def test_summaries_match_a_recomputation(loaded, session):
    def rows():
        session.expire_all()
        return [tuple(getattr(s, c.key) for c in CustomerSummary.__table__.columns)
                for s in session.scalars(select(CustomerSummary).order_by(CustomerSummary.customer_id,
                                                                          CustomerSummary.currency))]

    before = rows()
    assert before
    refresh_summaries(session, None, TODAY)
    session.flush()
    assert rows() == before


def test_open_amounts_match_the_payments(loaded, session):
    paid = (select(Payment.entry_id, func.sum(Payment.amount_cents).label("paid"))
            .group_by(Payment.entry_id).subquery())
    mismatched = session.scalar(
        select(func.count()).select_from(Entry).outerjoin(paid, paid.c.entry_id == Entry.id)
        .where(Entry.amount_cents - func.coalesce(paid.c.paid, 0) != Entry.open_cents))
    assert mismatched == 0
    assert session.scalar(select(func.count()).where(Entry.is_open.is_(True), Entry.open_cents == 0)) == 0
    assert session.scalar(select(func.count()).where(Entry.is_open.is_(False))) > 0  # fully paid ones
    partly = select(func.count()).where(Entry.is_open.is_(True), Entry.open_cents < Entry.amount_cents)
    assert session.scalar(partly) > 0


def test_reminder_levels_follow_days_overdue(loaded, session):
    entries = session.scalars(select(Entry).where(Entry.is_open.is_(True))).all()
    for entry in entries:
        overdue = (TODAY - entry.due_date).days
        if overdue <= 0:
            assert entry.reminder_level == 0, entry.number
        if entry.reminder_level == 5:
            assert overdue > 90, entry.number
        assert (entry.last_reminder_on is None) == (entry.reminder_level == 0), entry.number
        if entry.last_reminder_on:
            assert entry.last_reminder_on >= entry.due_date + timedelta(days=REMINDER_OFFSETS[entry.reminder_level - 1])
            assert entry.last_reminder_on <= TODAY
    assert {e.reminder_level for e in entries} >= {0, 1, 5}


def test_flags_come_with_reasons_and_history(loaded, session):
    admin = authenticate(session, DEMO_LOGIN[0], DEMO_LOGIN[1])
    marked = session.scalars(select(Entry).where(Entry.in_collection.is_(True))).all()
    assert marked and all(e.collection_marked_by_id == admin.id and e.collection_marked_at for e in marked)
    disputed = session.scalars(select(Entry).where(Entry.disputed.is_(True))).all()
    assert disputed and all(e.dispute_reason and e.disputed_at for e in disputed)
    stopped = session.scalars(select(Entry).where(Entry.reminders_stopped.is_(True))).all()
    assert stopped and all(e.stop_reason and e.stopped_by_id for e in stopped)
    stopped_customers = session.scalars(select(Customer).where(Customer.reminders_stopped.is_(True))).all()
    assert stopped_customers and all(c.stop_reason for c in stopped_customers)

    events = dict(session.execute(select(AuditEvent.action, func.count()).group_by(AuditEvent.action)).all())
    assert events == {"collection.marked": len(marked), "dispute.opened": len(disputed),
                      "reminders.stopped": len(stopped) + len(stopped_customers)}


def test_reminder_history_covers_overdue_entries(loaded, session):
    activities = session.scalars(select(ReminderActivity)).all()
    assert activities
    for activity in activities:
        assert activity.channel in ("email", "letter") and 1 <= activity.level <= 5
        assert activity.recipient and activity.subject and activity.body
        assert activity.covered
        for covered in activity.covered:
            assert covered.entry.customer_id == activity.customer_id
            assert 0 < covered.open_cents <= covered.entry.amount_cents
            assert covered.entry.number in activity.body
    assert session.scalar(select(func.count()).select_from(ReminderEntry)) >= len(activities)


def test_customers_look_like_real_ones(loaded, session):
    customers = session.scalars(select(Customer).order_by(Customer.id)).all()
    assert [c.account for c in customers[:2]] == ["C00001", "C00002"]
    assert {c.language for c in customers} == {"fr", "en"}
    for customer in customers:
        if customer.language == "fr":
            assert siren.is_valid(customer.registration_number), customer.name
        assert all(email.endswith(".example") for email in customer.email_list)
        assert customer.address
    assert any(c.contacts for c in customers)
    numbers = session.scalars(select(Entry.number)).all()
    assert all(re.fullmatch(r"(INV|CN)-20\d\d-\d{6}", n) for n in numbers)
    assert any(n.startswith("CN-") for n in numbers)


def test_invoice_pdfs_are_real_pdfs(app, loaded, session):
    attachments = session.scalars(select(Attachment)).all()
    assert len(attachments) == 2
    for attachment in attachments:
        content = (Path(app.config["ATTACHMENT_DIR"]) / attachment.storage_name).read_bytes()
        assert content.startswith(b"%PDF")
        assert attachment.size == len(content)
        assert attachment.filename == f"{attachment.entry.number}.pdf"
        text = PdfReader(Path(app.config["ATTACHMENT_DIR"]) / attachment.storage_name).pages[0].extract_text()
        assert attachment.entry.number in text
        assert attachment.entry.customer.name.split()[0] in text


def test_the_default_plan_prints_twelve_invoices_at_most_thirty():
    assert DemoPlan().invoice_pdfs == 12
    with pytest.raises(ValueError):
        DemoPlan(invoice_pdfs=31)


def test_new_rows_after_the_demo_get_fresh_ids(loaded, session):
    from domain.ledger.payments import record_payment

    customer = Customer(account="C99999", name="Nouveau client SARL")
    session.add(customer)
    entry = session.scalars(select(Entry).where(Entry.is_open.is_(True), Entry.kind == "invoice")).first()
    record_payment(session, entry, TODAY, 100, "NEW-PAYMENT")
    session.commit()
    assert customer.id == 31
    assert session.scalar(select(func.count()).where(Payment.reference == "NEW-PAYMENT")) == 1


def test_a_failed_load_leaves_nothing_behind(app, session, tmp_path):
    from demo.generator import load_demo

    rendered = []

    def render_then_fail(invoice):
        if rendered:
            raise RuntimeError("printer on fire")
        rendered.append(invoice.number)
        return b"%PDF-1.7 stand-in"

    with pytest.raises(RuntimeError, match="printer on fire"):
        load_demo(session, DemoPlan(customers=5, entries=50, invoice_pdfs=2), attachment_dir=tmp_path / "docs",
                  render_invoice=render_then_fail)
    assert rendered
    assert session.scalar(select(func.count()).select_from(Customer)) == 0
    assert session.scalar(select(func.count()).select_from(Entry)) == 0
    assert list((tmp_path / "docs").iterdir()) == []


def test_entries_in_collection_belong_to_a_case(loaded, session):
    from domain.models import CollectionCase

    marked = session.scalars(select(Entry).where(Entry.in_collection.is_(True))).all()
    assert marked and all(entry.collection_case_id is not None for entry in marked)
    for case in session.scalars(select(CollectionCase)):
        assert {entry.customer_id for entry in case.entries} == {case.customer_id}


def test_a_larger_demo_with_formal_notices_loads_and_the_app_writes_after_it(app, session, users):
    """The demo gives ids itself (COPY on PostgreSQL): every step after the bulk load that writes rows of its own
    (collection cases, formal notices and their history) and the app afterwards get fresh ids, not ones taken."""
    result = demo(app, "--customers", "300", "--entries", "6000", "--seed", "11")
    assert result.exit_code == 0, result.output
    assert "Formal notices:" in result.output  # the step that writes history events through the app's own code
    session.expire_all()
    customer = session.scalar(select(Customer).order_by(Customer.id))
    from domain import audit

    audit.record(session, users["finance"], "test.after_demo", "written after the demo", customer=customer)
    session.add(Entry(customer_id=customer.id, number="AFTER-DEMO-1", kind="invoice", issue_date=TODAY,
                      due_date=TODAY, amount_cents=100, open_cents=100, currency="EUR", is_open=True))
    session.commit()
    assert session.scalar(select(func.count()).select_from(Entry).where(Entry.number == "AFTER-DEMO-1")) == 1


def test_the_demo_history_reads_in_each_readers_language(app, loaded, session):
    from flask_babel import force_locale

    events = session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
        ("collection.marked", "dispute.opened", "reminders.stopped")))).all()
    assert events and all(event.detail_i18n for event in events), "written as the app writes them"
    with app.test_request_context(), force_locale("fr_FR"):
        shown = [event.shown_detail for event in events]
    assert any(text.startswith(("Écriture ", "Stop relance ")) for text in shown), shown[:3]
    assert not any(text.startswith(("Entry ", "Reminders stopped")) for text in shown)
