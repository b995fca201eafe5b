"""File names that Windows and macOS accept, for everything Relance writes or hands out
(exports, zip members, letters). Light on purpose: the web process imports it too."""
from __future__ import annotations

import re
import unicodedata
from datetime import date

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$",
             *(f"{port}{n}" for port in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³"))}
MAX_NAME_CHARS = 80    # a name inside a folder, before its extension
MAX_NAME_BYTES = 180   # UTF-8: file systems count bytes (255 at most); extraction paths add up


def safe_name(text: str, fallback: str = "file", max_chars: int = MAX_NAME_CHARS) -> str:
    """`text` as one path component that Windows and macOS accept: no <>:"/\\|?*, no control
    characters, no leading or trailing dots and spaces, not a reserved device name (CON, COM1…),
    at most `max_chars` characters and MAX_NAME_BYTES bytes. Never empty."""
    text = unicodedata.normalize("NFC", str(text or ""))
    text = " ".join(text.split())  # tabs, line breaks, runs of spaces: one space
    text = _FORBIDDEN.sub("_", text)
    text = text.strip(" .")
    text = text[:max_chars]
    while len(text.encode("utf-8")) > MAX_NAME_BYTES:
        text = text[:-1]
    text = text.rstrip(" .") or fallback
    if text.split(".")[0].rstrip(" ").upper() in _RESERVED:
        text = f"_{text}"
    return text


def file_stem(customer_name: str, day: date) -> str:
    """"<customer> <date>": the name of the .zip and of the Excel file inside it. The customer's
    name is shortened, never the date."""
    return f"{safe_name(customer_name, fallback='Customer', max_chars=100)} {day.isoformat()}"


class UniqueNames:
    """Hands out zip member paths, adding " (2)", " (3)"… when a path is taken. Paths compare
    case-folded and NFC-normalized, as on the case-insensitive file systems of Windows and macOS."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, folder: str, stem: str, extension: str) -> str:
        base = safe_name(stem)
        extension = "." + safe_name(extension.lstrip("."), fallback="bin", max_chars=10).lower()
        number = 1
        while True:
            name = base if number == 1 else f"{base} ({number})"
            path = f"{folder}/{name}{extension}" if folder else f"{name}{extension}"
            key = unicodedata.normalize("NFC", path).casefold()
            if key not in self._taken:
                self._taken.add(key)
                return path
            number += 1
