"""What goes to a customer under a payment schedule, through the daily run with the clock moved: the
plan's heads-up before each instalment, a reminder for a late instalment only (its amount, not the
invoices' total), once per step; nothing when the customer is stopped; and the "Payment plan agreed"
e-mail a person sends, with the schedule PDF attached by the worker, once per click."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain import clock
from domain.collection.marks import set_reminders_stopped
from domain.ledger import schedules
from domain.ledger.receipts import ReceiptForm, record
from domain.ledger.schedules import Plan
from domain.models import AuditEvent, CompanySettings, Entry, Notification, OutboxMessage, PaymentSchedule
from domain.reminders import follow_up, outbox
from jobs.ledger import evaluate_promises
from jobs.reminders import enqueue_outbox_message, run_follow_up
from tests.conftest import TODAY


@pytest.fixture
def scheduled(session, users, ledger_builder, company):
    """Bistro owes two invoices 40 days overdue (R1 sent) and one more; its plan: -5 prevention e-mail,
    +10 R1 e-mail, +30 R2 letter, +45 phone call (R3). A schedule of 3 × €100.00 monthly from
    TODAY + 10 covers the two old invoices."""
    plan = follow_up.create_plan(session, users["admin"], "Standard")
    for offset, channel, level in ((-5, "email", 0), (10, "email", 1), (30, "letter", 2), (45, "task", 3)):
        follow_up.add_step(session, users["admin"], plan, offset, channel, level)
    bistro = ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test", language="fr")
    bistro.follow_up_plan_id = plan.id
    one = ledger_builder.entry(bistro, 40, "120.00", level=1, number="INV-1")
    two = ledger_builder.entry(bistro, 40, "180.00", level=1, number="INV-2")
    session.commit()
    schedule = schedules.create_schedule(session, users["finance"], bistro, [one.id, two.id],
                                         Plan("monthly", first=TODAY + timedelta(days=10), count=3))
    session.commit()
    return schedule


def daily(app, session, day):
    """The worker's daily jobs on `day`: schedules evaluated, then the follow-up run."""
    clock.pin(day)
    evaluate_promises()
    report = run_follow_up(app)
    session.expire_all()
    return report


def outbox_messages(session):
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_the_plan_follows_the_instalments_a_heads_up_before_each_and_a_late_one_reminded_alone(
        app, session, scheduled, mail, run_jobs):
    report = daily(app, session, TODAY)
    assert report.outcomes == [] and report.instalments == [], "the invoices wait for the instalments"

    first = scheduled.instalments[0]
    report = daily(app, session, first.due_on - timedelta(days=5))
    assert [(o.instalment, o.kind, o.status) for o in report.instalments] == [(1, "instalment_notice", "queued")]
    run_jobs()
    [notice] = mail.messages
    text = " ".join(notice.get_body(("plain",)).get_content().split())
    assert notice["Subject"] == "Échéance 1 de votre échéancier – Acme SARL"
    assert "l'échéance 1 sur 3" in text and "100,00" in text and re.search(r"\d\d/\d\d/2026", text)
    session.expire_all()
    assert [e.reminder_level for e in session.scalars(select(Entry).order_by(Entry.number))] == [1, 1], \
        "a heads-up about an instalment raises no reminder level"

    assert daily(app, session, first.due_on - timedelta(days=4)).instalments == [], "each step goes once"
    assert daily(app, session, first.due_on + timedelta(days=5)).instalments == [], "late, but +10 is not due yet"
    assert session.get(PaymentSchedule, scheduled.id).status == "late"

    report = daily(app, session, first.due_on + timedelta(days=10))
    assert [(o.instalment, o.kind, o.status) for o in report.instalments] == [(1, "instalment_overdue", "queued")]
    assert report.outcomes == [], "the invoices themselves are still not reminded"
    run_jobs()
    overdue = mail.messages[-1]
    text = " ".join(overdue.get_body(("plain",)).get_content().split())
    assert "impayée" in overdue["Subject"] and "Montant restant dû pour cette échéance : 100,00" in text
    assert "300,00" in text, "the whole amount is named only as what falls due if instalments stay unpaid"
    assert len(mail.messages) == 2
    history = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "outbox.sent")).all()
    assert any("Instalment overdue e-mail sent to compta@bistro.test" in h for h in history)


