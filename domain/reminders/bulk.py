"""Bulk dunning: from Who owes you what?, one reminder e-mail per ticked customer (or per customer
matching the filter) covering its overdue entries, queued in the outbox, with a report of what was
sent, skipped and why, and what failed.

Nothing is sent on the click: the job first makes a plan (`plan`: how many messages at which level,
who is skipped and why, the templates, one message as it would go), the user confirms it
(`confirm`) or cancels it, and only then does the run send, to the planned customers only. A set-up
problem (no sender address, no mail server) is said in the plan and fails the run before anything
is queued.

    decisions = plan_bulk_dunning(session, ["C100", "C200"] | filters, today)
    run, is_new = request_run(session, user, params)    # the same run again on a double click
    run.result = json.dumps(plan(session, run, actor, today=…, mail_server=…))   # in the worker
    confirm(session, run, actor)                         # the user's click: the run may send
    report = run_bulk_dunning(session, run, actor, today=…, attachment_dir=…, deliver=…, progress=…,
                              make_letter=…)         # make_letter: only when the run asks for letters

Rules per customer: overdue = open invoices due before today with an open amount; entries whose
reminders are stopped, in collection or disputed are left out, and so are entries reminded less
than holds.REMINDER_GAP_DAYS days ago; a customer with a message at that
level or above still on its way or of unknown outcome is skipped; level = the most advanced entry's
level + 1 (at most R5); the e-mail template of that level in the customer's language. Each message
is queued under the dedupe key (run, customer): a retried job never queues one twice. "Failed"
means it could not be queued (a broken template, no company sender address…); the delivery itself
shows later on Deliveries. No Flask, no Redis here: the job passes plain arguments and callbacks.

With the option "Attach the reminder letter (PDF)" (`letter=1` in the run's params) each e-mail
also carries the formal letter of the customer's level (the letter template, as the ✉️ button
makes it), written by the caller's `make_letter(customer, entries, content, name)` → (storage name
under the document directory, file name): the domain knows no documents. The file stays as the
message's stored attachment, so the reminder's history lists it. `name` is the same for the same
run and customer (`letter_name`): a retried job replaces a letter it had written, never adds one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from domain import clock, i18n
from domain.exports import DOUBLE_CLICK_WINDOW
from domain.i18n import Joined, Number, Said, _
from domain.i18n import lazy_gettext as _l
from domain.i18n import nsay, say, shown
from domain.ledger import queries
from domain.ledger.queries import Filters
from domain.models import INVOICE, BulkRun, Customer, Entry, OutboxMessage, User
from domain.reminders import holds as hold_rules
from domain.reminders import sending as reminders
from domain.reminders import templates
from domain.reminders.outbox import OutboxError, StoredAttachment, queue_message

LETTER_PARAM = "letter"  # in the run's params: "1" when each e-mail carries the reminder letter
SEND, SENT, SKIPPED, FAILED = "send", "sent", "skipped", "failed"
CHUNK = 500

# Why a customer is skipped (DunningDecision.reason), in the reader's words: lazy, so a reason is
# one of these objects (compare with `is`), and becomes text (str) where it is written down.
CUSTOMER_STOPPED = _l("reminders stopped for the customer")
NOTHING_OVERDUE = _l("nothing overdue")
NO_EMAIL = _l("no e-mail address")
UNKNOWN_ACCOUNT = _l("no customer with this account")
ALREADY_QUEUED = _l("already queued by an earlier attempt of this run")
NO_LETTER_MAKER = _l("the reminder letter cannot be made by this run")
EXCLUSIONS = (("stopped", _l("%(count)s reminders stopped")), ("in_collection", _l("%(count)s in collection")),
              ("disputed", _l("%(count)s disputed")), ("promised", _l("%(count)s under a promise to pay")),
              ("scheduled", _l("%(count)s under a payment schedule")))
NOT_PLANNED = _l("not in the plan you confirmed: send reminders again to include it")
RECENTLY_REMINDED = _l("every overdue entry was reminded less than %(days)s days ago",
                       days=hold_rules.REMINDER_GAP_DAYS)
UNSETTLED = _l("a reminder at this level or above is still on its way or has an unknown outcome (see Deliveries)")
CONFIRMED_PARAM = "confirmed"  # in the run's params: "1" once the user confirmed the plan
PLAN_LISTED = 500  # customers named in the confirmation; the report names all of them
PLAN_LIFETIME = timedelta(hours=1)  # a plan older than this is made again before anything is sent
# Why customers are skipped, as the confirmation and the report count them: (reason, category).
SKIP_CATEGORIES = ((CUSTOMER_STOPPED, _l("reminders stopped")), (NOTHING_OVERDUE, _l("nothing overdue")),
                   (NO_EMAIL, _l("no e-mail")), (UNKNOWN_ACCOUNT, _l("unknown account")),
                   (UNSETTLED, _l("a reminder still on its way")), (NOT_PLANNED, _l("not in the confirmed plan")),
                   (RECENTLY_REMINDED, _l("reminded in the last %(days)s days", days=hold_rules.REMINDER_GAP_DAYS)))


@dataclass(frozen=True)
class DunningDecision:
    """What to do for one customer: SEND (with the level and entries) or SKIPPED (with why)."""

    account: str
    name: str
    outcome: str
    reason: str = ""
    customer_id: int | None = None
    level: int | None = None
    entry_ids: tuple[int, ...] = ()
    numbers: tuple[str, ...] = ()
    amounts: tuple[tuple[str, int], ...] = ()  # (currency, open cents) of the covered entries


@dataclass(frozen=True)
class DunningLine:
    """One line of the report: the decision's outcome once the run is over."""

    account: str
    name: str
    outcome: str  # SENT | SKIPPED | FAILED
    reason: str
    level: int | None
    numbers: tuple[str, ...]
    amounts: tuple[tuple[str, int], ...]


