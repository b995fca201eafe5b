"""One timeline of changes and reminders, per customer and per entry, and exactly what was sent."""
import json
from datetime import datetime

import pytest

from domain.collection import marks
from domain.models import OutboxMessage, ReminderActivity, ReminderEntry


@pytest.fixture
def account(session, ledger_builder, users):
    acme = ledger_builder.customer("C001", "Acme Industries", emails="ap@acme.test")
    first = ledger_builder.entry(acme, 40, "100.00", number="INV-1")
    second = ledger_builder.entry(acme, 20, "250.00", number="INV-2")
    session.commit()
    marks.set_disputed(session, second, users["finance"], True, "wrong quantity")
    reminder = ReminderActivity(customer_id=acme.id, sent_at=datetime(2026, 6, 20, 9, 30), channel="email", level=2,
                                sender="ar@relance.test", recipient="ap@acme.test", subject="Second reminder",
                                body="Dear customer,\nINV-1 is still open.", sent_by_id=users["finance"].id)
    reminder.covered.append(ReminderEntry(entry_id=first.id, open_cents=10000))
    session.add(reminder)
    session.flush()
    session.add(OutboxMessage(dedupe_key="k1", customer_id=acme.id, level=2, sender="Relance Demo <ar@relance.test>",
                              to_addresses="ap@acme.test", bcc_addresses="finance@relance.test",
                              reply_to="finance@relance.test", subject="Second reminder",
                              body=reminder.body, message_id="<m1@relance.test>", status="sent",
                              attachments=json.dumps([{"path": "/x", "filename": "INV-1.pdf"}]),
                              activity_id=reminder.id, sent_at=reminder.sent_at))
    session.commit()
    return {"first": first, "second": second, "reminder": reminder}


def test_the_account_history_merges_changes_and_reminders_newest_first(finance_client, account):
    html = finance_client.get("/customers/C001/history").get_data(as_text=True)
    assert "Second reminder" in html and "disputed" in html
    assert html.index("disputed") < html.index("Second reminder"), "the dispute (today) comes first"


def test_an_entry_history_shows_only_that_entry(finance_client, account):
    first = finance_client.get(f"/entries/{account['first'].id}/history").get_data(as_text=True)
    second = finance_client.get(f"/entries/{account['second'].id}/history").get_data(as_text=True)
    assert "Second reminder" in first and "disputed" not in first
    assert "disputed" in second and "Second reminder" not in second


def test_a_reminder_opens_exactly_what_was_sent(support_client, account):
    response = support_client.get(f"/reminders/activities/{account['reminder'].id}", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    for text in ("Relance Demo &lt;ar@relance.test&gt;", "ap@acme.test", "Reply-To", "finance@relance.test",
                 "&lt;m1@relance.test&gt;", "INV-1.pdf", "Dear customer,\nINV-1 is still open.", "€100.00"):
        assert text in html, text
    assert support_client.get("/reminders/activities/999").status_code == 404
