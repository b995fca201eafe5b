"""Logins that end for good, failed logins limited (Flask-Limiter on the real Redis), cookies,
security headers, and a `next=` that cannot hurt."""
from __future__ import annotations

import logging
import time

import pytest

from tests.conftest import PASSWORD, login


def _replay(app, **cookies):
    """A fresh browser that only has these cookies."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def _logged_in(client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_logout_ends_the_session_cookie_and_the_remember_cookie_for_good(app, client, users):
    assert login(client, "finance@relance.test", remember=True).status_code == 302
    session_cookie = client.get_cookie("session").value
    remember_cookie = client.get_cookie("remember_token").value
    # Before logout each cookie on its own is a login (so the checks below mean something).
    assert _logged_in(_replay(app, session=session_cookie))
    assert _logged_in(_replay(app, remember_token=remember_cookie))

    client.post("/logout")

    assert not _logged_in(client)
    for replayed in (_replay(app, session=session_cookie), _replay(app, remember_token=remember_cookie),
                     _replay(app, session=session_cookie, remember_token=remember_cookie)):
        response = replayed.get("/customers/C001")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_changing_my_password_ends_my_other_sessions_but_not_this_one(app, users):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "finance@relance.test")
    login(phone, "finance@relance.test", remember=True)
    phone_remember = phone.get_cookie("remember_token").value

    response = laptop.post("/account/password", data={"current_password": PASSWORD, "new_password": "a-new-password-1",
                                                      "confirmation": "a-new-password-1"})
    assert response.status_code == 200 and "Password changed" in response.get_data(as_text=True)

    assert _logged_in(laptop)
    assert not _logged_in(phone)
    assert not _logged_in(_replay(app, remember_token=phone_remember))
    assert login(app.test_client(), "finance@relance.test").status_code == 401  # the old password
    assert login(app.test_client(), "finance@relance.test", "a-new-password-1").status_code == 302


def test_a_deactivated_user_is_refused_at_the_next_request(app, users):
    finance, admin = app.test_client(), app.test_client()
    login(finance, "finance@relance.test", remember=True)
    remember_cookie = finance.get_cookie("remember_token").value
    login(admin, "admin@relance.test")
    assert _logged_in(finance)

    admin.post(f"/settings/users/{users['finance'].id}/active", data={"active": "0"})

    assert not _logged_in(finance)
    assert not _logged_in(_replay(app, remember_token=remember_cookie))
    assert login(app.test_client(), "finance@relance.test").status_code == 401
    # Reactivated, they log in again, but the old cookies stay dead.
    admin.post(f"/settings/users/{users['finance'].id}/active", data={"active": "1"})
    assert not _logged_in(_replay(app, remember_token=remember_cookie))
    assert login(app.test_client(), "finance@relance.test").status_code == 302


# --- failed logins ------------------------------------------------------------------------


def _wrong(client, email="finance@relance.test", **kwargs):
    return login(client, email, "not-the-password", **kwargs)


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(app, client, users, caplog, monkeypatch):
    # Alembic's fileConfig (migrations/env.py, run in-process by the migration tests) disables the
    # loggers that exist then; a real server never migrates in-process.
    monkeypatch.setattr(app.logger, "disabled", False)
    caplog.set_level(logging.WARNING)
    for _ in range(5):
        assert _wrong(client).status_code == 401
    refused = login(client, "Finance@Relance.test")  # the right password, the e-mail in other case
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "Too many attempts, try again in 15 minutes." in html, html[-800:]
    assert '<input id="email"' in html  # the login page, with its form
    assert not _logged_in(client)
    # Another account from the same address is not locked.
    assert login(app.test_client(), "support@relance.test").status_code == 302
    messages = [record.getMessage() for record in caplog.records]
    assert sum("Failed login for 'finance@relance.test' from 127.0.0.1" in m for m in messages) == 5
    assert any("Login refused (too many failed attempts) for 'finance@relance.test'" in m for m in messages)


def test_twenty_wrong_passwords_from_one_address_lock_that_address(app, users):
    client = app.test_client()
    address = {"environ_base": {"REMOTE_ADDR": "203.0.113.7"}}
    for number in range(20):
        assert _wrong(client, f"guess{number}@relance.test", **address).status_code == 401
    assert login(client, "admin@relance.test", **address).status_code == 429
    assert login(app.test_client(), "admin@relance.test",
                 environ_base={"REMOTE_ADDR": "203.0.113.8"}).status_code == 302


def test_only_wrong_passwords_count(app, users):
    client = app.test_client()
    for _ in range(8):
        assert login(client, "finance@relance.test").status_code == 302
        client.post("/logout")
    for _ in range(4):
        assert _wrong(client).status_code == 401
    assert login(client, "finance@relance.test").status_code == 302


def test_failed_logins_are_counted_in_redis_for_every_web_process(app_config, client, users):
    """A second app (another gunicorn worker, another host) sees the same counts."""
    from app import create_app

    for _ in range(5):
        _wrong(client)
    other_process = create_app(dict(app_config))
    assert login(other_process.test_client(), "finance@relance.test").status_code == 429


def test_login_works_when_redis_cannot_be_reached(app_config, users, tmp_path, caplog):
    """Documented choice: without Redis, failed logins are counted in the process's memory."""
    from app import create_app

    broken = create_app({**app_config, "REDIS_URL": f"unix://{tmp_path}/no-redis.sock"})
    client = broken.test_client()
    assert login(client, "finance@relance.test").status_code == 302
    client.post("/logout")
    for _ in range(5):
        assert _wrong(client).status_code == 401
    assert login(client, "finance@relance.test").status_code == 429