@dataclass
class DunningReport:
    lines: list[DunningLine] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    def not_delivered(self, account: str, why: str) -> None:
        """The mail server did not take this customer's message: the line says so, and that the
        outbox tries again."""
        self.lines = [replace(line, outcome=FAILED, reason=_("%(why)s (Relance tries again: see Deliveries)", why=why))
                      if line.account == account and line.outcome == SENT else line for line in self.lines]

    @property
    def sent(self) -> int:
        return self.count(SENT)

    @property
    def skipped(self) -> int:
        return self.count(SKIPPED)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def summary(self) -> str:
        """The counts, in the reader's language."""
        return str(self.summary_said)

    @property
    def summary_said(self) -> Said:
        return say("sent %(sent)s · skipped %(skipped)s · failed %(failed)s", sent=Number(self.sent),
                   skipped=Number(self.skipped), failed=Number(self.failed))


# make_letter(customer, entries, content, name) → (storage name under the document directory, file name)
LetterMaker = Callable[[Customer, list, "reminders.LetterContent", str], tuple[str, str]]


def dedupe_key(run_id: int, customer_id: int) -> str:
    return f"bulk:{run_id}:{customer_id}"


def letter_name(run_id: int, customer_id: int) -> str:
    """The stable name of the letter attached for this run and customer (no customer text)."""
    return f"bulk-{run_id}-{customer_id}"


def params_of(run: BulkRun) -> dict:
    return json.loads(run.params or "{}")


def request_run(session: Session, user: User, params: dict) -> tuple[BulkRun, bool]:
    """A new run to plan, or the same one again when the user just asked for it (a double click).
    The flag says whether it is new, i.e. whether it still has to be queued."""
    encoded = json.dumps(params, sort_keys=True)
    recent = session.scalar(
        select(BulkRun)
        .where(BulkRun.user_id == user.id, BulkRun.params == encoded, BulkRun.status.in_(("queued", "running")),
               BulkRun.created_at >= clock.now() - DOUBLE_CLICK_WINDOW)
        .order_by(BulkRun.id.desc()))
    if recent is not None:
        return recent, False
    run = BulkRun(user_id=user.id, params=encoded, status="queued", locale=i18n.current_locale())
    session.add(run)
    session.flush()
    return run, True


