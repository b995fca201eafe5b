"""Send to agency: a ready collection file e-mailed to a collection agency from the worker."""
from datetime import timedelta

import jobs.base
from domain.models import AuditEvent, CollectionAgency, CollectionCase, CompanySettings, Notification
from tests.conftest import login

HTMX = {"HX-Request": "true"}


def send(client, export, agency):
    return client.post(f"/exports/{export.id}/agency", data={"agency_id": agency.id}, headers=HTMX)


def refusal(client, export) -> str:
    response = client.get(f"/exports/{export.id}/agency", headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-state="refused"' in html
    return html


def test_a_ready_collection_file_offers_send_to_agency(finance_client, collection_file):
    export, case, _ = collection_file()
    status = finance_client.get(f"/exports/{export.id}/status").get_data(as_text=True)
    assert "Send to agency" in status and f'hx-get="/exports/{export.id}/agency"' in status
    assert "Send to agency" in finance_client.get("/exports/").get_data(as_text=True)


def test_no_offer_without_a_case_or_for_support(client, users, collection_file):
    export, _, _ = collection_file(with_case=False)
    login(client, "finance@relance.test")
    assert "Send to agency" not in client.get(f"/exports/{export.id}/status").get_data(as_text=True)
    assert "no collection case" in refusal(client, export)


def test_the_dialog_lists_only_active_agencies(finance_client, session, collection_file, company, agency):
    session.add(CollectionAgency(name="Old Agency", email="old@agency.test", active=False))
    session.commit()
    export, _, _ = collection_file()
    html = finance_client.get(f"/exports/{export.id}/agency", headers=HTMX).get_data(as_text=True)
    assert 'data-state="choose"' in html and "Gcollect" in html and "Old Agency" not in html


def test_the_file_goes_to_the_agency_and_the_case_says_so(
        finance_client, users, session, collection_file, company, agency, mail, run_jobs):
    export, case, zip_bytes = collection_file()
    response = send(finance_client, export, agency)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-state="sending"' in html and f'hx-get="/exports/{export.id}/agency/status"' in html
    session.expire_all()
    assert session.get(CollectionCase, case.id).status == "open", "nothing changes before the mail went out"

    run_jobs()

    (envelope,) = mail.envelopes
    assert envelope.rcpt_tos == ["recouvrement@gcollect.test"]
    assert envelope.mail_from == "billing@acme-sarl.test"
    (message,) = mail.messages
    assert message["Subject"] == "Collection file — Acme SARL — SIREN 732829320"
    assert message["From"].addresses[0].addr_spec == "billing@acme-sarl.test"
    assert message["Reply-To"].addresses[0].addr_spec == "finance@relance.test"
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "Bistro du Port 2026-06-15.zip"
    assert attachment.get_content_type() == "application/zip"
    assert attachment.get_content() == zip_bytes == (jobs.base.export_path(export) / export.filename).read_bytes()
    body = message.get_body(("plain",)).get_content()
    assert "Bistro du Port" in body and "INV-1001" in body and "INV-1002" in body and "finance@relance.test" in body

    session.expire_all()
    case = session.get(CollectionCase, case.id)
    assert (case.status, case.agency_id) == ("sent_to_agency", agency.id)
    assert case.sent_at is not None and case.status_changed_at == case.sent_at
    event = session.query(AuditEvent).filter_by(action="collection_file.sent").one()
    assert event.customer_id == case.customer_id and event.actor_id == users["finance"].id
    assert "Gcollect" in event.detail
    history = finance_client.get("/customers/C001/history").get_data(as_text=True)
    assert "Collection file sent to Gcollect" in history

    state = finance_client.get(f"/exports/{export.id}/agency/status")
    assert 'data-state="sent"' in state.get_data(as_text=True) and state.headers["HX-Trigger"] == "exportChanged"
    assert "Sent to Gcollect" in state.get_data(as_text=True)
    assert "was sent to Gcollect" in session.query(Notification).one().text
    assert "Sent to Gcollect on" in finance_client.get("/exports/").get_data(as_text=True)


def test_a_double_click_sends_once(finance_client, collection_file, company, agency, mail, run_jobs):
    export, _, _ = collection_file()
    send(finance_client, export, agency)
    again = send(finance_client, export, agency).get_data(as_text=True)
    assert "already on its way" in again
    run_jobs()
    assert len(mail.messages) == 1


def test_smtp_down_leaves_the_case_unchanged_and_tells_the_user(
        finance_client, app, session, collection_file, company, agency, closed_smtp_url, run_jobs):
    app.config["SMTP_URL"] = closed_smtp_url
    export, case, _ = collection_file()
    send(finance_client, export, agency)
    run_jobs()

    session.expire_all()
    case = session.get(CollectionCase, case.id)
    assert (case.status, case.agency_id, case.sent_at) == ("open", None, None)
    assert session.query(AuditEvent).filter_by(action="collection_file.sent").count() == 0
    html = finance_client.get(f"/exports/{export.id}/agency/status").get_data(as_text=True)
    assert 'data-state="failed"' in html and "Cannot reach the mail server" in html and "Try again" in html
    text = session.query(Notification).one().text
    assert "was not sent to Gcollect" in text and "Cannot reach the mail server" in text
    assert 'data-unread="1"' in finance_client.get("/notifications/bell").get_data(as_text=True)


def test_without_a_mail_server_the_send_fails_cleanly(
        finance_client, app, session, collection_file, company, agency, run_jobs):
    app.config["SMTP_URL"] = None
    export, case, _ = collection_file()
    send(finance_client, export, agency)
    run_jobs()
    session.expire_all()
    assert session.get(CollectionCase, case.id).status == "open"
    html = finance_client.get(f"/exports/{export.id}/agency/status").get_data(as_text=True)
    assert "RELANCE_SMTP_URL" in html


# --- Refusals, said inline ---------------------------------------------------------------------

def test_refused_without_a_siren(finance_client, session, collection_file, agency, run_jobs):
    session.add(CompanySettings(name="Acme SARL", registration_number="", sender_email="billing@acme-sarl.test"))
    session.commit()
    export, _, _ = collection_file()
    assert "SIREN in Settings → Company first" in refusal(finance_client, export)
    html = send(finance_client, export, agency).get_data(as_text=True)
    assert "SIREN in Settings → Company first" in html and 'data-state="choose"' in html
    assert jobs.base.queue().count == 0


def test_refused_without_a_sender_email(finance_client, session, collection_file, agency):
    session.add(CompanySettings(name="Acme SARL", registration_number="732829320", sender_email=""))
    session.commit()
    export, _, _ = collection_file()
    assert "sender e-mail" in refusal(finance_client, export)


def test_refused_without_an_agency(finance_client, session, collection_file, company):
    export, _, _ = collection_file()
    assert "no collection agency yet" in refusal(finance_client, export)


def test_refused_for_an_inactive_agency(finance_client, session, collection_file, company, agency, run_jobs):
    session.add(CollectionAgency(name="Old Agency", email="old@agency.test", active=False))
    session.commit()
    old = session.query(CollectionAgency).filter_by(name="Old Agency").one()
    export, _, _ = collection_file()
    assert "Choose one of the active" in send(finance_client, export, old).get_data(as_text=True)
    assert jobs.base.queue().count == 0


def test_refused_once_expired(finance_client, session, collection_file, company, agency, run_jobs):
    export, _, _ = collection_file(expires_in=-timedelta(hours=1))
    assert "expired on" in refusal(finance_client, export)
    assert "expired on" in send(finance_client, export, agency).get_data(as_text=True)
    assert jobs.base.queue().count == 0
    assert "Send to agency" not in finance_client.get(f"/exports/{export.id}/status").get_data(as_text=True)


def test_support_may_not_send(client, users, session, collection_file, company, agency, run_jobs):
    export, _, _ = collection_file(owner="support")
    login(client, "support@relance.test")
    assert "Send to agency" not in client.get(f"/exports/{export.id}/status").get_data(as_text=True)
    assert "Your role does not allow" in refusal(client, export)
    assert "Your role does not allow" in send(client, export, agency).get_data(as_text=True)
    assert jobs.base.queue().count == 0


def test_only_the_owner_or_an_admin_may_send(client, users, session, collection_file, company, agency, mail, run_jobs):
    from domain.users import create_user
    from tests.conftest import PASSWORD

    create_user(session, "finance2@relance.test", PASSWORD, "finance")
    session.commit()
    export, case, _ = collection_file()
    login(client, "finance2@relance.test")
    assert send(client, export, agency).status_code == 404, "someone else's export is not found"
    client.post("/logout")

    login(client, "admin@relance.test")
    assert 'data-state="sending"' in send(client, export, agency).get_data(as_text=True)
    run_jobs()
    (message,) = mail.messages
    assert message["Reply-To"].addresses[0].addr_spec == "admin@relance.test"
    session.expire_all()
    assert session.get(CollectionCase, case.id).status == "sent_to_agency"


def test_a_closed_case_is_not_sent(finance_client, session, collection_file, company, agency):
    export, case, _ = collection_file()
    case.status = "paid"
    session.commit()
    assert "“Paid”" in refusal(finance_client, export)


def test_a_sent_case_can_be_sent_again(finance_client, session, collection_file, company, agency, mail, run_jobs):
    export, case, _ = collection_file()
    send(finance_client, export, agency)
    run_jobs()
    session.expire_all()  # the test shares the requests' session; the job committed in its own
    offer = finance_client.get(f"/exports/{export.id}/status").get_data(as_text=True)
    assert "Send again" in offer
    send(finance_client, export, agency)
    run_jobs()
    assert len(mail.messages) == 2
