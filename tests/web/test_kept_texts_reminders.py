"""What the reminders keep — a send's last error, the history of the outbox, a bulk run's plan and counts, a
follow-up task — is written once (by an English user, or by the worker in RELANCE_LOCALE) and read by each
user in their own language, amounts and dates in their format; a mail server's own words stay as it wrote them."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain import clock
from domain.collection.marks import set_disputed
from domain.ledger import schedules
from domain.ledger.schedules import Plan
from domain.models import AuditEvent, BulkRun, OutboxMessage, User
from domain.reminders import follow_up
from jobs.ledger import evaluate_promises
from jobs.reminders import run_follow_up
from tests.conftest import TODAY, login
from tests.web.conftest import plan_and_confirm

HTMX = {"HX-Request": "true"}


def text(response) -> str:
    """The page's words with French no-break spaces as plain spaces."""
    return re.sub("[\u00a0\u202f]", " ", response.get_data(as_text=True))


def speaks(session, role: str, language: str) -> None:
    session.scalar(select(User).filter_by(email=f"{role}@relance.test")).language = language
    session.commit()


@pytest.fixture
def readers(app, session, users):
    """Support reads in French, admin in English (each in a client of their own)."""
    speaks(session, "support", "fr")
    speaks(session, "admin", "en")
    french, english = app.test_client(), app.test_client()
    assert login(french, "support@relance.test").status_code == 302
    assert login(english, "admin@relance.test").status_code == 302
    return {"fr": french, "en": english}


@pytest.fixture
def bistro(session, ledger_builder):
    customer = ledger_builder.customer("C100", "Bistro du Port", emails="compta@bistro.test")
    entry = ledger_builder.entry(customer, 40, "1200.50", level=1, number="INV-2001")
    session.commit()
    return {"customer": customer, "entry": entry}


def send(client, entry, subject="Relance"):
    return client.post("/customers/C100/reminders/email", headers=HTMX, data={
        "to": "compta@bistro.test", "subject": subject, "body": "Merci de régler.", "level": "R2",
        "dedupe_key": subject, "entry": [entry.id]})


def test_a_failed_send_and_its_cancellation_read_in_each_readers_language(
        finance_client, readers, session, bistro, company, run_jobs, app, closed_smtp_url):
    app.config["SMTP_URL"] = closed_smtp_url
    send(finance_client, bistro["entry"])
    run_jobs()
    session.expire_all()
    message = session.scalar(select(OutboxMessage))
    assert message.status == "failed" and message.last_error.startswith("Cannot reach the mail server 127.0.0.1:")

    french, english = text(readers["fr"].get("/reminders/deliveries")), text(readers["en"].get("/reminders/deliveries"))
    assert "Impossible de joindre le serveur de messagerie 127.0.0.1:" in french
    assert "Cannot reach the mail server" not in french
    assert "Cannot reach the mail server 127.0.0.1:" in english

    assert finance_client.post(f"/reminders/messages/{message.id}/cancel", headers=HTMX).status_code == 200
    session.expire_all()
    french, english = text(readers["fr"].get("/reminders/deliveries")), text(readers["en"].get("/reminders/deliveries"))
    assert "Annulé par Finance : à ne pas envoyer." in french and "Cancelled by Finance" not in french
    assert "Cancelled by Finance: not to be sent." in english

    french, english = text(readers["fr"].get("/customers/C100")), text(readers["en"].get("/customers/C100"))
    assert "L’e-mail R2 « Relance » ne sera pas envoyé." in french
    assert 'The R2 e-mail "Relance" will not be sent.' in english.replace("&#34;", '"').replace("&quot;", '"')
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "outbox.cancelled"))
    assert event.detail == 'The R2 e-mail "Relance" will not be sent.', "the command line and search read English"


def test_a_message_held_back_says_why_in_each_language_with_the_reason_as_typed(
        finance_client, readers, session, bistro, company, users, run_jobs, mail):
    send(finance_client, bistro["entry"])
    set_disputed(session, bistro["entry"], users["finance"], True, reason="Livraison incomplète")
    session.commit()
    run_jobs()
    session.expire_all()
    assert session.scalar(select(OutboxMessage)).status == "cancelled" and mail.messages == []

    french, english = text(readers["fr"].get("/reminders/deliveries")), text(readers["en"].get("/reminders/deliveries"))
    assert "Non envoyé : INV-2001 est en litige : Livraison incomplète." in french
    assert "Not sent: INV-2001 is disputed: Livraison incomplète." in english


def test_a_bulk_runs_plan_and_counts_are_read_in_the_owners_language(
        finance_client, session, bistro, company, users, run_jobs, mail):
    finance_client.post("/reminders/bulk", data={"customer": ["C100"]}, headers=HTMX)
    run_jobs()  # the worker plans in RELANCE_LOCALE (English)
    run = session.scalar(select(BulkRun.id).order_by(BulkRun.id.desc()))
    status = f"/reminders/bulk/{run}/status"
    assert "Send 1 reminder (1 R2)" in text(finance_client.get(status, headers=HTMX))

    speaks(session, "finance", "fr")
    assert "Envoyer 1 relance (1 R2)" in text(finance_client.get(status, headers=HTMX))

    speaks(session, "finance", "en")
    plan_and_confirm(finance_client, session, run_jobs)
    run_jobs()
    assert "sent 1 · skipped 0 · failed 0" in text(finance_client.get(status, headers=HTMX))
    speaks(session, "finance", "fr")
    assert "envoyées 1 · ignorées 0 · en échec 0" in text(finance_client.get(status, headers=HTMX))


def test_a_follow_up_task_gives_its_amount_and_date_in_each_readers_format(
        app, session, users, readers, ledger_builder, company, run_jobs):
    plan = follow_up.create_plan(session, users["admin"], "Standard")
    follow_up.add_step(session, users["admin"], plan, 30, "letter", 2)
    customer = ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test")
    customer.follow_up_plan_id = plan.id
    one = ledger_builder.entry(customer, 40, "1200.00", level=1, number="INV-1")
    session.commit()
    first_due = TODAY + timedelta(days=10)
    schedule = schedules.create_schedule(session, users["finance"], customer, [one.id],
                                         Plan("monthly", first=first_due, count=3))
    session.commit()
    clock.pin(first_due + timedelta(days=31))
    evaluate_promises()
    run_follow_up(app)
    session.expire_all()
    task = session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "follow_up.task"))
    assert task == (f"Payment schedule #{schedule.id}: Letter to send (R2) for instalment 1, due on "
                    f"{first_due:%d/%m/%Y}, €400.00 unpaid")

    french, english = text(readers["fr"].get("/customers/C1")), text(readers["en"].get("/customers/C1"))
    assert (f"Échéancier n° {schedule.id} : courrier à envoyer (R2) pour l’échéance 1, due le "
            f"{first_due:%d/%m/%Y}, 400,00 € impayés") in french
    assert f"due on {first_due:%d/%m/%Y}, €400.00 unpaid" in english
