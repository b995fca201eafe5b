"""Export jobs: build the file an export asked for (by kind), tell its owner, clean up expired ones.

An export always ends in a final state (ready, failed — or planned, for a bulk run waiting for
its confirmation), whatever happens during the build, and its owner hears of it on the bell and
by e-mail if they asked."""
from __future__ import annotations

import shutil

from flask import current_app, render_template

from domain import clock, exports, notifications
from domain import settings as settings_rules
from domain.collection import cases
from domain.ledger import queries
from domain.models import Export, User
from extensions import db
from files.names import safe_name
from jobs.base import (BackgroundUnavailable, absolute_url, background, export_path, job, log, progress_recorder, queue,
                       sender_address, write_aside)
from jobs.collection import build_collection_file
from jobs.reminders import BulkRefused, build_bulk_dunning
from mail import smtp as mailer


def enqueue_export(export_id: int) -> None:
    """Queue the export's build. Without Redis the export is failed with the reason (its Retry
    works once Redis is back) and BackgroundUnavailable is raised."""
    try:
        with background():
            # A stable job id: the same export is never queued twice.
            queue().enqueue(build_export, export_id, job_id=f"export-{export_id}", job_timeout=1800,
                            result_ttl=3600, failure_ttl=86400)
    except BackgroundUnavailable as error:
        db.session.rollback()
        export = db.session.get(Export, export_id)
        if export is not None and export.status == "queued":
            exports.mark_failed(export, str(error))
            db.session.commit()
        raise


@job
def build_export(export_id: int) -> None:
    export = db.session.get(Export, export_id)
    if export is None or export.is_final or export.status == "planned":
        return
    exports.mark_running(export)
    db.session.commit()
    # A build killed mid-way (worker killed) leaves its half-written file: one build per
    # export runs at a time (stable job id), so whatever is there now is stale.
    for stale in export_path(export).glob(".partial-*"):
        stale.unlink(missing_ok=True)
    by_email = False
    try:
        filename = BUILDERS[export.kind](export)
        if filename is None:  # a bulk run's plan, waiting for the user's confirmation
            db.session.commit()
            return
        exports.mark_ready(export, filename)
        if export.expires_at is None:  # collection files set theirs when asked for; the rest expire alike
            export.expires_at = notifications.expires_at_of(export)
        by_email = notify_owner(export)  # same commit: the bell never lags the status
        db.session.commit()
    except Exception as error:  # the record must say why, whatever happened
        db.session.rollback()
        export = db.session.get(Export, export_id)
        exports.mark_failed(export, str(error) if isinstance(error, BulkRefused) else f"{type(error).__name__}: {error}")
        by_email = notify_owner(export)
        db.session.commit()
        raise
    finally:
        export = db.session.get(Export, export_id)
        if export is not None and not export.is_final and export.status != "planned":
            exports.mark_failed(export, "The export stopped before it finished.")
            by_email = notify_owner(export)
            db.session.commit()
        if by_email:
            queue_export_email(export)


def build_balances_xlsx(export: Export) -> str:
    from files.xlsx import write_balances

    filters = queries.parse_filters(exports.params_of(export), tuple(queries.BALANCE_SORTS))
    day = clock.today()
    filename = safe_name(f"Who owes you what {day.isoformat()}") + ".xlsx"
    total = sum(t["count"] for t in queries.balances(db.session, filters).totals) or 1
    progress = progress_recorder(export.id, total)
    write_aside(export_path(export) / filename,
                lambda path: write_balances(path, queries.all_balances(db.session, filters),
                                            f"Who owes you what? on {day.isoformat()}", progress))
    return filename


def build_collection_xlsx(export: Export) -> str:
    """The Collection page's filtered view as a workbook."""
    from files.xlsx import write_collection

    filters = cases.parse_case_filters(exports.params_of(export))
    day = clock.today()
    filename = safe_name(f"Collection {day.isoformat()}") + ".xlsx"
    total = cases.count_collection_entries(db.session, filters, cap=10**9) or 1
    progress = progress_recorder(export.id, total)
    write_aside(export_path(export) / filename,
                lambda path: write_collection(path, cases.all_collection_entries(db.session, filters),
                                              f"Collection on {day.isoformat()}", progress))
    return filename


# What builds each kind of export: (export) → the file's name, or None for a plan to confirm.
BUILDERS = {"balances_xlsx": build_balances_xlsx, "collection_xlsx": build_collection_xlsx,
            "collection_file": build_collection_file, "bulk_dunning": build_bulk_dunning}


def notify_owner(export: Export) -> bool:
    """The export is final: the bell entry (in the caller's transaction), and whether its owner
    also wants an e-mail. A problem here is logged and never changes the export's own outcome."""
    try:
        with db.session.begin_nested():
            return notifications.export_finished(db.session, export)
    except Exception:
        log.exception("Export %s: its owner could not be notified", export.id)
        return False


def queue_export_email(export: Export) -> None:
    try:
        queue().enqueue(send_export_email, export.id, export.user_id, job_id=f"export-email-{export.id}",
                        job_timeout=300, result_ttl=3600, failure_ttl=86400)
    except Exception:
        log.exception("Export %s: the e-mail to its owner could not be queued", export.id)


@job
def send_export_email(export_id: int, user_id: int) -> str:
    """E-mail the user that their export is ready (with the download link) or failed (with the
    reason). The file stays in Relance: the link stops working when the export expires."""
    app = current_app._get_current_object()
    export, user = db.session.get(Export, export_id), db.session.get(User, user_id)
    if export is None or user is None or not export.is_final:
        return "nothing to send"
    ready = export.status == "ready"
    body = render_template(
        "mail/export_ready.txt" if ready else "mail/export_failed.txt",
        export=export, user=user, label=notifications.export_label(export),
        expires_at=notifications.expires_at_of(export),
        download_url=absolute_url(app, "exports.download", export_id=export.id),
        exports_url=absolute_url(app, "exports.index"))
    try:
        message = mailer.build_message(sender=sender_address(settings_rules.company(db.session)), to=user.email,
                                       subject=notifications.export_email_subject(export), body=body)
        mailer.send(app.config.get("SMTP_URL"), message)
    except mailer.MailError as error:
        log.warning("Export %s was not e-mailed to %s: %s", export.id, user.email, error)
        notifications.email_failed(db.session, export, str(error))
        db.session.commit()
        return f"not sent: {error}"
    log.info("Export %s e-mailed to %s", export.id, user.email)
    return "sent"


@job
def delete_expired_exports() -> int:
    """The daily clean-up: expired exports lose their files and stay listed as expired."""
    deleted = 0
    for export in notifications.expired_exports(db.session):
        try:
            shutil.rmtree(export_path(export))
        except FileNotFoundError:
            pass
        except OSError:
            log.exception("Export %s: its expired file could not be deleted; tomorrow's run retries", export.id)
            continue
        export.expires_at = notifications.expires_at_of(export)
        export.file_deleted = True
        deleted += 1
    db.session.commit()
    log.info("Expired exports cleaned up: %s", deleted)
    return deleted
