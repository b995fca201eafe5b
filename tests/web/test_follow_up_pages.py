"""The follow-up plans page, the account's plan selector and the per-entry switch (the zap marker)."""
import re

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
    assert 'data-testid="follow-up-marker"' not in html, "no plan, no marker"
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
    from domain.reminders import follow_up

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


def test_a_step_gets_a_template_of_another_level_and_the_list_shows_it(finance_client, session):
    plan = make_plan(finance_client, steps=((10, "email", 1),))
    answer = finance_client.post(f"/follow-up/plans/{plan.id}/steps", data={
        "offset_days": "20", "channel": "email", "level": "2", "template_level": "1"}, headers=HTMX)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Step +20 days, e-mail, R2 with the R1 template added." in html
    session.expire_all()
    assert [(s.offset_days, s.level, s.template_level) for s in plan.steps] == [(10, 1, None), (20, 2, 1)]
    step = plan.steps[1]
    row = html[html.index(f'data-step="{step.id}"'):]
    row = row[:row.index("</tr>")]
    assert '<option value="1" selected>R1 wording</option>' in row, "the list shows (and edits) the template"
    assert "R2 (the level's own)" in row
    assert 'name="template_level"' in html[html.index("Add step") - 2000:], "the step form offers the template"


def test_a_refused_template_says_why_and_keeps_the_form(finance_client, session):
    plan = make_plan(finance_client, steps=((10, "email", 1),))
    task = finance_client.post(f"/follow-up/plans/{plan.id}/steps", data={
        "offset_days": "45", "channel": "task", "level": "3", "template_level": "1"}, headers=HTMX)
    html = task.get_data(as_text=True)
    assert task.status_code == 200 and "A phone call task sends nothing, so it has no template" in html
    assert 'value="45"' in html, "what was typed stays in the form"
    unknown = finance_client.post(f"/follow-up/plans/{plan.id}/steps", data={
        "offset_days": "45", "channel": "email", "level": "3", "template_level": "R9"}, headers=HTMX)
    assert unknown.status_code == 200 and "There is no template &#39;R9&#39;" in unknown.get_data(as_text=True)
    session.expire_all()
    assert [s.offset_days for s in plan.steps] == [10]


def test_an_existing_steps_template_is_changed_in_the_list(finance_client, session):
    plan = make_plan(finance_client, steps=((10, "email", 1), (20, "letter", 2)))
    step = plan.steps[1]
    answer = finance_client.post(f"/follow-up/steps/{step.id}/template", data={"template_level": "1"}, headers=HTMX)
    assert answer.status_code == 200
    assert "The step at +20 days now sends the R1 template." in answer.get_data(as_text=True)
    session.expire_all()
    assert session.get(type(step), step.id).template_level == 1
    back = finance_client.post(f"/follow-up/steps/{step.id}/template", data={"template_level": ""}, headers=HTMX)
    assert "now sends the template of R2" in back.get_data(as_text=True)
    refused = finance_client.post(f"/follow-up/steps/{step.id}/template", data={"template_level": "0"}, headers=HTMX)
    assert refused.status_code == 200 and "announces a due date to come" in refused.get_data(as_text=True)
    assert finance_client.post("/follow-up/steps/99999/template", data={"template_level": "1"},
                               headers=HTMX).status_code == 404


def test_deleting_a_plan_unassigns_its_customers_and_their_history_still_opens(finance_client, session,
                                                                                ledger_builder, users):
    from datetime import datetime

    from domain.models import ReminderActivity, ReminderEntry

    bistro = ledger_builder.customer("C1", "Bistro du Port", emails="a@bistro.test")
    entry = ledger_builder.entry(bistro, 12, "100.00", number="INV-1")
    ledger_builder.customer("C2", "Garage Martin")
    session.commit()
    plan = make_plan(finance_client, steps=((10, "email", 1),))
    finance_client.post(f"/follow-up/plans/{plan.id}/assign", data={"scope": "accounts", "accounts": "C1 C2"},
                        headers=HTMX)
    # A reminder the plan sent before (an automatic run: no user).
    activity = ReminderActivity(customer_id=bistro.id, sent_at=datetime(2026, 6, 10, 6, 0), channel="email", level=1,
                                sender="billing@acme.test", recipient="a@bistro.test", subject="Payment reminder",
                                body="INV-1 is overdue.", sent_by_id=None)
    activity.covered.append(ReminderEntry(entry_id=entry.id, open_cents=10000))
    session.add(activity)
    session.commit()
    assert 'data-testid="follow-up-marker"' in finance_client.get("/customers/C1").get_data(as_text=True)

    page = finance_client.get("/follow-up/").get_data(as_text=True)
    assert "Delete the plan Standard and its steps? 2 customers are assigned to it: they will have no follow-up " \
           "plan, their entries no automatic follow-up. Past reminders stay in the history." in page

    answer = finance_client.post(f"/follow-up/plans/{plan.id}/delete", headers=HTMX)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Plan &#39;Standard&#39; deleted: 2 customers no longer have a follow-up plan." in html
    assert "No follow-up plan yet." in html

    account = finance_client.get("/customers/C1").get_data(as_text=True)
    assert 'data-testid="follow-up-marker"' not in account, "the entries lost the marker"
    history = finance_client.get("/customers/C1/history")
    text = history.get_data(as_text=True)
    assert history.status_code == 200
    assert "Payment reminder" in text, "the reminder the plan sent is still there"
    assert re.search(r'<span class="who">Finance</span>\s*<span class="what">Follow-up plan &#39;Standard&#39; '
                     r'removed: the plan was deleted</span>', text), "who deleted which plan, on the account's history"
    sent = finance_client.get(f"/reminders/activities/{activity.id}", headers=HTMX)
    assert sent.status_code == 200 and "INV-1 is overdue." in sent.get_data(as_text=True)
    selector = finance_client.get("/follow-up/customers/C1/plan", headers=HTMX).get_data(as_text=True)
    assert "Standard" not in selector

    assert finance_client.post(f"/follow-up/plans/{plan.id}/delete", headers=HTMX).status_code == 404, "gone"
    assert finance_client.post("/follow-up/plans/99999/delete", headers=HTMX).status_code == 404


def test_support_cannot_delete_a_plan_nor_change_a_template(support_client, session, users):
    from domain.reminders import follow_up

    plan = follow_up.create_plan(session, users["admin"], "Standard")
    step = follow_up.add_step(session, users["admin"], plan, 20, "email", 2, "1")
    session.commit()
    page = support_client.get("/follow-up/").get_data(as_text=True)
    assert "Delete plan" not in page and 'name="template_level"' not in page
    assert "<strong>R1</strong> wording" in page, "support reads which template a step sends"
    assert support_client.post(f"/follow-up/plans/{plan.id}/delete", headers=HTMX).status_code == 403
    assert support_client.post(f"/follow-up/steps/{step.id}/template", data={"template_level": ""},
                               headers=HTMX).status_code == 403
    session.expire_all()
    assert follow_up.plans(session)[0].steps[0].template_level == 1
