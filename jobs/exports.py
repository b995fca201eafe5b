"""Export jobs: build the file an export asked for (by kind), tell its owner, clean up expired ones
(bulk runs' reports too).

An export always ends in a final state (ready or failed), whatever happens during the build, and
its owner hears of it on the bell and by e-mail if they asked."""
from __future__ import annotations

import shutil

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from domain import clock, exports, notifications
from domain import settings as settings_rules
from domain.collection import cases
from domain.i18n import day as short_day
from domain.i18n import say
from domain.ledger import disputes, interest, promises, queries, schedules, statements
from domain.models import BulkRun, Customer, Export, User
from domain.reminders import notices
from extensions import db
from files.names import safe_name
from jobs.base import (absolute_url, customer_locale, enqueue_work, export_path, folder_of, job, log, mail_owner,
                       owner_locale, progress_recorder, queue_owner_email, see_through, write_aside)
from jobs.collection import build_collection_file, build_court_pack
from jobs.reminders import run_bulk


def enqueue_export(export_id: int) -> None:
    """Queue the export's build. Without Redis the export is failed with the reason (its Retry
    works once Redis is back) and BackgroundUnavailable is raised."""
    enqueue_work(Export, export_id, build_export, f"export-{export_id}", exports.mark_failed)


@job
def build_export(export_id: int) -> None:
    export = db.session.get(Export, export_id)
    if export is None:
        # Queued before bulk runs left the exports table (they kept their ids, which no export takes again).
        if db.session.get(BulkRun, export_id) is not None:
            run_bulk(export_id)
        return
    if export.is_final:
        return
    exports.mark_running(export)
    db.session.commit()
    # A build killed mid-way (worker killed) leaves its half-written file: one build per
    # export runs at a time (stable job id), so whatever is there now is stale.
    for stale in export_path(export).glob(".partial-*"):
        stale.unlink(missing_ok=True)
    see_through(export, _build, fail=exports.mark_failed, email=queue_export_email,
                stopped=say("The export stopped before it finished."))


def _build(export: Export) -> bool:
    # In the language of the user who asked for it; what goes to a customer speaks the customer's (files/).
    with force_locale(owner_locale(export)):
        filename = BUILDERS[export.kind](export)
    exports.mark_ready(export, filename)
    if export.expires_at is None:  # collection files set theirs when asked for; the rest expire alike
        export.expires_at = notifications.expires_at_of(export)
    return True


def build_balances_xlsx(export: Export) -> str:
    from files.xlsx import write_balances

    filters = queries.parse_filters(exports.params_of(export), tuple(queries.BALANCE_SORTS))
    day = clock.today()
    filename = safe_name(_("Who owes you what %(day)s", day=day.isoformat())) + ".xlsx"
    total = sum(t["count"] for t in queries.balances(db.session, filters).totals) or 1
    progress = progress_recorder(export, total)
    write_aside(export_path(export) / filename,
                lambda path: write_balances(path, queries.all_balances(db.session, filters),
                                            _("Who owes you what? on %(day)s", day=short_day(day)), progress,
                                            charges=interest.totals_by_customer(db.session)))
    return filename


def build_collection_xlsx(export: Export) -> str:
    """The Collection page's filtered view as a workbook."""
    from files.xlsx import write_collection

    filters = cases.parse_case_filters(exports.params_of(export))
    day = clock.today()
    filename = safe_name(_("Collection %(day)s", day=day.isoformat())) + ".xlsx"
    total = cases.count_collection_entries(db.session, filters, cap=10**9) or 1
    progress = progress_recorder(export, total)
    write_aside(export_path(export) / filename,
                lambda path: write_collection(path, cases.all_collection_entries(db.session, filters),
                                              _("Collection on %(day)s", day=short_day(day)), progress,
                                              claimed=notices.open_claims_by_entry(db.session, None)))
    return filename


def _list_workbook(export: Export, title: str, found: tuple[list, int], write) -> str:
    """A list page's filtered view (`found`: its rows and their count) as "<title> <day>.xlsx"."""
    day = clock.today()
    filename = safe_name(f"{title} {day.isoformat()}") + ".xlsx"
    rows, total = found
    progress = progress_recorder(export, total or 1)
    heading = _("%(title)s on %(day)s", title=title, day=short_day(day))
    write_aside(export_path(export) / filename, lambda path: write(path, rows, heading, progress))
    return filename


def build_disputes_xlsx(export: Export) -> str:
    """The Disputes page's filtered view as a workbook."""
    from files.xlsx import write_disputes

    filters = disputes.parse_filters(exports.params_of(export))
    return _list_workbook(export, _("Disputes"), disputes.dispute_rows(db.session, filters, limit=None), write_disputes)


