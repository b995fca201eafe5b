"""RQ job functions. They take ids, open their own app context, call the domain and the
document builders, and always leave their record in a final state."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from flask import Flask, current_app
from redis import Redis
from sqlalchemy import update
from rq import Queue

from domain import clock, exports, ledger, queries
from domain.models import Export

QUEUE_NAME = "relance"
_app: Flask | None = None


def use_app(app: Flask) -> None:
    """The worker hands its app over once, before it forks."""
    global _app
    _app = app


def _job_app() -> Flask:
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def redis_connection(app: Flask | None = None) -> Redis:
    app = app or current_app
    url = app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("No Redis configured: set RELANCE_REDIS_URL or start Relance with `make run`.")
    return Redis.from_url(url)


def queue(app: Flask | None = None) -> Queue:
    return Queue(QUEUE_NAME, connection=redis_connection(app))


def enqueue_export(export_id: int) -> None:
    # A stable job id: the same export is never queued twice.
    queue().enqueue(build_export, export_id, job_id=f"export-{export_id}", job_timeout=1800,
                    result_ttl=3600, failure_ttl=86400)


def safe_filename(text: str) -> str:
    """A file name that is safe on Windows and macOS."""
    cleaned = re.sub(r'[<>:"/\\|?*\x00-\x1f]+', "_", text).strip(" ._")
    return cleaned[:120] or "export"


def build_export(export_id: int) -> None:
    app = _job_app()
    with app.app_context():
        from extensions import db

        db.engine.dispose(close=False)  # never share a connection pooled before the fork
        export = db.session.get(Export, export_id)
        if export is None or export.is_final:
            return
        exports.mark_running(export)
        db.session.commit()
        try:
            filename = _BUILDERS[export.kind](db, export)
            exports.mark_ready(export, filename)
            db.session.commit()
        except Exception as error:  # the record must say why, whatever happened
            db.session.rollback()
            export = db.session.get(Export, export_id)
            exports.mark_failed(export, f"{type(error).__name__}: {error}")
            db.session.commit()
            raise
        finally:
            export = db.session.get(Export, export_id)
            if export is not None and not export.is_final:
                exports.mark_failed(export, "The export stopped before it finished.")
                db.session.commit()
            db.session.remove()


def export_path(export: Export) -> Path:
    return Path(current_app.config["EXPORT_DIR"]) / str(export.id)


def _write_aside(target: Path, write) -> None:
    """Write into a temporary file beside `target`, then rename: a half-written file is never served."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".partial-", suffix=target.suffix)
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _build_balances_xlsx(db, export: Export) -> str:
    from documents.xlsx import write_balances

    filters = queries.parse_filters(exports.params_of(export), tuple(queries.BALANCE_SORTS))
    day = clock.today()
    filename = safe_filename(f"Who owes you what {day.isoformat()}") + ".xlsx"
    total = sum(t["count"] for t in queries.balances(db.session, filters).totals) or 1

    def progress(done: int) -> None:
        # Its own short transaction: the rows are still streaming on the session's connection.
        with db.engine.begin() as connection:
            connection.execute(update(Export).where(Export.id == export.id)
                               .values(progress=min(99, int(done * 100 / total))))

    _write_aside(export_path(export) / filename,
                 lambda path: write_balances(path, queries.all_balances(db.session, filters),
                                             f"Who owes you what? on {day.isoformat()}", progress))
    return filename


_BUILDERS = {"balances_xlsx": _build_balances_xlsx}


def rebucket_summaries() -> None:
    """The daily run: amounts move between aging buckets as days pass."""
    app = _job_app()
    with app.app_context():
        from extensions import db

        db.engine.dispose(close=False)
        ledger.rebucket_all(db.session)
        db.session.commit()
        db.session.remove()

