"""Collection jobs: build a collection file (.zip: invoice PDFs, reminder activities, Excel) and
hand it over to a collection agency by e-mail, saying "sent" only once the mail server took it."""
from __future__ import annotations

import mimetypes
from pathlib import Path

from babel.dates import format_date
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from redis import RedisError
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from domain import clock
from domain import exports as exports_rules
from domain import notifications
from domain.collection import agency as agency_rules
from domain.collection import legal
from domain.collection.files import entry_ids_of
from domain.i18n import kept, said, say
from domain.ledger import interest
from domain.models import (DISPUTE_OUTCOMES, SCHEDULE_FREQUENCIES, Attachment, AuditEvent, CollectionAgency,
                           CollectionCase, CompanySettings, Customer, Dispute, DisputeEntry, Entry, Export,
                           PaymentSchedule, Promise, PromiseEntry, ReminderActivity, ReminderEntry, ScheduleEntry, User)
from domain.money import format_money
from domain.reminders import notices
from extensions import db
from files.collection_zip import (CollectionFileContents, CompanyDetails, CustomerDetails, EntryLine, InvoiceFile,
                                  write_collection_file)
from files.court_pack import CourtPack, PackLine, PackNotice, PackStep, write_court_pack
from files.history import CustomerSaid, HistoryStep, InstalmentLine
from files.names import file_stem, safe_name
from files.pdf import CoveredEntry, ReminderDocument
from jobs.base import (IN_PROGRESS, background, customer_locale, export_path, job, log, owner_locale, progress_recorder,
                       queue, redis_connection, rendering_heap, sender_address, user_locale, write_aside)
from jobs.reminders import notice_file
from mail import smtp as mailer

AGENCY_SEND_TTL = 7 * 86400  # the inline "sent / not sent" answer outlives a long weekend
AGENCY_STATE_UNKNOWN = _l("Background work is unavailable right now: whether the last send went through "
                          "shows here once it is back.")


def build_collection_file(export: Export) -> str:
    """The collection file of `export.customer_id`'s selected entries: their invoice PDFs, the
    reminder activities about them and an Excel file (files/collection_zip.py), as a .zip, in the
    language of the user who asked for it."""
    with rendering_heap():
        session, day = db.session, clock.today()
        customer = session.get(Customer, export.customer_id) if export.customer_id else None
        if customer is None:
            raise LookupError(say("The customer of this collection file no longer exists."))
        contents = collection_contents(session, customer, entry_ids_of(export), day, owner_locale(export))
        filename = safe_name(file_stem(customer.name, day)) + ".zip"
        progress = progress_recorder(export, every=0.2)  # percent, at most five times a second
        write_aside(export_path(export) / filename, lambda path: write_collection_file(path, contents, progress))
        return filename


