"""Automatic follow-up plans and the daily run that applies them.

A plan is a list of steps: `offset_days` relative to the due date (negative: a prevention message
before it), a channel (e-mail, letter, or a phone-call task), the level the step reaches, and the
template it sends: by default the template of the level reached, or the template of another level
(`template_level`, e.g. the R1 wording for a step that reaches R2); the customer's language picks
the language. A task sends nothing and has no template; the prevention template and the R1…R5
templates are not swapped (one speaks of a due date to come, the others of an overdue invoice).
Customers get a plan; each entry has a "Follow-up plan enabled" switch. The entries of a payment
schedule are left to its instalments: the run applies the plan to each instalment's date instead
(domain/reminders/instalments.py).

Deleting a plan deletes its steps and leaves its customers without a plan (their entries lose ⚡),
with a history event per customer and one for the plan. Nothing of the history refers to a plan
or a step by foreign key: activities, letters and outbox messages keep their own copy of what was
sent and at which level, and the outbox keys below are plain text (step ids are never reused, so
a key never names a later step).

The daily run decides in one SQL query (`decide`): for every open invoice of a customer with a
plan whose switch is on and that nothing holds back (stop reminders on the entry or the customer,
disputed, in collection, a message not sent nor cancelled already covering it at that level), the step with the
greatest offset such that due_date + offset <= today and whose level is above the entry's
reminder level (prevention, level 0, counts as above an entry never reminded). Several missed
steps: only the most advanced is sent. Per customer, one message covers all its due entries, at
the step of its most advanced entry, with that step's template.

    decisions = decide(session, today)            # [CustomerDecision], nothing written
    report = run(session, today, enqueue=…, make_letter=…)   # sends, commits per customer

E-mail steps go through the outbox, keyed `plan:{customer}:{step}:{day}`: a run repeated the same
day (or restarted after being killed) gets the same message back and never sends it twice; the
outbox raises the levels once the mail server took it. Letter steps make the PDF (through
`make_letter`, given by the caller: the domain knows no documents) and record it like a manual
letter. Task steps record a "Phone call to make" history event and raise the entries' level to
the step's, so the step is not due again. Automatic runs have no user (sent_by None). Formal notice steps issue a notice
(domain.reminders.notices) claiming the interest and indemnity: by e-mail with the letter attached,
or, for a customer without an address, a letter to post (a task in the history); the entries reach
the step's level.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable, Iterable

from sqlalchemy import (Date, DateTime, Integer, String, Text, and_, exists, func, insert, literal, not_, or_, select,
                        union_all, update)
from sqlalchemy.orm import Session, selectinload

from domain import audit, clock
from domain.i18n import Number, Said, _
from domain.i18n import lazy_gettext as _l
from domain.i18n import lazy_pgettext, ngettext, nsay, say
from domain.models import (FOLLOW_UP_CHANNELS, INVOICE, MAX_LEVEL, MESSAGE_KINDS, AuditEvent, Customer, Entry,
                           FollowUpPlan, FollowUpStep, OutboxEntry, OutboxMessage, User)
from domain.reminders import instalments, notices, outbox
from domain.reminders import sending as reminders
from domain.reminders import templates

CHANNEL_LABELS = {"email": lazy_pgettext("follow-up step", "E-mail"), "letter": lazy_pgettext("follow-up step", "Letter"),
                  "task": lazy_pgettext("follow-up step", "Phone call task"),
                  "notice": _l("Formal notice (interest and indemnity claimed)")}
# What the run did for a customer (Outcome.status), as its report says it.
STATUS_WORDS = {"queued": lazy_pgettext("follow-up run", "queued"),
                "already queued": lazy_pgettext("follow-up run", "already queued"),
                "letter": lazy_pgettext("follow-up run", "letter"), "task": lazy_pgettext("follow-up run", "task"),
                "would send": lazy_pgettext("follow-up run", "would send"),
                "skipped": lazy_pgettext("follow-up run", "skipped")}
# The channel inside a sentence ("+30 days, e-mail, R2"): lower case where the language wants it.
CHANNEL_WORDS = {"email": lazy_pgettext("follow-up step, in a sentence", "e-mail"),
                 "letter": lazy_pgettext("follow-up step, in a sentence", "letter"),
                 "task": lazy_pgettext("follow-up step, in a sentence", "phone call task"),
                 "notice": lazy_pgettext("follow-up step, in a sentence",
                                         "formal notice (interest and indemnity claimed)")}
MAX_OFFSET_DAYS = 3650
TASK_ACTION = "follow_up.task"


class FollowUpError(ValueError):
    """The plan or step cannot be saved; the message says why."""


# --- Plans and steps ---------------------------------------------------------------------------


def plans(session: Session) -> list[FollowUpPlan]:
    return list(session.scalars(select(FollowUpPlan).options(selectinload(FollowUpPlan.steps))
                                .order_by(FollowUpPlan.name)))


def customer_counts(session: Session) -> dict[int, int]:
    """How many customers each plan is assigned to."""
    return dict(session.execute(select(Customer.follow_up_plan_id, func.count()).where(
        Customer.follow_up_plan_id.is_not(None)).group_by(Customer.follow_up_plan_id)).all())


def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise FollowUpError(_("Give the plan a name."))
    if len(name) > 100:
        raise FollowUpError(_("A plan name has at most 100 characters."))
    return name


def create_plan(session: Session, actor: User | None, name: str | None) -> FollowUpPlan:
    name = _clean_name(name)
    if session.scalar(select(FollowUpPlan.id).where(FollowUpPlan.name == name)) is not None:
        raise FollowUpError(_("There is already a plan named %(name)s.", name=repr(name)))
    plan = FollowUpPlan(name=name)
    session.add(plan)
    session.flush()
    audit.record(session, actor, "follow_up.plan", say("Follow-up plan %(name)s created", name=repr(name)))
    return plan


def rename_plan(session: Session, actor: User | None, plan: FollowUpPlan, name: str | None) -> None:
    name = _clean_name(name)
    if session.scalar(select(FollowUpPlan.id).where(FollowUpPlan.name == name, FollowUpPlan.id != plan.id)):
        raise FollowUpError(_("There is already a plan named %(name)s.", name=repr(name)))
    if name != plan.name:
        audit.record(session, actor, "follow_up.plan",
                     say("Follow-up plan %(name)s renamed %(new)s", name=repr(plan.name), new=repr(name)))
        plan.name = name


def parse_offset(text: str | int | None) -> int:
    try:
        offset = int(str(text).strip())
    except (TypeError, ValueError):
        raise FollowUpError(_("%(text)s is not a number of days (negative: before the due date).",
                              text=repr(text))) from None
    if abs(offset) > MAX_OFFSET_DAYS:
        raise FollowUpError(_("A step is at most %(days)s days from the due date.", days=MAX_OFFSET_DAYS))
    return offset


def parse_template(text: str | int | None) -> int | None:
    """The template level chosen in a form: None for "the template of the level reached" (empty),
    else 0…5 from 'prevention', 'R1' … 'R5' or '0' … '5'."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    level = templates.parse_level(str(text))
    if level is None:
        raise FollowUpError(_("There is no template %(text)s: choose the template of the level reached, "
                              "Prevention, or R1 to R%(max)s.", text=repr(str(text).strip()), max=MAX_LEVEL))
    return level


