"""The follow-up plans page, the account's plan selector and the per-entry switch (⚡)."""
from sqlalchemy import select

from domain.models import AuditEvent, Customer, Entry, FollowUpPlan

HTMX = {"HX-Request": "true"}


def make_plan(client, name="Standard", steps=((-5, "email", 0), (10, "email", 1), (30, "letter", 2), (45, "task", 3))):
    assert client.post("/follow-up/plans", data={"name": name}, headers=HTMX).status_code == 200
    from extensions import db

    plan = db.session.scalar(select(FollowUpPlan).where(FollowUpPlan.name == name))
    for offset, channel, level in steps:
        html = client.post(f"/follow-up/plans/{plan.id}/steps", data={"offset_days": offset, "channel": channel,
                                                                        "level": level}, headers=HTMX)
        assert html.status_code == 200 and "Step " in html.get_data(as_text=True)
    return plan


def test_finance_creates_a_plan_with_steps(finance_client, session):
    plan = make_plan(finance_client)
    session.expire_all()
    assert [(s.offset_days, s.channel, s.level) for s in plan.steps] == [
        (-5, "email", 0), (10, "email", 1), (30, "letter", 2), (45, "task", 3)]
    page = finance_client.get("/follow-up/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html.lower()
    assert "Standard" in html and "+30" in html and "Phone call task" in html and "Prevention" in html
    fragment = finance_client.get("/follow-up/", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment.lower() and 'id="follow-up-plans"' in fragment


def test_a_refused_step_says_why_in_the_fragment(finance_client, session):
    plan = make_plan(finance_client, steps=((10, "email", 1),))
    answer = finance_client.post(f"/follow-up/plans/{plan.id}/steps",
                                 data={"offset_days": "10", "channel": "letter", "level": "2"}, headers=HTMX)
    assert answer.status_code == 200
    assert "already has a step at +10" in answer.get_data(as_text=True)
    duplicate = finance_client.post("/follow-up/plans", data={"name": "Standard"}, headers=HTMX)
    assert "already a plan" in duplicate.get_data(as_text=True)


def test_assign_by_accounts_by_filter_and_on_the_account_page(finance_client, session, ledger_builder):
    for account, name in (("C1", "Bistro du Port"), ("C2", "Bistro Central"), ("C3", "Garage Martin")):
        ledger_builder.customer(account, name)
    session.commit()
    plan = make_plan(finance_client, steps=((10, "email", 1),))
    html = finance_client.post(f"/follow-up/plans/{plan.id}/assign", data={"scope": "accounts", "accounts": "C3"},
                               headers=HTMX).get_data(as_text=True)
    assert "assigned to 1 more customers" in html
    unknown = finance_client.post(f"/follow-up/plans/{plan.id}/assign", data={"scope": "accounts", "accounts": "C9"},
                                  headers=HTMX).get_data(as_text=True)
    assert "No customer with account C9" in unknown
    html = finance_client.post(f"/follow-up/plans/{plan.id}/assign", data={"scope": "matching", "match": "bistro"},
                               headers=HTMX).get_data(as_text=True)
    assert "assigned to 2 more customers" in html
    session.expire_all()
    assert {c.account for c in session.scalars(select(Customer).where(Customer.follow_up_plan_id == plan.id))} \
        == {"C1", "C2", "C3"}

    selector = finance_client.get("/follow-up/customers/C1/plan", headers=HTMX).get_data(as_text=True)
    assert f'<option value="{plan.id}" selected>' in selector
    answer = finance_client.post("/follow-up/customers/C1/plan", data={"plan_id": ""}, headers=HTMX)
    assert answer.status_code == 200 and "entriesChanged" in answer.headers["HX-Trigger"]
    session.expire_all()
    assert session.scalar(select(Customer.follow_up_plan_id).where(Customer.account == "C1")) is None
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "follow_up.assign",
                                                   AuditEvent.detail == "Follow-up plan removed"))


def test_entries_under_a_plan_carry_the_marker_and_a_switch(finance_client, session, ledger_builder):
    customer = ledger_builder.customer("C1", "Bistro du Port")
    entry = ledger_builder.entry(customer, 12, "100.00", number="INV-1")
    session.commit()
    html = finance_client.get("/customers/C1").get_data(as_text=True)
    assert 'data-testid="follow-up-marker"' not in html, "no plan, no ⚡"
    plan = make_plan(finance_client, steps=((10, "email", 1),))
    finance_client.post("/follow-up/customers/C1/plan", data={"plan_id": plan.id}, headers=HTMX)
    html = finance_client.get("/customers/C1").get_data(as_text=True)
    assert 'data-testid="follow-up-marker"' in html and "Follow-up plan enabled for INV-1" in html
    assert "follow-up/customers/C1/plan" in html, "the account page loads the plan selector"

    row = finance_client.post(f"/follow-up/entries/{entry.id}/switch", data={"enabled": "0"}, headers=HTMX)
    assert row.status_code == 200 and row.headers["HX-Trigger"] == "accountChanged"
    text = row.get_data(as_text=True)
    assert f'id="entry-{entry.id}"' in text
    assert 'data-testid="follow-up-marker"' not in text
    session.expire_all()
    assert session.get(Entry, entry.id).follow_up_enabled is False
    finance_client.post(f"/follow-up/entries/{entry.id}/switch", data={"enabled": "1"}, headers=HTMX)
    session.expire_all()
    assert session.get(Entry, entry.id).follow_up_enabled is True


def test_support_reads_but_cannot_change(support_client, session, ledger_builder, users):
    from domain import follow_up

    customer = ledger_builder.customer("C1", "Bistro du Port")
    entry = ledger_builder.entry(customer, 12, "100.00", number="INV-1")
    plan = follow_up.create_plan(session, users["admin"], "Standard")
    session.commit()
    assert support_client.get("/follow-up/").status_code == 200
    assert "Create plan" not in support_client.get("/follow-up/").get_data(as_text=True)
    assert support_client.post(f"/follow-up/entries/{entry.id}/switch", data={"enabled": "0"},
                               headers=HTMX).status_code == 403
    assert support_client.post("/follow-up/plans", data={"name": "X"}, headers=HTMX).status_code == 403
    assert support_client.post(f"/follow-up/plans/{plan.id}/steps", data={"offset_days": 1, "channel": "email",
                                                                          "level": 1}, headers=HTMX).status_code == 403
    assert support_client.post(f"/follow-up/plans/{plan.id}/assign", data={"accounts": "C1"},
                               headers=HTMX).status_code == 403
    assert support_client.post("/follow-up/customers/C1/plan", data={"plan_id": plan.id},
                               headers=HTMX).status_code == 403
    session.expire_all()
    assert session.get(Entry, entry.id).follow_up_enabled is True
    assert "Follow-up plan enabled for INV-1" not in support_client.get("/customers/C1").get_data(as_text=True)
