"""Automatic follow-up plans: what the daily run decides (in SQL) and what it sends, through the
outbox to a real SMTP server, letters and phone-call tasks, skips, catch-up, restarts, dry run."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

import jobs.base
import worker
from domain import clock
from domain.models import AuditEvent, Entry, OutboxMessage, ReminderActivity, ReminderLetter
from domain.reminders import follow_up, outbox
from jobs.reminders import run_follow_up
from mail import smtp as mailer


@pytest.fixture
def plan(session, users):
    """-5 prevention e-mail, +10 R1 e-mail, +30 R2 letter, +45 phone call task (R3)."""
    plan = follow_up.create_plan(session, users["admin"], "Standard")
    for offset, channel, level in ((-5, "email", 0), (10, "email", 1), (30, "letter", 2), (45, "task", 3)):
        follow_up.add_step(session, users["admin"], plan, offset, channel, level)
    session.commit()
    return plan


def with_plan(customer, plan):
    customer.follow_up_plan_id = plan.id
    return customer


def run(app, dry_run=False):
    from extensions import db

    report = run_follow_up(app, dry_run=dry_run)
    db.session.expire_all()
    return report


def messages(session):
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_one_email_per_customer_covers_its_due_entries_at_the_most_advanced_level(
        app, session, ledger_builder, plan, company, mail, run_jobs):
    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test, boss@bistro.test"), plan)
    soon = ledger_builder.entry(bistro, -3, "100.00", number="INV-SOON")  # prevention: due in 3 days
    late = ledger_builder.entry(bistro, 12, "200.00", number="INV-LATE")  # R1 (+10)
    reminded = ledger_builder.entry(bistro, 20, "300.00", level=1, number="INV-R1")  # R1 sent, R2 at +30
    ledger_builder.entry(bistro, -20, "400.00", number="INV-FUTURE")  # nothing yet
    session.commit()

    report = run(app)
    assert [(o.account, o.channel, o.level, o.status) for o in report.outcomes] == [("C1", "email", 1, "queued")]
    [message] = messages(session)
    assert message.dedupe_key == f"plan:{bistro.id}:{plan.steps[1].id}:{clock.today().isoformat()}"
    assert sorted(c.entry_id for c in message.covered) == sorted([soon.id, late.id])
    assert message.level == 1 and message.created_by_id is None
    assert message.to_addresses == "compta@bistro.test" and message.cc_addresses == "boss@bistro.test"

    run_jobs()
    assert len(mail.envelopes) == 1
    sent = mail.messages[0]
    assert "billing@acme-sarl.test" in sent["From"] and "billing@acme-sarl.test" in sent["Reply-To"]
    assert "INV-SOON" in sent.get_body(("plain",)).get_content() and "INV-LATE" in sent.get_body(("plain",)).get_content()
    assert "INV-R1" not in sent.get_body(("plain",)).get_content()
    session.expire_all()
    assert (session.get(Entry, soon.id).reminder_level, session.get(Entry, late.id).reminder_level) == (1, 1)
    assert session.get(Entry, reminded.id).reminder_level == 1

    assert run(app).outcomes == [], "running twice in a row sends nothing new"
    run_jobs()
    assert len(mail.envelopes) == 1 and len(messages(session)) == 1


def test_a_run_killed_after_the_smtp_send_does_not_send_again(app, session, ledger_builder, plan, company, mail,
                                                             run_jobs):
    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test"), plan)
    ledger_builder.entry(bistro, 12, "200.00", number="INV-LATE")
    session.commit()
    run(app)
    jobs.base.queue(app).empty()  # the run's job never ran: the send happens by hand, then the worker "dies"
    [message] = messages(session)
    claimed = outbox.claim(session, message.id)
    session.commit()
    mailer.send(current_app.config["SMTP_URL"], outbox.build_email(claimed))
    assert len(mail.envelopes) == 1

    # Restarted before the send was recorded: the entry is covered by a message not yet sent, so
    # nothing is due; and the outbox key (customer, step, day) would give that message back anyway.
    assert run(app).outcomes == []
    decision = follow_up.CustomerDecision(bistro.id, follow_up.StepInfo(plan.steps[1].id, plan.id, 10, "email", 1))
    assert outbox.queue_message(session, customer=bistro, entries=list(bistro.entries), level=1, to="x@y.test",
                                subject="s", body="b", sent_by=None,
                                dedupe_key=follow_up.dedupe_key(bistro.id, decision.step.id, clock.today())) \
        == (session.get(OutboxMessage, message.id), False)
    run_jobs()
    assert len(mail.envelopes) == 1 and len(messages(session)) == 1
    # The next days neither: the entry is covered by that message until it is resolved.
    clock.pin(clock.today() + timedelta(days=1))
    assert run(app).outcomes == []
    run_jobs()
    assert len(mail.envelopes) == 1 and len(messages(session)) == 1

    # Recorded at last (e.g. after checking the mailbox): still nothing new.
    message = session.get(OutboxMessage, message.id)
    outbox.mark_sent(session, message)
    session.commit()
    assert run(app).outcomes == []
    run_jobs()
    assert len(mail.envelopes) == 1


def test_a_run_killed_before_handing_the_message_to_the_worker_hands_it_over_next_time(
        app, session, ledger_builder, plan, company, mail, run_jobs):
    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test"), plan)
    ledger_builder.entry(bistro, 12, "200.00")
    session.commit()
    run(app)
    jobs.base.queue(app).empty()  # lost with the worker
    clock.pin(clock.today() + timedelta(days=1))
    assert run(app).outcomes == [], "not queued a second time"
    run_jobs()
    assert len(mail.envelopes) == 1 and messages(session)[0].status == "sent"


def test_what_is_stopped_disputed_in_collection_or_switched_off_is_skipped(
        app, session, ledger_builder, plan, company, mail, run_jobs):
    stopped = with_plan(ledger_builder.customer("C1", "Stopped", emails="a@stopped.test", reminders_stopped=True), plan)
    ledger_builder.entry(stopped, 12, "10.00")
    ok = with_plan(ledger_builder.customer("C2", "Fine", emails="a@fine.test"), plan)
    ledger_builder.entry(ok, 12, "10.00", reminders_stopped=True, number="E-STOP")
    ledger_builder.entry(ok, 12, "10.00", disputed=True, number="E-DISPUTED")
    ledger_builder.entry(ok, 12, "10.00", in_collection=True, number="E-COLLECTION")
    ledger_builder.entry(ok, 12, "10.00", follow_up_enabled=False, number="E-OFF")
    ledger_builder.entry(ok, 12, "10.00", kind="credit_note", number="E-CREDIT")
    ledger_builder.entry(ok, 12, "10.00", open_amount="0", number="E-PAID")
    expired_stop = ledger_builder.entry(ok, 12, "10.00", reminders_stopped=True, number="E-RESUMED",
                                        stop_until=clock.today() - timedelta(days=1))
    no_email = with_plan(ledger_builder.customer("C3", "No mail", emails=""), plan)
    ledger_builder.entry(no_email, 12, "10.00", number="E-NOMAIL")
    no_plan = ledger_builder.customer("C4", "No plan", emails="a@noplan.test")
    ledger_builder.entry(no_plan, 12, "10.00")
    session.commit()

    report = run(app)
    assert [(o.account, o.status, o.entries) for o in report.outcomes] == [
        ("C2", "queued", ["E-RESUMED"]), ("C3", "skipped", ["E-NOMAIL"])]
    assert report.outcomes[1].reason == "no e-mail address"
    [message] = messages(session)
    assert [c.entry_id for c in message.covered] == [expired_stop.id]
    run_jobs()
    assert len(mail.envelopes) == 1


def test_catch_up_after_downtime_sends_only_the_most_advanced_step(app, session, ledger_builder, plan, company, mail,
                                                                   run_jobs):
    """Down for weeks: a 40-day-old entry never reminded gets the +30 letter (R2), not the
    prevention nor R1; the customer's 12-day-old entry goes in the same letter."""
    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test",
                                               address="3 quai des Brumes"), plan)
    old = ledger_builder.entry(bistro, 40, "100.00", number="INV-OLD")
    recent = ledger_builder.entry(bistro, 12, "50.00", number="INV-RECENT")
    session.commit()

    report = run(app)
    assert [(o.channel, o.level, o.status) for o in report.outcomes] == [("letter", 2, "letter")]
    assert messages(session) == []
    [activity] = session.scalars(select(ReminderActivity)).all()
    assert (activity.channel, activity.level, activity.sent_by_id) == ("letter", 2, None)
    assert sorted(c.entry_id for c in activity.covered) == sorted([old.id, recent.id])
    letter = session.get(ReminderLetter, activity.id)
    pdf = Path(current_app.config["ATTACHMENT_DIR"]) / letter.storage_name
    assert pdf.read_bytes().startswith(b"%PDF")
    assert run(app).outcomes == [], "the letter raised the levels: not due again"
    run_jobs()
    assert mail.envelopes == []