def collection_contents(session, customer: Customer, ids: list[int], day,
                        locale: str | None = None) -> CollectionFileContents:
    """What a collection file (or a court pack) holds of `customer`'s entries `ids`: the entries with
    their invoice files and late-payment figures, the reminders about them, what the customer said;
    in `locale` (None: RELANCE_LOCALE)."""
    locale = locale or current_app.config.get("BABEL_LOCALE") or "en_GB"
    entries = list(session.scalars(select(Entry).where(Entry.id.in_(ids), Entry.customer_id == customer.id)
                                   .order_by(Entry.due_date, Entry.id))) if ids else []
    if not entries:
        raise LookupError(say("None of the selected entries is on this customer's account any more."))
    attachments: dict[int, Attachment] = {}  # entry id → its latest PDF (else its latest file)
    for attachment in session.scalars(select(Attachment).where(Attachment.entry_id.in_(ids))
                                      .order_by(Attachment.uploaded_at, Attachment.id)):
        current = attachments.get(attachment.entry_id)
        if current is None or "pdf" in attachment.content_type or "pdf" not in current.content_type:
            attachments[attachment.entry_id] = attachment
    activities = session.scalars(
        select(ReminderActivity)
        .where(ReminderActivity.id.in_(select(ReminderEntry.activity_id).where(ReminderEntry.entry_id.in_(ids))))
        .options(selectinload(ReminderActivity.covered).joinedload(ReminderEntry.entry),
                 joinedload(ReminderActivity.sent_by))
        .order_by(ReminderActivity.sent_at, ReminderActivity.id))
    company = session.scalar(select(CompanySettings).order_by(CompanySettings.id).limit(1))

    attachment_dir = Path(current_app.config["ATTACHMENT_DIR"])
    selected = {entry.id for entry in entries}
    terms = interest.terms(session)
    paid = interest.payments_by_entry(session, ids)
    through, indemnity_claimed = interest.claimed_before(session, ids)
    charges = {e.id: interest.charges_of(e, paid.get(e.id, ()), day, terms, through.get(e.id), e.id in indemnity_claimed)
               for e in entries if customer.late_payment_charges}
    claimed = notices.open_claims_by_entry(session, ids)
    return CollectionFileContents(
        customer=CustomerDetails(
            account=customer.account, name=customer.name, registration_number=customer.registration_number or "",
            address=customer.address or "", emails=tuple(customer.email_list), phone=customer.phone or "",
            language=customer.language or ""),
        company=CompanyDetails(name=company.name, registration_number=company.registration_number or "",
                               sender_email=company.sender_email or "", address=company.address or "")
        if company else CompanyDetails(name=""),
        entries=[EntryLine(
            id=e.id, number=e.number, kind=e.kind, issue_date=e.issue_date, due_date=e.due_date,
            amount_cents=e.amount_cents, open_cents=e.open_cents, currency=e.currency,
            reminder_level=e.reminder_level, days_overdue=e.days_overdue(day), in_collection=e.in_collection,
            reminders_stopped=e.reminders_stopped_on(day), disputed=e.disputed,
            invoice=InvoiceFile(attachment_dir / Path(attachments[e.id].storage_name).name, attachments[e.id].filename)
            if e.id in attachments else None,
            interest_cents=charges[e.id].interest_cents if charges.get(e.id) else None,
            indemnity_cents=charges[e.id].indemnity_cents if charges.get(e.id) else None,
            claimed_cents=claimed.get(e.id, 0)) for e in entries],
        reminders=[ReminderDocument(
            id=a.id, sent_at=a.sent_at, channel=a.channel, level=a.level, sender=a.sender or "",
            recipient=a.recipient, subject=a.subject, body=a.body,
            sent_by=a.sent_by.display_name if a.sent_by else None,
            covered=tuple(CoveredEntry(number=c.entry.number, open_cents=c.open_cents,
                                       currency=c.entry.currency, due_date=c.entry.due_date,
                                       in_file=c.entry_id in selected, entry_id=c.entry_id)
                          for c in sorted(a.covered, key=lambda c: (c.entry.due_date, c.entry.number))))
            for a in activities],
        exported_on=day, exported_at=clock.now(), locale=locale, said=customer_said(session, customer, ids, locale))


def build_court_pack(export: Export) -> str:
    """The court pack of a collection case (files/court_pack.py): the claim broken down, its steps, the
    invoices, the formal notices with their proof of sending, the reminders, the steps' documents."""
    with rendering_heap():
        session, day = db.session, clock.today()
        case_id = int(exports_rules.params_of(export).get("case_id", 0))
        case = session.get(CollectionCase, case_id)
        if case is None:
            raise LookupError(say("This collection case no longer exists."))
        try:
            breakdown = legal.claim_breakdown(session, case)
        except legal.LegalError as problem:
            raise LookupError(said(problem) or str(problem)) from None
        if not breakdown.lines:
            raise LookupError(say("Nothing is claimed in this case any more: every invoice and charge is settled."))
        # What the court reads: in the company's language (RELANCE_LOCALE), in French for a French customer.
        french = (case.customer.language or "").startswith("fr")
        contents = collection_contents(session, case.customer, [line.entry.id for line in breakdown.lines], day,
                                       customer_locale("fr") if french else None)
        attachment_dir = Path(current_app.config["ATTACHMENT_DIR"])
        steps = [PackStep(step.on, step.label, step.note or "", step.costs_cents,
                          attachment_dir / step.document_storage if step.document_storage else None,
                          step.document_filename) for step in legal.steps_of(session, case)]
        pack_notices = []
        for notice in legal.notices_of_case(session, case):
            path, filename = notice_file(notice)
            pack_notices.append(PackNotice(notice.id, notice.issued_on, notice.deadline, notice.channel, path, filename,
                                           notice.registered_tracking, notice.registered_on))
        pack = CourtPack(case.id, breakdown.currency, contents,
                         [PackLine(line.entry.number, line.entry.issue_date, line.entry.due_date, line.principal_cents,
                                   line.interest_cents, line.indemnity_cents) for line in breakdown.lines],
                         steps, pack_notices)
        filename = safe_name(_("Court pack %(case)s %(customer)s %(day)s", case=case.id, customer=case.customer.name,
                               day=day.isoformat())) + ".zip"
        write_aside(export_path(export) / filename, lambda path: write_court_pack(path, pack))
        return filename


