"""Settings: each user's notification preference, the company (SIREN checked) and the agencies."""
import pytest

from domain.models import AuditEvent, CollectionAgency, CompanySettings, User

HTMX = {"HX-Request": "true"}
COMPANY = {"name": "Acme SARL", "registration_number": "732 829 320", "sender_email": "billing@acme-sarl.test",
           "address": "1 rue de la Paix\n75002 Paris"}


def save_company(client, **changes):
    return client.post("/settings/company", data={**COMPANY, **changes}, headers=HTMX)


def test_the_page_has_the_three_sections(finance_client):
    response = finance_client.get("/settings/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for section in ('id="settings-notifications"', 'id="settings-company"', 'id="settings-agencies"'):
        assert section in html
    assert 'name="registration_number"' in html and 'action="/settings/agencies"' in html
    assert 'href="/settings/"' in html, "the nav links to Settings"


@pytest.mark.parametrize("role", ["admin", "finance", "support"])
def test_any_role_chooses_how_exports_reach_them(client, users, session, role):
    from tests.conftest import login

    login(client, f"{role}@relance.test")
    response = client.post("/settings/notifications", data={"export_notifications": "both"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="both" checked' in html and 'value="app" checked' not in html
    assert "Saved" in html
    session.expire_all()
    assert session.get(User, users[role].id).export_notifications == "both"


def test_an_unknown_preference_is_refused(finance_client, users, session):
    html = finance_client.post("/settings/notifications", data={"export_notifications": "pigeon"},
                               headers=HTMX).get_data(as_text=True)
    assert "Choose how you want to hear" in html
    session.expire_all()
    assert session.get(User, users["finance"].id).export_notifications == "app"


def test_company_is_created_on_first_save_with_a_compact_siren(finance_client, session, users):
    response = save_company(finance_client)
    assert response.status_code == 200
    assert "Company settings saved" in response.get_data(as_text=True)
    row = session.query(CompanySettings).one()
    assert (row.name, row.registration_number, row.sender_email) == ("Acme SARL", "732829320", "billing@acme-sarl.test")
    assert row.address == "1 rue de la Paix\n75002 Paris"

    save_company(finance_client, name="Acme SAS")
    session.expire_all()
    assert session.query(CompanySettings).count() == 1, "one row, updated"
    assert session.query(CompanySettings).one().name == "Acme SAS"
    assert session.query(AuditEvent).filter_by(action="settings.company_changed").count() == 2


@pytest.mark.parametrize("siren, words", [
    ("732829321", "check digit is wrong"),
    ("73282932", "9 digits"),
    ("73282932A", "digits only"),
])
def test_a_bad_siren_is_an_inline_error_and_nothing_is_saved(finance_client, session, siren, words):
    response = save_company(finance_client, registration_number=siren)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, "htmx swaps the form with its errors"
    assert f"{siren} is not a valid SIREN" in html and words in html
    assert 'data-field-error="registration_number"' in html
    assert f'value="{siren}"' in html, "what was typed stays in the form"
    assert session.query(CompanySettings).count() == 0


def test_a_bad_siren_does_not_change_saved_settings(finance_client, session):
    save_company(finance_client)
    save_company(finance_client, name="Changed", registration_number="123")
    session.expire_all()
    row = session.query(CompanySettings).one()
    assert (row.name, row.registration_number) == ("Acme SARL", "732829320")


def test_other_company_fields_are_checked(finance_client, session):
    html = save_company(finance_client, name=" ", sender_email="billing-at-acme").get_data(as_text=True)
    assert "company name is required" in html and "billing-at-acme is not an e-mail address" in html
    assert session.query(CompanySettings).count() == 0


def test_a_plain_form_post_with_an_error_answers_400_with_the_page(finance_client, session):
    response = finance_client.post("/settings/company", data={**COMPANY, "registration_number": "1"})
    assert response.status_code == 400
    assert "<h1>Settings</h1>" in response.get_data(as_text=True)


def test_support_reads_company_and_agencies_but_cannot_change_them(support_client, session, users):
    session.add(CompanySettings(name="Acme SARL", registration_number="732829320", sender_email="b@acme.test"))
    session.add(CollectionAgency(name="Gcollect", email="recouvrement@gcollect.test"))
    session.commit()
    html = support_client.get("/settings/").get_data(as_text=True)
    assert "732829320" in html and "Gcollect" in html
    assert 'name="registration_number"' not in html and 'action="/settings/agencies"' not in html
    assert "Only admin and finance" in html
    assert 'name="export_notifications"' in html, "their own preference stays editable"

    agency_id = session.query(CollectionAgency).one().id
    for url, data in [("/settings/company", COMPANY), ("/settings/agencies", {"name": "X", "email": "x@x.test"}),
                      (f"/settings/agencies/{agency_id}", {"name": "X", "email": "x@x.test"}),
                      (f"/settings/agencies/{agency_id}/active", {"active": "0"})]:
        response = support_client.post(url, data=data, headers=HTMX)
        assert response.status_code == 403, url
        assert "does not allow" in response.get_data(as_text=True)
    session.expire_all()
    assert session.query(CompanySettings).one().registration_number == "732829320"
    assert [a.name for a in session.query(CollectionAgency)] == ["Gcollect"]
    assert session.query(CollectionAgency).one().active


def test_agency_add_edit_deactivate_reactivate(finance_client, session):
    added = finance_client.post("/settings/agencies", data={"name": "Gcollect", "email": "recouvrement@gcollect.test"},
                                headers=HTMX)
    assert added.status_code == 200 and "Gcollect added" in added.get_data(as_text=True)
    agency = session.query(CollectionAgency).one()
    assert agency.active

    form = finance_client.get(f"/settings/agencies/{agency.id}/edit", headers=HTMX).get_data(as_text=True)
    assert f'action="/settings/agencies/{agency.id}"' in form and 'value="recouvrement@gcollect.test"' in form
    saved = finance_client.post(f"/settings/agencies/{agency.id}", data={"name": "Gcollect SAS", "email": "cases@gcollect.test"},
                                headers=HTMX)
    assert saved.status_code == 200 and "Gcollect SAS saved" in saved.get_data(as_text=True)

    off = finance_client.post(f"/settings/agencies/{agency.id}/active", data={"active": "0"}, headers=HTMX)
    assert "Deactivated" in off.get_data(as_text=True) and "Reactivate" in off.get_data(as_text=True)
    session.expire_all()
    agency = session.get(CollectionAgency, agency.id)
    assert (agency.name, agency.email, agency.active) == ("Gcollect SAS", "cases@gcollect.test", False)

    finance_client.post(f"/settings/agencies/{agency.id}/active", data={"active": "1"}, headers=HTMX)
    session.expire_all()
    assert session.get(CollectionAgency, agency.id).active
    actions = [e.action for e in session.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions == ["agency.added", "agency.changed", "agency.deactivated", "agency.activated"]


def test_agency_fields_are_checked(finance_client, session):
    html = finance_client.post("/settings/agencies", data={"name": "", "email": "nope"}, headers=HTMX).get_data(as_text=True)
    assert "name is required" in html and "nope is not an e-mail address" in html
    assert session.query(CollectionAgency).count() == 0

    session.add(CollectionAgency(name="Gcollect", email="recouvrement@gcollect.test"))
    session.commit()
    agency = session.query(CollectionAgency).one()
    html = finance_client.post(f"/settings/agencies/{agency.id}", data={"name": "Gcollect", "email": "bad"},
                               headers=HTMX).get_data(as_text=True)
    assert "bad is not an e-mail address" in html and f'action="/settings/agencies/{agency.id}"' in html
    session.expire_all()
    assert session.get(CollectionAgency, agency.id).email == "recouvrement@gcollect.test"


def test_an_unknown_agency_is_not_found(finance_client):
    assert finance_client.post("/settings/agencies/999", data={"name": "X", "email": "x@x.test"}).status_code == 404


def test_the_company_payment_terms_give_due_dates_to_entries_without_one(finance_client, session, users):
    from datetime import date

    from domain.models import Customer, Entry

    session.add(Customer(account="C1", name="Alpha"))
    session.commit()
    refused = save_company(finance_client, payment_terms_days="400").get_data(as_text=True)
    assert "Payment terms: a number of days from 0 to 365." in refused and "Nothing was saved" in refused
    assert "payment terms" not in (session.query(AuditEvent).filter_by(action="settings.company_changed")
                                   .with_entities(AuditEvent.detail).scalar() or "")

    saved = save_company(finance_client, payment_terms_days="45")
    assert saved.status_code == 200 and 'name="payment_terms_days" value="45"' in saved.get_data(as_text=True)
    response = finance_client.post("/customers/C1/entries/new", data={"number": "F-1", "kind": "invoice",
                                                                  "issue_date": "2026-06-01", "amount": "100"},
                                   headers=HTMX)
    assert response.status_code == 200, response.get_data(as_text=True)
    session.expire_all()
    assert session.query(Entry).filter_by(number="F-1").one().due_date == date(2026, 7, 16)


def test_the_promise_grace_and_the_untouched_disputes_days_are_settings(finance_client, session, users):
    refused = save_company(finance_client, promise_grace_days="90", dispute_stale_days="0").get_data(as_text=True)
    assert "Grace after a promised date: a number of days from 0 to 60." in refused
    assert "A dispute is untouched after: a number of days from 1 to 365." in refused
    save_company(finance_client, promise_grace_days="5", dispute_stale_days="30")
    session.expire_all()
    row = session.query(CompanySettings).one()
    assert (row.promise_grace_days, row.dispute_stale_days, row.payment_terms_days) == (5, 30, 30)


def test_each_user_asks_for_the_morning_digest(finance_client, session, users):
    response = finance_client.post("/settings/notifications", data={"export_notifications": "both",
                                                                    "morning_digest": "1"}, headers=HTMX)
    assert "Morning digest at 8:00 (Europe/Paris)" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, users["finance"].id).morning_digest is True
    finance_client.post("/settings/notifications", data={"export_notifications": "both"}, headers=HTMX)
    session.expire_all()
    assert session.get(User, users["finance"].id).morning_digest is False