def test_a_task_step_records_a_phone_call_to_make_and_sends_nothing(app, session, ledger_builder, plan, company,
                                                                    mail, run_jobs):
    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test"), plan)
    entry = ledger_builder.entry(bistro, 50, "100.00", level=2, number="INV-OLD")
    session.commit()
    report = run(app)
    assert [(o.channel, o.level, o.status) for o in report.outcomes] == [("task", 3, "task")]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == follow_up.TASK_ACTION))
    assert "Phone call to make" in event.detail and "INV-OLD" in event.detail and event.actor_id is None
    assert session.get(Entry, entry.id).reminder_level == 3
    assert run(app).outcomes == []
    run_jobs()
    assert mail.envelopes == [] and messages(session) == []


def test_dry_run_prints_the_plan_and_writes_nothing(app, session, ledger_builder, plan, company):
    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test"), plan)
    ledger_builder.entry(bistro, 12, "200.00", number="INV-LATE")
    ledger_builder.entry(bistro, -2, "20.00", number="INV-SOON")
    session.commit()
    events = session.scalar(select(func.count()).select_from(AuditEvent))

    result = app.test_cli_runner().invoke(args=["reminders", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    assert "C1 Bistro: E-mail R1 for 2 entries (INV-LATE, INV-SOON) — would send" in result.output
    session.expire_all()
    assert messages(session) == []
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert session.scalar(select(Entry.reminder_level).where(Entry.number == "INV-LATE")) == 0


def test_the_worker_runs_it_once_a_day(app, session, ledger_builder, plan, company, mail, pinned_today):
    from rq import SimpleWorker

    connection = jobs.base.redis_connection(app)
    for key in connection.scan_iter("relance:daily:*"):
        connection.delete(key)
    queue = jobs.base.queue(app)
    queue.empty()
    jobs.base.use_app(app)
    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test"), plan)
    ledger_builder.entry(bistro, 12, "200.00")
    session.commit()
    try:
        assert worker.enqueue_daily_jobs(app) is True
        assert worker.enqueue_daily_jobs(app) is False
        for _ in range(3):  # the daily jobs, then the e-mail the run queued
            SimpleWorker([queue], connection=connection).work(burst=True)
        assert len(mail.envelopes) == 1
        assert worker.enqueue_daily_jobs(app) is False
    finally:
        queue.empty()
        jobs.base.use_app(None)


def test_plans_refuse_what_makes_no_sense(session, users, plan):
    with pytest.raises(follow_up.FollowUpError, match="already a plan"):
        follow_up.create_plan(session, users["admin"], "Standard")
    with pytest.raises(follow_up.FollowUpError, match="already has a step at \\+10"):
        follow_up.add_step(session, users["admin"], plan, "10", "letter", 2)
    with pytest.raises(follow_up.FollowUpError, match="prevention"):
        follow_up.add_step(session, users["admin"], plan, "3", "email", 0)
    with pytest.raises(follow_up.FollowUpError, match="number of days"):
        follow_up.add_step(session, users["admin"], plan, "soon", "email", 1)
    with pytest.raises(follow_up.FollowUpError, match="phone call"):
        follow_up.add_step(session, users["admin"], plan, "60", "fax", 4)


# --- The template of a step ----------------------------------------------------------------------


@pytest.fixture
def gentle(session, users):
    """+10 R1 e-mail; +20 e-mail reaching R2 with the R1 wording; +30 letter reaching R3 with the R2 wording."""
    plan = follow_up.create_plan(session, users["admin"], "Gentle")
    follow_up.add_step(session, users["admin"], plan, 10, "email", 1)
    follow_up.add_step(session, users["admin"], plan, 20, "email", 2, "R1")
    follow_up.add_step(session, users["admin"], plan, 30, "letter", 3, "2")
    session.commit()
    return plan


def test_a_step_with_the_r1_template_sends_the_r1_wording_in_the_customers_language_and_raises_to_r2(
        app, session, ledger_builder, gentle, company, mail, run_jobs):
    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test", language="fr"), gentle)
    entry = ledger_builder.entry(bistro, 22, "200.00", level=1, number="INV-R1")
    session.commit()

    report = run(app)
    assert [(o.channel, o.level, o.template, o.status) for o in report.outcomes] == [("email", 2, 1, "queued")]
    run_jobs()
    [sent] = mail.messages
    assert sent["Subject"].startswith("Rappel de paiement"), "the R1 wording, in French"
    assert "Deuxième relance" not in sent["Subject"]
    session.expire_all()
    assert session.get(Entry, entry.id).reminder_level == 2, "the entry reached R2"
    [activity] = session.scalars(select(ReminderActivity)).all()
    assert activity.level == 2 and activity.subject.startswith("Rappel de paiement")
    assert run(app).outcomes == [], "R2 reached: the +20 step is not due again"


def test_a_letter_step_sends_the_chosen_template(app, session, ledger_builder, gentle, company, mail, run_jobs):
    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test",
                                               address="3 quai des Brumes"), gentle)
    entry = ledger_builder.entry(bistro, 31, "100.00", level=2, number="INV-OLD")
    session.commit()

    report = run(app)
    assert [(o.channel, o.level, o.template, o.status) for o in report.outcomes] == [("letter", 3, 2, "letter")]
    [activity] = session.scalars(select(ReminderActivity)).all()
    assert (activity.channel, activity.level) == ("letter", 3)
    assert activity.subject.startswith("Second reminder"), "the R2 letter's wording, not R3's"
    assert "Third reminder" not in activity.body
    assert session.get(Entry, entry.id).reminder_level == 3


