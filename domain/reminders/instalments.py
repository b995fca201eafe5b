"""E-mails about a payment schedule: the agreement a person sends with the schedule PDF, and what the
follow-up plan sends while a schedule runs, paced by the instalments instead of the invoices.

    message, is_new = draft_agreement(session, schedule, sender=user)          # the text to review
    message, is_new = queue_agreement(session, user, schedule, to=…, subject=…, body=…, key=…)
    decisions = decide(session, today)          # [InstalmentDecision]: nothing written
    outcomes = run(session, today, texts, enqueue=…, dry_run=False)          # part of the daily run

A schedule's entries carry `Entry.scheduled` while it runs or is late, so the plan's own decision
(domain.reminders.follow_up.decide) leaves them alone. Here the customer's plan applies to each
instalment not paid, its date standing for the due date:

- a step before the date (negative offset: the prevention message) goes while the instalment is
  still to come — "instalment 2 of 3 is due on 15 July";
- a step after the date goes only once the instalment is late (its date + the schedule's grace),
  and speaks of that instalment only: what it still owes, not the invoices' whole amount; one such
  reminder a day per schedule, for its oldest late instalment.

Each step goes once per instalment (`Instalment.reminded_offset`, set in the commit that queues the
message; the outbox key `instalment:{instalment}:{step}` makes a repeated run find the same
message). Several steps due at once: only the most advanced. A schedule one of whose invoices has
its "Follow-up plan enabled" switch off gets nothing automatic. An e-mail step sends an e-mail (the
outbox, kind instalment_notice or instalment_overdue: it raises no reminder level); a letter or
phone-call step records a task in the history for a person to do. Nothing goes when the customer
or one of the schedule's open entries is stopped, disputed or in collection.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from domain import audit, clock
from domain.i18n import Money, _, say
from domain.models import Customer, Entry, FollowUpStep, Instalment, OutboxMessage, PaymentSchedule, ScheduleEntry, User
from domain.reminders import outbox, templates
from domain.reminders.default_templates import SCHEDULE_DEFAULTS
from domain.reminders.holds import holds

TASK_ACTION = "follow_up.task"


def _cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def context(session: Session, schedule: PaymentSchedule, instalment: Instalment | None = None, *,
            sender: User | None = None, company=None, today: date | None = None) -> dict:
    """The reminder context of the schedule's entries, with `schedule` and `instalment` (plain data)."""
    today = today or clock.today()
    data = templates.reminder_context(session, schedule.customer, [e for e in schedule.entries if e.is_open]
                                      or schedule.entries, sender=sender, company=company, today=today)
    data["schedule"] = {
        "number": schedule.id, "currency": schedule.currency, "total": _cents(schedule.total_cents),
        "paid": _cents(schedule.paid_cents), "remaining": _cents(schedule.remaining_cents),
        "instalment_count": len(schedule.instalments),
        "instalments": [{"number": i.number, "due_date": i.due_on, "amount": _cents(i.amount_cents),
                         "left": _cents(i.amount_cents - i.paid_cents), "status": i.status}
                        for i in schedule.instalments]}
    if instalment is not None:
        data["instalment"] = {"number": instalment.number, "due_date": instalment.due_on,
                              "amount": _cents(instalment.amount_cents),
                              "left": _cents(instalment.amount_cents - instalment.paid_cents),
                              "days_late": max(0, (today - instalment.due_on).days)}
    return data


def render(kind: str, language: str | None, data: dict) -> templates.RenderedMessage:
    default = SCHEDULE_DEFAULTS[templates.template_language(language)][kind]
    text = templates.TemplateText(level=0, channel="email", language=templates.template_language(language),
                                  subject=default.subject, body=default.body)
    return templates.render(text, data)


# --- The agreement ("Payment plan agreed"), sent by a person -------------------------------------

def draft_agreement(session: Session, schedule: PaymentSchedule,
                    sender: User) -> tuple[list[str], templates.RenderedMessage]:
    """(the customer's reminder addresses, the e-mail's text) for the send form."""
    message = render("schedule_agreed", schedule.customer.language, context(session, schedule, sender=sender))
    return schedule.customer.reminder_emails, message


