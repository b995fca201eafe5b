"""Money in templates reads exactly as Babel writes it, in every locale and currency."""
from decimal import Decimal

import pytest
from babel.numbers import format_currency

import web


@pytest.mark.parametrize("locale", ["en_GB", "fr_FR", "de_DE", "en_US", "de_CH"])
@pytest.mark.parametrize("currency", ["EUR", "USD", "GBP", "CHF", "JPY"])
def test_fast_money_filter_matches_babel(app, locale, currency):
    app.config["BABEL_LOCALE"] = locale
    for cents in (0, 1, 99, 100, 123456789, -5, -123456, 1000000000000):
        assert web._money(cents, currency) == format_currency(Decimal(cents) / 100, currency, locale=locale)


def test_blank_zero_and_none(app):
    assert web._money(0, "EUR", blank_zero=True) == ""
    assert web._money(None) == ""
