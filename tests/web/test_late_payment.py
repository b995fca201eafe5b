"""Late payment: Settings → Late payment (basis, indemnity, rates by half-year) and what the
account status shows (TODAY = 15/06/2026, 1st half of 2026: ECB 2.15 % + 10 = 12.15 %)."""
from datetime import date, timedelta

from sqlalchemy import select

from domain.models import AuditEvent, CompanySettings, Customer, Payment, ReferenceRate

HTMX = {"HX-Request": "true"}
COMPANY = {"name": "Acme SARL", "registration_number": "732 829 320", "sender_email": "billing@acme-sarl.test",
           "address": "1 rue de la Paix\n75002 Paris"}
LATE = {"basis": "legal", "contractual_rate": "", "indemnity_EUR": "40", "notice_days": "8"}


def company(session, **fields):
    settings = CompanySettings(name="Acme SARL", registration_number="732829320", **fields)
    session.add(settings)
    session.commit()
    return settings


def charges(client, account="C1"):
    return client.get(f"/customers/{account}/late-payment", headers=HTMX).get_data(as_text=True)


def row_of(html, number):
    start = html.index(f'data-charges-of="{number}"')
    return html[start:html.index("</tr>", start)]


def test_the_account_status_shows_interest_and_the_indemnity_per_invoice_and_in_total(finance_client, session,
                                                                                       ledger_builder):
    customer = ledger_builder.customer("C1", "Bistro")
    ledger_builder.entry(customer, 30, "1000.00", number="F-30")    # due 16/05/2026
    paid = ledger_builder.entry(customer, 61, "1000.00", number="F-61", open_amount="600.00")  # due 15/04/2026
    session.add(Payment(entry=paid, paid_on=date(2026, 5, 15), amount_cents=40000, reference="VIR 1"))
    ledger_builder.entry(customer, -5, "500.00", number="F-NOT-DUE")
    ledger_builder.entry(customer, 10, "80.00", kind="credit_note", number="AV-1")
    session.commit()

    html = charges(finance_client)
    # 1,000.00 × 12.15 % × 30 / 365 = 9.9863… → €9.99; + €40.00 = €1,049.99
    assert "€9.99" in row_of(html, "F-30") and "€40.00" in row_of(html, "F-30")
    assert "€1,049.99" in row_of(html, "F-30")
    # 1,000.00 for 30 days (16/04 – 15/05) then 600.00 for 31 days: 0.1215 × 48,600 / 365 = 16.1778… → €16.18
    assert "€16.18" in row_of(html, "F-61") and "€600.00" in row_of(html, "F-61")
    assert "F-NOT-DUE" not in html and "AV-1" not in html
    total = html[html.index('data-testid="late-charges-total"'):]
    assert "€1,600.00" in total and "€26.17" in total and "€80.00" in total and "€1,706.17" in total
    assert "(12.15 % now)" in html

    french = finance_client.get("/customers/C1/late-payment", headers={**HTMX, "Accept-Language": "fr"})
    french = french.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ")
    assert "1 049,99 €" in row_of(french, "F-30") and "(12,15 % actuellement)" in french  # the rate in French too


def test_without_the_rates_of_a_half_year_the_interest_is_unknown_not_zero(finance_client, session, ledger_builder,
                                                                         pinned_today):
    from domain import clock

    customer = ledger_builder.customer("C1", "Bistro")
    ledger_builder.entry(customer, 30, "1000.00", number="F-30")
    session.commit()
    clock.pin(date(2026, 7, 20))  # the 2nd half of 2026 is not shipped
    html = charges(finance_client)
    assert "unknown" in row_of(html, "F-30") and "€0.00" not in row_of(html, "F-30")
    assert "No rates for the 2nd half of 2026" in html


def test_charges_can_be_switched_off_for_a_customer(finance_client, session, ledger_builder):
    customer = ledger_builder.customer("C1", "Mairie de Lyon", language="fr")
    ledger_builder.entry(customer, 30, "1000.00", number="F-30")
    session.commit()
    form = {"name": "Mairie de Lyon", "language": "fr", "late_payment_charges": "0"}
    response = finance_client.post("/customers/C1/edit", data=form)
    assert response.status_code == 303
    session.expire_all()
    assert session.get(Customer, customer.id).late_payment_charges is False
    assert "Off for this customer" in charges(finance_client) and "€40.00" not in charges(finance_client)
    event = session.query(AuditEvent).filter_by(action="customer.changed").one()
    assert "Late-payment interest and indemnity: on → off" in event.detail
    edit = finance_client.get("/customers/C1/edit").get_data(as_text=True)
    switch = edit[edit.index('data-testid="late-payment-switch"'):]
    assert "checked" not in switch[:switch.index(">")], "the form shows the switch off"


def test_a_contractual_rate_and_another_indemnity_are_saved_and_used(finance_client, session, ledger_builder):
    company(session)
    customer = ledger_builder.customer("C1", "Bistro")
    ledger_builder.entry(customer, 73, "1000.00", number="F-73")
    session.commit()
    response = finance_client.post("/settings/late-payment", headers=HTMX,
                                   data={**LATE, "basis": "contractual", "contractual_rate": "10",
                                         "indemnity_EUR": "50,00", "notice_days": "15"})
    assert response.status_code == 200 and "Late-payment settings saved." in response.get_data(as_text=True)
    session.expire_all()
    saved = session.query(CompanySettings).one()
    assert (saved.late_payment_basis, saved.contractual_rate_bp, saved.recovery_indemnities, saved.notice_days) == \
        ("contractual", 1000, {"EUR": 5000}, 15)
    # 1,000.00 × 10 % × 73 / 365 = €20.00, + €50.00
    row = row_of(charges(finance_client), "F-73")
    assert "€20.00" in row and "€50.00" in row


