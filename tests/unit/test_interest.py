"""Late-payment interest against hand-computed examples (Code de commerce L441-10: ECB + 10 points,
never below 3 × the legal interest rate; simple interest, 365 days, rounded once per invoice)."""
from datetime import date

import pytest

from domain.ledger import interest
from domain.ledger.interest import CONTRACTUAL, HalfYear, Terms


@pytest.fixture
def legal():
    return Terms(rates=interest.shipped_rates())


def test_the_shipped_half_years_give_the_legal_late_payment_rate(legal):
    # 1st half of 2026: ECB 2.15 % + 10 = 12.15 %, above 3 × 2.62 % = 7.86 %.
    assert legal.annual_bp(date(2026, 1, 1)) == 1215
    # 1st half of 2024: 3 × 5.07 % = 15.21 % beats ECB 4.50 % + 10 = 14.50 %: the floor applies.
    assert legal.annual_bp(date(2024, 1, 1)) == 1521
    assert legal.rates[date(2024, 1, 1)].floor_applies


def test_thirty_days_late_at_12_15_percent(legal):
    # 1,000.00 × 12.15 % × 30 / 365 = 9.9863… → €9.99
    assert interest.interest_cents(100000, [], date(2025, 12, 31), date(2026, 1, 30), legal) == (999, ())


def test_the_rate_changes_on_1_july(legal):
    # 10 days of June 2025 at 13.15 % (ECB 3.15 + 10), 10 days of July at 12.15 % (ECB 2.15 + 10):
    # 2,000.00 × (0.1315 × 10 + 0.1215 × 10) / 365 = 13.8630… → €13.86
    assert interest.interest_cents(200000, [], date(2025, 6, 20), date(2025, 7, 10), legal) == (1386, ())


def test_partial_payments_lower_what_bears_interest_and_a_paid_invoice_keeps_its_interest(legal):
    # Due 31/01/2024, 400.00 paid 01/03, 600.00 paid 31/03 (nothing open today), at 15.21 %:
    # 1,000.00 × 30 days (1 Feb – 1 Mar, 2024 is a leap year) + 600.00 × 30 days (2 – 31 Mar)
    # = 0.1521 × 48,000 / 365 = 20.0022… → €20.00
    payments = [(date(2024, 3, 1), 40000), (date(2024, 3, 31), 60000)]
    assert interest.interest_cents(0, payments, date(2024, 1, 31), date(2026, 6, 15), legal) == (2000, ())


def test_a_payment_before_the_due_date_bears_nothing_and_one_on_the_due_date_neither(legal):
    payments = [(date(2025, 12, 1), 50000), (date(2025, 12, 31), 10000)]
    # What was open after those: 400.00 for 30 days at 12.15 % = 3.9945… → €3.99
    assert interest.interest_cents(40000, payments, date(2025, 12, 31), date(2026, 1, 30), legal) == (399, ())


def test_not_yet_late_bears_nothing(legal):
    assert interest.interest_cents(100000, [], date(2026, 6, 15), date(2026, 6, 15), legal) == (0, ())


def test_a_missing_half_year_makes_the_interest_unknown_never_zero(legal):
    # The shipped table stops at the 1st half of 2026: July 2026 has no rate yet.
    assert interest.interest_cents(100000, [], date(2026, 6, 20), date(2026, 7, 10), legal) == \
        (None, (date(2026, 7, 1),))
    assert legal.missing_half_years(date(2026, 7, 10)) == [date(2026, 7, 1)]
    added = Terms(rates={**legal.rates, date(2026, 7, 1): HalfYear(date(2026, 7, 1), 200, 250, "admin")})
    # 10 days at 12.15 % + 10 days at 12 %: 1,000.00 × 2.415 / 365 = 6.6164… → €6.62
    assert interest.interest_cents(100000, [], date(2026, 6, 20), date(2026, 7, 10), added) == (662, ())


def test_a_contractual_rate_is_never_below_three_times_the_legal_rate():
    rates = interest.shipped_rates()
    terms = Terms(basis=CONTRACTUAL, contractual_bp=1000, rates=rates)
    # 2025 (3 × 2.76 % = 8.28 % in the 2nd half): the contract's 10 %. 1,000.00 × 10 % × 92 / 365 = €25.21
    assert interest.interest_cents(100000, [], date(2025, 6, 30), date(2025, 9, 30), terms) == (2521, ())
    # 1st half of 2024: 3 × 5.07 % = 15.21 % beats the contract's 10 %: 1,000.00 × 15.21 % × 31 / 365 = €12.92
    assert interest.interest_cents(100000, [], date(2023, 12, 31), date(2024, 1, 31), terms) == (1292, ())
    # Without the half-year's legal rate, the floor is not known: neither is the interest.
    assert interest.interest_cents(100000, [], date(2026, 6, 30), date(2026, 7, 31), terms)[0] is None


def test_a_credit_note_s_amount_bears_no_interest(session, ledger_builder, pinned_today):
    from domain.models import Payment

    customer = ledger_builder.customer("C1", "Bistro")
    entry = ledger_builder.entry(customer, 30, "1000.00", open_amount="600.00")  # due 16/05/2026
    # 400.00 credited on 05/06 (a justified dispute): never owed, so never bearing interest
    session.add(Payment(entry=entry, paid_on=date(2026, 6, 5), amount_cents=40000, reference="Credit note AV-1"))
    session.commit()
    paid = interest.payments_by_entry(session, [entry.id])
    assert paid == {}
    # 600.00 × 12.15 % × 30 / 365 = €5.99
    [charges] = interest.open_entry_charges(session, customer, date(2026, 6, 15), Terms(rates=interest.shipped_rates()))
    assert charges.interest_cents == 599


@pytest.mark.parametrize("typed, bp", [("12", 1200), ("2,15", 215), ("2.15 %", 215), ("0", 0)])
def test_rates_are_typed_as_percentages(typed, bp):
    assert interest.percent_to_bp(typed, "rate") == bp


@pytest.mark.parametrize("typed", ["abc", "2.155", "-1", "101", "NaN", ""])
def test_a_rate_that_is_not_a_percentage_is_refused(typed):
    with pytest.raises(interest.RateError):
        interest.percent_to_bp(typed, "rate")
