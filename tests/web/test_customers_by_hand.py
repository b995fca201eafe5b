"""Customers by hand: the list (those owing nothing too), creating one with its registration number
checked, changing one with before → after in the history, and its contacts; a wrong field is said
next to it and nothing is saved."""
import pytest
from sqlalchemy import func, select

from domain.models import AuditEvent, Contact, Customer

HTMX = {"HX-Request": "true"}
GOOD = {"account": "411BISTRO", "name": "Bistro du Port", "registration_number": "732 829 320",
        "emails": "compta@bistro.test; boss@bistro.test", "phone": "02 98 00 00 00", "language": "fr",
        "payment_terms_days": "45", "address": "2 quai Nord\n29200 Brest"}


@pytest.fixture
def some(session, ledger_builder):
    owing = ledger_builder.customer("C100", "Alpha Bakery", registration_number="552100554")
    ledger_builder.entry(owing, 10, "120.00")
    ledger_builder.customer("C200", "Bravo Metals")  # owes nothing
    session.commit()


def test_the_list_shows_every_customer_and_filters_them(finance_client, some):
    page = finance_client.get("/customers").get_data(as_text=True)
    assert "Alpha Bakery" in page and "Bravo Metals" in page and "€120.00" in page and "nothing" in page
    settled = finance_client.get("/customers?owing=settled", headers=HTMX).get_data(as_text=True)
    assert "Bravo Metals" in settled and "Alpha Bakery" not in settled
    found = finance_client.get("/customers?q=552100", headers=HTMX).get_data(as_text=True)
    assert "Alpha Bakery" in found and "Bravo Metals" not in found
    assert finance_client.get("/customers?owing=maybe").status_code == 400
    assert finance_client.get("/customers?sort=secret").status_code == 400


def test_a_new_customer_is_created_with_its_fields_checked(finance_client, session, users):
    response = finance_client.post("/customers/new", data=GOOD)
    assert response.status_code == 303 and response.headers["Location"].endswith("/customers/411BISTRO")
    customer = session.scalar(select(Customer).where(Customer.account == "411BISTRO"))
    assert (customer.registration_number, customer.emails, customer.language, customer.payment_terms_days) == (
        "732829320", "compta@bistro.test,boss@bistro.test", "fr", 45)
    assert session.scalar(select(AuditEvent.detail).where(AuditEvent.customer_id == customer.id)) == \
        "Customer created: Bistro du Port (411BISTRO)."
    again = finance_client.post("/customers/new", data=GOOD)
    assert again.status_code == 400 and "The account 411BISTRO already exists" in again.get_data(as_text=True)


