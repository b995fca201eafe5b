"""Money in templates reads exactly as Babel writes it, in every locale and currency."""
from decimal import Decimal

import pytest
from babel.numbers import format_currency

from domain.money import format_money


@pytest.mark.parametrize("locale", ["en_GB", "fr_FR", "de_DE", "en_US", "de_CH"])
@pytest.mark.parametrize("currency", ["EUR", "USD", "GBP", "CHF", "JPY"])
def test_fast_money_filter_matches_babel(app, locale, currency):
    for cents in (0, 1, 99, 100, 123456789, -5, -123456, 1000000000000):
        assert format_money(cents, currency, locale) == format_currency(Decimal(cents) / 100, currency, locale=locale)


def test_blank_zero_and_none(app):
    assert format_money(0, "EUR", blank_zero=True) == ""
    assert format_money(None) == ""


@pytest.mark.parametrize("locale", ["en_GB", "fr_FR"])
@pytest.mark.parametrize("currency", ["EUR", "KWD", "JPY"])
def test_amounts_from_template_arithmetic_round_as_babel_does(locale, currency):
    """{{ x|money }} in a reminder template may hold half cents or a three-digit currency."""
    from domain.money import format_amount

    for text in ("0.125", "0.135", "1234.5", "-3.10", "1.234", "0.005"):
        assert format_amount(Decimal(text), currency, locale) == format_currency(Decimal(text), currency, locale=locale)
