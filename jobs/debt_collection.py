"""The daily move from reminder to debt collection (domain.debt_collection): expired formal notices
listed, automatic transfers made, old claims closed; the collection files it asked for queued. Then
every customer's late-payment interest and indemnities to date (domain.ledger.interest.accrue), and
the daily look at the monitoring points (domain.monitoring), once the lists have moved, before the
morning digest that names what entered a point. One job, not three: the daily chain stays short."""
from __future__ import annotations

from datetime import date

from domain import debt_collection, monitoring
from domain.ledger import interest
from extensions import db
from jobs.base import job, log
from jobs.exports import enqueue_export


@job
def daily_debt_collection(day: str | None = None) -> str:
    today = date.fromisoformat(day) if day else None
    report = debt_collection.run(db.session, today)
    db.session.commit()
    for export_id in report.exports:
        enqueue_export(export_id)
    counted = interest.accrue(db.session, today)
    db.session.commit()
    with_new = monitoring.refresh(db.session, today)
    db.session.commit()
    summary = (f"{len(report.listed)} claims listed, {len(report.transferred)} transferred "
               f"({len(report.exports)} collection files), {len(report.closed)} closed; late-payment charges "
               f"of {counted} overdue invoices; {len(with_new)} monitoring points with new items")
    log.info("Debt collection: %s", summary)
    return summary
