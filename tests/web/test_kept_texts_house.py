"""What Relance keeps and people read later — the Users page's history, the bell, an export's failure,
an import's history lines, the morning digest's bell line — reads in each reader's language, with
counts and dates in their style, whoever did it and in whatever language."""
from __future__ import annotations

import io
import re
from datetime import timedelta

from flask_babel import force_locale

import jobs.base
from domain import clock, digest, exports, notifications
from domain.imports.receivables import ImportReport
from domain.ledger import promises
from domain.models import Export, User
from tests.conftest import TODAY

HTMX = {"HX-Request": "true"}
ENTRIES_CSV = (
    "account,number,kind,issue_date,due_date,amount,open_amount,currency,reminder_level\r\n"
    "C001,INV-1,invoice,2026-04-01,2026-05-01,1200.00,,,2\r\n"
    "C001,INV-2,invoice,2026-04-02,2026-05-02,300.00,,,\r\n"
).encode()


def text(response) -> str:
    """The page's words with French no-break spaces as plain spaces."""
    return re.sub("[\u00a0\u202f]", " ", response.get_data(as_text=True))


def speaks(session, user: User, language: str | None) -> None:
    session.get(User, user.id).language = language
    session.commit()


def test_the_users_history_reads_in_each_readers_language_with_role_labels(admin_client, users, session):
    speaks(session, users["admin"], "en")
    finance = users["finance"]
    created = admin_client.post("/settings/users/", data={"email": "jane@relance.test", "name": "Jane Doe",
                                                          "role": "finance", "password": "long enough pw"})
    assert "Jane Doe can now log in as Finance." in text(created)
    admin_client.post(f"/settings/users/{finance.id}/role", data={"role": "support"})
    admin_client.post(f"/settings/users/{finance.id}/active", data={"active": "0"})

    english = text(admin_client.get("/settings/users/"))
    assert "Created Jane Doe (jane@relance.test) as Finance" in english
    assert "Role of Finance (finance@relance.test): Finance → Support" in english
    assert "Deactivated Finance (finance@relance.test)" in english
    assert '<option value="support" selected>Support</option>' in english  # the label, not the code

    speaks(session, users["admin"], "fr")
    french = text(admin_client.get("/settings/users/"))
    assert "Jane Doe (jane@relance.test) créé avec le rôle Finance" in french
    assert "Rôle de Finance (finance@relance.test) : Finance → Support" in french
    assert "Finance (finance@relance.test) désactivé" in french and "Deactivated" not in french


def test_a_failed_export_keeps_its_reason_in_each_readers_language(finance_client, users, session):
    finance = users["finance"]
    export = Export(user_id=finance.id, kind="balances_xlsx", status="queued")
    session.add(export)
    session.commit()
    # As when Redis was down: the record keeps the reason, the bell tells the owner.
    jobs.base.failed(exports.mark_failed, export, jobs.base.BackgroundUnavailable())
    notifications.work_finished(session, export)
    session.commit()
    assert export.message.startswith("Background work is unavailable right now")  # the English column

    speaks(session, finance, "en")
    bell = text(finance_client.get("/notifications/", headers=HTMX))
    assert "Your export “Who owes you what? (Excel)” failed: Background work is unavailable right now" in bell
    assert "The export failed: Background work is unavailable right now" in text(finance_client.get("/exports/"))

    speaks(session, finance, "fr")
    bell = text(finance_client.get("/notifications/", headers=HTMX))
    assert ("Votre export « Qui vous doit quoi ? (Excel) » a échoué : "
            "Les traitements en arrière-plan sont indisponibles pour le moment") in bell
    page = text(finance_client.get("/exports/"))
    assert "L’export a échoué : Les traitements en arrière-plan sont indisponibles" in page


def test_an_import_writes_each_customers_history_in_the_readers_language(finance_client, users, session,
                                                                           ledger_builder):
    ledger_builder.customer("C001", "Acme SA")
    session.commit()
    speaks(session, users["finance"], "en")
    data = {"kind": "entries", "action": "import", "file": (io.BytesIO(ENTRIES_CSV), "entries.csv")}
    assert finance_client.post("/imports/", data=data, content_type="multipart/form-data").status_code == 200

    assert "Imported from entries.csv: 2 entries added." in text(finance_client.get("/customers/C001"))
    speaks(session, users["finance"], "fr")
    french = text(finance_client.get("/customers/C001"))
    assert "Importé de entries.csv : 2 écritures ajoutées." in french and "Imported from" not in french


def test_import_counts_are_grouped_in_the_readers_style(app):
    counts = ImportReport(kind="entries", filename="big.csv", created=12000, updated=1500, unchanged=3).counts()
    assert counts.english() == "12,000 created, 1,500 updated, 3 unchanged"
    with app.test_request_context(), force_locale("fr_FR"):
        assert re.sub("[\u00a0\u202f]", " ", str(counts)) == "créés : 12 000, mis à jour : 1 500, inchangés : 3"


def test_the_morning_digests_bell_line_reads_in_each_readers_language(finance_client, users, session,
                                                                       ledger_builder):
    finance = users["finance"]
    customer = ledger_builder.customer("C1", "Alpha")
    entry = ledger_builder.entry(customer, 10, "100.00", number="F-1")
    session.commit()
    promise = promises.record_promise(session, finance, customer, [entry.id], promised_on=TODAY, channel="phone")
    session.commit()
    day = promise.until + timedelta(days=1)
    clock.pin(day)
    promises.evaluate(session)
    session.get(User, finance.id).morning_digest = True
    session.commit()
    digest.make_digests(session, day)
    session.commit()

    speaks(session, finance, "en")
    english = text(finance_client.get("/notifications/", headers=HTMX))
    assert f"Relance, {day:%d/%m/%Y}: 1 promise broken" in english and day.isoformat() not in english
    speaks(session, finance, "fr")
    french = text(finance_client.get("/notifications/", headers=HTMX))
    assert f"Relance, {day:%d/%m/%Y} : 1 promesse de règlement non tenue" in french
