"""The Collection page: changing the case status of one row asks first, saying what it changes —
the whole case ("Case #N, 2 entries: Open → Amicable") — and Cancel changes nothing."""
from tests.browser.support import answer_confirmation, expect, log_in, t, tn, tp


def test_a_case_status_change_names_the_whole_case_and_can_be_cancelled(page, session, ledger_builder, users):
    from domain.models import CollectionCase

    customer = ledger_builder.customer("K001", "Kiosque Martin", emails="k@martin.test")
    first = ledger_builder.entry(customer, 120, "900.00", number="INV-K-1", in_collection=True)
    second = ledger_builder.entry(customer, 100, "300.00", number="INV-K-2", in_collection=True)
    case = CollectionCase(customer_id=customer.id, status="open")
    session.add(case)
    session.flush()
    first.collection_case_id = second.collection_case_id = case.id
    case_id = case.id
    session.commit()
    session.close()

    log_in(page, "finance@relance.test")
    page.goto("/collection/")
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    control = page.get_by_label(t("Status of the collection case of %(number)s", number="INV-K-1"))
    control.select_option("amicable")
    assert answer_confirmation(page, yes=False) == tn(
        "Case #%(case)s, %(num)d entry: %(status)s → {new}. The status applies to the whole case.",
        "Case #%(case)s, %(num)d entries: %(status)s → {new}. The status applies to the whole case.",
        2, case=case_id, status=tp("case status", "Open")).replace("{new}", tp("case status", "Amicable"))
    expect(control).to_have_value("open")
    page.wait_for_timeout(300)
    assert posts == []

    control.select_option("amicable")
    answer_confirmation(page)
    expect(page.get_by_label(t("Status of the collection case of %(number)s", number="INV-K-2"))).to_have_value("amicable")
    assert len(posts) == 1
    session.expire_all()
    assert session.get(CollectionCase, case_id).status == "amicable"
