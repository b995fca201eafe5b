"""Legal steps of a collection case: amicable → formal notice → legal (injunction to pay, summons),
each dated, with its document and costs, and the legal deadlines they start as dated tasks.

    step = record_step(session, user, case, "injunction_order", on=date(…), note="…", costs_cents=0,
                       document=("order.pdf", "storage name"))
    tasks_of(session, case) · complete_task(session, user, task)
    claim = claim_breakdown(session, case, today, terms)   # principal, interest, indemnity, costs

France, injunction to pay (injonction de payer, Code de procédure civile art. 1405 and following):
the order must be served within 6 months of its date or it lapses (art. 1411); the debtor may oppose
it within 1 month of service (art. 1416); after that, the enforcement formula is asked for.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from domain import audit, clock
from domain.i18n import Money, Said, _, lazy_pgettext, pgettext, say
from domain.models import (CASE_STATUS_LABELS, LEGAL_STEPS, CaseTask, ClaimedCharge, CollectionCase, Entry,
                           FormalNotice, FormalNoticeEntry, LegalStep, User)

# What a step starts: (task text, months after the step's date); a task is read in each reader's language.
DEADLINES = {
    "injunction_order": (say("Serve the injunction order: it lapses if not served within 6 months (CPC art. 1411)"), 6),
    "service": (say("Opposition period ends (1 month after service, CPC art. 1416): then ask for the enforcement "
                    "formula"), 1),
}
LEGAL_KINDS = ("injunction_request", "injunction_order", "service", "enforcement", "summons", "judgment")
STAGES = {"amicable": lazy_pgettext("case stage", "Amicable"), "formal_notice": lazy_pgettext("case stage", "Formal notice"),
          "legal": lazy_pgettext("case stage", "Legal")}
MAX_COSTS_CENTS = 10_000_000_00


class LegalError(ValueError):
    """Why a step or a task was refused; nothing was written."""


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def stage_of(steps: list[LegalStep], notices: list[FormalNotice] = ()) -> str:
    """Where the case stands: legal once a legal step is recorded, else formal notice once one was
    sent (a step, or a formal notice of Relance on its invoices), else amicable."""
    kinds = {step.kind for step in steps}
    if kinds & set(LEGAL_KINDS):
        return "legal"
    return "formal_notice" if "formal_notice" in kinds or notices else "amicable"


def steps_of(session: Session, case: CollectionCase) -> list[LegalStep]:
    return list(session.scalars(select(LegalStep).where(LegalStep.case_id == case.id)
                                .order_by(LegalStep.on, LegalStep.id)))


def tasks_of(session: Session, case: CollectionCase) -> list[CaseTask]:
    return list(session.scalars(select(CaseTask).where(CaseTask.case_id == case.id)
                                .order_by(CaseTask.done_at.is_not(None), CaseTask.due_on, CaseTask.id)))


def record_step(session: Session, actor: User, case: CollectionCase, kind: str, *, on: date | None, note: str,
                costs_cents: int = 0, document: tuple[str, str] | None = None) -> LegalStep:
    """A dated step of the case, with its document (filename, storage name) and costs (court or
    bailiff fees, claimed with the rest); a legal step moves the case to Legal; the deadlines it
    starts become tasks."""
    if kind not in LEGAL_STEPS:
        raise LegalError(_("Choose what happened: amicable action, formal notice, injunction to pay, service, "
                           "enforcement, summons or judgment."))
    if case.status in ("paid", "closed"):
        raise LegalError(_("The case is %(status)s: no step can be added.", status=case.status_label.lower()))
    if on is None:
        raise LegalError(_("Give the step's date."))
    if on > clock.today():
        raise LegalError(_("A step is recorded once it happened: its date is today or before."))
    if not 0 <= costs_cents <= MAX_COSTS_CENTS:
        raise LegalError(_("The costs are an amount of 0 or more."))
    note = " ".join((note or "").split())[:1000]
    same = session.scalar(select(LegalStep).where(
        LegalStep.case_id == case.id, LegalStep.kind == kind, LegalStep.on == on, LegalStep.costs_cents == costs_cents,
        LegalStep.created_by_id == actor.id, LegalStep.created_at >= clock.now() - timedelta(minutes=1)))
    if same is not None and (same.note or "") == note:
        return same  # a double click (the form sent twice): recorded once
    step = LegalStep(case_id=case.id, kind=kind, on=on, note=note or None, costs_cents=costs_cents,
                     document_filename=document[0] if document else None,
                     document_storage=document[1] if document else None, created_by_id=actor.id)
    session.add(step)
    session.flush()
    if kind in DEADLINES:
        text, months = DEADLINES[kind]
        task = CaseTask(case_id=case.id, step_id=step.id, due_on=add_months(on, months))
        task.shown_text = text
        session.add(task)
    what = {"case": case.id, "step": LEGAL_STEPS[kind], "day": on}
    costs = Money(costs_cents, _currency_of(case))
    if costs_cents and note:
        detail = say("Collection case #%(case)s: %(step)s on %(day)s, costs %(costs)s — %(note)s.", **what,
                     costs=costs, note=note)
    elif costs_cents:
        detail = say("Collection case #%(case)s: %(step)s on %(day)s, costs %(costs)s.", **what, costs=costs)
    elif note:
        detail = say("Collection case #%(case)s: %(step)s on %(day)s — %(note)s.", **what, note=note)
    else:
        detail = say("Collection case #%(case)s: %(step)s on %(day)s.", **what)
    audit.record(session, actor, "collection_case.step", detail, customer=case.customer)
    if kind in LEGAL_KINDS and case.status != "legal":
        before = CASE_STATUS_LABELS[case.status]
        case.status, case.status_changed_at = "legal", clock.now()
        audit.record(session, actor, "collection_case.status",
                     say("Collection case #%(case)s: %(before)s → %(after)s (%(step)s)", case=case.id, before=before,
                         after=CASE_STATUS_LABELS["legal"], step=LEGAL_STEPS[kind]), customer=case.customer)
    return step


def _currency_of(case: CollectionCase) -> str:
    """The currency the case's costs are shown in: its claim's (the open entries'), as its page does."""
    entries = [e for e in case.entries if e.cancelled_at is None]
    return next((e.currency for e in entries if e.open_cents), entries[0].currency if entries else "EUR")


def _task_text(task: CaseTask) -> Said | str:
    """The task's text as kept: its Said (each reader's language), else the text as written."""
    return Said.loads(task.text_i18n) if task.text_i18n else task.text


def complete_task(session: Session, actor: User, task: CaseTask) -> None:
    if task.done_at is not None:
        raise LegalError(_("This task is already done."))
    task.done_at, task.done_by_id = clock.now(), actor.id
    audit.record(session, actor, "collection_case.task",
                 say("Collection case #%(case)s: done — %(task)s.", case=task.case_id, task=_task_text(task)),
                 customer=task.case.customer)


def open_tasks(session: Session, until: date) -> list[CaseTask]:
    """Tasks not done whose date is on or before `until` (the digest's, the Collection page's)."""
    return list(session.scalars(select(CaseTask).where(CaseTask.done_at.is_(None), CaseTask.due_on <= until)
                                .options(joinedload(CaseTask.case).joinedload(CollectionCase.customer))
                                .order_by(CaseTask.due_on, CaseTask.id)))


# --- The claim, for the court -------------------------------------------------------------------

class ClaimLine(NamedTuple):
    entry: Entry
    principal_cents: int
    interest_cents: int       # claimed and still open
    indemnity_cents: int


@dataclass
class ClaimBreakdown:
    currency: str
    lines: list[ClaimLine]
    costs_cents: int

    @property
    def principal_cents(self) -> int:
        return sum(line.principal_cents for line in self.lines)

    @property
    def interest_cents(self) -> int:
        return sum(line.interest_cents for line in self.lines)

    @property
    def indemnity_cents(self) -> int:
        return sum(line.indemnity_cents for line in self.lines)

    @property
    def total_cents(self) -> int:
        return self.principal_cents + self.interest_cents + self.indemnity_cents + self.costs_cents


def claim_breakdown(session: Session, case: CollectionCase) -> ClaimBreakdown:
    """What the case claims: each invoice's open principal (less the case's open credit notes, a line
    of their own), the interest and indemnity formal notices claimed that are still open, and the
    costs of its steps. Only what was claimed: a court is asked for what the debtor was told. One
    currency: a case in several is refused (LegalError)."""
    entries = list(session.scalars(select(Entry).where(Entry.collection_case_id == case.id,
                                                       Entry.cancelled_at.is_(None))
                                   .order_by(Entry.due_date, Entry.id)))
    currencies = {e.currency for e in entries if e.open_cents}
    if len(currencies) > 1:
        both, *others = sorted(currencies)
        for currency in others:
            both = pgettext("a list of currencies", "%(first)s and %(second)s", first=both, second=currency)
        raise LegalError(_("The case's entries are in %(currencies)s: a claim is in one currency.", currencies=both))
    charges: dict[tuple[int, str], int] = {}
    for charge in session.scalars(select(ClaimedCharge).where(
            ClaimedCharge.entry_id.in_([e.id for e in entries]), ClaimedCharge.status == "open")):
        charges[(charge.entry_id, charge.kind)] = charges.get((charge.entry_id, charge.kind), 0) + charge.amount_cents
    lines = [ClaimLine(e, e.sign * e.open_cents, charges.get((e.id, "interest"), 0), charges.get((e.id, "indemnity"), 0))
             for e in entries if e.open_cents or charges.get((e.id, "interest")) or charges.get((e.id, "indemnity"))]
    costs = sum(step.costs_cents for step in steps_of(session, case))
    currency = next(iter(currencies), entries[0].currency if entries else "EUR")
    return ClaimBreakdown(currency, lines, costs)


def notices_of_case(session: Session, case: CollectionCase) -> list[FormalNotice]:
    """The formal notices that named an invoice of the case (their PDFs go in the court pack)."""
    return list(session.scalars(select(FormalNotice).where(
        FormalNotice.cancelled_at.is_(None),
        FormalNotice.id.in_(select(FormalNoticeEntry.notice_id).join(Entry, Entry.id == FormalNoticeEntry.entry_id)
                            .where(Entry.collection_case_id == case.id))).order_by(FormalNotice.id)))