def test_a_stopped_customer_gets_nothing_and_a_letter_step_becomes_a_task(
        app, session, users, scheduled, mail, run_jobs):
    first = scheduled.instalments[0]
    set_reminders_stopped(session, scheduled.customer, users["finance"], True, reason="Talking to the CFO")
    session.commit()
    [outcome] = daily(app, session, first.due_on - timedelta(days=5)).instalments
    assert outcome.status == "skipped" and "Talking to the CFO" in outcome.reason
    run_jobs()
    assert mail.messages == [] and session.scalar(select(OutboxMessage)) is None

    set_reminders_stopped(session, scheduled.customer, users["finance"], False)
    session.commit()
    report = daily(app, session, first.due_on + timedelta(days=31))
    assert [(o.instalment, o.channel, o.status) for o in report.instalments] == [(1, "letter", "task")], \
        "only the most advanced step of those missed meanwhile"
    task = session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "follow_up.task"))
    assert task.startswith(f"Payment schedule #{scheduled.id}: Letter to send (R2) for instalment 1, due on")
    assert "€100.00 unpaid" in task
    run_jobs()
    assert mail.messages == []


def test_paid_on_time_no_reminder_and_a_broken_schedule_hands_back_to_the_invoices(
        app, session, users, scheduled, mail, run_jobs):
    first, second, third = scheduled.instalments
    daily(app, session, first.due_on - timedelta(days=5))
    run_jobs()
    clock.pin(first.due_on)
    invoice = session.scalar(select(Entry).where(Entry.number == "INV-1"))
    record(session, users["finance"], scheduled.customer,
           ReceiptForm(first.due_on, 10000, "transfer", "VIR BISTRO 1", {invoice.id: 10000}))
    session.commit()
    daily(app, session, second.due_on - timedelta(days=5))
    run_jobs()
    assert [m["Subject"].split(" de ")[0] for m in mail.messages] == ["Échéance 1", "Échéance 2"], \
        "instalment 1 paid on its date: no reminder for it, the heads-up for instalment 2"

    report = daily(app, session, third.due_on + timedelta(days=4))
    assert session.get(PaymentSchedule, scheduled.id).status == "broken"
    assert report.instalments == [], "a broken schedule's instalments are not reminded"
    assert [(o.entries, o.channel, o.level) for o in report.outcomes] == [(["INV-1", "INV-2"], "task", 3)], \
        "the invoices are reminded again by their own due dates"


def test_the_payment_plan_agreed_email_carries_the_schedule_pdf_once(
        app, session, scheduled, mail, run_jobs, finance_client):
    page = finance_client.get(f"/schedules/{scheduled.id}/agreement")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert "Échéancier de paiement convenu" in html and "compta@bistro.test" in html
    form = {"to": "compta@bistro.test", "cc": "", "subject": "Échéancier de paiement convenu – Acme SARL",
            "body": "Bonjour,\n\nVoici l'échéancier convenu.\n", "token": token}
    assert finance_client.post(f"/schedules/{scheduled.id}/agreement", data=form).status_code == 200
    assert finance_client.post(f"/schedules/{scheduled.id}/agreement", data=form).status_code == 200  # double click
    run_jobs()
    [sent] = mail.messages
    [pdf] = [part for part in sent.iter_attachments()]
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content().startswith(b"%PDF")
    assert pdf.get_filename().startswith(f"Échéancier de paiement {scheduled.id}"), "named in the customer's language"
    session.expire_all()
    [message] = outbox_messages(session)
    assert (message.kind, message.status) == ("schedule_agreed", "sent")
    assert [e.reminder_level for e in session.scalars(select(Entry))] == [1, 1]

    bad = finance_client.post(f"/schedules/{scheduled.id}/agreement", data={**form, "to": "not an address",
                                                                            "token": "another"})
    assert bad.status_code == 400 and "is not an e-mail address" in bad.get_data(as_text=True)


