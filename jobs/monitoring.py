"""The daily look at every monitoring point (domain.monitoring), after the debt-collection run and
before the morning digest, which names the points with new items."""
from __future__ import annotations

from datetime import date

from domain import monitoring
from extensions import db
from jobs.base import job, log


@job
def refresh_monitoring_points(day: str | None = None) -> str:
    with_new = monitoring.refresh(db.session, date.fromisoformat(day) if day else None)
    db.session.commit()
    summary = f"{len(with_new)} monitoring points with new items"
    log.info("Monitoring: %s", summary)
    return summary
