"""Words a person reads, written by the domain: marked for gettext, translated into the language of
whoever reads them.

The domain knows no web: the app hands it the function that finds the current translations
(`use(flask_babel.get_translations)`), which answers in the user's language during a request, in the
language a job forces (a customer's, an export's requester's) in the worker, and in English (the
source language of the catalogues) anywhere else — a test of the domain alone, a script.

    from domain.i18n import _, lazy_gettext as _l, ngettext

    raise EntryError(_("Entry %(number)s is cancelled.", number=entry.number))   # at call time
    KIND_LABELS = {"invoice": _l("Invoice")}                                     # at module level: lazy

Placeholders are %(name)s, as in the templates (Jinja's gettext): a literal % is written %%
when the message has placeholders.
"""
from __future__ import annotations

import json
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from decimal import Decimal
from gettext import NullTranslations
from typing import Callable, ContextManager, NamedTuple

from babel.support import LazyProxy

_NULL = NullTranslations()
_translations: Callable[[], NullTranslations] = lambda: _NULL
_force: Callable[[str], ContextManager] = lambda locale: nullcontext()
_locale: Callable[[], str | None] = lambda: None


def use(translations: Callable[[], NullTranslations], force: Callable[[str], ContextManager] | None = None,
        locale: Callable[[], str | None] | None = None) -> None:
    """Set where the current translations come from (the app: Flask-Babel's get_translations), how
    to speak another language for a while (Flask-Babel's force_locale) and the current locale."""
    global _translations, _force, _locale
    _translations = translations
    if force is not None:
        _force = force
    if locale is not None:
        _locale = locale


def current_locale(default: str = "en_GB") -> str:
    """The locale the reader's numbers, money and dates are written in (outside the app: `default`)."""
    return _locale() or default


def day(value) -> str:
    """A date in a message, in the reader's short date style (Babel): 15/06/2026, 6/15/26…"""
    from babel.dates import format_date

    return format_date(value, "short", locale=current_locale())


def number(value) -> str:
    """A count in a message, grouped the reader's way: 100,000 / 100 000."""
    from babel.numbers import format_decimal

    return format_decimal(value, locale=current_locale())


@contextmanager
def speaking(locale: str):
    """Words written inside are in this locale's language: what goes to a customer speaks the
    customer's language, whoever is logged in."""
    with _force(locale):
        yield


def gettext(message: str, **variables) -> str:
    text = _translations().gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    variables.setdefault("num", n)
    return _translations().ngettext(singular, plural, n) % variables


def pgettext(context: str, message: str, **variables) -> str:
    """A word whose translation depends on where it stands ("Open" a case vs "Open" an amount)."""
    text = _translations().pgettext(context, message)
    return text % variables if variables else text


