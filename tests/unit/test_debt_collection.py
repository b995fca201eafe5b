"""From reminder to debt collection, by rule: the three transfer options with the clock moved across a
weekend and a French public holiday (Ascension, Thursday 14 May 2026), the 60-day close, holds,
payment, and the Manual transfer tab's approval down to the collection file."""
import io
import json
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from domain import clock, debt_collection
from domain.collection import marks
from domain.models import AuditEvent, CollectionCase, DebtCollectionClaim, Entry, Export, Notification, Payment
from domain.reminders import notices

HTMX = {"HX-Request": "true"}
ISSUED, DEADLINE = date(2026, 5, 4), date(2026, 5, 12)  # a Monday; the deadline a Tuesday


@pytest.fixture
def noticed(session, users, ledger_builder, company, pinned_today):
    """Bistro owes F-1 (1,000.00, due 03/04/2026); a formal notice of 04/05 gives until 12/05."""
    customer = ledger_builder.customer("C1", "Bistro", emails="compta@bistro.test")
    entry = ledger_builder.entry(customer, 73, "1000.00", number="F-1")
    session.commit()
    clock.pin(ISSUED)
    notice, _ = notices.issue(session, users["finance"], customer, [entry.id], channel="letter", claim=True,
                              token="n1", deadline=DEADLINE)
    notices.record_registered(session, users["finance"], notice, "1A 000 000 0001 1", ISSUED)
    session.commit()
    return customer


def option(session, company, value):
    company.transfer_option = value
    session.commit()


def run(session, day):
    clock.pin(day)
    report = debt_collection.run(session, day)
    session.commit()
    return report


def the_claim(session):
    return session.scalars(select(DebtCollectionClaim)).one()


def test_option_20_waits_three_working_days_across_a_holiday_and_a_weekend(session, noticed, company):
    option(session, company, 20)
    assert run(session, DEADLINE).listed == [], "not before the deadline has passed"
    report = run(session, date(2026, 5, 13))
    claim = the_claim(session)
    # Thu 14/05 is Ascension, then Fri 15 (1), the weekend, Mon 18 (2), Tue 19 (3).
    assert (claim.tab, claim.status, claim.transfer_on) == ("automatic", "listed", date(2026, 5, 19))
    assert report.listed == [claim.id]
    assert run(session, date(2026, 5, 18)).transferred == []
    report = run(session, date(2026, 5, 19))
    assert report.transferred == [claim.id] and len(report.exports) == 1
    session.expire_all()
    entry = session.scalar(select(Entry).where(Entry.number == "F-1"))
    assert entry.in_collection and entry.collection_case_id == the_claim(session).case_id
    assert entry.reminders_stopped
    export = session.get(Export, report.exports[0])
    assert export.kind == "collection_file" and export.user_id == the_claim(session).notice.created_by_id


def test_alsace_moselle_adds_good_friday(session, users, ledger_builder, company, pinned_today):
    company.transfer_option, company.holiday_region = 20, "57"
    customer = ledger_builder.customer("C2", "Brasserie de Metz")
    entry = ledger_builder.entry(customer, 100, "300.00", number="M-1")
    session.commit()
    clock.pin(date(2026, 3, 25))
    notice, _ = notices.issue(session, users["finance"], customer, [entry.id], channel="letter", claim=False,
                              token="m", deadline=date(2026, 4, 1))
    notices.record_registered(session, users["finance"], notice, "1A 000 000 0002 2", date(2026, 3, 25))
    session.commit()
    run(session, date(2026, 4, 2))  # Thursday; Fri 3/04 Good Friday (Moselle), Mon 6/04 Easter Monday
    assert the_claim(session).transfer_on == date(2026, 4, 9)  # Tue 7 (1), Wed 8 (2), Thu 9 (3)


def test_option_10_transfers_at_once_and_never_lists(session, noticed, company):
    option(session, company, 10)
    report = run(session, date(2026, 5, 13))
    claim = the_claim(session)
    assert claim.status == "transferred" and report.transferred == [claim.id] and report.exports
    assert debt_collection.tab_counts(session) == {"automatic": 0, "manual": 0}


def test_option_30_waits_for_an_approval_and_a_customer_may_differ(session, noticed, company):
    option(session, company, 20)
    noticed.transfer_option = 30
    session.commit()
    run(session, date(2026, 5, 13))
    claim = the_claim(session)
    assert (claim.tab, claim.transfer_on) == ("manual", None)
    assert run(session, date(2026, 6, 30)).transferred == []
    assert the_claim(session).status == "listed"