def test_the_agreement_of_an_ended_schedule_is_refused(app, session, users, scheduled, finance_client):
    schedules.cancel_schedule(session, users["finance"], scheduled, "Paid in full by cheque")
    session.commit()
    answer = finance_client.post(f"/schedules/{scheduled.id}/agreement",
                                 data={"to": "compta@bistro.test", "subject": "x", "body": "y", "token": "t"})
    assert answer.status_code == 400 and "cancelled: it is not sent" in answer.get_data(as_text=True)


def test_an_instalment_paid_before_its_reminder_went_is_not_sent(app, session, users, scheduled, closed_smtp_url,
                                                                  smtp_server, run_jobs):
    first = scheduled.instalments[0]
    app.config.update(SMTP_URL=closed_smtp_url)  # the mail server is down when the heads-up goes
    daily(app, session, first.due_on - timedelta(days=5))
    run_jobs()
    [message] = outbox_messages(session)
    assert message.status == "failed"
    clock.pin(first.due_on)
    invoice = session.scalar(select(Entry).where(Entry.number == "INV-1"))
    record(session, users["finance"], scheduled.customer,
           ReceiptForm(first.due_on, 10000, "transfer", "VIR BISTRO 1", {invoice.id: 10000}))
    session.commit()
    app.config.update(SMTP_URL=smtp_server.url)
    outbox.retry(session, message)
    session.commit()
    enqueue_outbox_message(message)
    run_jobs()
    session.expire_all()
    message = session.get(OutboxMessage, message.id)
    assert message.status == "cancelled" and "instalment 1 of payment schedule" in message.last_error
    assert "was paid meanwhile" in message.last_error and smtp_server.messages == []


def test_switched_off_invoices_get_nothing_automatic(app, session, scheduled, mail, run_jobs):
    session.scalar(select(Entry).where(Entry.number == "INV-2")).follow_up_enabled = False
    session.commit()
    first = scheduled.instalments[0]
    assert daily(app, session, first.due_on - timedelta(days=5)).instalments == []


def test_late_without_a_follow_up_plan_the_invoices_are_reminded_again(app, session, users, scheduled):
    scheduled.customer.follow_up_plan_id = None
    session.commit()
    first = scheduled.instalments[0]
    clock.pin(first.due_on + timedelta(days=4))
    schedules.evaluate(session)
    session.commit()
    session.expire_all()
    assert session.get(PaymentSchedule, scheduled.id).status == "late"
    assert [e.scheduled for e in session.scalars(select(Entry).order_by(Entry.number))] == [False, False]
    note = session.scalar(select(Notification.text))
    assert note.endswith("the customer has no follow-up plan: the invoices are reminded again until it is caught up.")


def test_the_agreement_dialog_says_at_once_that_no_e_mail_can_go(app, session, scheduled, finance_client):
    scheduled_id = scheduled.id
    session.get(CompanySettings, 1).sender_email = ""
    session.commit()
    dialog = finance_client.get(f"/schedules/{scheduled_id}/agreement").get_data(as_text=True)
    assert "No sender e-mail address for the company" in dialog
    refused = finance_client.post(f"/schedules/{scheduled_id}/agreement", headers={"HX-Request": "true"},
                                  data={"to": "compta@bistro.test", "subject": "Plan", "body": "Bonjour", "token": "t1"})
    assert refused.status_code == 200, "htmx swaps it: the dialog shows why"
    assert "No sender e-mail address for the company" in refused.get_data(as_text=True)


def test_the_agreement_dialog_says_what_would_hold_a_reminder(app, session, users, scheduled, finance_client):
    set_reminders_stopped(session, scheduled.customer, users["finance"], True, reason="Talking to the CFO")
    session.commit()
    dialog = finance_client.get(f"/schedules/{scheduled.id}/agreement").get_data(as_text=True)
    warning = dialog.split('data-testid="agreement-warnings"')[1].split("</div>")[0]
    assert "it is not a reminder" in warning and "Reminders are stopped for this customer: Talking to the CFO" in warning