def check_template(channel: str, level: int, template_level: int | str | None) -> int | None:
    """The template a step of this channel and level may send (None: the level's own), or why not."""
    template_level = parse_template(template_level)
    if template_level is None or template_level == level:
        return None
    if channel == "task":
        raise FollowUpError(_("A phone call task sends nothing, so it has no template: keep “the level's own”."))
    if channel == "notice":
        raise FollowUpError(_("A formal notice is its own letter, so it has no template: keep “the level's own”."))
    if level == templates.PREVENTION:
        raise FollowUpError(_("A prevention step sends the prevention template: the R1…R5 templates speak of an "
                              "overdue invoice."))
    if template_level == templates.PREVENTION:
        raise FollowUpError(_("The prevention template announces a due date to come: a step reaching "
                              "%(level)s sends one of the R1…R%(max)s templates.", level=templates.level_name(level),
                              max=MAX_LEVEL))
    return template_level


def add_step(session: Session, actor: User | None, plan: FollowUpPlan, offset_days: int | str, channel: str,
             level: int | str | None, template_level: int | str | None = None) -> FollowUpStep:
    """A new step; `template_level` is the level whose template it sends (None or '': the template
    of the level it reaches)."""
    offset = parse_offset(offset_days)
    if channel not in FOLLOW_UP_CHANNELS:
        raise FollowUpError(_("A step goes by e-mail, by letter, is a phone call task or a formal notice."))
    if isinstance(level, str):
        level = templates.parse_level(level)
    if level not in templates.LEVELS:
        raise FollowUpError(_("Choose a level between prevention and R%(max)s.", max=MAX_LEVEL))
    if level == templates.PREVENTION and offset > 0:
        raise FollowUpError(_("A prevention step comes before the due date (or on it): 0 days or fewer."))
    if channel == "notice" and (level == templates.PREVENTION or offset <= 0):
        raise FollowUpError(_("A formal notice is for invoices past their due date: a step after it, at R1 or above."))
    template_level = check_template(channel, level, template_level)
    if any(s.offset_days == offset for s in plan.steps):
        raise FollowUpError(_("The plan already has a step at %(offset)s days.", offset=format(offset, "+d")))
    step = FollowUpStep(offset_days=offset, channel=channel, level=level, template_level=template_level)
    plan.steps.append(step)
    session.flush()
    audit.record(session, actor, "follow_up.step", say("Step %(step)s added to follow-up plan %(name)s",
                                                       step=step_said(step), name=repr(plan.name)))
    return step