def agreement_warnings(session: Session, schedule: PaymentSchedule) -> list[str]:
    """What would hold a reminder to this customer back (stopped, disputed, in collection…): the
    agreement is no reminder and goes anyway, but the person sending it should know."""
    return [hold.text for hold in holds(session, schedule.customer, [e for e in schedule.entries if e.is_open],
                                        kind="schedule_agreed")]


def agreement_key(schedule: PaymentSchedule, token: str) -> str:
    return f"schedule:{schedule.id}:agreed:{token}"[:200]


def queue_agreement(session: Session, actor: User, schedule: PaymentSchedule, *, to: str, cc: str, subject: str,
                    body: str, token: str) -> tuple[OutboxMessage, bool]:
    """The "Payment plan agreed" e-mail, queued; the worker attaches the schedule PDF before it sends
    it. The same `token` (a double click) gives back the same message."""
    if not schedule.is_active:
        raise outbox.OutboxError(_("Schedule #%(number)s is %(status)s: it is not sent.", number=schedule.id,
                                   status=schedule.status_label.lower()))
    if not token:
        raise outbox.OutboxError(_("The form has expired: reload the page."))
    return outbox.queue_message(
        session, customer=schedule.customer, entries=list(schedule.entries), level=0, to=to, cc=cc, subject=subject,
        body=body, sent_by=actor, copy_to_sender=True, dedupe_key=agreement_key(schedule, token),
        kind="schedule_agreed")


def agreements(session: Session, schedule: PaymentSchedule) -> list[OutboxMessage]:
    """The agreement e-mails of this schedule, the newest first."""
    return list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.dedupe_key.like(f"schedule:{schedule.id}:agreed:%")).order_by(OutboxMessage.id.desc())))


# --- What the plan sends while a schedule runs -------------------------------------------------------

@dataclass
class InstalmentDecision:
    schedule_id: int
    instalment_id: int
    step_id: int
    offset_days: int
    channel: str
    level: int

    @property
    def kind(self) -> str:
        return "instalment_notice" if self.offset_days < 0 else "instalment_overdue"


def decide(session: Session, today: date | None = None) -> list[InstalmentDecision]:
    """The plan step due today for each instalment not paid of a running or late schedule whose
    customer has a plan (see the module's docstring)."""
    today = today or clock.today()
    steps: dict[int, list[FollowUpStep]] = {}
    # A formal notice step is no reminder of an instalment: a running schedule is the agreement it would contradict.
    for step in session.scalars(select(FollowUpStep).where(FollowUpStep.channel != "notice")
                                .order_by(FollowUpStep.offset_days)):
        steps.setdefault(step.plan_id, []).append(step)
    if not steps:
        return []
    rows = session.execute(
        select(Instalment.id, Instalment.schedule_id, Instalment.due_on, Instalment.status, Instalment.reminded_offset,
               Customer.follow_up_plan_id)
        .join(PaymentSchedule, PaymentSchedule.id == Instalment.schedule_id)
        .join(Customer, Customer.id == PaymentSchedule.customer_id)
        .where(PaymentSchedule.status.in_(("running", "late")), Instalment.status != "paid",
               Customer.follow_up_plan_id.is_not(None))
        .order_by(Instalment.schedule_id, Instalment.number))
    # The plan switched off on one of its invoices ("Follow-up plan enabled"): nothing automatic about it.
    switched_off = set(session.scalars(
        select(ScheduleEntry.schedule_id).join(Entry, Entry.id == ScheduleEntry.entry_id)
        .join(PaymentSchedule, PaymentSchedule.id == ScheduleEntry.schedule_id)
        .where(PaymentSchedule.status.in_(("running", "late")), Entry.is_open.is_(True),
               Entry.follow_up_enabled.is_(False))))
    decisions, reminded_late = [], set()
    for instalment_id, schedule_id, due_on, status, reminded, plan_id in rows:
        if schedule_id in switched_off:
            continue
        chosen = None
        for step in steps.get(plan_id, ()):
            if due_on + timedelta(days=step.offset_days) > today:
                continue
            if reminded is not None and step.offset_days <= reminded:
                continue
            if step.offset_days < 0 and (step.level != 0 or today >= due_on):
                continue  # a heads-up goes before the date, with the prevention wording
            if step.offset_days >= 0 and (status != "late" or step.level == 0):
                continue  # after the date, only a late instalment is reminded
            chosen = step
        if chosen is not None and chosen.offset_days >= 0:
            if schedule_id in reminded_late:  # one reminder a day for a schedule: its oldest late instalment
                continue
            reminded_late.add(schedule_id)
        if chosen is not None:
            decisions.append(InstalmentDecision(schedule_id, instalment_id, chosen.id, chosen.offset_days,
                                                chosen.channel, chosen.level))
    return decisions