def build_promises_xlsx(export: Export) -> str:
    """The Promises page's filtered view as a workbook."""
    from domain.money import parse_amount
    from files.xlsx import write_promises

    filters = promises.parse_filters(exports.params_of(export), parse_amount)
    return _list_workbook(export, _("Promises to pay"), promises.promise_rows(db.session, filters, limit=None),
                          write_promises)


def build_schedules_xlsx(export: Export) -> str:
    """The Schedules overview's filtered view as a workbook: one row per schedule, one per instalment."""
    from files.xlsx import write_schedules

    filters = schedules.parse_filters(exports.params_of(export))
    return _list_workbook(export, _("Payment schedules"), schedules.schedule_rows(db.session, filters, limit=None),
                          write_schedules)


def build_schedule_pdf(export: Export) -> str:
    """One payment schedule as the PDF the customer signs."""
    from domain.models import PaymentSchedule
    from files.schedule import write_schedule_pdf

    schedule = db.session.get(PaymentSchedule, int(exports.params_of(export)["schedule"]))
    if schedule is None:
        raise LookupError(say("This payment schedule no longer exists."))
    filename = safe_name(_("Payment schedule %(id)s %(account)s", id=schedule.id,
                             account=schedule.customer.account)) + ".pdf"
    write_aside(export_path(export) / filename,
                lambda path: write_schedule_pdf(path, schedule, settings_rules.company(db.session), clock.today()))
    return filename


def build_statement(export: Export) -> str:
    """A customer's statement of account for a period, as PDF or Excel (its kind)."""
    from datetime import date

    from files.statement import write_statement_pdf, write_statement_xlsx

    params = exports.params_of(export)
    customer = db.session.get(Customer, export.customer_id)
    if customer is None:
        raise LookupError(say("The customer of this statement no longer exists."))
    start, end = date.fromisoformat(params["start"]), date.fromisoformat(params["end"])
    with force_locale(customer_locale(customer.language)):  # its lines' words go to the customer
        found = statements.statement(db.session, customer, start, end, params["currency"])
    as_pdf, day = export.kind == "statement_pdf", clock.today()
    filename = safe_name(_("Statement %(account)s %(start)s %(end)s", account=customer.account,
                           start=start.isoformat(), end=end.isoformat())) + (".pdf" if as_pdf else ".xlsx")
    company = settings_rules.company(db.session)
    write_aside(export_path(export) / filename,
                lambda path: write_statement_pdf(path, found, company, day) if as_pdf
                else write_statement_xlsx(path, found, day))
    return filename


# What builds each kind of export: (export) → the file's name.
BUILDERS = {"balances_xlsx": build_balances_xlsx, "collection_xlsx": build_collection_xlsx,
            "disputes_xlsx": build_disputes_xlsx, "promises_xlsx": build_promises_xlsx,
            "schedules_xlsx": build_schedules_xlsx, "schedule_pdf": build_schedule_pdf,
            "collection_file": build_collection_file, "court_pack": build_court_pack, "statement_pdf": build_statement,
            "statement_xlsx": build_statement}


def queue_export_email(export: Export) -> None:
    queue_owner_email(send_export_email, export, f"export-email-{export.id}")


@job
def send_export_email(export_id: int, user_id: int) -> str:
    """E-mail the user that their export is ready (with the download link) or failed (with the
    reason). The file stays in Relance: the link stops working when the export expires."""
    app = current_app._get_current_object()
    export, user = db.session.get(Export, export_id), db.session.get(User, user_id)
    if export is None or user is None or not export.is_final:
        return "nothing to send"
    ready = export.status == "ready"
    with force_locale(owner_locale(export)):  # the language its requester read when asking
        body = render_template(
            "mail/export_ready.txt" if ready else "mail/export_failed.txt",
            export=export, user=user, label=notifications.export_label(export),
            expires_at=notifications.expires_at_of(export),
            download_url=absolute_url(app, "exports.download", export_id=export.id),
            exports_url=absolute_url(app, "exports.index"))
        subject = notifications.export_email_subject(export)
    return mail_owner(export, user, subject, body)


@job
def delete_expired_exports() -> int:
    """The daily clean-up: expired exports and bulk runs lose their files (the runs their reports)
    and stay listed as expired."""
    deleted = 0
    for work in [*notifications.expired(db.session, Export), *notifications.expired(db.session, BulkRun)]:
        try:
            shutil.rmtree(folder_of(work))
        except FileNotFoundError:
            pass
        except OSError:
            log.exception("%s %s: its expired file could not be deleted; tomorrow's run retries",
                          type(work).__name__, work.id)
            continue
        work.expires_at = notifications.expires_at_of(work)
        work.file_deleted = True
        deleted += 1
    db.session.commit()
    log.info("Expired exports and bulk run reports cleaned up: %s", deleted)
    return deleted
