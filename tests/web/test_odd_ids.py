"""Ids in forms and query strings that are not plain numbers ("²" passes str.isdigit(), int() refuses
it; a huge one overflows the database): every page answers them, never with a 500."""
import pytest

ODD = ["²", "٣", "99999999999999999999", "-1", "1e3"]


@pytest.fixture
def bistro(session, ledger_builder):
    customer = ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test")
    ledger_builder.entry(customer, 40, "100.00")
    session.commit()
    return customer


@pytest.mark.parametrize("odd", ODD)
def test_odd_entry_ids_in_the_dialogs(finance_client, bistro, odd):
    headers = {"HX-Request": "true"}
    for url in (f"/customers/C1/promises/new?entry={odd}", f"/customers/C1/schedules/new?entry={odd}",
                f"/customers/C1/disputes/new?entry={odd}", f"/customers/C1/formal-notice?entry={odd}",
                f"/customers/C1/payments/new?entry={odd}", f"/disputes/new?entry={odd}",
                f"/customers/C1/reminders/compose?entry={odd}&channel=email",
                f"/debt-collection?min={odd}&page={odd}"):
        response = finance_client.get(url, headers=headers)
        assert response.status_code < 500, (url, response.status_code)
    response = finance_client.post("/collection/cases/1/status", data={"entry": odd, "status": "amicable"})
    assert response.status_code < 500
