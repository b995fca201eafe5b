"""What the ledger keeps to be read later — the history of payments and entries, a dispute's timeline
and its reason on the entry, the bell's broken promise or late schedule — is read in each reader's
language, with amounts and dates in their format, whoever wrote it."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from domain import clock
from domain.ledger import disputes, entries, promises, schedules
from domain.models import AuditEvent, Customer, Entry, Notification, User
from tests.conftest import TODAY, login

HTMX = {"HX-Request": "true"}


def text(response) -> str:
    """The page's words, French no-break spaces (before : ; and in amounts) as plain spaces."""
    return re.sub("[\u00a0\u202f]", " ", response.get_data(as_text=True))


@pytest.fixture
def french_client(app, users, session):
    """The admin reads in French (My account → language), in a browser of their own."""
    session.scalar(select(User).filter_by(email="admin@relance.test")).language = "fr"
    session.commit()
    client = app.test_client()
    assert login(client, "admin@relance.test").status_code == 302
    return client


@pytest.fixture
def bistro(session, ledger_builder):
    customer = ledger_builder.customer("C100", "Bistro du Port", emails="compta@bistro.test")
    ledger_builder.entry(customer, 40, "1200.00", number="INV-1")
    ledger_builder.entry(customer, 10, "800.00", number="INV-2")
    session.commit()
    return customer


def ids(session, *numbers) -> list[int]:
    return [session.scalar(select(Entry.id).where(Entry.number == number)) for number in numbers]


def test_a_payment_recorded_in_english_reads_in_french_in_the_history(finance_client, french_client, session,
                                                                      bistro):
    older, newer = ids(session, "INV-1", "INV-2")
    answer = finance_client.post("/customers/C100/payments", headers=HTMX, data={
        "amount": "1500", "received_on": "2026-06-14", "method": "cheque", "reference": "CHQ-4411",
        "dedupe_key": "form-1", f"alloc-{older}": "1200.00", f"alloc-{newer}": "300.00"})
    assert answer.status_code == 200

    line = ("Payment recorded: €300.00 of €1,500.00 by cheque CHQ-4411 received 14/06/2026. "
            "Open amount €800.00 → €500.00.")
    assert line in text(finance_client.get("/customers/C100/history"))
    french = text(french_client.get(f"/entries/{newer}/history", headers=HTMX))
    assert ("Encaissement enregistré : 300,00 € sur 1 500,00 € par chèque CHQ-4411 reçus le 14/06/2026. "
            "Montant restant dû 800,00 € → 500,00 €.") in french
    assert "Payment recorded" not in french
    # The English stays in the record: the command line, search and exports read it.
    assert session.scalar(select(AuditEvent.detail).where(AuditEvent.entry_id == newer)) == line


def test_an_entry_added_and_changed_reads_in_each_readers_language(finance_client, french_client, session, bistro,
                                                                   users):
    invoice = entries.add(session, users["finance"], bistro, {
        "number": "INV-7", "kind": "invoice", "issue_date": date(2026, 6, 1), "due_date": date(2026, 7, 16),
        "amount_cents": 125050, "currency": "EUR"})
    entries.change(session, users["finance"], invoice, {"issue_date": date(2026, 6, 1), "due_date": date(2026, 7, 31),
                                                        "amount_cents": 125050, "currency": "EUR"})
    session.commit()

    english = text(finance_client.get(f"/entries/{invoice.id}/history", headers=HTMX))
    assert "Invoice INV-7 added: €1,250.50, issued 01/06/2026, due 16/07/2026." in english
    assert "INV-7 changed: Due date: 16/07/2026 → 31/07/2026." in english
    french = text(french_client.get(f"/entries/{invoice.id}/history", headers=HTMX))
    assert "Facture INV-7 ajoutée : 1 250,50 €, émise le 01/06/2026, échéance le 16/07/2026." in french
    assert "Modifications de INV-7 : Date d’échéance : 16/07/2026 → 31/07/2026." in french