def test_a_claim_left_60_days_is_closed_automatically_and_its_owner_told(session, noticed, company, users):
    option(session, company, 30)
    run(session, date(2026, 5, 13))
    assert run(session, date(2026, 7, 12)).closed == [], "60 days: not yet"
    report = run(session, date(2026, 7, 13))
    claim = the_claim(session)
    assert report.closed == [claim.id] and (claim.status, claim.close_reason) == ("closed", "expired")
    [told] = session.scalars(select(Notification).where(Notification.user_id == users["finance"].id)).all()
    assert "closed automatically" in told.text and "F-1" in told.text
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "debt_collection.closed")) is not None
    assert run(session, date(2026, 7, 14)).listed == [], "closed: not listed again from the same notice"


def test_a_disputed_invoice_is_not_listed_until_the_dispute_ends(session, noticed, company, users):
    option(session, company, 20)
    entry = session.scalar(select(Entry).where(Entry.number == "F-1"))
    marks.set_disputed(session, entry, users["finance"], True, "Wrong quantity")
    session.commit()
    assert run(session, date(2026, 5, 13)).listed == []
    marks.set_disputed(session, entry, users["finance"], False)
    session.commit()
    assert len(run(session, date(2026, 5, 20)).listed) == 1
    # Disputed again while listed: it stays listed but does not go.
    marks.set_disputed(session, entry, users["finance"], True, "Wrong quantity again")
    session.commit()
    assert run(session, date(2026, 5, 29)).transferred == []
    assert the_claim(session).status == "listed"


def test_payment_closes_the_claim(session, noticed, company):
    option(session, company, 30)
    run(session, date(2026, 5, 13))
    entry = session.scalar(select(Entry).where(Entry.number == "F-1"))
    session.add(Payment(entry=entry, paid_on=date(2026, 5, 14), amount_cents=100000, reference="VIR"))
    entry.open_cents, entry.is_open = 0, False
    session.commit()
    report = run(session, date(2026, 5, 15))
    assert report.closed == [the_claim(session).id] and the_claim(session).close_reason == "paid"


def test_approve_in_the_manual_tab_makes_the_case_and_the_file_with_the_figures(
        session, noticed, company, finance_client, run_jobs, users):
    option(session, company, 30)
    run(session, date(2026, 5, 13))
    claim = the_claim(session)
    page = finance_client.get("/debt-collection?tab=manual").get_data(as_text=True)
    assert f'name="claim" value="{claim.id}"' in page and "Manual transfer to debt collection" in page
    answer = finance_client.post("/debt-collection/approve", data={"claim": [claim.id], "tab": "manual"}, headers=HTMX)
    html = answer.get_data(as_text=True)
    assert "1 approved and transferred" in html
    session.expire_all()
    claim = the_claim(session)
    assert (claim.status, claim.approved_by_id) == ("transferred", users["finance"].id)
    case = session.get(CollectionCase, claim.case_id)
    assert case.status == "open" and case.opened_by_id == users["finance"].id
    transferred = finance_client.get("/debt-collection?tab=manual&status=transferred").get_data(as_text=True)
    assert users["finance"].display_name in transferred, "the Debt collection approval column says who"
    run_jobs()
    session.expire_all()
    export = session.get(Export, case.export_id)
    assert export.status == "ready", export.message
    zip_path = next(Path(finance_client.application.config["EXPORT_DIR"]).rglob("*.zip"))
    with zipfile.ZipFile(zip_path) as archive:
        workbook_name = next(n for n in archive.namelist() if n.endswith(".xlsx"))
        sheet = load_workbook(io.BytesIO(archive.read(workbook_name))).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(r for r in rows if r and r[0] == "Entry")
    line = next(r for r in rows if r and r[0] == "F-1")
    figures = dict(zip(header, line))
    # Claimed by the notice of 04/05: 31 days × 1,000.00 × 12.15 % / 365 = €10.32, + the €40.00 indemnity;
    # not claimed yet, to the file's day (13/05): 9 days (05/05 – 13/05) → €3.00; the indemnity was claimed.
    def cents(value) -> Decimal:  # the cell holds a number with 2 decimals
        return Decimal(str(value)).quantize(Decimal("0.01"))

    assert cents(figures["Interest and fees claimed (unpaid)"]) == Decimal("50.32")
    assert cents(figures["Recovery indemnity not claimed yet"]) == Decimal("0.00")
    assert cents(figures["Late-payment interest not claimed yet"]) == Decimal("3.00")