def customer_said(session, customer: Customer, ids: list[int], locale: str = "en_GB") -> list[CustomerSaid]:
    """The disputes, promises to pay and payment schedules on any of these entries, with their steps:
    a dispute's timeline, a promise's or a schedule's history events (recorded, kept, broken, late…).
    Their labels (statuses, reasons, channels) in `locale`; the steps as history recorded them."""
    with force_locale(locale):
        return _customer_said(session, customer, ids, locale)


def _customer_said(session, customer: Customer, ids: list[int], locale: str) -> list[CustomerSaid]:
    def people(user) -> str | None:
        return user.display_name if user is not None else None

    def events(prefix: str, number: int) -> tuple[HistoryStep, ...]:
        # Every event naming it first: its own steps, and the e-mails and tasks about it.
        rows = session.scalars(select(AuditEvent).where(
            AuditEvent.customer_id == customer.id,
            or_(AuditEvent.detail.like(f"{prefix} #{number}:%"), AuditEvent.detail.like(f"{prefix} #{number} %")))
            .options(joinedload(AuditEvent.actor)).order_by(AuditEvent.at, AuditEvent.id))
        # Inside force_locale: each step in the file's language, its dates and amounts in its locale.
        return tuple(HistoryStep(e.at, people(e.actor), e.shown_detail + (f" ({e.shown_reason})" if e.reason else ""))
                     for e in rows)

    said: list[CustomerSaid] = []
    for dispute in session.scalars(select(Dispute).where(Dispute.id.in_(
            select(DisputeEntry.dispute_id).where(DisputeEntry.entry_id.in_(ids)))).order_by(Dispute.id)):
        what = str(dispute.reason_label) + (f": {dispute.note}" if dispute.note else "")
        currency = dispute.entries[0].currency if dispute.entries else "EUR"
        if dispute.outcome:
            what += f"\n{DISPUTE_OUTCOMES.get(dispute.outcome, dispute.outcome)}"
            if dispute.credit_note_cents:
                what += " " + _("(credit note %(amount)s)",
                                amount=format_money(dispute.credit_note_cents, currency, locale))
        said.append(CustomerSaid(
            "dispute", dispute.id, str(dispute.status_label), dispute.opened_at, people(dispute.opened_by), what,
            tuple(e.number for e in dispute.entries),
            sum(e.sign * e.open_cents for e in dispute.entries if e.currency == currency), None, currency,
            tuple(HistoryStep(e.at, people(e.actor), e.shown_text + (f" 📎 {e.filename}" if e.filename else ""))
                  for e in dispute.events)))
    for promise in session.scalars(select(Promise).where(Promise.id.in_(
            select(PromiseEntry.promise_id).where(PromiseEntry.entry_id.in_(ids)))).order_by(Promise.id)):
        what = f"{format_date(promise.promised_on, 'short', locale=locale)} ({str(promise.channel_label).lower()})" + \
            (f": {promise.note}" if promise.note else "")
        said.append(CustomerSaid(
            "promise", promise.id, str(promise.status_label), promise.recorded_at, people(promise.recorded_by), what,
            tuple(e.number for e in promise.entries), promise.amount_cents,
            promise.paid_cents if promise.status != "open" else None, promise.currency,
            events("Promise", promise.id)))
    for schedule in session.scalars(select(PaymentSchedule).where(PaymentSchedule.id.in_(
            select(ScheduleEntry.schedule_id).where(ScheduleEntry.entry_id.in_(ids)))).order_by(PaymentSchedule.id)):
        frequency = str(SCHEDULE_FREQUENCIES.get(schedule.frequency, schedule.frequency)).lower()
        what = f"{len(schedule.instalments)} × {frequency}" + \
            (f": {schedule.note}" if schedule.note else "")
        said.append(CustomerSaid(
            "schedule", schedule.id, str(schedule.status_label), schedule.created_at, people(schedule.created_by), what,
            tuple(e.number for e in schedule.entries), schedule.total_cents, schedule.paid_cents, schedule.currency,
            events("Payment schedule", schedule.id),
            tuple(InstalmentLine(i.number, i.due_on, i.amount_cents, i.paid_cents, str(i.status_label))
                  for i in schedule.instalments)))
    return said


