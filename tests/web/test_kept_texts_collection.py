"""What collection and debt collection keep — history lines, a case's deadlines, the bell — is read in
each reader's language, amounts and dates in each reader's format, whoever did it in which language."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from domain import clock, debt_collection
from domain.collection import files as collection_files
from domain.models import CaseTask
from domain.reminders import notices
from tests.conftest import login

HTMX = {"HX-Request": "true"}


def text(response) -> str:
    """The page's words, French no-break spaces (before : ; and in numbers) as plain spaces."""
    return re.sub("[\u00a0\u202f]", " ", response.get_data(as_text=True))


def as_user(client, email: str):
    client.post("/logout")
    assert login(client, email).status_code == 302
    return client


@pytest.fixture
def readers(session, users):
    """The finance user reads English, the admin French."""
    users["finance"].language, users["admin"].language = "en", "fr"
    session.commit()
    return users


@pytest.fixture
def bistro(session, ledger_builder, company):
    customer = ledger_builder.customer("C1", "Bistro SARL")
    entry = ledger_builder.entry(customer, 73, "1000.00", number="F-1")  # due 03/04/2026
    session.commit()
    return customer, entry


def test_a_legal_step_and_its_deadline_read_in_each_readers_language(client, session, readers, bistro):
    customer, entry = bistro
    case = collection_files.start_collection_file(session, readers["finance"], customer, [entry.id]).case
    session.commit()
    english = as_user(client, "finance@relance.test")
    answer = english.post(f"/collection/cases/{case.id}/steps", data={
        "kind": "injunction_order", "on": "2026-06-10", "note": "Tribunal de commerce de Paris", "costs": "33,47"})
    assert answer.status_code == 303

    assert "Serve the injunction order: it lapses if not served" in text(english.get(f"/collection/cases/{case.id}"))
    history = text(english.get("/customers/C1/history"))
    assert "Collection file requested for 1 entry: F-1" in history
    assert ("Collection case #1: Injunction order granted on 10/06/2026, costs €33.47 — Tribunal de commerce de "
            "Paris.") in history
    assert "Collection case #1: Open → Legal (Injunction order granted)" in history

    french = as_user(client, "admin@relance.test")
    page = text(french.get(f"/collection/cases/{case.id}"))
    assert "Signifier l’ordonnance d’injonction de payer : elle est non avenue" in page and "Serve the" not in page
    history = text(french.get("/customers/C1/history"))
    assert "Dossier de recouvrement demandé pour 1 écriture : F-1" in history
    assert ("Procédure de recouvrement n° 1 : Ordonnance d’injonction de payer rendue le 10/06/2026, frais 33,47 € — "
            "Tribunal de commerce de Paris.") in history
    assert "Procédure de recouvrement n° 1 : Ouverte → Judiciaire (Ordonnance d’injonction de payer rendue)" in history

    # The French admin marks the deadline done: the English reader reads the task in English.
    task = session.scalars(select(CaseTask)).one()
    assert french.post(f"/collection/cases/{case.id}/tasks/{task.id}/done").status_code == 303
    assert "Collection case #1: done — Serve the injunction order" in text(
        as_user(client, "finance@relance.test").get("/customers/C1/history"))


def test_a_status_change_reads_in_each_readers_language(client, session, readers, bistro):
    customer, entry = bistro
    case = collection_files.start_collection_file(session, readers["admin"], customer, [entry.id]).case
    session.commit()
    french = as_user(client, "admin@relance.test")
    french.post(f"/collection/cases/{case.id}/status", data={"entry": entry.id, "status": "amicable"})
    assert "Procédure de recouvrement n° 1 (F-1) : Ouverte → Amiable" in text(french.get("/customers/C1/history"))
    english = as_user(client, "finance@relance.test")
    assert "Collection case #1 (F-1): Open → Amicable" in text(english.get("/customers/C1/history"))


