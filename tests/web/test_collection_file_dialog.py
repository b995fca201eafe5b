"""Starting a collection file from the account status: the dialog, its options, the export."""
import pytest

from domain.models import AuditEvent, CollectionCase, Customer, Entry, Export


@pytest.fixture
def account(session, ledger_builder):
    acme = ledger_builder.customer("C001", "Acme Industries")
    old = ledger_builder.entry(acme, 120, "900.00", level=5, number="INV-1001")
    newer = ledger_builder.entry(acme, 40, "100.00", level=3, number="INV-1002")
    untouched = ledger_builder.entry(acme, 10, "50.00", level=1, number="INV-1003")
    other = ledger_builder.customer("C002", "Bistro")
    foreign = ledger_builder.entry(other, 10, "20.00", number="INV-2001")
    session.commit()
    return {"old": old, "newer": newer, "untouched": untouched, "foreign": foreign}


def start(client, *entries, **options):
    data = {"entry": [e.id for e in entries], "stop_reminders": "1", "mark_in_collection": "1", **options}
    return client.post("/customers/C001/collection-file", data=data, headers={"HX-Request": "true"})


def test_the_account_page_offers_the_collection_file_button(finance_client, account):
    html = finance_client.get("/customers/C001").get_data(as_text=True)
    assert "Collection file</button>" in html


def test_support_has_no_collection_file_button(support_client, account):
    html = support_client.get("/customers/C001").get_data(as_text=True)
    assert "Collection file</button>" not in html
    assert start(support_client, account["old"]).status_code == 403


def test_dialog_shows_the_ticked_entries_and_both_options_checked(finance_client, account):
    e = account
    response = finance_client.get(f"/customers/C001/collection-file?entry={e['old'].id}&entry={e['newer'].id}",
                                  headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "INV-1001" in html and "INV-1002" in html and "INV-1003" not in html
    assert 'name="stop_reminders" value="1" checked' in html
    assert 'name="mark_in_collection" value="1" checked' in html
    assert "not available" in html, "entries without an invoice PDF are announced"


def test_dialog_without_a_ticked_entry_says_so(finance_client, account):
    html = finance_client.get("/customers/C001/collection-file", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Tick at least one entry" in html


def test_generate_applies_both_options_at_once_and_records_them(finance_client, session, account, users):
    response = start(finance_client, account["old"], account["newer"])
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "accountChanged, entriesChanged"
    assert "Export queued" in response.get_data(as_text=True)

    session.expire_all()
    old, newer, untouched = account["old"], account["newer"], account["untouched"]
    assert old.in_collection and newer.in_collection and not untouched.in_collection
    assert old.reminders_stopped and newer.reminders_stopped and not untouched.reminders_stopped
    assert session.get(Customer, old.customer_id).reminders_stopped
    case = session.query(CollectionCase).one()
    assert case.status == "open" and {e.number for e in case.entries} == {"INV-1001", "INV-1002"}
    export = session.query(Export).one()
    assert export.kind == "collection_file" and export.customer_id == old.customer_id and case.export_id == export.id
    assert export.expires_at is not None
    actions = [(e.action, e.actor_id) for e in session.query(AuditEvent).order_by(AuditEvent.id)]
    assert ("collection.marked", users["finance"].id) in actions
    assert ("reminders.stopped", users["finance"].id) in actions
    assert actions[-1] == ("collection_file.generated", users["finance"].id)
    entries = finance_client.get("/customers/C001/entries").get_data(as_text=True)
    assert "Remove collection mark from" in entries and 'icons.svg#scale"' in entries


def test_options_left_unchecked_change_nothing(finance_client, session, account):
    start(finance_client, account["old"], stop_reminders="", mark_in_collection="")
    session.expire_all()
    assert not account["old"].in_collection and not account["old"].reminders_stopped
    assert session.query(CollectionCase).count() == 0
    assert session.query(Export).count() == 1, "the file is made all the same"


def test_double_click_makes_one_export(finance_client, session, account):
    start(finance_client, account["old"])
    start(finance_client, account["old"])
    assert session.query(Export).count() == 1
    assert session.query(CollectionCase).count() == 1


def test_entries_of_another_customer_are_refused(finance_client, session, account):
    html = start(finance_client, account["old"], account["foreign"]).get_data(as_text=True)
    assert "do not belong" in html
    assert "<dialog" not in html, "the answer takes the form's place in the open dialog, not a dialog inside it"
    assert session.query(Export).count() == 0
    session.expire_all()
    assert not session.get(Entry, account["old"].id).in_collection, "nothing is applied when refused"