def set_step_template(session: Session, actor: User | None, step: FollowUpStep,
                      template_level: int | str | None) -> bool:
    """The template an existing step sends (None or '': the template of the level it reaches).
    Says whether it changed."""
    template_level = check_template(step.channel, step.level, template_level)
    if step.template_level == template_level:
        return False
    before = template_said(step)
    step.template_level = template_level
    session.flush()
    offset = format(step.offset_days, "+d")
    audit.record(session, actor, "follow_up.step",
                 say("Step %(offset)s days of follow-up plan %(name)s: %(before)s replaced by %(after)s",
                     offset=offset, name=repr(step.plan.name), before=before, after=template_said(step)))
    return True


def remove_step(session: Session, actor: User | None, step: FollowUpStep) -> None:
    plan = step.plan
    audit.record(session, actor, "follow_up.step", say("Step %(step)s removed from follow-up plan %(name)s",
                                                       step=step_said(step), name=repr(plan.name)))
    plan.steps.remove(step)
    session.flush()


def delete_plan(session: Session, actor: User | None, plan: FollowUpPlan) -> int:
    """Delete the plan and its steps. Its customers are left without a plan (their entries lose
    ⚡), each with a history event; the plan's deletion is one more event. Past reminders, letters
    and outbox messages stay as they are (nothing refers to the plan). Says how many customers
    were unassigned."""
    name, steps = plan.name, len(plan.steps)
    actor_id = actor.id if actor is not None else None
    detail = say("Follow-up plan %(name)s removed: the plan was deleted", name=repr(name))
    # One history event per customer, written in one statement (a plan may cover thousands).
    assigned = select(literal(actor_id, Integer), literal("follow_up.assign", String), literal(detail.english(), Text),
                      literal(detail.dumps(), Text), Customer.id, literal(clock.now(), DateTime)
                      ).where(Customer.follow_up_plan_id == plan.id)
    session.execute(insert(AuditEvent).from_select(["actor_id", "action", "detail", "detail_i18n", "customer_id", "at"],
                                                   assigned))
    unassigned = session.execute(update(Customer).where(Customer.follow_up_plan_id == plan.id)
                                 .values(follow_up_plan_id=None).execution_options(synchronize_session=False)).rowcount
    audit.record(session, actor, "follow_up.plan",
                 say("Follow-up plan %(name)s deleted with %(steps)s; %(customers)s", name=repr(name),
                     steps=nsay("its %(num)s step", "its %(num)s steps", steps),
                     customers=nsay("%(num)s customer no longer has a plan", "%(num)s customers no longer have a plan",
                                    unassigned)))
    session.delete(plan)
    session.flush()
    session.expire_all()
    return unassigned


def describe_template(step: FollowUpStep) -> str:
    """'the R1 template', 'the template of R2' (the level's own), 'no template' (a task), in the reader's language."""
    return str(template_said(step))


def template_said(step: FollowUpStep) -> Said:
    if step.template is None:
        return say("no template")
    if step.template_level is None or step.template_level == step.level:
        return say("the template of %(level)s", level=templates.level_said(step.level))
    return say("the %(level)s template", level=templates.level_said(step.template_level))