def test_dry_run_says_which_template_a_step_sends(app, session, ledger_builder, gentle, company):
    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test"), gentle)
    ledger_builder.entry(bistro, 22, "200.00", level=1, number="INV-R1")
    other = with_plan(ledger_builder.customer("C2", "Garage", emails="compta@garage.test"), gentle)
    ledger_builder.entry(other, 12, "50.00", number="INV-NEW")
    session.commit()

    result = app.test_cli_runner().invoke(args=["reminders", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "C1 Bistro: E-mail R2 (R1 template) for 1 entry (INV-R1) — would send" in result.output
    assert "C2 Garage: E-mail R1 for 1 entry (INV-NEW) — would send" in result.output, "its own template: no mention"
    session.expire_all()
    assert messages(session) == []


def test_changing_a_steps_template_changes_what_the_next_run_sends(app, session, ledger_builder, users, gentle,
                                                                    company, mail, run_jobs):
    step = next(s for s in gentle.steps if s.offset_days == 20)
    assert follow_up.set_step_template(session, users["finance"], step, "") is True
    assert follow_up.set_step_template(session, users["finance"], step, None) is False, "no change, no event"
    session.commit()
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "follow_up.step")
                           .order_by(AuditEvent.id.desc()))
    assert event.detail == ("Step +20 days of follow-up plan 'Gentle': the R1 template replaced by "
                            "the template of R2") and event.actor_id == users["finance"].id
    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test"), gentle)
    ledger_builder.entry(bistro, 22, "200.00", level=1)
    session.commit()
    run(app)
    run_jobs()
    assert mail.messages[0]["Subject"].startswith("Second reminder")