def visible_run(session: Session, user: User, run_id: int) -> BulkRun | None:
    """The run if this user may see it: whoever asked for it, or an admin."""
    run = session.get(BulkRun, run_id)
    if run is None or (run.user_id != user.id and user.role != "admin"):
        return None
    return run


def user_runs(session: Session, user: User, limit: int = 50) -> list[BulkRun]:
    """The user's runs, newest first; an admin sees everyone's (who sent what to the customers)."""
    query = select(BulkRun) if user.role == "admin" else select(BulkRun).where(BulkRun.user_id == user.id)
    return list(session.scalars(query.order_by(BulkRun.id.desc()).limit(limit)))


def queued_count(session: Session, run: BulkRun) -> int:
    """How many messages this run put in the outbox (what a run that stopped half-way did send)."""
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(
        queries.prefix_range(OutboxMessage.dedupe_key, dedupe_key(run.id, 0)[:-1]))) or 0


def wants_letter(run: BulkRun) -> bool:
    """Whether this run attaches the reminder letter (PDF) to each e-mail."""
    return str(params_of(run).get(LETTER_PARAM) or "") == "1"


def _amounts(entries: Iterable[Entry]) -> tuple[tuple[str, int], ...]:
    totals: dict[str, int] = {}
    for entry in entries:
        totals[entry.currency] = totals.get(entry.currency, 0) + entry.open_cents
    return tuple(sorted(totals.items()))


def _excluded_reason(entries: list[Entry], today: date) -> str:
    counts = {"stopped": 0, "in_collection": 0, "disputed": 0, "promised": 0, "scheduled": 0}
    for entry in entries:
        if entry.reminders_stopped_on(today):
            counts["stopped"] += 1
        elif entry.in_collection:
            counts["in_collection"] += 1
        elif entry.disputed:
            counts["disputed"] += 1
        elif entry.promised_on_hold(today):
            counts["promised"] += 1
        elif entry.scheduled:
            counts["scheduled"] += 1
    parts = [str(label) % {"count": counts[key]} for key, label in EXCLUSIONS if counts[key]]
    return _("every overdue entry is left out: %(parts)s", parts=", ".join(parts))


def skip_category(reason) -> str:
    """The category a skip reason is counted under (text, in the reader's language)."""
    return str(skip_label(reason))


def skip_label(reason):
    """The category a skip reason is counted under, as a lazy label (for a kept sentence)."""
    category = next((category for known, category in SKIP_CATEGORIES if reason is known), None)
    return category if category is not None else _l("stopped, disputed, promised or in collection")


def decide(customer: Customer, overdue: list[Entry], today: date, unsettled_level: int | None = None) -> DunningDecision:
    """The decision for one customer, given its overdue entries (open invoices due before today)
    and the highest level of its messages still on their way (holds.unsettled_levels)."""
    base = {"account": customer.account, "name": customer.name, "customer_id": customer.id}
    if customer.reminders_stopped_on(today):
        return DunningDecision(outcome=SKIPPED, reason=CUSTOMER_STOPPED, **base)
    if not overdue:
        return DunningDecision(outcome=SKIPPED, reason=NOTHING_OVERDUE, **base)
    allowed = [e for e in overdue if not (e.reminders_stopped_on(today) or e.in_collection or e.disputed
                                          or e.promised_on_hold(today) or e.scheduled)]
    if not allowed:
        return DunningDecision(outcome=SKIPPED, reason=_excluded_reason(overdue, today),
                               numbers=tuple(e.number for e in overdue), amounts=_amounts(overdue), **base)
    kept = [e for e in allowed if not hold_rules.reminded_recently(e, today)]
    if not kept:
        return DunningDecision(outcome=SKIPPED, reason=RECENTLY_REMINDED,
                               numbers=tuple(e.number for e in allowed), amounts=_amounts(allowed), **base)
    level = reminders.default_level(kept)
    covered = {"level": level, "numbers": tuple(e.number for e in kept), "amounts": _amounts(kept)}
    if not customer.reminder_emails:
        return DunningDecision(outcome=SKIPPED, reason=NO_EMAIL, **covered, **base)
    if unsettled_level is not None and level <= unsettled_level:
        return DunningDecision(outcome=SKIPPED, reason=UNSETTLED, **covered, **base)
    return DunningDecision(outcome=SEND, entry_ids=tuple(e.id for e in kept), **covered, **base)


