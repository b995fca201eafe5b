"""Aging buckets and the per-customer summary kept up to date with every change."""
from datetime import date, timedelta

import pytest

from domain import clock
from domain.ledger import summaries as ledger
from domain.ledger.aging import bucket_of
from domain.ledger.payments import PaymentError, record_payment
from domain.models import CustomerSummary

TODAY = date(2026, 6, 15)


@pytest.mark.parametrize("days_overdue, bucket", [
    (-5, "not_due"), (0, "not_due"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"),
    (61, "61-90"), (90, "61-90"), (91, "90+"), (400, "90+"),
])
def test_bucket_boundaries(days_overdue, bucket):
    assert bucket_of(TODAY - timedelta(days=days_overdue), TODAY) == bucket


def summary(session, customer, currency="EUR"):
    session.expire_all()
    return session.get(CustomerSummary, (customer.id, currency))


def test_summary_follows_new_entries_in_the_same_commit(session, ledger_builder):
    acme = ledger_builder.customer("C1", "Acme")
    ledger_builder.entry(acme, -3, "100.00")
    ledger_builder.entry(acme, 10, "200.00", level=2)
    ledger_builder.entry(acme, 45, "300.00", level=3)
    ledger_builder.entry(acme, 75, "400.00")
    ledger_builder.entry(acme, 120, "500.50", level=1)
    session.commit()

    row = summary(session, acme)
    assert (row.not_due_cents, row.days_1_30_cents, row.days_31_60_cents, row.days_61_90_cents,
            row.over_90_cents) == (10000, 20000, 30000, 40000, 50050)
    assert row.total_cents == 150050
    assert row.overdue_cents == 140050
    assert row.highest_level == 3
    assert row.open_entries == 5


def test_credit_note_reduces_the_balance(session, ledger_builder):
    acme = ledger_builder.customer("C1", "Acme")
    ledger_builder.entry(acme, 5, "1000.00")
    ledger_builder.entry(acme, 5, "250.00", kind="credit_note")
    session.commit()
    assert summary(session, acme).total_cents == 75000


def test_payment_moves_customer_out_of_the_over_90_bucket(session, ledger_builder):
    acme = ledger_builder.customer("C1", "Acme")
    old = ledger_builder.entry(acme, 100, "800.00", level=4)
    ledger_builder.entry(acme, 20, "200.00", level=1)
    session.commit()
    assert summary(session, acme).over_90_cents == 80000

    record_payment(session, old, TODAY, 30000, "BANK-0001")
    session.commit()
    row = summary(session, acme)
    assert row.over_90_cents == 50000
    assert old.open_cents == 50000

    record_payment(session, old, TODAY, 50000, "BANK-0002")
    session.commit()
    row = summary(session, acme)
    assert row.over_90_cents == 0
    assert row.days_1_30_cents == 20000
    assert row.total_cents == 20000
    assert row.highest_level == 1, "the paid R4 invoice no longer sets the customer's level"
    assert not old.is_open


def test_fully_paid_customer_leaves_the_summary(session, ledger_builder):
    acme = ledger_builder.customer("C1", "Acme")
    only = ledger_builder.entry(acme, 10, "50.00")
    session.commit()
    record_payment(session, only, TODAY, 5000, "BANK-1")
    session.commit()
    assert summary(session, acme) is None


def test_same_payment_reference_twice_pays_once(session, ledger_builder):
    acme = ledger_builder.customer("C1", "Acme")
    invoice = ledger_builder.entry(acme, 10, "100.00")
    session.commit()
    assert not record_payment(session, invoice, TODAY, 4000, "BANK-7").duplicate
    assert record_payment(session, invoice, TODAY, 4000, "BANK-7").duplicate
    session.commit()
    assert invoice.open_cents == 6000


def test_payment_larger_than_open_amount_is_refused(session, ledger_builder):
    acme = ledger_builder.customer("C1", "Acme")
    invoice = ledger_builder.entry(acme, 10, "100.00")
    session.commit()
    with pytest.raises(PaymentError, match="larger than the open amount"):
        record_payment(session, invoice, TODAY, 10001, "BANK-8")


def test_daily_rebucketing_moves_amounts_as_days_pass(session, ledger_builder):
    acme = ledger_builder.customer("C1", "Acme")
    ledger_builder.entry(acme, 29, "100.00")
    session.commit()
    assert summary(session, acme).days_1_30_cents == 10000

    clock.pin(TODAY + timedelta(days=2))
    ledger.rebucket_all(session)
    session.commit()
    row = summary(session, acme)
    assert row.days_1_30_cents == 0
    assert row.days_31_60_cents == 10000


def test_currencies_are_never_added_together(session, ledger_builder):
    acme = ledger_builder.customer("C1", "Acme")
    ledger_builder.entry(acme, 10, "100.00", currency="EUR")
    ledger_builder.entry(acme, 10, "70.00", currency="USD")
    session.commit()
    assert summary(session, acme, "EUR").total_cents == 10000
    assert summary(session, acme, "USD").total_cents == 7000


def test_flags_reach_the_summary(session, ledger_builder, users):
    from domain.collection import marks

    acme = ledger_builder.customer("C1", "Acme")
    invoice = ledger_builder.entry(acme, 10, "100.00")
    session.commit()
    marks.mark_in_collection(session, invoice, users["finance"])
    marks.set_disputed(session, invoice, users["finance"], True, "wrong quantity")
    session.commit()
    row = summary(session, acme)
    assert (row.in_collection_count, row.disputed_count, row.reminders_stopped) == (1, 1, False)

    marks.set_reminders_stopped(session, acme, users["finance"], True, "promise to pay",
                                     until=TODAY + timedelta(days=3))
    session.commit()
    assert summary(session, acme).reminders_stopped is True

    clock.pin(TODAY + timedelta(days=4))
    ledger.rebucket_all(session)
    session.commit()
    assert summary(session, acme).reminders_stopped is False, "the stop lapses after its until-date"


def test_every_summary_rebuild_draws_a_new_stamp(session, ledger_builder):
    """Pages cache the totals row under this stamp: it must change with every rebuild."""
    acme = ledger_builder.customer("C1", "Acme")
    ledger_builder.entry(acme, 10, "100.00")
    session.commit()
    first = ledger.summaries_stamp(session)
    ledger_builder.entry(acme, 20, "50.00")
    session.commit()
    assert first is not None and ledger.summaries_stamp(session) not in (None, first)


def test_the_stamp_row_is_recreated_if_missing(session, ledger_builder):
    from domain.models import LedgerState

    session.query(LedgerState).delete()
    session.commit()
    acme = ledger_builder.customer("C1", "Acme")
    ledger_builder.entry(acme, 10, "100.00")
    session.commit()
    assert ledger.summaries_stamp(session) is not None