def describe_step(step: FollowUpStep) -> str:
    """'+30 days, e-mail, R2 with the R1 template', in the reader's language."""
    return str(step_said(step))


def step_said(step: FollowUpStep) -> Said:
    values = {"offset": f"{step.offset_days:+d}", "channel": CHANNEL_WORDS[step.channel],
              "level": templates.level_said(step.level)}
    if step.template is not None and step.template != step.level:
        return say("%(offset)s days, %(channel)s, %(level)s with %(template)s", template=template_said(step), **values)
    return say("%(offset)s days, %(channel)s, %(level)s", **values)


# --- Assigning plans and the per-entry switch ---------------------------------------------------


def assign(session: Session, actor: User | None, plan: FollowUpPlan | None, customer: Customer) -> bool:
    """One customer's plan (None: no automatic follow-up). Says whether it changed."""
    new_id = plan.id if plan else None
    if customer.follow_up_plan_id == new_id:
        return False
    customer.follow_up_plan_id = new_id
    audit.record(session, actor, "follow_up.assign",
                 say("Follow-up plan %(name)s assigned", name=repr(plan.name)) if plan
                 else say("Follow-up plan removed"), customer=customer)
    return True


def parse_accounts(text: str | None) -> list[str]:
    return [a for a in (text or "").replace(",", " ").replace(";", " ").split() if a]


def assign_accounts(session: Session, actor: User | None, plan: FollowUpPlan | None,
                    accounts: Iterable[str]) -> int:
    """The plan for the customers listed by account; an unknown account refuses them all."""
    accounts = sorted(set(accounts))
    if not accounts:
        raise FollowUpError(_("List at least one account."))
    found = {c.account: c for c in session.scalars(select(Customer).where(Customer.account.in_(accounts)))}
    missing = [a for a in accounts if a not in found]
    if missing:
        raise FollowUpError(_("No customer with account %(accounts)s: nothing assigned.",
                              accounts=", ".join(missing[:10]) + ("…" if len(missing) > 10 else "")))
    return sum(assign(session, actor, plan, found[a]) for a in accounts)


def _matching(text: str | None):
    text = (text or "").strip()
    if not text:
        return True
    pattern = f"%{text.lower()}%"
    return or_(func.lower(Customer.name).like(pattern), func.lower(Customer.account).like(pattern))


def assign_matching(session: Session, actor: User | None, plan: FollowUpPlan | None, text: str | None) -> int:
    """The plan for every customer whose name or account contains `text` (all customers when
    empty), in one UPDATE, with one history event saying how many."""
    new_id = plan.id if plan else None
    where = _matching(text)
    changed = session.execute(update(Customer).where(where, or_(Customer.follow_up_plan_id.is_(None),
                                                                Customer.follow_up_plan_id != new_id)
                                                     if new_id is not None else Customer.follow_up_plan_id.is_not(None))
                              .values(follow_up_plan_id=new_id).execution_options(synchronize_session=False)).rowcount
    text = (text or "").strip()
    if plan and text:
        detail = nsay("Follow-up plan %(name)s assigned for %(num)s customer matching %(text)s",
                      "Follow-up plan %(name)s assigned for %(num)s customers matching %(text)s", changed,
                      name=repr(plan.name), text=repr(text))
    elif plan:
        detail = say("Follow-up plan %(name)s assigned for all customers (%(num)s changed)", name=repr(plan.name),
                     num=Number(changed))
    elif text:
        detail = nsay("Follow-up plan removed for %(num)s customer matching %(text)s",
                      "Follow-up plan removed for %(num)s customers matching %(text)s", changed, text=repr(text))
    else:
        detail = say("Follow-up plan removed for all customers (%(num)s changed)", num=Number(changed))
    audit.record(session, actor, "follow_up.assign", detail)
    session.expire_all()
    return changed


def set_enabled(session: Session, actor: User | None, entry: Entry, enabled: bool) -> bool:
    """The entry's "Follow-up plan enabled" switch. Says whether it changed."""
    if entry.follow_up_enabled == enabled:
        return False
    entry.follow_up_enabled = enabled
    audit.record(session, actor, "follow_up.switch",
                 say("Follow-up plan enabled for %(number)s", number=entry.number) if enabled
                 else say("Follow-up plan disabled for %(number)s", number=entry.number), entry=entry)
    return True


# --- Deciding what is due -----------------------------------------------------------------------


