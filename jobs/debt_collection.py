"""The daily move from reminder to debt collection (domain.debt_collection): expired formal notices
listed, automatic transfers made, old claims closed; the collection files it asked for queued."""
from __future__ import annotations

from datetime import date

from domain import debt_collection
from extensions import db
from jobs.base import job, log
from jobs.exports import enqueue_export


@job
def daily_debt_collection(day: str | None = None) -> str:
    report = debt_collection.run(db.session, date.fromisoformat(day) if day else None)
    db.session.commit()
    for export_id in report.exports:
        enqueue_export(export_id)
    summary = (f"{len(report.listed)} claims listed, {len(report.transferred)} transferred "
               f"({len(report.exports)} collection files), {len(report.closed)} closed")
    log.info("Debt collection: %s", summary)
    return summary