def _customers_of(session: Session, selection: Iterable[str] | Filters) -> tuple[list[Customer], list[str]]:
    """The customers to consider, in the view's order (filters) or by account (ticked), and the
    ticked accounts that match no customer."""
    if isinstance(selection, Filters):
        ids: list[int] = []
        seen: set[int] = set()
        for _summary, customer in queries.all_balances(session, selection):
            if customer.id not in seen:  # one row per customer and currency
                seen.add(customer.id)
                ids.append(customer.id)
        found: dict[int, Customer] = {}
        for start in range(0, len(ids), CHUNK):
            found.update((c.id, c) for c in session.scalars(select(Customer).options(selectinload(Customer.contacts))
                                                            .where(Customer.id.in_(ids[start:start + CHUNK]))))
        return [found[i] for i in ids if i in found], []
    accounts = sorted({a.strip() for a in selection if a and a.strip()})
    by_account: dict[str, Customer] = {}
    for start in range(0, len(accounts), CHUNK):
        by_account.update((c.account, c) for c in session.scalars(
            select(Customer).options(selectinload(Customer.contacts))
            .where(Customer.account.in_(accounts[start:start + CHUNK]))))
    return [by_account[a] for a in accounts if a in by_account], [a for a in accounts if a not in by_account]


def _overdue_entries(session: Session, customer_ids: list[int], today: date) -> dict[int, list[Entry]]:
    overdue: dict[int, list[Entry]] = {i: [] for i in customer_ids}
    for start in range(0, len(customer_ids), CHUNK):
        for entry in session.scalars(
                select(Entry).where(Entry.customer_id.in_(customer_ids[start:start + CHUNK]), Entry.is_open.is_(True),
                                    Entry.kind == INVOICE, Entry.due_date < today, Entry.open_cents > 0)
                .order_by(Entry.customer_id, Entry.due_date, Entry.id)):
            overdue[entry.customer_id].append(entry)
    return overdue


def plan_bulk_dunning(session: Session, selection: Iterable[str] | Filters, today: date) -> list[DunningDecision]:
    """One decision per customer: the ticked accounts, or every customer matching the filters."""
    customers, unknown = _customers_of(session, selection)
    ids = [c.id for c in customers]
    overdue = _overdue_entries(session, ids, today)
    unsettled = hold_rules.unsettled_levels(session, ids)
    decisions = [decide(customer, overdue[customer.id], today, unsettled.get(customer.id)) for customer in customers]
    decisions += [DunningDecision(account=a, name="", outcome=SKIPPED, reason=UNKNOWN_ACCOUNT) for a in unknown]
    return decisions


def selection_of(run: BulkRun) -> Iterable[str] | Filters:
    """What a run was asked for: all customers matching its filter (all=1), or the ticked accounts."""
    params = params_of(run)
    if str(params.get("all") or "") == "1":
        return queries.parse_filters(params, tuple(queries.BALANCE_SORTS))
    accounts = params.get("customer") or []
    return [accounts] if isinstance(accounts, str) else list(accounts)


def setup_problem(company, mail_server: bool) -> str | None:
    """What keeps every message of a run from going out (said once, before anything is queued)."""
    try:
        reminders.company_sender(company)
    except reminders.ReminderError as error:
        return str(error)
    if not mail_server:
        return _("No mail server is configured (RELANCE_SMTP_URL): no e-mail can be sent.")
    return None


def is_confirmed(run: BulkRun) -> bool:
    return str(params_of(run).get(CONFIRMED_PARAM) or "") == "1"