def agency_send_job_id(case_id: int) -> str:
    return f"agency-send-{case_id}"


def enqueue_send_to_agency(case_id: int, agency_id: int, user_id: int) -> bool:
    """Queue the hand-off, unless this case's hand-off is already on its way (a double click)."""
    jobs_queue = queue()
    job_id = agency_send_job_id(case_id)
    with background():
        try:
            previous = Job.fetch(job_id, connection=jobs_queue.connection)
        except NoSuchJobError:
            previous = None
        if previous is not None:
            if previous.get_status() in IN_PROGRESS:
                return False
            previous.delete()  # an earlier answer (sent, or not): this send replaces it
        try:
            jobs_queue.enqueue(send_to_agency, case_id, agency_id, user_id, job_id=job_id, unique=True,
                               job_timeout=600, result_ttl=AGENCY_SEND_TTL, failure_ttl=AGENCY_SEND_TTL)
        except DuplicateJobError:  # another click queued it a moment ago
            return False
    return True


def agency_send_state(case_id: int) -> tuple[str | None, str | None]:
    """Where the case's last hand-off stands: (None | "sending" | "sent" | "failed", message)."""
    try:
        sent = Job.fetch(agency_send_job_id(case_id), connection=redis_connection())
        status = sent.get_status()
    except (NoSuchJobError, InvalidJobOperation):
        return None, None
    except RedisError:  # what the case says (the database) still shows; the job's answer waits
        return None, str(AGENCY_STATE_UNKNOWN)
    if status in IN_PROGRESS:
        return "sending", None
    if status == "finished":
        result = sent.return_value() or {}
        return ("sent" if result.get("sent") else "failed"), result.get("message")
    return "failed", _("The send stopped before it finished: try again.")


@job
def send_to_agency(case_id: int, agency_id: int, user_id: int) -> dict:
    """E-mail the collection file to the agency: the .zip attached, the company's SIREN in the
    subject, replies going to the user. Only once the mail server has taken it does the case
    say "sent to agency"; otherwise nothing changes and the user is told why."""
    case = db.session.get(CollectionCase, case_id)
    agency = db.session.get(CollectionAgency, agency_id)
    user = db.session.get(User, user_id)
    if case is None or agency is None or user is None or case.export is None:
        return {"sent": False, "message": _("The case, the agency or the user no longer exists.")}
    export, customer_name, agency_name = case.export, case.customer.name, agency.name
    locale = user_locale(user)  # the e-mail is written by the user, and its answer is for them
    try:
        company = agency_rules.check_send(db.session, user, export, case, agency)
        path = export_path(export) / export.filename
        if not path.is_file():
            raise agency_rules.SendRefused(say("The collection file is no longer on the server: make a new one."))
        with force_locale(locale):
            body = render_template("mail/collection_file.txt", company=company, case=case, agency=agency,
                                   customer=case.customer, entries=case.entries, user=user, export=export)
            subject = agency_rules.subject(company)
        message = mailer.build_message(
            sender=sender_address(company), to=agency.email, reply_to=mailer.address(user.name, user.email),
            subject=subject, body=body,
            attachments=[mailer.Attachment(export.filename, path.read_bytes(),
                                           mimetypes.guess_type(export.filename)[0] or "application/zip")])
        mailer.send(current_app.config.get("SMTP_URL"), message)
    except (agency_rules.SendRefused, mailer.MailError, OSError) as error:
        db.session.rollback()
        # The bell keeps the reason (a refusal's Said is read in each reader's language); the answer is the user's.
        reason = said(error) or str(error)
        log.warning("Case %s: collection file not sent to %s: %s", case_id, agency_name, kept(reason)[0])
        notifications.notify(db.session, user_id, say("The collection file for %(customer)s was not sent to "
                                                      "%(agency)s: %(reason)s", customer=customer_name,
                                                      agency=agency_name, reason=reason))
        db.session.commit()
        with force_locale(locale):
            return {"sent": False, "message": str(reason)}
    agency_rules.record_sent(db.session, case, agency, user)
    notifications.notify(db.session, user_id, say("The collection file for %(customer)s was sent to %(agency)s.",
                                                  customer=customer_name, agency=agency_name))
    db.session.commit()
    log.info("Case %s: collection file sent to %s", case_id, agency_name)
    with force_locale(locale):
        return {"sent": True, "message": _("Sent to %(agency)s <%(email)s>.", agency=agency_name, email=agency.email)}