@dataclass(frozen=True)
class StepInfo:
    id: int
    plan_id: int
    offset_days: int
    channel: str
    level: int
    template_level: int | None = None  # None: the template of `level`

    @property
    def template(self) -> int:
        """The level whose template the step sends."""
        return self.level if self.template_level is None else self.template_level


@dataclass
class CustomerDecision:
    """What the run sends one customer: one message at `step` covering `entry_ids`."""

    customer_id: int
    step: StepInfo
    entry_ids: list[int] = field(default_factory=list)

    @property
    def level(self) -> int:
        return self.step.level

    @property
    def channel(self) -> str:
        return self.step.channel


def _stopped(model, today: date):
    return and_(model.reminders_stopped.is_(True), or_(model.stop_until.is_(None), model.stop_until >= today))


def decide(session: Session, today: date | None = None) -> list[CustomerDecision]:
    """What the daily run would send today, per customer (by customer id), decided in SQL."""
    today = today or clock.today()
    steps = [StepInfo(s.id, s.plan_id, s.offset_days, s.channel, s.level, s.template_level)
             for s in session.scalars(select(FollowUpStep))]
    if not steps:
        return []
    by_plan_offset = {(s.plan_id, s.offset_days): s for s in steps}
    # The steps with their cut-off date for today (due on or before it: the step is due), as a
    # small inline table: SQLite and PostgreSQL compare dates without date arithmetic in SQL.
    cut = union_all(*(select(literal(s.plan_id, Integer).label("plan_id"),
                             literal(s.offset_days, Integer).label("offset_days"),
                             literal(s.level, Integer).label("level"),
                             literal(today - timedelta(days=s.offset_days), Date).label("cutoff"))
                      for s in steps)).subquery("cut")
    pending = (select(literal(1)).select_from(OutboxEntry)
               .join(OutboxMessage, OutboxMessage.id == OutboxEntry.message_id)
               .where(OutboxEntry.entry_id == Entry.id, OutboxMessage.status.notin_(("sent", "cancelled")),
                      OutboxMessage.level >= cut.c.level))
    query = (
        select(Entry.customer_id, Entry.id, Customer.follow_up_plan_id, func.max(cut.c.offset_days))
        .select_from(Customer)
        .join(Entry, Entry.customer_id == Customer.id)
        .join(cut, cut.c.plan_id == Customer.follow_up_plan_id)
        .where(Customer.follow_up_plan_id.is_not(None), not_(_stopped(Customer, today)),
               Entry.is_open.is_(True), Entry.kind == INVOICE, Entry.follow_up_enabled.is_(True),
               Entry.in_collection.is_(False), Entry.disputed.is_(False), not_(_stopped(Entry, today)),
               or_(Entry.promised_until.is_(None), Entry.promised_until < today), Entry.scheduled.is_(False),
               Entry.due_date <= cut.c.cutoff,
               or_(cut.c.level > Entry.reminder_level,
                   and_(cut.c.level == 0, Entry.reminder_level == 0, Entry.last_reminder_on.is_(None))),
               not_(exists(pending)))
        .group_by(Entry.customer_id, Entry.id, Customer.follow_up_plan_id)
    )
    decisions: dict[int, CustomerDecision] = {}
    for customer_id, entry_id, plan_id, offset in session.execute(query):
        step = by_plan_offset[(plan_id, offset)]
        decision = decisions.get(customer_id)
        if decision is None:
            decisions[customer_id] = CustomerDecision(customer_id, step, [entry_id])
            continue
        decision.entry_ids.append(entry_id)
        if (step.level, step.offset_days) > (decision.step.level, decision.step.offset_days):
            decision.step = step
    return [decisions[c] for c in sorted(decisions)]


# --- The run -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the run did (or, dry, would do) for one customer."""

    account: str
    name: str
    channel: str
    level: int
    entries: list[str]
    status: str  # queued | already queued | letter | task | would send | skipped
    reason: str = ""
    template: int | None = None  # the level whose template is sent, when it is not `level`'s


