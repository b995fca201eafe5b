"""The catalogues are complete: every string the code marks for gettext has a translation in every
language, none fuzzy, with the same placeholders, and the compiled .mo (make translations) says the same."""
from __future__ import annotations

import re
from configparser import RawConfigParser
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = sorted(p.name for p in (ROOT / "translations").iterdir() if (p / "LC_MESSAGES" / "messages.po").exists())
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3),
            "_l": None, "lazy_gettext": None, "lazy_pgettext": ((1, "c"), 2), "N_": None,
            "say": None, "nsay": (1, 2), "psay": ((1, "c"), 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


def _searched(folder: str) -> bool:
    """As `make messages` (--ignore-dirs): every folder but hidden ones and node_modules — blueprints/_web included."""
    name = Path(folder).name
    return not name.startswith(".") and name not in ("node_modules", "instance")


@cache
def marked() -> dict[tuple[str, str | None], str]:
    """Every message the code marks, as `make messages` extracts it (babel.cfg), with one place it is."""
    config = RawConfigParser()
    config.read(ROOT / "babel.cfg")
    method_map, options_map = [], {}
    for section in config.sections():
        method, pattern = (part.strip() for part in section.split(":", 1))
        method_map.append((pattern, method))
        options_map[pattern] = dict(config.items(section))
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, directory_filter=_searched):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault((msgid, context), f"{filename}:{lineno}")
    return found


def test_there_is_a_french_catalogue():
    assert "fr" in LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_string_is_translated(language):
    with open(ROOT / "translations" / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalogue = read_po(f, locale=language)
    missing, fuzzy, untranslated, placeholders = [], [], [], []
    for (msgid, context), where in sorted(marked().items(), key=lambda item: (item[0][0], item[0][1] or "")):
        message = catalogue.get(msgid, context=context)
        if message is None:
            missing.append(f"{where}: {msgid!r}")
            continue
        if message.fuzzy:
            fuzzy.append(f"{where}: {msgid!r}")
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if not all(strings):
            untranslated.append(f"{where}: {msgid!r}")
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        if any(set(PLACEHOLDER.findall(s)) - wanted for s in strings):
            placeholders.append(f"{where}: {msgid!r} → {strings}")
    assert not missing, f"not in the {language} catalogue (run `make messages`):\n" + "\n".join(missing)
    assert not fuzzy, f"fuzzy in the {language} catalogue:\n" + "\n".join(fuzzy)
    assert not untranslated, f"untranslated in the {language} catalogue:\n" + "\n".join(untranslated)
    assert not placeholders, "a translation names a placeholder the English does not:\n" + "\n".join(placeholders)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_the_current_one(language):
    folder = ROOT / "translations" / language / "LC_MESSAGES"
    assert (folder / "messages.mo").exists(), "run `make translations`"
    with open(folder / "messages.po", "rb") as f:
        catalogue = read_po(f, locale=language)
    compiled = Translations.load(str(ROOT / "translations"), [language])
    stale = [m.id for m in catalogue if m.id and isinstance(m.id, str) and m.string and not m.context
             and compiled.gettext(m.id) != m.string]
    assert not stale, f"messages.mo is older than messages.po (run `make translations`): {stale[:5]}"