def test_a_template_choice_that_makes_no_sense_is_refused(session, users, gentle):
    with pytest.raises(follow_up.FollowUpError, match="There is no template 'R9'"):
        follow_up.add_step(session, users["admin"], gentle, 40, "email", 3, "R9")
    with pytest.raises(follow_up.FollowUpError, match="phone call task sends nothing, so it has no template"):
        follow_up.add_step(session, users["admin"], gentle, 40, "task", 3, "R1")
    with pytest.raises(follow_up.FollowUpError, match="prevention step sends the prevention template"):
        follow_up.add_step(session, users["admin"], gentle, -3, "email", 0, "R1")
    with pytest.raises(follow_up.FollowUpError, match="announces a due date to come"):
        follow_up.add_step(session, users["admin"], gentle, 40, "email", 3, "prevention")
    step = next(s for s in gentle.steps if s.offset_days == 10)
    with pytest.raises(follow_up.FollowUpError, match="There is no template 'soon'"):
        follow_up.set_step_template(session, users["admin"], step, "soon")
    # The level's own template, chosen explicitly, is the default: nothing to remember.
    own = follow_up.add_step(session, users["admin"], gentle, 40, "email", 3, "R3")
    assert own.template_level is None and own.template == 3
    assert follow_up.add_step(session, users["admin"], gentle, 50, "task", 4, "").template is None


