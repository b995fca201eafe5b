"""Bulk dunning with "Attach the reminder letter (PDF)": each e-mail the worker sends (to a real
SMTP server, aiosmtpd) carries the formal letter of the customer's level as a PDF, kept on disk as
the message's attachment and named in the reminder's history; without the option, no letter."""
import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from domain.models import BulkRun, OutboxMessage, ReminderActivity
from domain.reminders import bulk, outbox
from tests.web.test_bulk_dunning import send_then_retry

HTMX = {"HX-Request": "true"}


@pytest.fixture
def two(session, ledger_builder):
    """Two customers to remind (one with a copy address), one without an e-mail address."""
    bistro = ledger_builder.customer("C100", "Bistro du Port", emails="compta@bistro.test, boss@bistro.test",
                                     address="3 quai des Brumes\n13002 Marseille")
    ledger_builder.entry(bistro, 40, "1200.50", level=1, number="INV-2001")
    ledger_builder.entry(bistro, 10, "300.00", level=2, number="INV-2002")
    hotel = ledger_builder.customer("C400", "Hôtel du Lac", emails="hotel@lac.test", language="fr")
    ledger_builder.entry(hotel, 30, "200.00", number="INV-5001")
    silent = ledger_builder.customer("C300", "Boulangerie Sans Mail")
    ledger_builder.entry(silent, 15, "12.00", number="INV-4001")
    session.commit()
    return {"bistro": bistro, "hotel": hotel}


def send_reminders(client, *accounts, confirm=None, **form):
    """Ask for reminders; with `confirm` (the run_jobs fixture) the plan is made and confirmed too."""
    response = client.post("/reminders/bulk", data={"customer": list(accounts), **form}, headers=HTMX)
    if confirm is not None:
        from extensions import db
        from tests.web.conftest import plan_and_confirm

        plan_and_confirm(client, db.session, confirm)
    return response


def the_run(session) -> BulkRun:
    session.expire_all()
    return session.scalar(select(BulkRun).order_by(BulkRun.id.desc()))


def pdf_attachments(message) -> list:
    return [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def letters_dir(app) -> Path:
    return Path(app.config["ATTACHMENT_DIR"]) / "letters"


def test_each_email_carries_the_letter_as_a_pdf(app, finance_client, session, two, company, mail, run_jobs):
    assert send_reminders(finance_client, "C100", "C300", "C400", letter="1", confirm=run_jobs).status_code == 200
    run = the_run(session)
    assert json.loads(run.params)["letter"] == "1"
    run_jobs()

    assert the_run(session).message == "sent 2 · skipped 1 · failed 0"
    by_recipient = {m["To"]: m for m in mail.messages}
    assert set(by_recipient) == {"compta@bistro.test", "hotel@lac.test"}
    for to, customer, numbers in (("compta@bistro.test", two["bistro"], ("INV-2001", "INV-2002")),
                                  ("hotel@lac.test", two["hotel"], ("INV-5001",))):
        (part,) = pdf_attachments(by_recipient[to])
        data = part.get_content()
        assert data.startswith(b"%PDF"), "real PDF bytes"
        assert part.get_filename().endswith(".pdf") and customer.name in part.get_filename()
        text = pdf_text(data)
        assert customer.name in text and all(number in text for number in numbers)
        assert "Acme SARL" in text, "the company's letterhead"
        stored = session.scalar(select(OutboxMessage).where(OutboxMessage.customer_id == customer.id))
        (attachment,) = outbox.attachments_of(stored)
        assert stored.status == "sent" and attachment.filename == part.get_filename()
        assert Path(attachment.path) == letters_dir(app) / f"{bulk.letter_name(run.id, customer.id)}.pdf"
        assert Path(attachment.path).read_bytes() == data, "the file stays as the message's attachment"
    assert "Objet" in pdf_text(pdf_attachments(by_recipient["hotel@lac.test"])[0].get_content()), "in French"
    assert sorted(p.name for p in letters_dir(app).iterdir()) == sorted(
        f"{bulk.letter_name(run.id, c.id)}.pdf" for c in (two["bistro"], two["hotel"])), "nothing left aside"


def test_the_reminder_history_names_the_letter(app, finance_client, session, two, company, mail, run_jobs):
    send_reminders(finance_client, "C100", letter="1", confirm=run_jobs)
    run_jobs()
    activity = session.scalar(select(ReminderActivity).where(ReminderActivity.customer_id == two["bistro"].id))
    assert activity.channel == "email"
    (part,) = pdf_attachments(mail.messages[0])
    html = finance_client.get(f"/reminders/activities/{activity.id}", headers=HTMX).get_data(as_text=True)
    assert part.get_filename() in html


def test_without_the_option_no_letter(app, finance_client, session, two, company, mail, run_jobs):
    send_reminders(finance_client, "C100", "C400", confirm=run_jobs)
    run = the_run(session)
    assert "letter" not in json.loads(run.params)
    run_jobs()

    assert len(mail.messages) == 2
    assert all(list(m.iter_attachments()) == [] for m in mail.messages)
    assert all(outbox.attachments_of(m) == [] for m in session.scalars(select(OutboxMessage)))
    assert not letters_dir(app).exists() or not any(letters_dir(app).iterdir())


def test_a_retried_job_makes_no_second_letter(app, finance_client, session, two, company, mail, run_jobs):
    send_then_retry(finance_client, session, run_jobs, "C100", "C400", letter="1")

    assert len(mail.envelopes) == 2
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    assert len(list(letters_dir(app).iterdir())) == 2


def test_a_letter_written_by_a_killed_run_is_replaced(app, finance_client, session, two, company, mail, run_jobs):
    """The job died after writing a customer's letter but before its message was committed, and
    left a half-written one aside: the retried run writes the letter again under the same name."""
    send_reminders(finance_client, "C100", letter="1", confirm=run_jobs)
    run = the_run(session)
    folder = letters_dir(app)
    folder.mkdir(parents=True)
    name = f"{bulk.letter_name(run.id, two['bistro'].id)}.pdf"
    (folder / name).write_bytes(b"%PDF-1.7 from the killed run")
    (folder / f".partial-bulk-{run.id}-x").mkdir()
    (folder / f".partial-bulk-{run.id}-x" / "half.pdf").write_bytes(b"%PDF-1.7 half")
    run_jobs()

    assert sorted(p.name for p in folder.iterdir()) == [name]
    (part,) = pdf_attachments(mail.messages[0])
    assert part.get_content() == (folder / name).read_bytes() != b"%PDF-1.7 from the killed run"


def test_the_page_offers_the_letter_option(finance_client, two):
    html = finance_client.get("/").get_data(as_text=True)
    assert 'name="letter" value="1"' in html and "Attach the reminder letter (PDF)" in html
