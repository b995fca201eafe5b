"""Formal notices from the account status: what they claim (hand-computed: TODAY = 15/06/2026, the
1st half of 2026 at 12.15 %), claimed once, by letter or e-mail, refused when something holds."""
import io
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from domain import clock
from domain.models import AuditEvent, ClaimedCharge, Entry, FormalNotice, OutboxMessage, Payment

HTMX = {"HX-Request": "true"}


@pytest.fixture
def bistro(session, ledger_builder, company):
    company.iban = "FR7630006000011234567890189"
    company.bic = "BNPAFRPP"
    customer = ledger_builder.customer("C1", "Bistro SARL", emails="compta@bistro.test", language="fr",
                                       registration_number="552100554")
    ledger_builder.entry(customer, 30, "1000.00", number="F-30")   # due 16/05/2026
    ledger_builder.entry(customer, 73, "500.00", number="F-73")    # due 03/04/2026
    ledger_builder.entry(customer, 5, "200.00", number="F-DISP", disputed=True, dispute_reason="Broken chairs")
    session.commit()
    return customer


def ids(session, *numbers):
    return [session.scalar(select(Entry.id).where(Entry.number == n)) for n in numbers]


def dialog(client, session, *numbers):
    query = "&".join(f"entry={i}" for i in ids(session, *numbers))
    html = client.get(f"/customers/C1/formal-notice?{query}", headers=HTMX).get_data(as_text=True)
    return html, re.search(r'name="token" value="([^"]+)"', html)


def issue(client, session, *numbers, token="t1", channel="letter", claim=True, deadline="2026-06-23", **more):
    form = {"entry": ids(session, *numbers), "channel": channel, "deadline": deadline, "token": token,
            **({"claim": "1"} if claim else {}), **more}
    return client.post("/customers/C1/formal-notice", data=form, headers=HTMX)


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_letter_claims_principal_interest_and_indemnity_once_and_reads_back(finance_client, session, bistro):
    html, token = dialog(finance_client, session, "F-30", "F-73")
    # F-30: 1,000.00 × 12.15 % × 30 / 365 = €9.99; F-73: 500.00 × 12.15 % × 73 / 365 = €12.15
    assert "9,99" in html or "€9.99" in html
    assert token and "€12.15" in html and "€80.00" in html
    response = issue(finance_client, session, "F-30", "F-73", token=token.group(1))
    assert response.status_code == 200 and 'data-testid="notice-issued"' in response.get_data(as_text=True)
    notice = session.scalars(select(FormalNotice)).one()
    assert (notice.principal_cents, notice.interest_cents, notice.indemnity_cents, notice.total_cents) == \
        (150000, 999 + 1215, 8000, 150000 + 2214 + 8000)
    claims = session.scalars(select(ClaimedCharge).order_by(ClaimedCharge.id)).all()
    assert sorted((c.kind, c.amount_cents) for c in claims) == [("indemnity", 4000), ("indemnity", 4000),
                                                                ("interest", 999), ("interest", 1215)]
    assert session.scalar(select(Entry.open_cents).where(Entry.number == "F-30")) == 100000, "never added to the invoice"
    # A double click gives back the same notice.
    assert issue(finance_client, session, "F-30", "F-73", token=token.group(1)).status_code == 200
    assert session.query(FormalNotice).count() == 1

    pdf = finance_client.get(f"/formal-notices/{notice.id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    for expected in ("Mise en demeure de payer", "Lettre recommandée avec accusé de réception", "552100554",
                     "732829320", "F-30", "F-73", "Intérêts de retard", "Indemnité forfaitaire", "1 602,14",
                     "23 juin 2026", "FR76 3000 6000 0112 3456 7890 189", "BNPAFRPP", "L441-10", "12,15"):
        assert expected in text.replace("\u202f", " ").replace("\xa0", " "), expected


def test_a_second_notice_claims_only_the_days_since_and_never_the_indemnity_twice(finance_client, session, bistro,
                                                                               pinned_today):
    assert issue(finance_client, session, "F-30", token="first").status_code == 200
    clock.pin(pinned_today + timedelta(days=10))
    html, token = dialog(finance_client, session, "F-30")
    assert "claimed before" in html and "since" in html
    assert issue(finance_client, session, "F-30", token="second", deadline="2026-07-03").status_code == 200
    second = session.scalars(select(FormalNotice).order_by(FormalNotice.id.desc())).first()
    # 10 more days (16/06 – 25/06): 1,000.00 × 12.15 % × 10 / 365 = 3.3287… → €3.33; no second indemnity
    assert (second.interest_cents, second.indemnity_cents) == (333, 0)
    interest = session.scalars(select(ClaimedCharge).where(ClaimedCharge.kind == "interest")
                               .order_by(ClaimedCharge.from_day)).all()
    assert [(c.from_day, c.through_day) for c in interest] == [(date(2026, 5, 17), date(2026, 6, 15)),
                                                               (date(2026, 6, 16), date(2026, 6, 25))]


