"""Amounts as people type them in a form: French and English marks alike, cents exact, and a
reading that could go two ways refused rather than guessed."""
import pytest

from domain.money import AmountError, parse_amount


@pytest.mark.parametrize("typed, cents", [
    ("1234.56", 123456), ("1234,56", 123456), ("1 234,56", 123456), ("1\u202f234,56", 123456),
    ("1.234,56", 123456), ("1,234.56", 123456), ("12,345,678.90", 1234567890), ("1.234.567", 123456700),
    ("€ 80", 8000), ("80", 8000), ("0,5", 50), (",5", 50),
])
def test_what_people_type(typed, cents):
    assert parse_amount(typed) == cents


@pytest.mark.parametrize("typed, why", [
    ("1,234", "could mean thousands or decimals"), ("1.234", "could mean thousands or decimals"),
    ("12.345", "could mean thousands or decimals"), ("1234.567", "could mean thousands or decimals"),
    ("12.3456", "more than two decimals"), ("-5", "negative"), ("abc", "not an amount"),
    ("1.2.3,4", "not an amount"), ("12,34,567.00", "not an amount"), ("", "Enter an amount"),
    ("12345678901234", "too large"),
])
def test_what_is_refused_and_why(typed, why):
    with pytest.raises(AmountError, match=why):
        parse_amount(typed)