@dataclass
class RunReport:
    day: date
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)
    instalments: list[instalments.InstalmentOutcome] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(o.status in statuses for o in self.outcomes)

    def lines(self) -> list[str]:
        """The report as the command line prints it, in the reader's language."""
        day = self.day.isoformat()
        lines = [_("Follow-up run for %(day)s (dry run: nothing written)", day=day) if self.dry_run
                 else _("Follow-up run for %(day)s", day=day)]
        for o in self.outcomes:
            values = {"account": o.account, "name": o.name, "channel": CHANNEL_LABELS[o.channel],
                      "level": templates.level_name(o.level), "numbers": ", ".join(o.entries)}
            if o.template is not None:
                what = ngettext("%(account)s %(name)s: %(channel)s %(level)s (%(template)s template) for %(num)d entry "
                                "(%(numbers)s)",
                                "%(account)s %(name)s: %(channel)s %(level)s (%(template)s template) for %(num)d "
                                "entries (%(numbers)s)", len(o.entries), template=templates.level_name(o.template),
                                **values)
            else:
                what = ngettext("%(account)s %(name)s: %(channel)s %(level)s for %(num)d entry (%(numbers)s)",
                                "%(account)s %(name)s: %(channel)s %(level)s for %(num)d entries (%(numbers)s)",
                                len(o.entries), **values)
            lines.append("  " + self._outcome(what, o.status, o.reason))
        for o in self.instalments:
            what = _("%(account)s %(name)s: %(channel)s %(kind)s, instalment %(number)s of payment schedule "
                     "#%(schedule)s", account=o.account, name=o.name, channel=CHANNEL_LABELS[o.channel],
                     kind=MESSAGE_KINDS[o.kind].lower(), number=o.instalment, schedule=o.schedule_id)
            lines.append("  " + self._outcome(what, o.status, o.reason))
        if not self.outcomes and not self.instalments:
            lines.append("  " + _("Nothing is due."))
        elif self.outcomes:
            lines.append(_("%(count)s customers, %(skipped)s skipped.", count=len(self.outcomes),
                           skipped=self.count("skipped")))
        return lines

    @staticmethod
    def _outcome(what: str, status: str, reason: str) -> str:
        status = STATUS_WORDS.get(status, status)
        if reason:
            return _("%(what)s — %(status)s: %(reason)s", what=what, status=status, reason=reason)
        return _("%(what)s — %(status)s", what=what, status=status)


def dedupe_key(customer_id: int, step_id: int, day: date) -> str:
    return f"plan:{customer_id}:{step_id}:{day.isoformat()}"


LetterMaker = Callable[[Customer, list, "reminders.LetterContent"], tuple[str, str]]


def _skip_reason(customer: Customer, decision: CustomerDecision, company) -> str:
    if decision.channel == "email":
        if not customer.reminder_emails:
            return _("no e-mail address")
        if company is None or not (company.sender_email or "").strip():
            return _("no sender e-mail address for the company (Settings → Company)")
    if decision.channel in ("letter", "notice") and not (company is not None and (company.name or "").strip()):
        return _("no company name for the letter (Settings → Company)")
    return ""


def pending_run_messages(session: Session) -> list[OutboxMessage]:
    """Messages a run queued but whose send was never started (a run killed before it handed
    them to the worker)."""
    return list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.status == "queued",
        or_(OutboxMessage.dedupe_key.like("plan:%"), OutboxMessage.dedupe_key.like("instalment:%")))))


def run(session: Session, today: date | None = None, *, dry_run: bool = False,
        enqueue: Callable[[OutboxMessage], None] | None = None,
        make_letter: LetterMaker | None = None) -> RunReport:
    """Send what is due today (see the module's docstring). Commits once per customer, so a run
    killed half-way keeps what it did and the next run does the rest. `enqueue` hands a queued
    e-mail to the worker; `make_letter(customer, entries, content)` writes the letter PDF and
    returns (storage_name, filename). Dry: the same decisions, nothing written."""
    today = today or clock.today()
    report = RunReport(today, dry_run)
    if not dry_run and enqueue is not None:
        for message in pending_run_messages(session):
            enqueue(message)
    decisions = decide(session, today)
    texts = reminders.RunTexts(session, None)  # an automatic run: the company signs
    for decision in decisions:
        customer = session.get(Customer, decision.customer_id)
        entries = list(session.scalars(select(Entry).where(Entry.id.in_(decision.entry_ids))
                                       .order_by(Entry.due_date, Entry.id)))
        step = decision.step
        outcome = Outcome(customer.account, customer.name, decision.channel, decision.level,
                          [e.number for e in entries], "would send" if dry_run else "",
                          template=step.template if step.channel != "task" and step.template != step.level else None)
        report.outcomes.append(outcome)
        reason = _skip_reason(customer, decision, texts.company)
        if reason:
            outcome.status, outcome.reason = "skipped", reason
            continue
        if dry_run:
            continue
        try:
            _send(session, customer, entries, decision, today, texts, outcome, enqueue, make_letter)
        except (reminders.ReminderError, outbox.OutboxError, notices.NoticeError) as error:
            session.rollback()
            outcome.status, outcome.reason = "skipped", str(error)
    # Then the instalments of the payment schedules, which the decision above leaves to their dates.
    report.instalments = instalments.run(session, today, company=texts.company, dry_run=dry_run, enqueue=enqueue)
    if dry_run:
        session.rollback()
    return report