def test_a_disputed_invoice_cannot_be_in_a_notice(finance_client, session, bistro):
    html, _ = dialog(finance_client, session, "F-30", "F-DISP")
    assert "F-DISP is disputed: Broken chairs." in html and 'data-testid="notice-form"' not in html
    answer = issue(finance_client, session, "F-30", "F-DISP")
    assert "is disputed" in answer.get_data(as_text=True)
    assert session.query(FormalNotice).count() == 0 and session.query(ClaimedCharge).count() == 0
    # Nothing ticked: every overdue invoice nothing holds.
    html, _ = dialog(finance_client, session)
    assert "F-30" in html and "F-73" in html and "F-DISP" not in html


def test_without_the_rates_the_charges_cannot_be_claimed_but_the_notice_can_go(finance_client, session, bistro,
                                                                             pinned_today):
    clock.pin(date(2026, 7, 20))  # the 2nd half of 2026 is not shipped
    html, _ = dialog(finance_client, session, "F-30")
    assert "No rates for the 2nd half of 2026" in html
    refused = issue(finance_client, session, "F-30", deadline="2026-07-28")
    assert "No rates for the 2nd half of 2026" in refused.get_data(as_text=True)
    assert session.query(FormalNotice).count() == 0
    assert issue(finance_client, session, "F-30", claim=False, deadline="2026-07-28").status_code == 200
    notice = session.scalars(select(FormalNotice)).one()
    assert (notice.claims_charges, notice.total_cents) == (False, 100000)
    assert session.query(ClaimedCharge).count() == 0


def test_by_email_the_letter_goes_attached_once_and_raises_no_level(finance_client, session, bistro, mail, run_jobs):
    answer = issue(finance_client, session, "F-30", channel="email", to="compta@bistro.test")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert issue(finance_client, session, "F-30", channel="email", to="compta@bistro.test").status_code == 200
    run_jobs()
    [sent] = mail.messages
    assert sent["Subject"].startswith("Mise en demeure – Acme SARL")
    assert "1 049,99" in sent.get_body(("plain",)).get_content().replace("\u202f", " ").replace("\xa0", " ")
    [pdf] = list(sent.iter_attachments())
    assert pdf.get_filename() == "Mise en demeure de payer 1 C1.pdf"
    assert "Mise en demeure de payer" in pdf_text(pdf.get_content())
    session.expire_all()
    message = session.scalars(select(OutboxMessage)).one()
    assert (message.kind, message.status) == ("formal_notice", "sent")
    assert session.scalar(select(Entry.reminder_level).where(Entry.number == "F-30")) == 0
    assert session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "outbox.sent")).one() \
        .startswith("Formal notice e-mail sent to compta@bistro.test")


def test_a_notice_e_mail_for_an_invoice_disputed_meanwhile_is_not_sent(finance_client, session, bistro, mail,
                                                                       run_jobs, users):
    from domain.collection import marks

    assert issue(finance_client, session, "F-30", channel="email").status_code == 200
    entry = session.scalar(select(Entry).where(Entry.number == "F-30"))
    marks.set_disputed(session, entry, users["finance"], True, "Wrong price")
    session.commit()
    run_jobs()
    assert mail.messages == []
    session.expire_all()
    message = session.scalars(select(OutboxMessage)).one()
    assert message.status == "cancelled" and "disputed" in message.last_error
    listed = finance_client.get("/customers/C1/formal-notices", headers=HTMX).get_data(as_text=True)
    assert "E-mail: cancelled" in listed


