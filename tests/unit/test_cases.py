"""Collection cases: the status a user gives them, the "paid" they take by themselves, the page's query."""
import io
from datetime import date, datetime

import pytest
from sqlalchemy import select

from domain.collection import cases
from domain.collection import files as collection_files
from domain.collection import marks
from domain.collection.cases import CaseError, CaseFilters, parse_case_filters, refresh_case_status, set_case_status
from domain.imports.receivables import import_file
from domain.ledger.payments import record_payment
from domain.listing import FilterError
from domain.models import AuditEvent, CollectionCase, Entry


@pytest.fixture
def acme_case(session, ledger_builder, users):
    """Acme's two overdue invoices handed to collection together; a third stays outside."""
    acme = ledger_builder.customer("C001", "Acme Industries")
    first = ledger_builder.entry(acme, 120, "900.00", number="INV-1001")
    second = ledger_builder.entry(acme, 60, "100.00", number="INV-1002")
    outside = ledger_builder.entry(acme, 10, "50.00", number="INV-1003")
    session.commit()
    started = collection_files.start_collection_file(session, users["finance"], acme, [first.id, second.id])
    session.commit()
    return {"case": started.case, "customer": acme, "first": first, "second": second, "outside": outside}


def status_of(session, case) -> str:
    session.expire_all()
    return session.get(CollectionCase, case.id).status


def paid_events(session):
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "collection_case.paid")))


def test_case_turns_paid_in_the_commit_that_pays_its_last_entry(session, acme_case):
    case = acme_case["case"]
    record_payment(session, acme_case["first"], date(2026, 6, 1), 90000, "BANK-1")
    session.commit()
    assert status_of(session, case) == "open", "one entry is still unpaid"

    record_payment(session, acme_case["second"], date(2026, 6, 2), 10000, "BANK-2")
    session.commit()

    assert status_of(session, case) == "paid"
    assert session.get(CollectionCase, case.id).status_changed_at is not None
    [event] = paid_events(session)
    assert event.actor_id is None, "Relance did it, not a user"
    assert event.customer_id == acme_case["customer"].id
    assert event.detail.startswith("Case paid") and "INV-1001, INV-1002" in event.detail


def test_a_partial_payment_leaves_the_case_open(session, acme_case):
    record_payment(session, acme_case["first"], date(2026, 6, 1), 90000, "BANK-1")
    record_payment(session, acme_case["second"], date(2026, 6, 1), 5000, "BANK-2")
    session.commit()
    assert status_of(session, acme_case["case"]) == "open"
    assert paid_events(session) == []


def test_paying_an_entry_outside_the_case_changes_nothing(session, acme_case):
    record_payment(session, acme_case["outside"], date(2026, 6, 1), 5000, "BANK-3")
    session.commit()
    assert status_of(session, acme_case["case"]) == "open"


def test_a_payments_import_pays_the_case(session, acme_case):
    csv = ("number,date,amount,reference\r\n"
           "INV-1001,2026-06-10,900.00,VIR-1\r\n"
           "INV-1002,2026-06-10,100.00,VIR-2\r\n").encode()
    report = import_file(session, "payments", io.BytesIO(csv), "bank.csv")
    assert report.written
    session.commit()
    assert status_of(session, acme_case["case"]) == "paid"
    assert len(paid_events(session)) == 1


def test_an_entries_import_that_settles_them_pays_the_case(session, acme_case):
    """The entries import writes with bulk statements, behind the ORM's back."""
    csv = ("account,number,kind,issue_date,due_date,amount,open_amount\r\n"
           "C001,INV-1001,invoice,2026-01-16,2026-02-15,900.00,0\r\n"
           "C001,INV-1002,invoice,2026-03-17,2026-04-16,100.00,0\r\n").encode()
    report = import_file(session, "entries", io.BytesIO(csv), "erp.csv")
    assert report.written, report.errors
    session.commit()
    assert status_of(session, acme_case["case"]) == "paid"


def test_paid_only_moves_forward_by_itself(session, acme_case, users):
    """A later import re-opening an entry leaves the case paid; a user re-opens it by hand."""
    case = acme_case["case"]
    for entry, reference in ((acme_case["first"], "A"), (acme_case["second"], "B")):
        record_payment(session, entry, date(2026, 6, 1), entry.open_cents, reference)
    session.commit()
    csv = ("account,number,kind,issue_date,due_date,amount,open_amount\r\n"
           "C001,INV-1001,invoice,2026-01-16,2026-02-15,900.00,900.00\r\n").encode()
    assert import_file(session, "entries", io.BytesIO(csv), "erp.csv").written
    session.commit()
    assert status_of(session, case) == "paid"

    assert set_case_status(session, session.get(CollectionCase, case.id), "open", users["finance"])
    session.commit()
    assert status_of(session, case) == "open"


