"""Monitoring points: a list with its filters saved by a user, looked at daily; what entered it since the
last look counted on /monitoring, the navigation, the bell and the morning digest."""
from datetime import date, timedelta

from sqlalchemy import select

from domain import clock, debt_collection, digest, monitoring
from domain.models import MonitoringPoint, Notification
from domain.reminders import notices

HTMX = {"HX-Request": "true"}


def expire_notice(session, users, customer, entry, issued):
    clock.pin(issued)
    notice, _ = notices.issue(session, users["finance"], customer, [entry.id], channel="letter", claim=False,
                              token=f"t{entry.id}", deadline=issued + timedelta(days=8))
    notices.record_registered(session, users["finance"], notice, f"1A {entry.id}", issued)
    session.commit()
    clock.pin(issued + timedelta(days=9))
    debt_collection.run(session)
    session.commit()


def test_a_point_on_the_manual_tab_over_5000_counts_new_claims(finance_client, session, users, ledger_builder,
                                                               company, pinned_today):
    bistro = ledger_builder.customer("C1", "Bistro")
    small = ledger_builder.entry(bistro, 90, "800.00", number="F-SMALL")
    big = ledger_builder.entry(bistro, 90, "6000.00", number="F-BIG")
    later = ledger_builder.entry(bistro, 90, "9000.00", number="F-LATER")
    session.commit()
    expire_notice(session, users, bistro, small, date(2026, 4, 1))
    expire_notice(session, users, bistro, big, date(2026, 4, 1))

    answer = finance_client.post("/monitoring", headers=HTMX, data={
        "list": "debt_collection", "query": "tab=manual&min=5000&page=3", "name": "Manual transfer — over €5,000"})
    assert "Saved: “Manual transfer — over €5,000”" in answer.get_data(as_text=True)
    point = session.scalars(select(MonitoringPoint)).one()
    assert (point.count, point.query, point.new_count) == (1, "min=5000&tab=manual", 0)

    expire_notice(session, users, bistro, later, date(2026, 4, 10))
    clock.pin(date(2026, 4, 20))
    [changed] = monitoring.refresh(session)
    session.commit()
    assert (changed.count, changed.new_count) == (2, 1)
    assert monitoring.refresh(session) == [], "once a day"
    bell = session.scalars(select(Notification).where(Notification.user_id == users["finance"].id)).all()
    assert any("Manual transfer — over €5,000" in n.text and "1 new" in n.text for n in bell)
    assert "1" in finance_client.get("/monitoring/count", headers=HTMX).get_data(as_text=True)
    page = finance_client.get("/monitoring").get_data(as_text=True)
    assert "From reminder to debt collection — Manual transfer to debt collection" in page

    users["finance"].morning_digest = True
    session.commit()
    digest.make_digests(session, date(2026, 4, 20))
    session.commit()
    from domain.models import DigestDelivery
    delivery = session.scalars(select(DigestDelivery)).one()
    assert "Manual transfer — over €5,000 (From reminder to debt collection — Manual transfer to debt collection): " \
           "1 new, 2 in all" in delivery.text and delivery.status == "queued"

    opened = finance_client.get(f"/monitoring/{point.id}")
    assert opened.status_code == 302 and opened.location.endswith("/debt-collection?min=5000&tab=manual")
    assert "badge" not in finance_client.get("/monitoring/count", headers=HTMX).get_data(as_text=True)


def test_points_are_the_users_own_and_bad_filters_are_refused(client, finance_client, session, users):
    refused = finance_client.post("/monitoring", headers=HTMX, data={"list": "due_dates", "query": "level=R9",
                                                                     "name": "Broken"})
    assert "not valid" in refused.get_data(as_text=True)
    assert finance_client.post("/monitoring", headers=HTMX, data={"list": "nowhere", "name": "x"}) \
        .get_data(as_text=True).count("cannot be monitored") == 1
    finance_client.post("/monitoring", headers=HTMX, data={"list": "disputes", "query": "", "name": "All disputes"})
    point = session.scalars(select(MonitoringPoint)).one()
    from tests.conftest import login
    other = finance_client.application.test_client()
    login(other, "support@relance.test")
    assert other.get(f"/monitoring/{point.id}").status_code == 404
    assert other.post(f"/monitoring/{point.id}/delete").status_code == 404
    assert "All disputes" not in other.get("/monitoring").get_data(as_text=True)


def test_every_list_can_be_watched(finance_client, session, ledger_builder, users):
    customer = ledger_builder.customer("C1", "Bistro")
    ledger_builder.entry(customer, 40, "100.00")
    session.commit()
    for key in monitoring.LISTS:
        answer = finance_client.post("/monitoring", headers=HTMX, data={"list": key, "query": "", "name": key})
        assert 'data-testid="point-saved"' in answer.get_data(as_text=True), key
    counts = {p.list_key: p.count for p in session.scalars(select(MonitoringPoint))}
    assert counts["balances"] == 1 and counts["due_dates"] == 1 and counts["disputes"] == 0