def test_a_claims_life_reads_in_each_readers_language_and_the_bell_too(client, session, readers, bistro, company):
    customer, entry = bistro
    company.iban = "FR7630006000011234567890189"
    clock.pin(date(2026, 5, 4))
    notice, _ = notices.issue(session, readers["admin"], customer, [entry.id], channel="letter", claim=False, token="n",
                              deadline=date(2026, 5, 12))
    notices.record_registered(session, readers["admin"], notice, "1A 234 567 8901 2", date(2026, 5, 4))
    session.commit()
    clock.pin(date(2026, 5, 13))
    debt_collection.run(session)
    debt_collection.pause(session, readers["finance"], debt_collection.claims_by_ids(session, [1]),
                          "Waiting for the CFO", date(2026, 5, 20))
    session.commit()
    clock.pin(date(2026, 5, 21))
    debt_collection.run(session)  # the pause ended
    session.commit()
    clock.pin(date(2026, 7, 21))
    debt_collection.run(session)  # 61 days in the list: closed automatically, the notice's author told
    session.commit()

    english = text(as_user(client, "finance@relance.test").get("/customers/C1/history"))
    assert ("F-1: formal notice #1 expired unpaid on 12/05/2026: ready for debt collection (30. Debt collection list "
            "without automation).") in english
    assert "F-1: debt collection paused until 20/05/2026 — Waiting for the CFO." in english
    assert "F-1: the pause ended (20/05/2026), back in the list." in english
    assert ("F-1: claim closed — Closed automatically: In the debt collection list for more than 60 days."
            in english)

    french = as_user(client, "admin@relance.test")
    history = text(french.get("/customers/C1/history"))
    assert ("F-1 : mise en demeure n° 1 expirée impayée le 12/05/2026 : prête pour le recouvrement contentieux "
            "(30. Liste de recouvrement contentieux sans automatisation).") in history
    assert "F-1 : recouvrement contentieux suspendu jusqu’au 20/05/2026 — Waiting for the CFO." in history
    assert "F-1 : fin de la suspension (20/05/2026), de retour dans la liste." in history
    assert ("F-1 : créance clôturée — Clôturée automatiquement : Dans la liste de recouvrement contentieux depuis "
            "plus de 60 jours.") in history
    assert ("Bistro SARL : F-1 était dans la liste de recouvrement contentieux depuis plus de 60 jours et a été "
            "clôturée automatiquement.") in text(french.get("/notifications/"))


def test_a_failed_send_to_an_agency_is_told_in_the_senders_language(
        client, app, session, readers, collection_file, company, agency, closed_smtp_url, run_jobs):
    app.config["SMTP_URL"] = closed_smtp_url
    export, case, _ = collection_file(owner="admin")
    french = as_user(client, "admin@relance.test")
    french.post(f"/exports/{export.id}/agency", data={"agency_id": agency.id}, headers=HTMX)
    run_jobs()
    bell = text(french.get("/notifications/"))
    assert "Le dossier de recouvrement de Bistro du Port n’a pas été envoyé à Gcollect : " in bell

    readers["admin"].language = "en"
    session.commit()
    assert "The collection file for Bistro du Port was not sent to Gcollect: " in text(french.get("/notifications/"))


def test_the_collection_files_history_is_in_the_files_language(app, session, readers, bistro):
    from domain.ledger import promises
    from jobs.collection import customer_said

    customer, entry = bistro
    promises.record_promise(session, readers["finance"], customer, [entry.id], promised_on=date(2026, 6, 30),
                            channel="phone")
    session.commit()

    def steps(locale: str) -> str:
        [promise] = customer_said(session, customer, [entry.id], locale)
        return re.sub("[\u00a0\u202f]", " ", " ".join(step.text for step in promise.steps))

    assert "Promise #1: €1,000.00 by 30/06/2026" in steps("en_GB")
    assert "Promesse n° 1 : 1 000,00 € pour le 30/06/2026" in steps("fr_FR")


def test_reasons_refusing_a_send_are_kept_for_the_bell(session, readers, collection_file):
    from domain.collection import agency as agency_rules
    from domain.i18n import Said

    export, case, _ = collection_file()
    case.status = "closed"
    with pytest.raises(agency_rules.SendRefused) as refused:
        agency_rules.check_send(session, readers["finance"], export, case, agency_chosen=False)
    assert isinstance(refused.value.args[0], Said) and "it is not sent to an agency any more" in str(refused.value)


def test_the_reasons_relance_writes_on_a_stop_and_a_mark_read_in_each_readers_language(client, session, readers,
                                                                                        bistro):
    """A collection file stops reminders and sets ⚖️ "because of the collection file": the reason on the switch,
    on the entry and in the history is Relance's sentence, not a person's words — each reader reads it in their
    language; a reason a person typed stays as typed."""
    customer, entry = bistro
    collection_files.start_collection_file(session, readers["finance"], customer, [entry.id])
    session.commit()

    english = as_user(client, "finance@relance.test")
    account = text(english.get("/customers/C1"))
    assert "Collection file" in account
    assert "— Collection file" in text(english.get("/customers/C1/history"))

    french = as_user(client, "admin@relance.test")
    account = text(french.get("/customers/C1"))
    assert "Dossier de recouvrement" in account and "Collection file" not in account
    history = text(french.get("/customers/C1/history"))
    assert "— Dossier de recouvrement" in history and "— Collection file" not in history

    answer = french.post("/customers/C1/stop-reminders", data={"stopped": "1", "reason": "Appel du gérant"},
                         headers=HTMX)
    assert answer.status_code == 200
    assert "Appel du gérant" in text(as_user(client, "finance@relance.test").get("/customers/C1"))