def test_wrong_late_payment_settings_are_said_inline_and_nothing_is_saved(finance_client, session):
    company(session)
    response = finance_client.post("/settings/late-payment", headers=HTMX,
                                   data={**LATE, "basis": "contractual", "contractual_rate": "douze",
                                         "indemnity_EUR": "-40", "notice_days": "0"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for field in ("contractual_rate", "indemnity_EUR", "notice_days"):
        assert f'data-field-error="{field}"' in html
    assert "Nothing was saved" in html and 'value="douze"' in html
    session.expire_all()
    assert session.query(CompanySettings).one().late_payment_basis == "legal"
    plain = finance_client.post("/settings/late-payment", data={**LATE, "notice_days": "abc"})
    assert plain.status_code == 400


def test_an_admin_adds_the_next_half_year_and_finance_cannot(admin_client, session, users):
    page = admin_client.get("/settings/").get_data(as_text=True)
    assert 'data-testid="reference-rates"' in page and "12.15 %" in page and "15.21 %" in page
    french = admin_client.get("/settings/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "12,15 %" in french and "15,21 %" in french and "12.15 %" not in french  # rates as a French reader writes them
    response = admin_client.post("/settings/late-payment/rates", headers=HTMX,
                                 data={"starts_on": "2026-07-01", "ecb": "2,15", "legal": "2.5"})
    html = response.get_data(as_text=True)
    assert "Rates of the 2nd half of 2026 saved: late-payment rate 12.15 %." in html
    assert "Set by" in html
    row = session.get(ReferenceRate, date(2026, 7, 1))
    assert (row.ecb_rate_bp, row.legal_rate_bp, row.updated_by_id) == (215, 250, users["admin"].id)
    wrong = admin_client.post("/settings/late-payment/rates", headers=HTMX,
                              data={"starts_on": "2026-03-01", "ecb": "x", "legal": "2"}).get_data(as_text=True)
    assert 'data-field-error="starts_on"' in wrong and 'data-field-error="ecb"' in wrong


def test_finance_cannot_change_the_rates(finance_client, session):
    response = finance_client.post("/settings/late-payment/rates", data={"starts_on": "2026-07-01", "ecb": "2",
                                                                          "legal": "2"})
    assert response.status_code == 403
    assert session.get(ReferenceRate, date(2026, 7, 1)) is None


def test_settings_warn_of_a_missing_half_year(finance_client, pinned_today):
    from domain import clock

    clock.pin(date(2026, 7, 1))
    html = finance_client.get("/settings/").get_data(as_text=True)
    assert 'data-testid="missing-half-year"' in html and "2nd half of 2026" in html
    clock.pin(date(2026, 6, 30) - timedelta(days=1))
    assert 'data-testid="missing-half-year"' not in finance_client.get("/settings/").get_data(as_text=True)


def test_the_daily_run_totals_the_charges_of_every_customer_for_the_who_owes_export(
        finance_client, session, ledger_builder, run_jobs):
    import io
    import re

    from openpyxl import load_workbook

    from domain.ledger import interest
    from domain.models import LateChargesTotal

    bistro = ledger_builder.customer("C1", "Bistro")
    ledger_builder.entry(bistro, 30, "1000.00", number="F-30")           # €9.99 + €40.00
    ledger_builder.entry(bistro, 73, "500.00", number="F-73")            # €12.15 + €40.00
    ledger_builder.entry(bistro, -3, "800.00", number="F-NOT-DUE")       # nothing
    mairie = ledger_builder.customer("C2", "Mairie", late_payment_charges=False)
    ledger_builder.entry(mairie, 30, "1000.00", number="M-1")            # charges off
    london = ledger_builder.customer("C3", "London Ltd")
    ledger_builder.entry(london, 30, "1000.00", currency="GBP", number="L-1")  # no indemnity set for GBP
    session.commit()

    assert interest.accrue(session) == 3
    session.commit()
    totals = {(t.customer_id, t.currency): (t.invoices, t.interest_cents, t.indemnity_cents)
              for t in session.scalars(select(LateChargesTotal))}
    assert totals == {(bistro.id, "EUR"): (2, 2214, 8000), (london.id, "GBP"): (1, 999, None)}

    response = finance_client.post("/exports/balances", data={}, headers=HTMX)
    export_id = re.search(r"/exports/(\d+)", response.get_data(as_text=True)).group(1)
    run_jobs()
    sheet = load_workbook(io.BytesIO(finance_client.get(f"/exports/{export_id}/download").data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = rows[1]
    assert header[-2:] == ["Late-payment interest to 2026-06-15", "Recovery indemnities to 2026-06-15"]
    by_account = {row[0]: row for row in rows[2:]}
    assert [str(v) for v in by_account["C1"][-2:]] == ["22.14", "80"]
    assert by_account["C2"][-2:] == [None, None] and by_account["C3"][-1] is None