def test_a_closed_case_stays_closed_when_paid(session, acme_case, users):
    case = acme_case["case"]
    set_case_status(session, case, "closed", users["finance"])
    session.commit()
    for entry, reference in ((acme_case["first"], "A"), (acme_case["second"], "B")):
        record_payment(session, entry, date(2026, 6, 1), entry.open_cents, reference)
    session.commit()
    assert status_of(session, case) == "closed"


def test_refresh_case_status_ignores_unknown_ids_and_cases_without_entries(session, users, ledger_builder):
    customer = ledger_builder.customer("C9", "Empty")
    empty = CollectionCase(customer_id=customer.id, status="open")
    session.add(empty)
    session.commit()
    assert refresh_case_status(session, [empty.id, 999_999, None]) == []
    assert status_of(session, empty) == "open"


def test_a_status_change_is_recorded_in_history(session, acme_case, users):
    case = acme_case["case"]
    assert set_case_status(session, case, "legal", users["finance"]) is True
    session.commit()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "collection_case.status")).one()
    assert event.actor_id == users["finance"].id and event.customer_id == acme_case["customer"].id
    assert "Open → Legal" in event.detail and "INV-1001" in event.detail
    assert set_case_status(session, case, "legal", users["finance"]) is False, "no change, no event"


@pytest.mark.parametrize("status", ["paid", "sent_to_agency", "bogus", ""])
def test_statuses_a_user_cannot_set(session, acme_case, users, status):
    with pytest.raises(CaseError):
        set_case_status(session, acme_case["case"], status, users["finance"])


def test_a_paid_case_can_only_be_closed(session, acme_case, users):
    case = acme_case["case"]
    for entry, reference in ((acme_case["first"], "A"), (acme_case["second"], "B")):
        record_payment(session, entry, date(2026, 6, 1), entry.open_cents, reference)
    session.commit()
    case = session.get(CollectionCase, case.id)
    with pytest.raises(CaseError, match="only be closed"):
        set_case_status(session, case, "amicable", users["finance"])
    assert set_case_status(session, case, "closed", users["finance"])


def test_status_choices_offer_the_current_status_and_the_manual_ones(acme_case):
    case = acme_case["case"]
    assert [value for value, _ in cases.status_choices(case)] == ["open", "amicable", "legal", "closed"]
    case.status = "sent_to_agency"
    assert [value for value, _ in cases.status_choices(case)] == ["open", "sent_to_agency", "amicable", "legal",
                                                                  "closed"]


# --- the Collection page's query ------------------------------------------------------------

def test_parse_case_filters_round_trips_through_the_query_string():
    filters = parse_case_filters({"q": " acme ", "status": "legal", "from": "2026-06-01", "to": "2026-06-30",
                                  "sort": "open", "dir": "desc", "page": "2"})
    assert filters == CaseFilters(q="acme", status="legal", marked_from=date(2026, 6, 1),
                                  marked_to=date(2026, 6, 30), sort="open", direction="desc", page=2)
    assert parse_case_filters(filters.query_args()) == filters
    assert filters.query_args(page=1).get("page") is None


@pytest.mark.parametrize("args", [{"status": "lost"}, {"sort": "amount_cents"}, {"dir": "up"}, {"page": "0"},
                                  {"from": "15/06/2026"}, {"from": "2026-06-30", "to": "2026-06-01"}])
def test_parse_case_filters_refuses_nonsense(args):
    with pytest.raises(FilterError):
        parse_case_filters(args)


def test_the_marked_date_range_includes_the_whole_last_day(session, ledger_builder, users):
    acme = ledger_builder.customer("C001", "Acme")
    early = ledger_builder.entry(acme, 90, "10.00", number="INV-1")
    late = ledger_builder.entry(acme, 90, "20.00", number="INV-2")
    for entry in (early, late):
        marks.mark_in_collection(session, entry, users["finance"])
    early.collection_marked_at = datetime(2026, 6, 1, 8, 0)
    late.collection_marked_at = datetime(2026, 6, 10, 23, 59)
    session.commit()

    def numbers(**args):
        return [e.number for e in cases.collection_entries(session, parse_case_filters(args)).rows]

    assert numbers(to="2026-06-10") == ["INV-2", "INV-1"], "the latest mark first"
    assert numbers(**{"from": "2026-06-02"}) == ["INV-2"]
    assert numbers(to="2026-06-09") == ["INV-1"]
    assert numbers(sort="number") == ["INV-1", "INV-2"]
    page = cases.collection_entries(session, CaseFilters())
    assert page.total == 2 and page.rows[0].collection_case is None, "marked without a case: listed all the same"


def test_entries_no_longer_in_collection_are_not_listed(session, acme_case, users):
    first = session.get(Entry, acme_case["first"].id)
    marks.remove_collection_mark(session, first, users["support"])
    session.commit()
    assert [e.number for e in cases.collection_entries(session, CaseFilters(sort="number")).rows] == ["INV-1002"]
