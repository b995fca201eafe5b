"""Ledger jobs: the daily move of open amounts between aging buckets."""
from __future__ import annotations

from domain.ledger import summaries
from extensions import db
from jobs.base import job


@job
def rebucket_summaries() -> None:
    """The daily run: amounts move between aging buckets as days pass."""
    summaries.rebucket_all(db.session)
    db.session.commit()
