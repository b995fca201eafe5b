"""The totals row of Who owes you what? without a filter is read from totals kept with the summaries: after
every kind of change it says exactly what adding up every customer's summary says."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from domain.collection import marks
from domain.ledger import queries
from domain.ledger.payments import record_payment
from domain.ledger.summaries import rebucket_all, unfiltered_totals
from domain.models import CustomerSummary


def added_up(session) -> list[tuple]:
    """What the totals were before they were kept: every summary added up, per currency."""
    columns = ("not_due_cents", "days_1_30_cents", "days_31_60_cents", "days_61_90_cents", "over_90_cents",
               "disputed_cents", "total_cents")
    return [tuple(int(v) if not isinstance(v, str) else v for v in row) for row in session.execute(
        select(CustomerSummary.currency, func.count(), *(func.sum(getattr(CustomerSummary, c)) for c in columns))
        .group_by(CustomerSummary.currency).order_by(func.sum(CustomerSummary.total_cents).desc()))]


def kept(session) -> list[tuple]:
    return [tuple(row) for row in unfiltered_totals(session)]


def test_the_kept_totals_follow_every_change(session, ledger_builder, users):
    acme = ledger_builder.customer("C001", "Acme SA")
    globex = ledger_builder.customer("C002", "Globex SARL")
    first = ledger_builder.entry(acme, 40, "1200.00")
    ledger_builder.entry(acme, -10, "300.00")
    ledger_builder.entry(globex, 95, "99.99", currency="USD")
    session.commit()
    assert kept(session) == added_up(session) and len(kept(session)) == 2

    record_payment(session, first, ledger_builder.today, 50000, "CHQ-1")  # a part payment
    session.commit()
    assert kept(session) == added_up(session)

    credit = ledger_builder.entry(globex, 0, "20.00", kind="credit_note", currency="USD")
    session.commit()
    assert kept(session) == added_up(session)

    marks.set_reminders_stopped(session, acme, users["finance"], True, "on the phone")  # a flag: totals unmoved
    session.commit()
    assert kept(session) == added_up(session)

    for entry in globex.entries:  # the only customer in USD pays everything: USD leaves the totals
        record_payment(session, entry, ledger_builder.today, entry.open_cents, f"PAY-{entry.id}")
    session.commit()
    assert [row[0] for row in kept(session)] == ["EUR"] and kept(session) == added_up(session)
    assert credit.id

    rebucket_all(session, ledger_builder.today + timedelta(days=45))  # the daily run moves amounts between buckets
    session.commit()
    assert kept(session) == added_up(session)


def test_the_page_shows_the_kept_totals_unfiltered_and_adds_up_when_filtered(session, ledger_builder):
    acme = ledger_builder.customer("C001", "Acme SA")
    ledger_builder.entry(acme, 40, "1200.00", level=5)
    bistro = ledger_builder.customer("C002", "Bistro")
    ledger_builder.entry(bistro, 10, "250.00", level=1)
    session.commit()

    unfiltered = queries.balances(session, queries.parse_filters({}, tuple(queries.BALANCE_SORTS)))
    assert [(t["currency"], t["count"], t["total"]) for t in unfiltered.totals] == [("EUR", 2, 145000)]
    level_5 = queries.balances(session, queries.parse_filters({"level": "5"}, tuple(queries.BALANCE_SORTS)))
    assert [(t["currency"], t["count"], t["total"]) for t in level_5.totals] == [("EUR", 1, 120000)]
