"""The morning digest: one e-mail and one bell notification per user who asked, naming broken
promises, untouched disputes and promises due today; nothing when there is nothing; made and sent
once per user and day, even when the job runs again or a worker died while sending."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

import jobs.digest
from domain import clock
from domain.ledger import disputes, promises
from domain.models import CompanySettings, Customer, DigestDelivery, Entry, Notification
from tests.conftest import TODAY


@pytest.fixture
def mail(app, smtp_server, session):
    app.config.update(SMTP_URL=smtp_server.url)
    session.add(CompanySettings(name="Acme", registration_number="", sender_email="ar@acme.example"))
    session.commit()
    return smtp_server


@pytest.fixture
def alpha(session):
    customer = Customer(account="C1", name="Alpha", entries=[
        Entry(number=f"F-{n}", kind="invoice", issue_date=date(2026, 3, n), due_date=date(2026, 4, n),
              amount_cents=10000 * n, open_cents=10000 * n) for n in (1, 2, 3)])
    session.add(customer)
    session.commit()
    return customer


def ids(session, *numbers):
    return [session.scalar(select(Entry.id).where(Entry.number == n)) for n in numbers]


@pytest.fixture
def busy_morning(session, users, alpha):
    """A promise that breaks overnight, one due today, a dispute untouched for 20 days."""
    old = promises.record_promise(session, users["finance"], alpha, ids(session, "F-1"),
                                  promised_on=TODAY, channel="phone")
    session.commit()
    dispute = disputes.open_dispute(session, users["finance"], alpha, ids(session, "F-3"), "not_received")
    session.commit()
    day = old.until + timedelta(days=1)
    clock.pin(day)
    promises.record_promise(session, users["finance"], alpha, ids(session, "F-2"), promised_on=day, channel="email")
    dispute.last_activity_at = clock.now() - timedelta(days=20)
    promises.evaluate(session)
    session.commit()
    return day


def test_the_digest_names_what_needs_the_team_today_once(session, users, mail, busy_morning):
    users["finance"].morning_digest = True
    users["finance"].export_notifications = "both"
    session.commit()

    assert jobs.digest.morning_digest(busy_morning.isoformat()) == "1 digests e-mailed, 0 failed"
    [sent] = mail.messages
    assert sent["To"] == "finance@relance.test" and sent["Subject"] == "Relance: what needs you on 19/06/2026"
    body = sent.get_content().replace("\r\n", "\n")
    assert "Promises broken since yesterday:\n  - Alpha (C1): €100.00 promised by 15/06/2026, €0.00 paid" in body
    assert "Disputes untouched for 14 days or more:\n  - #1 Alpha (C1): Invoice not received" in body
    assert "Promises due today:\n  - Alpha (C1): €200.00 on F-2" in body
    [bell] = session.scalars(select(Notification).where(Notification.text.like("Relance, %"))).all()
    assert bell.text == "Relance, 19/06/2026: 1 promise broken, 1 dispute untouched, 1 promise due today"

    assert jobs.digest.morning_digest(busy_morning.isoformat()) == "0 digests e-mailed, 0 failed"
    assert len(mail.messages) == 1, "once per user and day"


def test_nothing_is_sent_when_there_is_nothing_or_to_who_did_not_ask(session, users, mail, alpha):
    users["admin"].morning_digest = True
    session.commit()
    assert jobs.digest.morning_digest(TODAY.isoformat()) == "0 digests e-mailed, 0 failed"
    assert mail.messages == [] and session.scalar(select(Notification)) is None
    assert session.scalar(select(DigestDelivery.status)) == "none"


def test_a_send_cut_by_a_dead_worker_is_unknown_not_sent_again(session, users, mail, busy_morning):
    from domain import digest

    users["finance"].morning_digest = True
    session.commit()
    [delivery_id] = digest.make_digests(session, busy_morning)
    digest.claim(session, delivery_id)  # the worker took it, then died before its answer
    session.get(DigestDelivery, delivery_id).attempted_at = clock.now() - timedelta(minutes=10)
    session.commit()
    jobs.digest.morning_digest(busy_morning.isoformat())
    assert mail.messages == []
    assert session.get(DigestDelivery, delivery_id).status == "unknown"


def test_a_mail_server_down_is_said_on_the_bell(app, session, users, busy_morning, closed_smtp_url):
    app.config.update(SMTP_URL=closed_smtp_url)
    session.add(CompanySettings(name="Acme", registration_number="", sender_email="ar@acme.example"))
    users["finance"].morning_digest = True
    users["finance"].export_notifications = "email"
    session.commit()
    assert jobs.digest.morning_digest(busy_morning.isoformat()) == "0 digests e-mailed, 1 failed"
    delivery = session.scalar(select(DigestDelivery))
    assert delivery.status == "failed" and delivery.error
    note = session.scalar(select(Notification).where(Notification.text.like("Your morning digest%")))
    assert note.text.startswith("Your morning digest could not be e-mailed:")


def test_instalments_missed_and_due_today_are_in_the_digest(session, users, mail, alpha):
    from domain.ledger import schedules
    from domain.ledger.schedules import Plan

    users["finance"].morning_digest = True
    session.commit()
    schedule = schedules.create_schedule(session, users["finance"], alpha, ids(session, "F-1", "F-2"),
                                         Plan("weekly", first=TODAY, count=3))
    session.commit()
    day = TODAY + timedelta(days=schedule.grace_days + 1)  # the first is late, nothing due that day
    clock.pin(day)
    schedules.evaluate(session)
    session.commit()
    jobs.digest.morning_digest(day.isoformat())
    body = mail.messages[0].get_content().replace("\r\n", "\n")
    assert "Instalments missed:\n  - Alpha (C1), schedule #1: instalment 1 of €100.00 due 15/06/2026, €0.00 paid" in body
    later = TODAY + timedelta(days=7)
    clock.pin(later)
    jobs.digest.morning_digest(later.isoformat())
    body = mail.messages[1].get_content().replace("\r\n", "\n")
    assert "Instalments due today:\n  - Alpha (C1), schedule #1: instalment 2 of €100.00 due 22/06/2026" in body
    assert "Instalments missed" not in body, "said once, the morning after"
