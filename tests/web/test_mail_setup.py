"""No mail server, no company sender address: admins and finance see it on every page until it is
set; Settings shows the mail server in use (password hidden) and sends a test e-mail."""
HTMX = {"HX-Request": "true"}


def test_finance_sees_the_banner_on_every_page_until_mail_is_set(finance_client, app, session, mail):
    app.config["SMTP_URL"] = None
    for path in ("/", "/due-dates", "/settings/"):
        html = finance_client.get(path).get_data(as_text=True)
        assert "The company has no sender e-mail address" in html and "No mail server is configured" in html
        assert 'href="/settings/#settings-mail"' in html
    app.config["SMTP_URL"] = mail.url
    html = finance_client.get("/").get_data(as_text=True)
    assert "No mail server is configured" not in html and "no sender e-mail address" in html


def test_no_banner_once_set_up(finance_client, company, mail):
    assert 'data-testid="sending-problem"' not in finance_client.get("/").get_data(as_text=True)


def test_support_sees_no_banner(support_client, app):
    app.config["SMTP_URL"] = None
    assert 'data-testid="sending-problem"' not in support_client.get("/").get_data(as_text=True)


def test_settings_shows_the_server_with_its_password_hidden(finance_client, app):
    app.config["SMTP_URL"] = "smtp+starttls://relance:s3cret-pass@mail.example.com:587"
    html = finance_client.get("/settings/").get_data(as_text=True)
    assert "smtp+starttls://relance:•••@mail.example.com:587" in html and "s3cret-pass" not in html


def test_a_test_email_reaches_the_user(finance_client, company, mail):
    html = finance_client.post("/settings/mail/test", headers=HTMX).get_data(as_text=True)
    assert "Sent to finance@relance.test" in html
    (message,) = mail.messages
    assert message["To"] == "finance@relance.test" and message["Subject"] == "Relance: test e-mail"


def test_a_test_email_that_fails_says_why(finance_client, app, company, closed_smtp_url):
    app.config["SMTP_URL"] = closed_smtp_url
    html = finance_client.post("/settings/mail/test", headers=HTMX).get_data(as_text=True)
    assert "Not sent:" in html and "Cannot reach the mail server" in html


def test_support_cannot_send_a_test_email(support_client, mail):
    assert support_client.post("/settings/mail/test", headers=HTMX).status_code == 403


def test_a_malformed_mail_server_address_is_shown_not_a_500(finance_client, app):
    app.config["SMTP_URL"] = "smtp://relance:s3cret@[::1]:abc"
    response = finance_client.get("/settings/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "smtp://relance:•••@[::1]:abc" in html and "s3cret" not in html
    sent = finance_client.post("/settings/mail/test", headers=HTMX).get_data(as_text=True)
    assert "Not sent:" in sent