def _send(session: Session, customer: Customer, entries: list[Entry], decision: CustomerDecision, today: date,
          texts: reminders.RunTexts, outcome: Outcome, enqueue, make_letter) -> None:
    level = decision.level
    if decision.channel == "email":
        message = texts.email(customer, texts.context(customer, entries, level),
                              template_level=decision.step.template_level)
        emails = customer.reminder_emails
        queued, is_new = outbox.queue_message(
            session, customer=customer, entries=entries, level=level, to=emails[:1], cc=emails[1:],
            subject=message.subject, body=message.body, sent_by=None,
            dedupe_key=dedupe_key(customer.id, decision.step.id, today), company=texts.company)
        session.commit()
        outcome.status = "queued" if is_new else "already queued"
        if queued.status == "queued" and enqueue is not None:
            enqueue(queued)
    elif decision.channel == "letter":
        if make_letter is None:
            raise reminders.ReminderError(_("letters cannot be made by this run"))
        content = texts.letter(customer, texts.context(customer, entries, level),
                               template_level=decision.step.template_level)
        storage_name, filename = make_letter(customer, entries, content)
        reminders.record_letter(session, None, customer, entries, content, storage_name, filename)
        session.commit()
        outcome.status = "letter"
    elif decision.channel == "notice":
        _issue_notice(session, customer, entries, decision, today, texts, outcome, enqueue)
    else:
        for entry in entries:
            entry.reminder_level = max(entry.reminder_level or 0, level)
        audit.record(session, None, TASK_ACTION,
                     nsay("Phone call to make (%(level)s) for %(num)s entry: %(numbers)s",
                          "Phone call to make (%(level)s) for %(num)s entries: %(numbers)s", len(entries),
                          level=templates.level_said(level), numbers=", ".join(e.number for e in entries)),
                     customer=customer, entry=entries[0] if len(entries) == 1 else None)
        session.commit()
        outcome.status = "task"


def _issue_notice(session: Session, customer: Customer, entries: list[Entry], decision: CustomerDecision,
                  today: date, texts: reminders.RunTexts, outcome: Outcome, enqueue) -> None:
    """A formal notice step: the interest and indemnity claimed (unless a rate or an indemnity is
    unknown: then the principal alone, and the outcome says why); by e-mail when the customer has an
    address, else a letter to post, recorded as a task. The entries reach the step's level, so the
    step is not due again; the outbox key and the notice's token make a repeated run find the same."""
    found = notices.draft(session, customer, [e.id for e in entries], today)
    if found.problems:
        raise reminders.ReminderError(" ".join(found.problems))
    by_email = bool(customer.reminder_emails)
    notice, is_new = notices.issue(session, None, customer, [e.id for e in entries],
                                   channel="email" if by_email else "letter", claim=not found.charge_problems,
                                   token=dedupe_key(customer.id, decision.step.id, today), today=today)
    for entry in entries:
        entry.reminder_level = max(entry.reminder_level or 0, decision.level)
        entry.last_reminder_on = today
    if not by_email and is_new:
        audit.record(session, None, TASK_ACTION,
                     say("Formal notice letter to post: formal notice #%(id)s (no e-mail address): download it from "
                         "the account status and send it by registered letter", id=notice.id), customer=customer)
    session.commit()
    outcome.status = ("queued" if is_new else "already queued") if by_email else "letter"
    if found.charge_problems:
        outcome.reason = _("principal only: %(problems)s", problems=" ".join(found.charge_problems))
    if by_email and is_new and enqueue is not None and notice.outbox_message is not None:
        enqueue(notice.outbox_message)
