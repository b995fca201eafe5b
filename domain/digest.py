"""The morning digest: at 8:00 (the instance's time zone), one e-mail and one bell notification per
user who asked for it (Settings → Notifications), naming what needs them today — promises broken
since yesterday, instalments missed, disputes untouched for N days (Settings), promises and
instalments due today. Nothing when there is nothing.

    made = make_digests(session, today)        # one DigestDelivery per user and day, at most
    claim(session, delivery_id) → send → mark_sent / mark_failed

A delivery is keyed by (user, day): made twice — the worker restarted, two workers — it is made
once. Its e-mail is claimed ("sending") before it goes: one found "sending" later has an unknown
outcome and is never sent again by itself (the outbox's rule, domain.reminders.outbox).
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from babel.dates import format_date
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain import clock, i18n, monitoring, notifications
from domain.collection import legal
from domain.i18n import Joined, Said, _, nsay, say
from domain.ledger.disputes import stale_days
from domain.models import CaseTask, DigestDelivery, Dispute, Instalment, PaymentSchedule, Promise, User
from domain.money import format_money

IN_APP = ("app", "both")
DEADLINE_DAYS = 14  # a legal deadline is named this many days ahead


@dataclass
class Digest:
    day: date
    broken: list[Promise] = field(default_factory=list)
    untouched: list[Dispute] = field(default_factory=list)
    due_today: list[Promise] = field(default_factory=list)
    missed: list[Instalment] = field(default_factory=list)  # late since yesterday
    instalments_today: list[Instalment] = field(default_factory=list)
    deadlines: list[CaseTask] = field(default_factory=list)  # legal deadlines of collection cases, soon or past
    stale_after: int = 14

    @property
    def empty(self) -> bool:
        return not (self.broken or self.untouched or self.due_today or self.missed or self.instalments_today
                    or self.deadlines)

    def headline(self) -> Said:
        """The bell's line, kept as a Said: each reader gets it in their language, the day in their date style."""
        counted = ((self.broken, nsay("%(num)s promise broken", "%(num)s promises broken", len(self.broken))),
                   (self.untouched, nsay("%(num)s dispute untouched", "%(num)s disputes untouched",
                                         len(self.untouched))),
                   (self.due_today, nsay("%(num)s promise due today", "%(num)s promises due today",
                                         len(self.due_today))),
                   (self.missed, nsay("%(num)s instalment missed", "%(num)s instalments missed", len(self.missed))),
                   (self.instalments_today, nsay("%(num)s instalment due today", "%(num)s instalments due today",
                                                 len(self.instalments_today))),
                   (self.deadlines, nsay("%(num)s legal deadline", "%(num)s legal deadlines", len(self.deadlines))))
        parts = [part for items, part in counted if items]
        return say("Relance, %(day)s: %(items)s", day=self.day, items=Joined(parts, ", "))

    def lines(self, locale: str = "en_GB") -> list[str]:
        """The e-mail's lines, in the language being spoken; amounts and dates formatted for `locale`."""
        def money(cents: int, currency: str) -> str:
            return format_money(cents, currency, locale)

        def day(value) -> str:
            return format_date(value, "short", locale=locale)

        lines = []
        if self.broken:
            lines.append(_("Promises broken since yesterday:"))
            lines += ["  - " + _("%(name)s (%(account)s): %(amount)s promised by %(day)s, %(paid)s paid",
                                 name=p.customer.name, account=p.customer.account,
                                 amount=money(p.amount_cents, p.currency), day=day(p.promised_on),
                                 paid=money(p.paid_cents, p.currency))
                      for p in self.broken]
        if self.untouched:
            lines.append(_("Disputes untouched for %(days)s days or more:", days=self.stale_after))
            lines += ["  - " + (_("#%(number)s %(name)s (%(account)s): %(reason)s, last activity %(day)s, owner %(owner)s",
                                  owner=d.owner.display_name, **self._dispute(d, locale)) if d.owner else
                                _("#%(number)s %(name)s (%(account)s): %(reason)s, last activity %(day)s, nobody "
                                  "assigned", **self._dispute(d, locale)))
                      for d in self.untouched]
        if self.due_today:
            lines.append(_("Promises due today:"))
            lines += ["  - " + _("%(name)s (%(account)s): %(amount)s on %(numbers)s", name=p.customer.name,
                                 account=p.customer.account, amount=money(p.amount_cents, p.currency),
                                 numbers=", ".join(e.number for e in p.entries)) for p in self.due_today]
        for title, instalments in ((_("Instalments missed:"), self.missed),
                                   (_("Instalments due today:"), self.instalments_today)):
            if instalments:
                lines.append(title)
                lines += ["  - " + _("%(name)s (%(account)s), schedule #%(schedule)s: instalment %(number)s of "
                                     "%(amount)s due %(day)s, %(paid)s paid", name=i.schedule.customer.name,
                                     account=i.schedule.customer.account, schedule=i.schedule_id, number=i.number,
                                     amount=money(i.amount_cents, i.schedule.currency), day=day(i.due_on),
                                     paid=money(i.paid_cents, i.schedule.currency))
                          for i in instalments]
        if self.deadlines:
            lines.append(_("Legal deadlines of collection cases (within %(days)s days, or past):", days=DEADLINE_DAYS))
            lines += ["  - " + _("%(day)s case #%(case)s %(name)s: %(task)s", day=day(t.due_on),
                                 case=t.case_id, name=t.case.customer.name, task=t.shown_text)
                      for t in self.deadlines]
        return lines

    @staticmethod
    def _dispute(dispute: Dispute, locale: str) -> dict:
        return {"number": dispute.id, "name": dispute.customer.name, "account": dispute.customer.account,
                "reason": dispute.reason_label, "day": format_date(dispute.last_activity_at, "short", locale=locale)}


