"""Reminder jobs: the bulk run (plan, then send once confirmed), the outbox (one job per message
and attempt, retries), and the daily follow-up run of the plans.

The domain decides what to send; these jobs hand it what it does not know: how a queued e-mail
reaches the worker (enqueue_outbox_message), how a letter becomes a PDF (files/letter.py), and
the mail server."""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Callable

from flask import Flask, current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from domain import clock, notifications
from domain import settings as settings_rules
from domain.i18n import Said, said, say
from domain.models import BulkRun, FormalNotice, OutboxMessage, PaymentSchedule, User
from domain.reminders import bulk, follow_up, outbox, templates
from domain.settings import company as saved_company
from extensions import db
from files.letter import write_letter
from files.names import safe_name
from files.notice import notice_title, write_notice_pdf
from files.reports import write_dunning_report
from files.schedule import schedule_title, write_schedule_pdf
from jobs.base import (absolute_url, background, enqueue_work, job, log, mail_owner, owner_locale, progress_recorder,
                       queue, queue_owner_email, rendering_heap, run_path, see_through, write_aside)
from mail import smtp as mailer

follow_up_log = logging.getLogger("relance.follow_up")


# --- Bulk reminders -----------------------------------------------------------------------------


def bulk_letter_maker(attachment_dir: str | Path, aside: Path, company):
    """make_letter(customer, entries, content, name) → (storage_name, filename) for bulk dunning:
    the reminder letter PDF (files.letter.write_letter, as the ✉️ button makes it), written in
    the folder `aside` and renamed to letters/<name>.pdf, so a half-written letter is never attached
    and a retried job replaces the letter it had written instead of adding one."""
    def make(customer, entries, content, name: str) -> tuple[str, str]:
        written, filename = write_letter(
            aside, company, customer, entries, content,
            f"{templates.level_name(content.level)} {customer.name} {content.day.isoformat()}")
        storage_name = f"letters/{safe_name(name, fallback='letter')}.pdf"
        os.replace(aside / written, Path(attachment_dir) / storage_name)
        return storage_name, filename

    return make


class BulkRefused(Exception):
    """The whole bulk run cannot send anything (no sender address, no mail server): said once."""


def enqueue_run(run_id: int) -> None:
    """Queue the run's job (its plan, or its sending once confirmed). Without Redis the run is
    failed with the reason (its Retry works once Redis is back) and BackgroundUnavailable is raised."""
    enqueue_work(BulkRun, run_id, run_bulk, f"bulk-run-{run_id}", bulk.mark_failed)


@job
def run_bulk(run_id: int) -> None:
    """Bulk reminders (domain/reminders/bulk.py). Unconfirmed: the plan for the user to confirm
    (status "planned"). Confirmed: one reminder e-mail per planned customer (with the reminder
    letter as a PDF when the run asks for it), queued in the outbox and sent at once by this job,
    and the CSV report. The run always ends done, failed or planned; its owner hears of the end."""
    run = db.session.get(BulkRun, run_id)
    if run is None or run.is_final or run.status == "planned":
        return
    bulk.mark_running(run)
    db.session.commit()
    for stale in run_path(run).glob(".partial-*"):  # a report a killed attempt left half-written
        stale.unlink(missing_ok=True)
    see_through(run, _plan_or_send, fail=bulk.mark_failed, email=queue_run_email, resting=("planned",),
                expected=(BulkRefused,), stopped=say("The run stopped before it finished."))