def lazy_gettext(message: str, **variables) -> LazyProxy:
    """For module-level labels: translated each time it is shown, in the reader's language."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


def lazy_pgettext(context: str, message: str, **variables) -> LazyProxy:
    return LazyProxy(pgettext, context, message, enable_cache=False, **variables)


_ = gettext


# The locale that formats numbers, money and dates for each interface language, unless the instance's
# RELANCE_LOCALE speaks that language (en_US, fr_BE…): then that one.
FORMAT_LOCALES = {"en": "en_GB", "fr": "fr_FR"}


def language_of(locale: str | None) -> str:
    """"fr_FR", "fr-BE", "FR" → "fr"; anything unknown → "en" (the catalogues' source language)."""
    language = (locale or "en").replace("-", "_").split("_")[0].lower()
    return language if language in FORMAT_LOCALES else "en"


def locale_for(language: str | None, default_locale: str) -> str:
    """The Babel locale for an interface language (None: the instance's default locale)."""
    if not language:
        return default_locale
    language = language_of(language)
    return default_locale if language_of(default_locale) == language else FORMAT_LOCALES[language]


# --- Sentences stored now, read later -------------------------------------------------------------
# A history line, a notification, a send's last error are written once and read for years by people
# who speak different languages. They are stored as a Said — the English message id and its values —
# beside their English text (for the command line, search and rows written before this), and each
# reader gets them in their own language: words through the catalogue, amounts and dates in their locale.
#
#     audit.record(session, actor, "entry.added", say("Entry %(number)s added: %(amount)s due %(due)s.",
#                  number=entry.number, amount=Money(entry.amount_cents, entry.currency), due=entry.due_on))
#
# A value may be a str or int (written as given: names, numbers, what a person typed), a date (the
# reader's short date; a datetime, with its time), Money, Number (a count, grouped), a Decimal (a rate: 12.15 / 12,15), a lazy label (translated: pass STATUS_LABELS[status] itself, not its
# str), another Said, or a list of those (joined by `joined`'s separator).

class Money(NamedTuple):
    cents: int
    currency: str = "EUR"


class Number(NamedTuple):
    """A count or quantity written with the reader's grouping (100,000 / 100 000); a bare int is an id."""
    value: int


class Joined(NamedTuple):
    parts: list
    separator: str = "; "


class Said:
    """A sentence kept as its message id and values, rendered in the reader's language by str()."""

    __slots__ = ("msgid", "plural", "n", "context", "values")

    def __init__(self, msgid: str, values: dict, plural: str | None = None, n: int | None = None,
                 context: str | None = None):
        self.msgid, self.values, self.plural, self.n, self.context = msgid, values, plural, n, context

    def __str__(self) -> str:
        translations = _translations()
        if self.plural is not None:
            text = translations.ngettext(self.msgid, self.plural, self.n)
        elif self.context is not None:
            text = translations.pgettext(self.context, self.msgid)
        else:
            text = translations.gettext(self.msgid)
        values = {name: _shown(value) for name, value in self.values.items()}
        if self.plural is not None:
            values.setdefault("num", self.n)
        return text % values if values or "%(" in text else text  # a value gone missing raises: `shown` falls back

    def __repr__(self) -> str:
        return f"Said({self.msgid!r}, {self.values!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Said) and self.dumps() == other.dumps()

    def __add__(self, other: str | Said) -> Said:
        return Said("%(first)s%(second)s", {"first": self, "second": other})

    def english(self) -> str:
        with speaking("en_GB"):
            return str(self)

    def dumps(self) -> str:
        return json.dumps(_packed(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def loads(cls, stored: str) -> Said:
        return _unpacked(json.loads(stored))


def say(msgid: str, **values) -> Said:
    """Marked for gettext like `_`, translated only when read."""
    return Said(msgid, values)


def nsay(singular: str, plural: str, n: int, **values) -> Said:
    return Said(singular, values, plural=plural, n=n)


def psay(context: str, msgid: str, **values) -> Said:
    return Said(msgid, values, context=context)


def said(value) -> Said | None:
    """A Said for what a record keeps: a Said as is, a lazy label as its message id, an exception by its
    message; None for a plain string (kept as written: a person's words, a mail server's answer)."""
    if isinstance(value, BaseException):
        text = getattr(value, "text", None)  # a lower layer's sentence (mail.smtp's MailText): msgid + values
        if hasattr(text, "msgid") and hasattr(text, "values"):
            return Said(text.msgid, dict(text.values))
        value = value.args[0] if len(value.args) == 1 else str(value)
    if isinstance(value, Said):
        return value
    if isinstance(value, LazyProxy):
        return _said_of_lazy(value)
    return None


def kept(value) -> tuple[str, str | None]:
    """(the English text, the stored Said or None) of what a record keeps."""
    sentence = said(value)
    if sentence is None:
        return str(value.args[0] if isinstance(value, BaseException) and len(value.args) == 1 else value), None
    return sentence.english(), sentence.dumps()


# A kept text never changes once written, so what it reads in a locale is the same every time: a page of
# history reads each line once per process and language instead of parsing and formatting it again.
_SHOWN: dict[tuple[str, str], str] = {}
_SHOWN_SIZE = 20_000


def shown(text: str | None, stored: str | None) -> str | None:
    """What a reader sees of a kept text: the Said in their language when there is one, else the text as
    written (rows from before, or a text that was never a sentence of Relance's)."""
    if stored:
        key = (stored, current_locale())
        found = _SHOWN.get(key)
        if found is not None:
            return found
        try:
            found = str(Said.loads(stored))
        except (ValueError, KeyError, TypeError):  # a catalogue placeholder gone wrong never hides the line
            return text
        if len(stored) <= 2000:  # a long text (a mail server's whole answer…) is read again, not kept
            if len(_SHOWN) >= _SHOWN_SIZE:
                _SHOWN.clear()
            _SHOWN[key] = found
        return found
    return text


def as_kept(text: str | None, stored: str | None) -> Said | str | None:
    """A kept text as a value for another Said: its Said when there is one (so the outer sentence reads it
    in its reader's language), else the text as written."""
    if stored:
        try:
            return Said.loads(stored)
        except (ValueError, KeyError, TypeError):
            pass
    return text


class KeptText:
    """A model attribute that reads and writes a text column with its `<column>_i18n` twin:
    `event.shown_detail = say(…)` stores both; reading it gives the reader's language."""

    def __init__(self, column: str):
        self.column, self.twin = column, column + "_i18n"

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        text = getattr(obj, self.column)
        if text is None:  # cleared (a send that went after an error): its old sentence is not shown
            return None
        return shown(text, getattr(obj, self.twin))

    def __set__(self, obj, value) -> None:
        text, stored = kept(value) if value is not None else (None, None)
        setattr(obj, self.column, text)
        setattr(obj, self.twin, stored)


def _said_of_lazy(proxy: LazyProxy) -> Said:
    function, args = proxy._func, proxy._args
    kwargs = dict(getattr(proxy, "_kwargs", {}) or {})
    if function is pgettext:
        return Said(args[1], kwargs, context=args[0])
    if function is gettext:
        return Said(args[0], kwargs)
    return Said("%(text)s", {"text": str(proxy)})  # not one of ours: kept as it reads now


def _shown(value) -> str | int:
    from babel.numbers import format_decimal

    if isinstance(value, int) and not isinstance(value, bool):
        return value  # an id or a count as given: %(id)s and %(id)d both take it
    if isinstance(value, (Said, LazyProxy)):
        return str(value)
    if isinstance(value, Money):  # as domain.money writes it (that module is above this one)
        from babel.numbers import format_currency

        return format_currency(Decimal(int(value.cents)).scaleb(-2), value.currency, locale=current_locale())
    if isinstance(value, Joined):
        return value.separator.join(_shown(part) for part in value.parts)
    if isinstance(value, datetime):  # a moment: the reader's short date and time
        from babel.dates import format_datetime

        return format_datetime(value, "short", locale=current_locale())
    if isinstance(value, date):
        return day(value)
    if isinstance(value, Number):
        return format_decimal(value.value, locale=current_locale())
    if isinstance(value, Decimal):  # a rate, a quantity: its own decimals, the reader's decimal mark
        return format_decimal(value, format="#,##0." + "0" * max(0, -value.as_tuple().exponent) if
                              value.as_tuple().exponent < 0 else "#,##0", locale=current_locale())
    return str(value)


def _packed(value):
    if isinstance(value, Said):
        packed = {"m": value.msgid}
        if value.values:
            packed["v"] = {name: _packed(part) for name, part in value.values.items()}
        if value.plural is not None:
            packed["p"], packed["n"] = value.plural, value.n
        if value.context is not None:
            packed["c"] = value.context
        return {"said": packed}
    if isinstance(value, LazyProxy):
        return _packed(_said_of_lazy(value))
    if isinstance(value, Money):
        return {"money": [value.cents, value.currency]}
    if isinstance(value, Number):
        return {"number": value.value}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, Joined):
        return {"joined": [[_packed(part) for part in value.parts], value.separator]}
    if isinstance(value, datetime):
        return {"moment": value.isoformat(timespec="minutes")}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return value
    return str(value)


def _unpacked(value):
    if isinstance(value, dict):
        if "said" in value:
            packed = value["said"]
            return Said(packed["m"], {name: _unpacked(part) for name, part in packed.get("v", {}).items()},
                        plural=packed.get("p"), n=packed.get("n"), context=packed.get("c"))
        if "money" in value:
            return Money(*value["money"])
        if "number" in value:
            return Number(value["number"])
        if "decimal" in value:
            return Decimal(value["decimal"])
        if "joined" in value:
            parts, separator = value["joined"]
            return Joined([_unpacked(part) for part in parts], separator)
        if "date" in value:
            return date.fromisoformat(value["date"])
        if "moment" in value:
            return datetime.fromisoformat(value["moment"])
    return value