def digest_of(session: Session, today: date, now: datetime | None = None) -> Digest:
    """What the team must look at today (the same for every user: a small team shares it)."""
    now = now or clock.now()
    days = stale_days(session)
    return Digest(
        day=today, stale_after=days,
        broken=list(session.scalars(select(Promise).where(
            Promise.status.in_(("broken", "partly_kept")), Promise.settled_on == today)
            .order_by(Promise.settled_on, Promise.id))),
        untouched=list(session.scalars(select(Dispute).where(
            Dispute.status != "resolved", Dispute.last_activity_at < now - timedelta(days=days))
            .order_by(Dispute.last_activity_at, Dispute.id))),
        due_today=list(session.scalars(select(Promise).where(Promise.status == "open", Promise.promised_on == today)
                                       .order_by(Promise.id))),
        # Broken, and late, since yesterday: the daily run that settles them runs before the digest.
        missed=[i for i in session.scalars(
            select(Instalment).join(PaymentSchedule, PaymentSchedule.id == Instalment.schedule_id)
            .where(Instalment.status == "late", PaymentSchedule.status.in_(("late", "broken")),
                   Instalment.due_on >= today - timedelta(days=400)).order_by(Instalment.due_on, Instalment.id))
            if i.due_on + timedelta(days=i.schedule.grace_days + 1) == today],
        deadlines=legal.open_tasks(session, today + timedelta(days=DEADLINE_DAYS)),
        instalments_today=list(session.scalars(
            select(Instalment).join(PaymentSchedule, PaymentSchedule.id == Instalment.schedule_id)
            .where(Instalment.due_on == today, Instalment.status != "paid",
                   PaymentSchedule.status.in_(("running", "late"))).order_by(Instalment.id))),
    )


def make_digests(session: Session, today: date) -> list[int]:
    """Today's digest for every active user who asked for it, once: the bell notification (if they
    take notifications in the app) and a delivery row for the e-mail. Returns the deliveries to
    e-mail (those made now, and those of today still queued)."""
    digest = digest_of(session, today)
    users = list(session.scalars(select(User).where(User.active.is_(True), User.morning_digest.is_(True))
                                 .order_by(User.id)))
    made = set(session.scalars(select(DigestDelivery.user_id).where(DigestDelivery.day == today)))
    for user in users:
        if user.id in made:
            continue
        with _speaking_to(user):  # the e-mail is in the user's language (the instance's when they chose none)
            personal = monitoring.digest_lines(session, user, today)  # their monitoring points
            text = "\n".join(digest.lines(_locale_of(user)) + personal)
        empty = digest.empty and not personal
        delivery = DigestDelivery(user_id=user.id, day=today, text=text, status="none" if empty else "queued")
        try:
            with session.begin_nested():
                session.add(delivery)
                if not empty and user.export_notifications in IN_APP:
                    headline = digest.headline() if not digest.empty else \
                        say("Relance, %(day)s: new items in your monitoring points", day=today)
                    notifications.notify(session, user.id, headline)
        except IntegrityError:  # another worker made it meanwhile
            continue
    session.flush()
    return list(session.scalars(select(DigestDelivery.id).where(DigestDelivery.day == today,
                                                                DigestDelivery.status == "queued")))


def _speaking_to(user: User):
    return i18n.speaking(_locale_of(user)) if user.language else nullcontext()


def _locale_of(user: User) -> str:
    """The locale of the user's chosen language (en_GB when they chose none: as the digest always was)."""
    return i18n.FORMAT_LOCALES[i18n.language_of(user.language)] if user.language else "en_GB"


def claim(session: Session, delivery_id: int) -> DigestDelivery | None:
    """Take a queued delivery for sending (one worker wins); None when it is not queued any more."""
    claimed = session.execute(update(DigestDelivery).where(DigestDelivery.id == delivery_id,
                                                           DigestDelivery.status == "queued")
                              .values(status="sending", attempted_at=clock.now()))
    if claimed.rowcount != 1:
        return None
    return session.get(DigestDelivery, delivery_id)


def mark_sent(delivery: DigestDelivery) -> None:
    delivery.status, delivery.error = "sent", None


def mark_failed(delivery: DigestDelivery, error: str) -> None:
    delivery.status, delivery.error = "failed", error[:500]


def mark_unknown_sends(session: Session, now: datetime | None = None) -> int:
    """Deliveries left "sending" by a worker that died: their outcome is unknown, never re-sent."""
    cutoff = (now or clock.now()) - timedelta(minutes=5)
    result = session.execute(update(DigestDelivery).where(DigestDelivery.status == "sending",
                                                          DigestDelivery.attempted_at < cutoff)
                             .values(status="unknown", error="The worker stopped while sending: check the mailbox."))
    return result.rowcount or 0


def subject_of(delivery: DigestDelivery) -> str:
    return _("Relance: what needs you on %(day)s", day=i18n.day(delivery.day))
