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

from contextlib import contextmanager, nullcontext
from gettext import NullTranslations
from typing import Callable, ContextManager

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