def test_a_dispute_opened_in_english_reads_in_french_on_its_page_and_on_the_entry(finance_client, french_client,
                                                                                 session, bistro, users):
    dispute = disputes.open_dispute(session, users["finance"], bistro, ids(session, "INV-1", "INV-2"), "not_received",
                                    note="Never got it")
    disputes.set_status(session, users["finance"], dispute, "waiting_customer")
    disputes.resolve(session, users["finance"], dispute, "not_justified", note="As quoted")
    session.commit()

    english = text(finance_client.get(f"/disputes/{dispute.id}"))
    assert "Invoice not received on INV-1, INV-2 (€2,000.00): Never got it" in english
    assert "Open → Waiting for the customer" in english
    assert "Resolved: not justified; reminders resume for INV-1, INV-2. As quoted" in english
    french = text(french_client.get(f"/disputes/{dispute.id}"))
    assert "Facture non reçue sur INV-1, INV-2 (2 000,00 €) : Never got it" in french  # the note as typed
    assert "Ouvert → En attente du client" in french
    assert "Résolu : non justifié ; les relances reprennent pour INV-1, INV-2. As quoted" in french
    history = text(french_client.get("/customers/C100/history"))
    assert f"Litige n° {dispute.id} ouvert sur INV-1, INV-2 : Facture non reçue ; leurs relances s’arrêtent." in history


def test_the_reason_on_a_disputed_entry_is_the_readers(finance_client, french_client, session, bistro, users):
    disputes.open_dispute(session, users["finance"], bistro, ids(session, "INV-1"), "wrong_amount")
    session.commit()
    disputed = session.scalar(select(Entry).where(Entry.number == "INV-1"))
    assert disputed.dispute_reason == "Amount or price wrong"  # English kept in the column
    assert "Disputed: Amount or price wrong" in text(finance_client.get("/customers/C100/entries", headers=HTMX))
    assert "En litige : Montant ou prix erroné" in text(french_client.get("/customers/C100/entries", headers=HTMX))


def test_the_bell_of_a_broken_promise_and_a_late_schedule_reads_in_the_users_language(app, session, users):
    alpha = Customer(account="C1", name="Alpha", entries=[
        Entry(number=f"F-{n}", kind="invoice", issue_date=date(2026, 3, n), due_date=date(2026, 4, n),
              amount_cents=100000 * n, open_cents=100000 * n, reminder_level=1) for n in (1, 2)])
    session.add(alpha)
    session.commit()
    promise = promises.record_promise(session, users["finance"], alpha, ids(session, "F-1"),
                                      promised_on=TODAY + timedelta(days=10), channel="phone")
    schedule = schedules.create_schedule(session, users["finance"], alpha, ids(session, "F-2"), schedules.Plan(
        frequency="monthly", first=TODAY + timedelta(days=1), count=2))
    session.commit()
    clock.pin(promise.until + timedelta(days=1))
    promises.evaluate(session)
    schedules.evaluate(session)
    session.commit()

    bell = session.scalars(select(Notification).order_by(Notification.id)).all()
    with app.test_request_context():
        with force_locale("en_GB"):
            assert [note.shown_text for note in bell] == [
                f"Alpha: Promise #{promise.id} broken: nothing paid by 25/06/2026; reminders resume.",
                f"Alpha: Payment schedule #{schedule.id} late: instalment 1 was not paid in time; the customer has no "
                "follow-up plan: the invoices are reminded again until it is caught up."]
        with force_locale("fr_FR"):
            french = [re.sub("[\u00a0\u202f]", " ", note.shown_text) for note in bell]
    assert french == [
        f"Alpha : Promesse n° {promise.id} non tenue : rien de réglé au 25/06/2026 ; les relances reprennent.",
        f"Alpha : Échéancier n° {schedule.id} en retard : l’échéance 1 n’a pas été réglée à temps ; le client n’a pas "
        "de plan de relance : les factures sont de nouveau relancées jusqu’à ce que l’échéancier soit rattrapé."]
    with app.test_request_context(), force_locale("fr_FR"):
        created = session.scalar(select(AuditEvent).where(AuditEvent.action == "schedule.created")).shown_detail
    assert re.sub("[\u00a0\u202f]", " ", created) == (
        f"Échéancier n° {schedule.id} : 2 000,00 € en 2 échéances du 16/06/2026 au 16/07/2026 sur F-2 ; "
        "les relances suivent les échéances.")
