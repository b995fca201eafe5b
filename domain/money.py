"""Money: integer cents and a currency, never a float. The one place amounts become text (Babel),
for pages, Excel, PDFs, letters and e-mails alike, and become Decimal for spreadsheet cells."""
from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision

from domain import i18n
from domain.i18n import _


def to_decimal(cents: int) -> Decimal:
    """12345 → Decimal('123.45'): for spreadsheet cells and CSV files (numbers, not text)."""
    return Decimal(int(cents)).scaleb(-2).quantize(Decimal("0.01"))


def plain(cents: int) -> str:
    """12345 → "123.45": amounts in messages about a file's lines, written the way the file has them."""
    return str(to_decimal(cents))


def format_amount(amount: Decimal, currency: str, locale: str) -> str:
    """An amount already in currency units, as a template's arithmetic gives it: Babel's own
    rounding to the currency's digits (half-even), e.g. KWD keeps its three."""
    if amount == amount.scaleb(2).to_integral_value().scaleb(-2) and get_currency_precision(currency) == 2:
        return format_money(int(amount.scaleb(2)), currency, locale)  # whole cents: the fast path
    return format_currency(amount, currency, locale=locale)


def format_money(cents: int | None, currency: str = "EUR", locale: str | None = None, blank_zero: bool = False) -> str:
    """Babel's currency format of integer cents in `locale` (by default the reader's, i18n.current_locale):
    €1,234.56 (en_GB), 1 234,56 € (fr_FR)."""
    if cents is None or (blank_zero and cents == 0):
        return ""
    locale = locale or i18n.current_locale()
    shape = _money_shape(locale, currency)
    if shape is None:
        return format_currency(Decimal(int(cents)).scaleb(-2), currency, locale=locale)
    return _shaped(cents, shape)


@lru_cache(maxsize=256)
def _money_shape(locale: str, currency: str) -> tuple[str, str, str, str, str, str, int] | None:
    """How Babel writes amounts of `currency` in `locale`, read once from a sample, so formatting
    a table row costs microseconds instead of a pattern parse per cell. None when the shape does
    not give back what Babel writes for a few checks (a locale with rules of its own): those
    amounts go through Babel every time."""
    digits = get_currency_precision(currency)
    sample = Decimal("1234567.891234")
    positive = format_currency(sample, currency, locale=locale)
    negative = format_currency(-sample, currency, locale=locale)

    def split(text: str) -> tuple[str, str, str]:
        first = next(i for i, ch in enumerate(text) if ch.isdigit())
        last = max(i for i, ch in enumerate(text) if ch.isdigit())
        return text[:first], text[first:last + 1], text[last + 1:]

    prefix, body, suffix = split(positive)
    negative_prefix, _body, negative_suffix = split(negative)
    group = body[1] if not body[1].isdigit() else ""
    decimal_mark = body[-(digits + 1)] if digits else ""
    shape = prefix, suffix, negative_prefix, negative_suffix, group, decimal_mark, digits
    checks = (1, -5, 123456, -123456, 123456789, 10**12)
    if any(_shaped(cents, shape) != format_currency(Decimal(cents) / 100, currency, locale=locale) for cents in checks):
        return None
    return shape


def _shaped(cents: int, shape: tuple[str, str, str, str, str, str, int]) -> str:
    prefix, suffix, negative_prefix, negative_suffix, group, decimal_mark, digits = shape
    units, fraction = divmod(abs(int(cents)), 100)
    if not digits:  # JPY and the like: round the hundredths away as Babel would
        units, fraction = round(Decimal(abs(int(cents))) / 100), 0
    text = f"{units:,}".replace(",", group)
    if digits:
        text += decimal_mark + f"{fraction:02d}"[:digits].ljust(digits, "0")
    if cents < 0:
        return f"{negative_prefix}{text}{negative_suffix}"
    return f"{prefix}{text}{suffix}"


class AmountError(ValueError):
    """What a person typed is not an amount; the message says why, with what they typed."""


_SPACES = str.maketrans("", "", " \u00a0\u202f'")


def parse_amount(text: str) -> int:
    """What a person types in an amount field, as positive integer cents: "1234.56", "1234,56",
    "1 234,56", "1.234,56", "1,234.56", "€ 80". With both marks the last one is the decimal mark;
    a lone mark followed by exactly three digits ("1,234", "1.234") could be either and is refused
    rather than guessed."""
    typed = (text or "").strip()
    value = typed.translate(_SPACES).strip("€$£")
    if not value:
        raise AmountError(_("Enter an amount."))
    if value.startswith("-"):
        raise AmountError(_("%(value)s is negative: enter a positive amount.", value=repr(typed)))
    marks = [ch for ch in value if ch in ",."]
    if not value.replace(",", "").replace(".", "").isdigit():
        raise AmountError(_("%(value)s is not an amount like 1234.56.", value=repr(typed)))
    units, fraction = value, ""
    if marks:
        decimal_mark = marks[-1]
        if len(set(marks)) == 1 and len(marks) > 1:  # "1.234.567": thousands only
            decimal_mark = ""
        elif len(set(marks)) == 1 and len(value.rpartition(decimal_mark)[2]) == 3:
            raise AmountError(_("%(value)s could mean thousands or decimals: write it without the thousands mark "
                                "(1234) or with two decimals at most (1234.56).", value=repr(typed)))
        if decimal_mark:
            units, _mark, fraction = value.rpartition(decimal_mark)
        if len(fraction) > 2:
            raise AmountError(_("%(value)s has more than two decimals.", value=repr(typed)))
        groups = units.replace(",", ".").split(".")
        if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
            raise AmountError(_("%(value)s is not an amount like 1234.56.", value=repr(typed)))
        units = "".join(groups)
    if len(units) > 13:
        raise AmountError(_("%(value)s is too large.", value=repr(typed)))
    return int(units or "0") * 100 + int(fraction.ljust(2, "0") or "0")