@dataclass
class InstalmentOutcome:
    account: str
    name: str
    schedule_id: int
    instalment: int
    kind: str
    channel: str
    status: str  # queued | already queued | task | would send | skipped
    reason: str = ""


def run(session: Session, today: date | None = None, *, company=None, dry_run: bool = False,
        enqueue: Callable[[OutboxMessage], None] | None = None) -> list[InstalmentOutcome]:
    """Send what the plans say today about instalments; commits per schedule (see decide)."""
    today = today or clock.today()
    outcomes = []
    for decision in decide(session, today):
        schedule = session.scalar(select(PaymentSchedule).where(PaymentSchedule.id == decision.schedule_id)
                                  .options(selectinload(PaymentSchedule.instalments),
                                           selectinload(PaymentSchedule.entries)))
        instalment = next(i for i in schedule.instalments if i.id == decision.instalment_id)
        customer = schedule.customer
        outcome = InstalmentOutcome(customer.account, customer.name, schedule.id, instalment.number, decision.kind,
                                    decision.channel, "would send" if dry_run else "")
        outcomes.append(outcome)
        open_entries = [e for e in schedule.entries if e.is_open]
        held = holds(session, customer, open_entries, today, kind=decision.kind)
        if held:
            outcome.status, outcome.reason = "skipped", " ".join(h.text for h in held)
            continue
        if decision.channel == "email" and not customer.reminder_emails:
            outcome.status, outcome.reason = "skipped", _("no e-mail address")
            continue
        if dry_run:
            continue
        left = instalment.amount_cents - instalment.paid_cents
        try:
            if decision.channel == "email":
                message = render(decision.kind, customer.language,
                                 context(session, schedule, instalment, company=company, today=today))
                emails = customer.reminder_emails
                queued, is_new = outbox.queue_message(
                    session, customer=customer, entries=open_entries, level=decision.level, to=emails[:1],
                    cc=emails[1:], subject=message.subject, body=message.body, sent_by=None, company=company,
                    dedupe_key=f"instalment:{instalment.id}:{decision.step_id}", kind=decision.kind)
                instalment.reminded_offset = decision.offset_days
                session.commit()
                outcome.status = "queued" if is_new else "already queued"
                if queued.status == "queued" and enqueue is not None:
                    enqueue(queued)
            else:
                instalment.reminded_offset = decision.offset_days
                values = {"id": schedule.id, "level": templates.level_said(decision.level),
                          "number": instalment.number, "due": instalment.due_on, "left": Money(left, schedule.currency)}
                audit.record(session, None, TASK_ACTION,
                             say("Payment schedule #%(id)s: Letter to send (%(level)s) for instalment %(number)s, due "
                                 "on %(due)s, %(left)s unpaid", **values) if decision.channel == "letter"
                             else say("Payment schedule #%(id)s: Phone call to make (%(level)s) for instalment "
                                      "%(number)s, due on %(due)s, %(left)s unpaid", **values), customer=customer)
                session.commit()
                outcome.status = "task"
        except (outbox.OutboxError, templates.TemplateError) as error:
            session.rollback()
            outcome.status, outcome.reason = "skipped", str(error)
    if dry_run:
        session.rollback()
    return outcomes
