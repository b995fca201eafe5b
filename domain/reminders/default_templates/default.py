"""The shape of a shipped template: what en.py, fr.py and the package share."""
from __future__ import annotations

from typing import NamedTuple


class Default(NamedTuple):
    subject: str
    body: str


PREVENTION = 0  # the level of the message sent before the due date