@pytest.mark.parametrize("field, value, message", [
    ("registration_number", "732829321", "is not a valid SIREN (check digit)"),
    ("registration_number", "DE 136 695 977", "is not a valid VAT number"),
    ("emails", "compta@bistro", "is not an e-mail address"),
    ("payment_terms_days", "-3", "is not a number of days from 0 to 365"),
    ("name", "", "required"),
    ("account", "411 BISTRO", "no spaces"),
])
def test_a_wrong_field_is_said_next_to_it_and_nothing_is_saved(finance_client, session, users, field, value,
                                                              message):
    response = finance_client.post("/customers/new", data={**GOOD, field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html
    assert f'id="{field}-error"' in html and 'value="Bistro du Port"' in html or field == "name"
    assert session.scalar(select(func.count()).select_from(Customer)) == 0


def test_a_change_says_before_and_after_and_the_account_code_stays(finance_client, session, some):
    form = finance_client.get("/customers/C100/edit").get_data(as_text=True)
    assert 'value="Alpha Bakery"' in form and 'value="552100554"' in form
    response = finance_client.post("/customers/C100/edit", data={
        "account": "HACKED", "name": "Alpha Bakery SAS", "registration_number": "552100554", "emails": "ap@alpha.test",
        "language": "en", "payment_terms_days": "30"})
    assert response.status_code == 303
    customer = session.scalar(select(Customer).where(Customer.account == "C100"))
    assert customer.name == "Alpha Bakery SAS" and customer.payment_terms_days == 30
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.changed")).all()
    assert event.detail == ("Customer changed: Name: Alpha Bakery → Alpha Bakery SAS; E-mail: — → ap@alpha.test; "
                            "Payment terms: — → 30.")
    assert session.scalar(select(Customer).where(Customer.account == "HACKED")) is None


def test_contacts_are_added_changed_and_removed_with_the_history(finance_client, session, some):
    added = finance_client.post("/customers/C100/contacts", data={"name": "Claire Martin", "position": "AP",
                                                                  "email": "claire@alpha.test"}, headers=HTMX)
    assert "Claire Martin" in added.get_data(as_text=True) and "accountChanged" in added.headers["HX-Trigger"]
    contact = session.scalar(select(Contact))
    refused = finance_client.post(f"/customers/C100/contacts/{contact.id}", data={"name": "Claire Martin",
                                                                                  "email": "claire@"}, headers=HTMX)
    assert "is not an e-mail address" in refused.get_data(as_text=True)
    finance_client.post(f"/customers/C100/contacts/{contact.id}", data={"name": "Claire Martin", "position": "CFO",
                                                                         "email": "claire@alpha.test"}, headers=HTMX)
    finance_client.post(f"/customers/C100/contacts/{contact.id}/remove", headers=HTMX)
    assert session.scalar(select(func.count()).select_from(Contact)) == 0
    details = list(session.scalars(select(AuditEvent.detail).where(AuditEvent.action.like("contact.%"))
                                   .order_by(AuditEvent.id)))
    assert details == ["Contact added: Claire Martin, AP, claire@alpha.test.",
                       "Contact changed: Claire Martin, AP, claire@alpha.test → Claire Martin, CFO, claire@alpha.test.",
                       "Contact removed: Claire Martin, CFO, claire@alpha.test."]
    assert finance_client.post("/customers/C200/contacts/999/remove", headers=HTMX).status_code == 404


def test_support_reads_customers_but_cannot_change_them(support_client, session, some):
    assert support_client.get("/customers").status_code == 200
    assert support_client.get("/customers/new").status_code == 403
    assert support_client.post("/customers/new", data=GOOD).status_code == 403
    assert support_client.post("/customers/C100/edit", data={"name": "X"}).status_code == 403
    assert session.scalar(select(func.count()).select_from(Customer)) == 2


def test_the_billing_contact_receives_the_reminders_and_is_the_only_one(finance_client, session, some, company):
    entry = session.scalar(select(Customer).where(Customer.account == "C100")).entries.first()
    customer = entry.customer
    customer.emails = "ap@alpha.test"
    session.commit()
    refused = finance_client.post("/customers/C100/contacts", data={"name": "No Mail", "billing": "1"}, headers=HTMX)
    assert "the billing contact receives the reminders: give an e-mail address" in refused.get_data(as_text=True)
    finance_client.post("/customers/C100/contacts", data={"name": "Claire Martin", "email": "claire@alpha.test",
                                                          "billing": "1"}, headers=HTMX)
    compose = finance_client.get(f"/customers/C100/reminders/compose?channel=email&entry={entry.id}",
                                 headers=HTMX).get_data(as_text=True)
    assert 'name="to" value="claire@alpha.test"' in compose and 'name="cc" value="ap@alpha.test"' in compose
    assert "Claire Martin" in compose, "the reminder greets the billing contact"

    finance_client.post("/customers/C100/contacts", data={"name": "Paul Roux", "email": "paul@alpha.test",
                                                          "billing": "1"}, headers=HTMX)
    session.expire_all()
    assert [(c.name, c.billing) for c in session.scalars(select(Contact).order_by(Contact.id))] == [
        ("Claire Martin", False), ("Paul Roux", True)]
    assert "Contact added: Paul Roux, paul@alpha.test, billing." in [
        e.detail for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "contact.added"))]