def test_unknown_and_known_emails_are_refused_in_the_same_time(client, users):
    """Without a dummy hash an unknown e-mail is refused ~50x faster: the ratio tells."""

    def timed(email):
        start = time.perf_counter()
        assert _wrong(client, email).status_code == 401
        return time.perf_counter() - start

    timed("nobody@relance.test")  # the dummy hash is made on first use
    known = min(timed("finance@relance.test") for _ in range(3))
    unknown = min(timed("nobody@relance.test") for _ in range(3))
    assert 0.4 < unknown / known < 2.5, (known, unknown)


# --- cookies and headers -----------------------------------------------------------------


def _set_cookie(response, name):
    return next(header for header in response.headers.getlist("Set-Cookie") if header.startswith(name + "="))


def test_the_remember_cookie_is_httponly_and_samesite_lax(client, users):
    response = login(client, "finance@relance.test", remember=True)
    remember = _set_cookie(response, "remember_token")
    assert "HttpOnly" in remember and "SameSite=Lax" in remember
    assert "Secure" not in remember  # development over plain http


def test_in_production_the_remember_cookie_is_secure(app_config, users, monkeypatch):
    from app import create_app

    monkeypatch.setenv("RELANCE_ENV", "production")
    monkeypatch.setenv("RELANCE_SECRET_KEY", "a-production-secret")
    monkeypatch.delenv("RELANCE_INSECURE_COOKIES", raising=False)
    production = create_app({key: value for key, value in app_config.items() if key != "SECRET_KEY"})
    response = login(production.test_client(), "finance@relance.test", remember=True)
    assert response.status_code == 302
    for name in ("remember_token", "session"):
        cookie = _set_cookie(response, name)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie


def test_every_response_carries_the_security_headers(app, client, finance_client):
    responses = [
        app.test_client().get("/login"),
        app.test_client().get("/"),  # a redirect to the login
        finance_client.get("/"),
        finance_client.get("/?level=3", headers={"HX-Request": "true"}),  # a fragment
        finance_client.get("/customers/NOPE"),  # an error page
        finance_client.get("/static/css/app.css"),
    ]
    for response in responses:
        headers = response.headers
        policy = headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("url", ["/", "/due-dates", "/collection/", "/exports/", "/follow-up/", "/reminders/deliveries",
                                 "/settings/", "/settings/users/", "/account/", "/notifications/",
                                 "/settings/templates/", "/settings/templates/email/R1/en", "/notifications/bell",
                                 "/imports/", "/login"])
def test_pages_have_no_inline_script_or_style(admin_client, url):
    import re

    response = admin_client.get(url, follow_redirects=True)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline <script>"
    assert "<style" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    for trigger in re.findall(r'hx-trigger="([^"]*)"', html):  # an event filter, e.g. change[...], needs eval
        assert not any("[" in spec.split()[0] for spec in trigger.split(",") if spec.strip()), trigger


# --- next= --------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["%0d%0a/x", "/%0d%0a/x", "%00", "/a%00b", "/ok%0d%0aSet-Cookie:%20x=1", "/%5Cevil.test",
                                 "//evil.test", "https://evil.test/", "/%09/evil.test", "/%7F"])
def test_an_odd_next_is_ignored(client, users, raw):
    response = client.post(f"/login?next={raw}", data={"email": "finance@relance.test", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_plain_next_is_followed(client, users):
    response = client.post("/login?next=/customers/C001%3Ftab%3Dhistory",
                           data={"email": "finance@relance.test", "password": PASSWORD})
    assert response.headers["Location"] == "/customers/C001?tab=history"


def test_an_htmx_request_after_the_login_ended_sends_the_browser_to_the_login_page(client, users):
    from tests.conftest import login

    login(client, "finance@relance.test")
    client.post("/logout")
    response = client.get("/customers/C1/history", headers={"HX-Request": "true",
                                                            "HX-Current-URL": "http://localhost/customers/C1?x=1"})
    assert response.status_code == 401 and response.get_data() == b""
    assert response.headers["HX-Redirect"] == "/login?next=/customers/C1?x%3D1"
    plain = client.get("/due-dates?sort=number")
    assert plain.status_code == 302 and plain.headers["Location"] == "/login?next=/due-dates?sort%3Dnumber"