def _plan_or_send(run: BulkRun) -> bool:
    actor = db.session.get(User, run.user_id)
    if actor is None:
        raise LookupError(say("The user who asked for these reminders no longer exists."))
    mail_server = bool(current_app.config.get("SMTP_URL"))
    if not bulk.is_confirmed(run):
        run.result = json.dumps(bulk.plan(db.session, run, actor, today=clock.today(), mail_server=mail_server))
        run.status, run.progress = "planned", 100
        return False
    problem = bulk.setup_problem(settings_rules.company(db.session), mail_server)
    if problem:
        raise BulkRefused(problem)
    day, run_id = clock.today(), run.id
    attachment_dir = current_app.config["ATTACHMENT_DIR"]
    make_letter = aside = None
    if bulk.wants_letter(run):
        letters = Path(attachment_dir) / "letters"
        # Letters a killed attempt of this run left half-written: one attempt per run at a time.
        for stale in letters.glob(f".partial-bulk-{run_id}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        letters.mkdir(parents=True, exist_ok=True)
        aside = Path(tempfile.mkdtemp(dir=letters, prefix=f".partial-bulk-{run_id}-"))
        make_letter = bulk_letter_maker(attachment_dir, aside, settings_rules.company(db.session))

    sender = _BulkSender(current_app.config.get("SMTP_URL"))
    # The run commits twice per customer; what it only reads (the user, the run, the company,
    # the customer) need not be read again after each commit. The outbox reads the entries it
    # raises afresh (outbox.loaded).
    expire_on_commit, db.session().expire_on_commit = db.session().expire_on_commit, False

    progress = progress_recorder(run, every=1)  # at most once a second: each write is a commit

    try:
        with rendering_heap():
            report = bulk.run_bulk_dunning(db.session, run, actor, today=day, attachment_dir=attachment_dir,
                                           deliver=sender.deliver, progress=progress, make_letter=make_letter)
    except BaseException:
        db.session.rollback()  # what the next customer had in progress: neither committed nor sent
        raise
    finally:
        sender.close()  # the message in flight gets its outcome written, whatever happened
        db.session().expire_on_commit = expire_on_commit
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    with force_locale(owner_locale(run)):  # the report is its owner's
        for account, why in sender.failures.items():
            report.not_delivered(account, str(why))
        filename = safe_name(_("Bulk reminders %(day)s", day=day.isoformat())) + ".csv"
        write_aside(run_path(run) / filename, lambda path: write_dunning_report(path, report))
    bulk.mark_done(run, filename, report)
    run.expires_at = notifications.expires_at_of(run)
    return True


def queue_run_email(run: BulkRun) -> None:
    queue_owner_email(send_run_email, run, f"bulk-run-email-{run.id}")


@job
def send_run_email(run_id: int, user_id: int) -> str:
    """E-mail the user that their bulk reminders were sent (the counts, the report's link) or
    failed (the reason)."""
    app = current_app._get_current_object()
    run, user = db.session.get(BulkRun, run_id), db.session.get(User, user_id)
    if run is None or user is None or not run.is_final:
        return "nothing to send"
    with force_locale(owner_locale(run)):  # the language its requester read when asking
        body = render_template("mail/bulk_run.txt", run=run, user=user,
                               outcome=bulk.plan_of(run).get("outcome") or {}, queued=bulk.queued_count(db.session, run),
                               report_url=absolute_url(app, "reminders.bulk_report", run_id=run.id),
                               runs_url=absolute_url(app, "reminders.bulk_runs"),
                               deliveries_url=absolute_url(app, "reminders.deliveries"))
        subject = notifications.run_text(run)
    return mail_owner(run, user, subject, body)


class _BulkSender:
    """The bulk run's deliveries. Each message is marked "sending" in the commit that queues it,
    then handed to a thread that talks to the mail server while the job prepares the next
    customer (WeasyPrint keeps the CPU busy meanwhile): a fork and a job per message would cost
    more than the SMTP exchange. Outcomes are written on the job's thread (the session is not
    shared), in the commit that hands the next message over, and at the end; the outbox rules
    are those of send_outbox_message, and a message not taken is retried by the outbox later."""

    def __init__(self, smtp_url: str | None):
        self.smtp_url = smtp_url
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-smtp")
        self.in_flight: tuple[object, str, Future | None, str | None] | None = None
        self.failures: dict[str, Said | str] = {}  # account → why its message was not delivered

    def deliver(self, message) -> None:
        outbox.begin_attempt(message)
        email, problem = None, None
        try:
            email = outbox.build_email(message)
        except OSError as error:
            problem = say("An attachment cannot be read: %(error)s", error=str(error))
        handed = (message, message.customer.account)
        # One commit: the previous message's outcome, and this one "sending" before the mail
        # server hears of it.
        self.finish(commit=False)
        db.session.commit()
        future = self.pool.submit(mailer.send, self.smtp_url, email) if email is not None else None
        self.in_flight = (*handed, future, problem)

    def finish(self, *, commit: bool = True) -> None:
        """Write the outcome of the message in flight, if any (and commit it, unless the caller will)."""
        if self.in_flight is None:
            return
        message, account, future, problem = self.in_flight
        self.in_flight = None
        if future is not None:
            error = future.exception()
            if error is not None and not isinstance(error, mailer.MailError):
                raise error  # a bug, not a delivery problem: the message stays "sending" (unknown outcome)
            problem = outbox.failure_said(error) if error is not None else None
        if problem is None:
            # The session kept the message (it does not expire on commit); its entries' levels
            # may have moved since it was queued, so they are read again.
            outbox.read_entries_again(db.session, message)
            outbox.mark_sent(db.session, message)
            log.info("Outbox message %s sent to %s", message.id, message.to_addresses)
        else:
            outbox.mark_failed(db.session, message, problem)
            self.failures[account] = problem
            log.warning("Outbox message %s not sent: %s", message.id, problem)
        if commit:
            db.session.commit()

    def close(self) -> None:
        try:
            self.finish()
        finally:
            self.pool.shutdown(wait=True)

# --- The outbox: one job per message and attempt ------------------------------------------------


def enqueue_outbox_message(message) -> None:
    """Queue the send of an outbox message; one job per message and attempt (a stable id).
    BackgroundUnavailable without Redis."""
    send = {"schedule_agreed": send_schedule_agreement, "formal_notice": send_formal_notice}.get(
        message.kind, send_outbox_message)
    with background():
        queue().enqueue(send, message.id, job_id=f"outbox-{message.id}-{message.attempts or 0}",
                        job_timeout=300, result_ttl=3600, failure_ttl=86400)


def hand_over(message) -> None:
    """Queue the send of a message just queued in the outbox; if Redis fails right now, the message
    turns failed with the reason (retried with back-off, Retry on Deliveries) instead of waiting
    "queued" for a job that does not exist."""
    try:
        enqueue_outbox_message(message)
    except Exception as error:  # noqa: BLE001 — said on the message, not a 500
        log.exception("Outbox message %s could not be queued", message.id)
        outbox.mark_failed(db.session, message, say("The send could not be queued: %(error)s", error=str(error)))
        db.session.commit()


def _send_with_pdf(message_id: int, what: str, make: Callable[[OutboxMessage], tuple[Path, str] | None],
                   not_made: Callable[[str], Said]) -> str:
    """Make the message's PDF and attach it, once (a retry sends the same file), then send it like any
    outbox message. `make(message)` → (path, name), or None when there is nothing to make (the send
    then cancels the message, saying why). A PDF that cannot be made fails the message, with why
    (`not_made(error)`), on Deliveries, for a person to look at first."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status not in ("queued", "failed"):
        db.session.rollback()
        return "nothing to send"
    if not outbox.attachments_of(message):
        try:
            made = make(message)
        except Exception as error:  # noqa: BLE001 — the message must say why it did not go
            db.session.rollback()
            message = db.session.get(OutboxMessage, message_id)
            outbox.begin_attempt(message)
            outbox.mark_failed(db.session, message, not_made(said(error) or str(error)))
            message.next_attempt_at = None  # a person looks first: Retry on Deliveries
            db.session.commit()
            log.warning("Outbox message %s: the %s could not be made: %s", message_id, what, error)
            return f"failed: {error}"
        if made is not None:
            target, filename = made
            message.attachments = json.dumps([{"path": str(target), "filename": filename,
                                               "content_type": "application/pdf"}])
            db.session.commit()
    return _deliver(message_id)


@job
def send_schedule_agreement(message_id: int) -> str:
    """The "Payment plan agreed" e-mail, with the schedule PDF."""
    def make(message: OutboxMessage) -> tuple[Path, str] | None:
        if outbox.schedule_gone(db.session, message) is not None:
            return None  # a schedule that ended since is not made into a PDF
        schedule_id = int(message.dedupe_key.split(":")[1])  # schedule:{id}:agreed:{token}
        schedule = db.session.get(PaymentSchedule, schedule_id)
        if schedule is None:
            raise LookupError(say("the payment schedule no longer exists"))
        target = Path(current_app.config["ATTACHMENT_DIR"]) / "schedules" / f"schedule-{schedule_id}-{message.id}.pdf"
        company = saved_company(db.session)
        write_aside(target, lambda path: write_schedule_pdf(path, schedule, company, clock.today()))
        # Named in the customer's language, like the PDF and the e-mail it goes with.
        return target, safe_name(f"{schedule_title(schedule)} {schedule_id} {schedule.customer.account}") + ".pdf"

    return _send_with_pdf(message_id, "schedule PDF", make,
                          lambda error: say("The schedule PDF could not be made: %(error)s", error=error))


def notice_file(notice: FormalNotice) -> tuple[Path, str]:
    """The formal notice's PDF and its name for the customer, made once, when it is issued: the letter
    posted and the e-mail's attachment are the same file, whatever the settings became since."""
    target = Path(current_app.config["ATTACHMENT_DIR"]) / "notices" / f"notice-{notice.id}.pdf"
    if not target.exists():
        write_aside(target, lambda path: write_notice_pdf(path, notice, saved_company(db.session)))
    return target, safe_name(f"{notice_title(notice)} {notice.id} {notice.customer.account}") + ".pdf"


@job
def send_formal_notice(message_id: int) -> str:
    """A formal notice by e-mail, with its letter."""
    def make(message: OutboxMessage) -> tuple[Path, str]:
        notice = db.session.scalar(select(FormalNotice).where(FormalNotice.outbox_message_id == message.id))
        if notice is None:
            raise LookupError(say("the formal notice no longer exists"))
        return notice_file(notice)

    return _send_with_pdf(message_id, "formal notice PDF", make,
                          lambda error: say("The formal notice PDF could not be made: %(error)s", error=error))


@job
def send_outbox_message(message_id: int) -> str:
    """Send one outbox message (domain/reminders/outbox.py): claimed as "sending" and committed
    before the SMTP exchange; sent (with its activity and the entries' levels) or failed (with the
    server's answer and the next try) after it. A message already sent or being sent is left alone."""
    return _deliver(message_id)


def _deliver(message_id: int) -> str:
    """Claim, send and record one outbox message in the app context's session: "sent", "nothing
    to send" or "failed: <why>" (the message then waits for its next try)."""
    message = outbox.claim(db.session, message_id)
    if message is None:
        db.session.rollback()
        return "nothing to send"
    held = outbox.hold_back(db.session, message)
    db.session.commit()
    if held:
        log.info("Outbox message %s not sent: %s", message_id, held)
        return f"held back: {held}"
    try:
        email = outbox.build_email(message)
        mailer.send(current_app.config.get("SMTP_URL"), email)
    except (mailer.MailError, OSError) as error:
        db.session.rollback()
        message = db.session.get(outbox.OutboxMessage, message_id)
        reason = (outbox.failure_said(error) if isinstance(error, mailer.MailError)
                  else say("An attachment cannot be read: %(error)s", error=str(error)))
        outbox.mark_failed(db.session, message, reason)
        db.session.commit()
        log.warning("Outbox message %s not sent: %s", message_id, reason)
        return f"failed: {reason}"
    outbox.mark_sent(db.session, message)
    db.session.commit()
    log.info("Outbox message %s sent to %s", message_id, message.to_addresses)
    return "sent"


@job
def retry_due_outbox_messages() -> int:
    """Periodic: give up on messages stuck "sending" (unknown outcome) and queue the failed ones
    whose back-off has run out. Returns how many were queued again."""
    outbox.expire_stale_sending(db.session)
    due = outbox.due_for_retry(db.session)
    db.session.commit()
    for message in due:
        enqueue_outbox_message(message)
    return len(due)


# --- The daily follow-up run --------------------------------------------------------------------


def letter_maker(attachment_dir: str | Path):
    """make_letter(customer, entries, content) → (storage_name, filename): the letter PDF,
    written under the attachment directory the way a manual letter is."""
    def make(customer, entries, content) -> tuple[str, str]:
        return write_letter(attachment_dir, saved_company(db.session), customer, entries, content,
                            f"{templates.level_name(content.level)} {customer.name} {content.day.isoformat()}")

    return make


def run_follow_up(app: Flask, day: date | None = None, dry_run: bool = False):
    """The run inside `app`'s context: the report (domain.reminders.follow_up.RunReport)."""
    if dry_run:
        return follow_up.run(db.session, day, dry_run=True)
    # hand_over: a message that cannot be queued turns failed, with its retries, instead of stopping the run.
    return follow_up.run(db.session, day, enqueue=hand_over, make_letter=letter_maker(app.config["ATTACHMENT_DIR"]))


@job
def daily_run(day: str | None = None) -> str:
    """Today's automatic follow-up (queued once a day by worker.enqueue_daily_jobs)."""
    report = run_follow_up(current_app._get_current_object(), date.fromisoformat(day) if day else None)
    instalments = report.instalments
    summary = (f"{len(report.outcomes)} customers: {report.count('queued')} e-mails queued, "
               f"{report.count('letter')} letters, {report.count('task')} tasks, "
               f"{report.count('skipped')} skipped; {len(instalments)} instalments of payment schedules: "
               f"{sum(o.status == 'queued' for o in instalments)} e-mails queued, "
               f"{sum(o.status == 'task' for o in instalments)} tasks, "
               f"{sum(o.status == 'skipped' for o in instalments)} skipped")
    follow_up_log.info("Follow-up run for %s: %s", report.day, summary)
    return summary