# --- Deleting a plan -----------------------------------------------------------------------------


def test_deleting_a_plan_unassigns_its_customers_and_keeps_the_history(app, session, ledger_builder, users, plan,
                                                                       company, mail, run_jobs):
    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test"), plan)
    garage = with_plan(ledger_builder.customer("C2", "Garage", emails="compta@garage.test"), plan)
    other = ledger_builder.customer("C3", "Other")
    ledger_builder.entry(bistro, 12, "200.00", number="INV-B")
    ledger_builder.entry(garage, 12, "100.00", number="INV-G")
    session.commit()
    run(app)
    run_jobs()
    assert len(mail.envelopes) == 2
    old_step_ids = [s.id for s in plan.steps]

    assert follow_up.delete_plan(session, users["finance"], plan) == 2
    session.commit()
    session.expire_all()
    assert follow_up.plans(session) == []
    assert session.get(type(bistro), bistro.id).follow_up_plan_id is None
    assert session.get(type(garage), garage.id).follow_up_plan_id is None
    # The reminders that went out and their outbox messages stay, with their plan keys.
    assert session.scalar(select(func.count()).select_from(ReminderActivity)) == 2
    assert {m.status for m in messages(session)} == {"sent"}
    assert all(m.dedupe_key.startswith("plan:") for m in messages(session))
    # Who did it and which plan: on each account's history, and once for the plan.
    for customer in (bistro, garage):
        event = session.scalar(select(AuditEvent).where(AuditEvent.customer_id == customer.id,
                                                        AuditEvent.action == "follow_up.assign"))
        assert event.detail == "Follow-up plan 'Standard' removed: the plan was deleted"
        assert event.actor_id == users["finance"].id and event.at is not None
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.customer_id == other.id)) == 0
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "follow_up.plan",
                                                    AuditEvent.detail.like("%deleted%")))
    assert event.detail == "Follow-up plan 'Standard' deleted with its 4 steps; 2 customers no longer have a plan"
    assert event.actor_id == users["finance"].id

    clock.pin(clock.today() + timedelta(days=30))
    assert run(app).outcomes == [], "no plan, nothing sent"
    # A new step never takes a deleted step's id, so an old outbox key never names it.
    new_plan = follow_up.create_plan(session, users["finance"], "Standard")
    step = follow_up.add_step(session, users["finance"], new_plan, 10, "email", 1)
    assert step.id > max(old_step_ids)


def test_a_message_held_back_by_a_stop_is_not_sent_and_the_step_comes_back_once_restarted(
        app, session, ledger_builder, users, plan, company, mail, run_jobs):
    from domain.collection.marks import set_reminders_stopped

    bistro = with_plan(ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test"), plan)
    late = ledger_builder.entry(bistro, 12, "200.00", number="INV-LATE")
    session.commit()
    run(app)  # queued, handed to the worker …
    set_reminders_stopped(session, bistro, users["finance"], True, reason="Promised to pay on Friday")
    session.commit()
    run_jobs()  # … which finds the customer stopped meanwhile
    [message] = messages(session)
    assert message.status == "cancelled" and "Promised to pay on Friday" in message.last_error
    assert mail.envelopes == []

    set_reminders_stopped(session, session.get(type(bistro), bistro.id), users["finance"], False)
    session.commit()
    clock.pin(clock.today() + timedelta(days=1))
    run(app)
    run_jobs()
    assert len(mail.envelopes) == 1, "the held-back message does not block the step for good"
    assert session.get(Entry, late.id).reminder_level == 1