def test_registered_letter_deadline_payment_and_fees_outstanding(finance_client, session, bistro, pinned_today):
    assert issue(finance_client, session, "F-30").status_code == 200
    notice = session.scalars(select(FormalNotice)).one()
    answer = finance_client.post(f"/formal-notices/{notice.id}/registered", headers=HTMX,
                                 data={"tracking": "1A 234 567 8901 2", "posted_on": "2026-06-15"})
    assert "Registered letter 1A 234 567 8901 2" in answer.get_data(as_text=True)
    assert "Deadline running" in answer.get_data(as_text=True)
    clock.pin(date(2026, 6, 24))
    listed = finance_client.get("/customers/C1/formal-notices", headers=HTMX).get_data(as_text=True)
    assert "Expired unpaid: ready for debt collection" in listed
    entry = session.scalar(select(Entry).where(Entry.number == "F-30"))
    session.add(Payment(entry=entry, paid_on=date(2026, 6, 24), amount_cents=100000, reference="VIR"))
    entry.open_cents, entry.is_open = 0, False
    session.commit()
    listed = finance_client.get("/customers/C1/formal-notices", headers=HTMX).get_data(as_text=True)
    assert ">Paid" in listed and "invoice paid" in listed, "interest and fees outstanding once the invoice is paid"
    charge = session.scalars(select(ClaimedCharge).where(ClaimedCharge.kind == "indemnity")).one()
    refused = finance_client.post(f"/claimed-charges/{charge.id}/settle", headers=HTMX, data={"status": "waived"})
    assert "Say why" in refused.get_data(as_text=True)
    finance_client.post(f"/claimed-charges/{charge.id}/settle", headers=HTMX,
                        data={"status": "waived", "reason": "Good customer, paid at last"})
    session.expire_all()
    assert (session.get(ClaimedCharge, charge.id).status, session.get(ClaimedCharge, charge.id).reason) == \
        ("waived", "Good customer, paid at last")


def test_a_cancelled_notice_withdraws_its_claims(finance_client, session, bistro):
    assert issue(finance_client, session, "F-30").status_code == 200
    notice = session.scalars(select(FormalNotice)).one()
    answer = finance_client.post(f"/formal-notices/{notice.id}/cancel", headers=HTMX, data={"reason": "Wrong customer"})
    assert "Cancelled" in answer.get_data(as_text=True)
    assert session.query(ClaimedCharge).count() == 0
    assert issue(finance_client, session, "F-30", token="again").status_code == 200
    assert session.query(ClaimedCharge).count() == 2, "claimable again"


def test_support_cannot_issue_a_notice(client, users, session, bistro):
    from tests.conftest import login

    login(client, "support@relance.test")
    assert issue(client, session, "F-30").status_code == 403
    assert session.query(FormalNotice).count() == 0


def test_a_plan_step_issues_the_notice_once_by_e_mail_or_as_a_letter_to_post(session, users, bistro, mail,
                                                                            run_jobs, app):
    from domain.reminders import follow_up
    from jobs.reminders import hand_over

    plan = follow_up.create_plan(session, users["admin"], "Firm")
    follow_up.add_step(session, users["admin"], plan, 60, "notice", 5)
    bistro.follow_up_plan = plan
    session.commit()
    report = follow_up.run(session, enqueue=hand_over)
    [outcome] = report.outcomes
    assert (outcome.channel, outcome.status, outcome.entries) == ("notice", "queued", ["F-73"])
    notice = session.scalars(select(FormalNotice)).one()
    assert notice.claims_charges and notice.created_by_id is None and notice.channel == "email"
    assert session.scalar(select(Entry.reminder_level).where(Entry.number == "F-73")) == 5
    assert follow_up.run(session, enqueue=hand_over).outcomes == [], "not due again"
    run_jobs()
    [sent] = mail.messages
    assert sent["Subject"].startswith("Mise en demeure")
    assert [a.get_filename() for a in sent.iter_attachments()] == [f"Mise en demeure de payer {notice.id} C1.pdf"]

    bistro.emails = ""
    clock.pin(date(2026, 7, 20))  # F-30 reaches +60 days; no address now: a letter to post, principal only
    session.commit()
    [outcome] = follow_up.run(session, enqueue=hand_over).outcomes
    assert outcome.status == "letter" and "principal only" in outcome.reason
    task = session.scalars(select(AuditEvent).where(AuditEvent.action == "follow_up.task")).one()
    assert "Formal notice letter to post" in task.detail


def test_a_notice_step_needs_an_overdue_level():
    from domain.models import FollowUpPlan
    from domain.reminders import follow_up

    with pytest.raises(follow_up.FollowUpError, match="past their due date"):
        follow_up.add_step(None, None, FollowUpPlan(name="x"), -5, "notice", 0)
