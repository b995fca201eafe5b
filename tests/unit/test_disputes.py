"""Disputes: opened on entries of one customer, they stop every reminder for those entries at once
while the amounts stay in the balances (counted apart as "disputed"); worked on a timeline; resolved
three ways, the reminders resuming by themselves unless another dispute holds the entry."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from domain import clock
from domain.ledger import disputes
from domain.ledger.disputes import DisputeError
from domain.models import AuditEvent, Customer, CustomerSummary, Entry
from domain.reminders import follow_up
from domain.reminders.holds import holds


@pytest.fixture
def alpha(session):
    customer = Customer(account="C1", name="Alpha", emails="ap@alpha.example", entries=[
        Entry(number=f"F-{n}", kind="invoice", issue_date=date(2026, 3, n), due_date=date(2026, 4, n),
              amount_cents=10000 * n, open_cents=10000 * n, reminder_level=1) for n in (1, 2, 3)])
    session.add(customer)
    session.commit()
    return customer


def entry(session, number) -> Entry:
    session.expire_all()
    return session.scalar(select(Entry).where(Entry.number == number))


def summary(session) -> CustomerSummary:
    session.expire_all()
    return session.scalar(select(CustomerSummary))


def ids(session, *numbers) -> list[int]:
    return [entry(session, number).id for number in numbers]


def test_a_dispute_stops_the_reminders_of_its_entries_and_keeps_them_in_the_balance(session, users, alpha):
    dispute = disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-1", "F-2"), "not_received",
                                    note="Never received", owner_id=users["finance"].id)
    session.commit()

    held = holds(session, alpha, [entry(session, "F-1")])
    assert [hold.text for hold in held] == ["F-1 is disputed: Invoice not received."]
    assert not entry(session, "F-3").disputed
    row = summary(session)
    assert (row.total_cents, row.disputed_count, row.disputed_cents) == (60000, 2, 30000)
    assert [e.kind for e in dispute.events] == ["opened"]
    assert "Invoice not received on F-1, F-2 (€300.00): Never received" == dispute.events[0].text
    history = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "dispute.opened")).all()
    assert history == [f"Dispute #{dispute.id} opened on F-1, F-2: Invoice not received; reminders stop for them."]


def test_a_follow_up_plan_skips_disputed_entries_and_picks_them_up_at_their_level_once_resolved(session, users,
                                                                                                 alpha):
    plan = follow_up.create_plan(session, None, "Standard")
    for offset, level in ((5, 1), (15, 2), (45, 3)):
        follow_up.add_step(session, None, plan, offset, "email", level)
    follow_up.assign(session, None, plan, alpha)
    session.commit()
    dispute = disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-1", "F-2"), "wrong_amount")
    session.commit()
    [decision] = follow_up.decide(session)
    assert decision.entry_ids == ids(session, "F-3") and decision.level == 3

    disputes.resolve(session, users["finance"], dispute, "not_justified", note="Price as quoted")
    session.commit()
    [decision] = follow_up.decide(session)
    # The plan continues with the step their age has reached (R3), not from the start (R1).
    assert sorted(decision.entry_ids) == sorted(ids(session, "F-1", "F-2", "F-3")) and decision.level == 3


def test_what_cannot_be_disputed_is_refused_with_the_reason(session, users, alpha):
    with pytest.raises(DisputeError, match="Choose why"):
        disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-1"), "bored")
    with pytest.raises(DisputeError, match="Say what the customer disputes"):
        disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-1"), "other")
    with pytest.raises(DisputeError, match="Tick the entries"):
        disputes.open_dispute(session, users["finance"], alpha, [], "duplicate")
    other = Customer(account="C2", name="Beta")
    session.add(other)
    session.commit()
    with pytest.raises(DisputeError, match="not this customer's"):
        disputes.open_dispute(session, users["finance"], other, ids(session, "F-1"), "duplicate")
    first = disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-1"), "duplicate")
    session.commit()
    with pytest.raises(DisputeError, match=f"Already disputed: F-1 \\(dispute #{first.id}\\)"):
        disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-1", "F-2"), "duplicate")
    paid = entry(session, "F-3")
    paid.open_cents, paid.is_open = 0, False
    session.commit()
    with pytest.raises(DisputeError, match="F-3: paid or cancelled"):
        disputes.open_dispute(session, users["finance"], alpha, [paid.id], "duplicate")


def test_resolving_releases_only_the_entries_no_other_dispute_holds(session, users, alpha):
    first = disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-1"), "duplicate")
    second = disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-2"), "already_paid")
    session.commit()
    released = disputes.resolve(session, users["finance"], first, "paid")
    session.commit()
    assert [e.number for e in released] == ["F-1"]
    assert (entry(session, "F-1").disputed, entry(session, "F-2").disputed) == (False, True)
    assert summary(session).disputed_cents == 20000
    assert first.events[-1].text == "Resolved: paid; reminders resume for F-1"
    with pytest.raises(DisputeError, match="is resolved"):
        disputes.set_status(session, users["finance"], first, "open")
    assert second.is_open


def test_a_justified_dispute_waits_for_its_credit_note_then_applies_it(session, users, alpha):
    dispute = disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-2"), "wrong_amount")
    session.commit()
    with pytest.raises(DisputeError, match="at most what is disputed and still open: €200.00"):
        disputes.resolve(session, users["finance"], dispute, "justified", credit_note_cents=25000)
    assert disputes.resolve(session, users["finance"], dispute, "justified", credit_note_cents=5000) == []
    session.commit()
    assert dispute.status == "waiting_us" and entry(session, "F-2").disputed, "held until the credit note comes"

    credit_note = disputes.record_credit_note(session, users["finance"], dispute, "AV-1", date(2026, 6, 10), 5000)
    session.commit()
    assert (credit_note.kind, credit_note.open_cents) == ("credit_note", 0)
    f2 = entry(session, "F-2")
    assert (f2.open_cents, f2.disputed) == (15000, False)
    assert [(p.reference, p.amount_cents) for p in f2.payments] == [("Credit note AV-1", 5000)]
    assert dispute.status == "resolved" and dispute.credit_note_id == credit_note.id
    assert summary(session).total_cents == 55000


def test_notes_take_pdf_and_image_files_and_refuse_others(session, users, alpha, tmp_path):
    dispute = disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-1"), "not_received")
    event = disputes.add_note(session, users["finance"], dispute, "Delivery proof",
                              file=("../../pod.pdf", b"%PDF-1.4\n%%EOF"), directory=tmp_path)
    session.commit()
    assert (event.filename, event.size, disputes.file_type(event)) == ("pod.pdf", 14, "application/pdf")
    assert (tmp_path / event.storage_name).read_bytes() == b"%PDF-1.4\n%%EOF"
    with pytest.raises(DisputeError, match="is not a PDF, PNG or JPEG file"):
        disputes.add_note(session, users["finance"], dispute, "", file=("x.exe", b"MZ\x90\x00"), directory=tmp_path)
    with pytest.raises(DisputeError, match="Write a note or choose a file"):
        disputes.add_note(session, users["finance"], dispute, "  ")


def test_status_owner_and_the_disputes_list_with_its_filters(session, users, alpha):
    old = disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-1"), "not_received")
    new = disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-2", "F-3"), "goods_disputed")
    old.last_activity_at = clock.now() - timedelta(days=20)
    session.commit()
    disputes.set_status(session, users["finance"], new, "waiting_customer")
    disputes.assign(session, users["finance"], new, users["admin"].id)
    session.commit()
    assert [e.text for e in new.events][1:] == ["Open → Waiting for the customer", "Assigned to Admin"]

    rows, total = disputes.dispute_rows(session, disputes.parse_filters({}))
    assert total == 2 and [row.dispute.id for row in rows] == [old.id, new.id], "the longest untouched first"
    assert [(row.amount_cents, row.stale) for row in rows] == [(10000, True), (50000, False)]
    stale, _ = disputes.dispute_rows(session, disputes.parse_filters({"stale": "1"}))
    assert [row.dispute.id for row in stale] == [old.id]
    mine, _ = disputes.dispute_rows(session, disputes.parse_filters({"owner": str(users["admin"].id)}))
    assert [row.dispute.id for row in mine] == [new.id]
    waiting, _ = disputes.dispute_rows(session, disputes.parse_filters({"status": "waiting_customer", "q": "alph"}))
    assert [row.dispute.id for row in waiting] == [new.id]
    assert disputes.dispute_rows(session, disputes.parse_filters({"reason": "duplicate"}))[1] == 0