def plan_of(run: BulkRun) -> dict:
    """The plan the job stored for the user to confirm (see `plan`), then with the run's counts
    under "outcome", or {}."""
    try:
        found = json.loads(run.result or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def plan(session: Session, run: BulkRun, actor: User, *, today: date, mail_server: bool) -> dict:
    """What the run would do, for the user to confirm before anything is sent: how many messages
    at which level, who is skipped and why, the templates used, one message as it would go, and
    the customers it covers (the run sends to these only)."""
    decisions = plan_bulk_dunning(session, selection_of(run), today)
    texts = reminders.RunTexts(session, actor)
    sending = [d for d in decisions if d.outcome == SEND]
    levels: dict[str, int] = {}
    wordings: dict[str, int] = {}
    skipped: dict[str, int] = {}
    labels: dict[str, object] = {}  # category text → its lazy label, for the summary kept in every language
    for decision in decisions:
        if decision.outcome == SEND:
            levels[str(decision.level)] = levels.get(str(decision.level), 0) + 1
        else:
            label = skip_label(decision.reason)
            category = str(label)
            labels[category] = label
            skipped[category] = skipped.get(category, 0) + 1
    languages: dict[int, str] = {}
    for start in range(0, len(sending), CHUNK):
        languages.update((c.id, templates.template_language(c.language)) for c in session.scalars(
            select(Customer).where(Customer.id.in_([d.customer_id for d in sending[start:start + CHUNK]]))))
    for decision in sending:
        wording = f"{templates.level_name(decision.level)} ({languages.get(decision.customer_id, 'en')})"
        wordings[wording] = wordings.get(wording, 0) + 1
    preview, problem = None, setup_problem(texts.company, mail_server)
    if sending:
        first = sending[0]
        customer = session.get(Customer, first.customer_id)
        entries = list(session.scalars(select(Entry).where(Entry.id.in_(first.entry_ids))
                                       .order_by(Entry.due_date, Entry.id)))
        try:
            message = texts.email(customer, texts.context(customer, entries, first.level))
            preview = {"account": customer.account, "name": customer.name, "to": ", ".join(customer.reminder_emails),
                       "level": first.level, "subject": message.subject, "body": message.body}
        except reminders.ReminderError as error:
            problem = problem or str(error)
    # The job writes the plan in its own language: the summary is kept as a Said, read in the reader's
    # (summary_of); "summary" keeps the text as written for what reads the JSON alone.
    summary = plan_said(len(sending), levels, [(labels[category], n) for category, n in skipped.items()])
    return {"planned_at": clock.now().isoformat(), "send": len(sending), "levels": levels,
            "summary": str(summary), "summary_i18n": summary.dumps(),
            "skipped": sum(skipped.values()), "skip_reasons": skipped, "templates": wordings,
            "letter": wants_letter(run), "preview": preview, "problem": problem,
            "customers": [d.customer_id for d in sending],
            # Who, for the confirmation (the report lists everyone once sent).
            "listed": [[d.account, d.name, templates.level_name(d.level) if d.outcome == SEND else "",
                        "" if d.outcome == SEND else skip_category(d.reason)] for d in decisions[:PLAN_LISTED]]}


def plan_said(send: int, levels: dict[str, int], skipped: list[tuple]) -> Said:
    """"Send 37 reminders (12 R1, 20 R2, 5 R3) — 8 customers skipped (reminders stopped 5, no e-mail 3)".
    `skipped`: (category, a lazy label; how many)."""
    text = say("Nothing to send")
    if send:
        by_level = Joined([say("%(count)s %(level)s", count=Number(levels[level]),
                               level=templates.level_said(int(level))) for level in sorted(levels, key=int)], ", ")
        text = nsay("Send %(num)s reminder (%(levels)s)", "Send %(num)s reminders (%(levels)s)", send, levels=by_level)
    count = sum(n for _category, n in skipped)
    if count:
        why = Joined([say("%(category)s %(count)s", category=category, count=Number(n))
                      for category, n in sorted(skipped, key=lambda item: (-item[1], str(item[0])))], ", ")
        text = nsay("%(text)s — %(num)s customer skipped (%(why)s)", "%(text)s — %(num)s customers skipped (%(why)s)",
                    count, text=text, why=why)
    return text


def summary_of(plan: dict) -> str | None:
    """The plan's summary in the reader's language (a plan from before: as it was written)."""
    return shown(plan.get("summary"), plan.get("summary_i18n"))


class PlanError(ValueError):
    """The plan cannot be confirmed; the message says why."""


def confirm(session: Session, run: BulkRun, actor: User) -> None:
    """The user confirmed the plan: the run may start (it sends to the planned customers only)."""
    if run.status != "planned":
        raise PlanError(_("These reminders are not waiting for a confirmation any more."))
    found = plan_of(run)
    if found.get("problem"):
        raise PlanError(found["problem"])
    if not found.get("send"):
        raise PlanError(_("There is nothing to send."))
    planned_at = found.get("planned_at")
    if not planned_at or clock.now() - datetime.fromisoformat(planned_at) > PLAN_LIFETIME:
        raise PlanError(_("This plan is more than an hour old and the ledger may have changed: make it again."))
    params = params_of(run)
    params[CONFIRMED_PARAM] = "1"
    run.params = json.dumps(params, sort_keys=True)
    run.status, run.progress, run.message = "queued", 0, None
    from domain import audit

    audit.record(session, actor, "bulk_dunning.confirmed",
                 say("Bulk reminders confirmed: %(send)s to send, %(skipped)s skipped.", send=Number(found["send"]),
                     skipped=Number(found.get("skipped", 0))))


def cancel(run: BulkRun) -> None:
    if run.status != "planned":
        raise PlanError(_("These reminders are not waiting for a confirmation any more."))
    run.status, run.shown_message, run.finished_at = "cancelled", say("Cancelled: nothing was sent."), clock.now()


def retry(run: BulkRun) -> bool:
    """A failed run, queued again. Confirmed less than PLAN_LIFETIME ago, it goes on sending to the
    planned customers (what it queued already is never queued twice); older, the confirmation is
    dropped and a new plan waits for the user's. Whether the run was queued again."""
    if run.status != "failed":
        return False
    planned_at = plan_of(run).get("planned_at")
    if is_confirmed(run) and (not planned_at or clock.now() - datetime.fromisoformat(planned_at) > PLAN_LIFETIME):
        params = params_of(run)
        params.pop(CONFIRMED_PARAM, None)
        run.params, run.result = json.dumps(params, sort_keys=True), None
    run.status, run.progress, run.message, run.finished_at = "queued", 0, None, None
    return True


def mark_running(run: BulkRun) -> None:
    run.status, run.progress, run.message = "running", 0, None


def mark_done(run: BulkRun, filename: str, report: DunningReport) -> None:
    """The run sent what it could: the report's name, its counts beside the plan (a retried run
    sends to the planned customers only)."""
    run.status, run.progress, run.filename, run.finished_at = "done", 100, filename, clock.now()
    run.shown_message = report.summary_said
    run.result = json.dumps({**plan_of(run),
                             "outcome": {"sent": report.sent, "skipped": report.skipped, "failed": report.failed}})


def mark_failed(run: BulkRun, reason) -> None:
    """`reason`: a Said (read in each reader's language) or a text kept as written."""
    run.status, run.finished_at = "failed", clock.now()
    run.shown_message = reason[:500] if isinstance(reason, str) else reason


def _line(decision: DunningDecision, outcome: str, reason) -> DunningLine:
    return DunningLine(account=decision.account, name=decision.name, outcome=outcome, reason=str(reason),
                       level=decision.level, numbers=decision.numbers, amounts=decision.amounts)


def run_bulk_dunning(session: Session, run: BulkRun, actor: User, *, today: date, attachment_dir: str | Path = ".",
                     deliver: Callable[[OutboxMessage], None] | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     make_letter: LetterMaker | None = None) -> DunningReport:
    """Queue one reminder e-mail per customer the run asks for, and say what happened to each.

    `deliver(message)` is called right after each new message is in the session (the job commits
    and sends it there); a message the mail server did not take is reported afterwards through
    `report.not_delivered(account, why)`. `progress(done, total)` after each customer.
    A customer already queued under this run's key (a retried job) is not queued again.
    When the run asks for the letter, `make_letter` writes it (without one, each such
    message fails with NO_LETTER_MAKER)."""
    decisions = plan_bulk_dunning(session, selection_of(run), today)
    if is_confirmed(run):  # what the user confirmed, and nothing more
        planned = set(plan_of(run).get("customers") or ())
        decisions = [replace(d, outcome=SKIPPED, reason=NOT_PLANNED)
                     if d.outcome == SEND and d.customer_id not in planned else d for d in decisions]
    prefix = dedupe_key(run.id, 0)[:-1]
    queued_before = {key for key in session.scalars(
        select(OutboxMessage.dedupe_key).where(queries.prefix_range(OutboxMessage.dedupe_key, prefix)))}
    letter = _LetterOption(make_letter, Path(attachment_dir)) if wants_letter(run) else None
    texts = reminders.RunTexts(session, actor)
    report, total = DunningReport(), len(decisions)
    for done, decision in enumerate(decisions, start=1):
        report.lines.append(_carry_out(session, run, texts, decision, queued_before, attachment_dir, deliver,
                                       letter))
        if progress is not None:
            progress(done, total)
    return report


@dataclass(frozen=True)
class _LetterOption:
    make: LetterMaker | None
    attachment_dir: Path

    def attachment(self, run: BulkRun, texts: reminders.RunTexts, customer: Customer, entries: list[Entry],
                   context: dict) -> StoredAttachment:
        """The letter of the message's level for these entries, written by the caller, as a stored attachment."""
        if self.make is None:
            raise reminders.ReminderError(NO_LETTER_MAKER)
        reminders.company_sender(texts.company)  # no letter for a message that cannot be queued
        content = texts.letter(customer, context)
        storage_name, filename = self.make(customer, entries, content, letter_name(run.id, customer.id))
        return StoredAttachment(str(self.attachment_dir / storage_name), filename, "application/pdf")


def _carry_out(session: Session, run: BulkRun, texts: reminders.RunTexts, decision: DunningDecision,
               queued_before: set[str], attachment_dir: str | Path, deliver: Callable[[OutboxMessage], None] | None,
               letter: _LetterOption | None = None) -> DunningLine:
    key = dedupe_key(run.id, decision.customer_id) if decision.customer_id is not None else None
    if key in queued_before:  # a retried run: what it already queued stays reported (and is not queued again)
        return _line(decision, SENT, ALREADY_QUEUED)
    if decision.outcome != SEND:
        return _line(decision, SKIPPED, decision.reason)
    customer = session.get(Customer, decision.customer_id)
    entries = list(session.scalars(select(Entry).where(Entry.id.in_(decision.entry_ids))
                                   .order_by(Entry.due_date, Entry.id)))
    letter_file = None
    try:
        context = texts.context(customer, entries, decision.level)
        message_text = texts.email(customer, context)
        files = reminders.invoice_files(session, entries, attachment_dir)
        attachments = [StoredAttachment(str(f.path), f.filename, f.content_type) for f in files]
        if letter is not None:
            letter_file = letter.attachment(run, texts, customer, entries, context)
            attachments.insert(0, letter_file)
        emails = customer.reminder_emails
        message, is_new = queue_message(
            session, customer=customer, entries=entries, level=decision.level, to=emails[:1], cc=emails[1:],
            subject=message_text.subject, body=message_text.body, sent_by=texts.sender, dedupe_key=key,
            attachments=attachments, company=texts.company)
    except (reminders.ReminderError, OutboxError) as error:
        if letter_file is not None:  # written for a message that will not exist
            Path(letter_file.path).unlink(missing_ok=True)
        return _line(decision, FAILED, str(error))
    if not is_new:
        return _line(decision, SENT, ALREADY_QUEUED)
    if deliver is not None:
        deliver(message)
    return _line(decision, SENT, "")