def test_pause_resume_close_and_refusals(session, noticed, company, finance_client):
    option(session, company, 20)
    run(session, date(2026, 5, 13))
    claim = the_claim(session)
    refused = finance_client.post("/debt-collection/pause", data={"claim": [claim.id], "tab": "automatic"},
                                  headers=HTMX)
    assert "Say why" in refused.get_data(as_text=True)
    finance_client.post("/debt-collection/pause", headers=HTMX,
                        data={"claim": [claim.id], "tab": "automatic", "reason": "Customer called", "until": ""})
    session.expire_all()
    assert (the_claim(session).status, the_claim(session).pause_reason) == ("paused", "Customer called")
    assert run(session, date(2026, 5, 20)).transferred == [], "paused: not transferred"
    finance_client.post("/debt-collection/resume", data={"claim": [claim.id], "tab": "automatic"}, headers=HTMX)
    session.expire_all()
    assert the_claim(session).status == "listed" and the_claim(session).transfer_on == date(2026, 5, 26)
    approve = finance_client.post("/debt-collection/approve", data={"claim": [claim.id]}, headers=HTMX)
    assert approve.status_code == 200  # automatic tab claims may be approved early too
    session.expire_all()
    closing = finance_client.post("/debt-collection/close", headers=HTMX,
                                  data={"claim": [claim.id], "close_reason": "not_worth"})
    assert "Cannot close F-1" in closing.get_data(as_text=True)


def test_settings_choose_the_option_and_the_calendar(session, company, finance_client):
    answer = finance_client.post("/settings/debt-collection", headers=HTMX, data={
        "transfer_option": "20", "transfer_working_days": "2", "claim_auto_close_days": "45",
        "holiday_country": "fr", "holiday_region": "6AE"})
    assert "Debt collection settings saved." in answer.get_data(as_text=True)
    session.expire_all()
    assert debt_collection.calendar(session) == debt_collection.Calendar(20, 2, 45, "FR", "6AE")
    wrong = finance_client.post("/settings/debt-collection", headers=HTMX, data={
        "transfer_option": "40", "transfer_working_days": "0", "claim_auto_close_days": "45",
        "holiday_country": "XX", "holiday_region": ""}).get_data(as_text=True)
    for field in ("transfer_option", "transfer_working_days", "holiday_country"):
        assert f'data-field-error="{field}"' in wrong
    assert json.dumps(debt_collection.calendar(session)) == json.dumps([20, 2, 45, "FR", "6AE"])


def test_a_notice_starts_nothing_until_it_reached_the_customer_and_a_cancelled_one_withdraws_its_claims(
        session, users, ledger_builder, company, pinned_today):
    company.transfer_option = 30
    customer = ledger_builder.customer("C3", "Café")
    entry = ledger_builder.entry(customer, 90, "500.00", number="C-1")
    session.commit()
    clock.pin(ISSUED)
    notice, _ = notices.issue(session, users["finance"], customer, [entry.id], channel="letter", claim=False,
                              token="c", deadline=DEADLINE)
    session.commit()
    assert notices.draft(session, customer, [entry.id]).problems == [
        f"C-1 has formal notice #{notice.id} running until 2026-05-12."], "no second notice while one runs"
    assert run(session, date(2026, 5, 13)).listed == [], "a letter nobody recorded as sent starts nothing"
    notices.record_registered(session, users["finance"], notice, "1A 9", ISSUED)
    session.commit()
    assert len(run(session, date(2026, 5, 14)).listed) == 1
    assert "ready for debt collection" in notices.draft(session, customer, [entry.id]).problems[0]
    with pytest.raises(notices.NoticeError, match="registered letter"):
        notices.cancel(session, users["finance"], notice, "Wrong customer")


def test_cancelling_a_notice_closes_its_claims(session, users, ledger_builder, company, pinned_today):
    company.transfer_option = 30
    customer = ledger_builder.customer("C4", "Bar", emails="bar@example.test")
    entry = ledger_builder.entry(customer, 90, "500.00", number="B-1")
    session.commit()
    clock.pin(ISSUED)
    notice, _ = notices.issue(session, users["finance"], customer, [entry.id], channel="email", claim=False,
                              token="b", deadline=DEADLINE)
    notice.outbox_message.status = "sent"  # the mail server took it
    session.commit()
    run(session, date(2026, 5, 13))
    assert the_claim(session).status == "listed"
    notice.outbox_message.status = "failed"  # say it bounced and a person looks again: withdrawn
    notices.cancel(session, users["finance"], notice, "Sent to the wrong address")
    session.commit()
    assert (the_claim(session).status, the_claim(session).close_reason) == ("closed", "withdrawn")


def test_a_pause_cannot_outlast_the_automatic_close(session, noticed, company, users):
    option(session, company, 20)
    run(session, date(2026, 5, 13))
    with pytest.raises(debt_collection.ClaimError, match="closed automatically"):
        debt_collection.pause(session, users["finance"], [the_claim(session)], "Holidays", date(2026, 8, 1))


def test_odd_numbers_in_the_query_are_no_500(finance_client):
    for query in ("min=%C2%B2", "page=%C2%B2", "page=99999999999999999999", "min=-3", "tab=nowhere"):
        assert finance_client.get(f"/debt-collection?{query}").status_code in (200, 302), query
    assert finance_client.post("/debt-collection/pause", data={"claim": ["²", "99999999999999999999"]},
                               headers=HTMX).status_code == 200
