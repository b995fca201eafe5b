"""Settings → Users (admin only), My account, and `flask --app app users …`: the same rules
everywhere (the last active admin stays), every change in the history."""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.models import AuditEvent, User
from domain.users import UserError, create_user, set_role
from tests.conftest import PASSWORD, login

HTMX = {"HX-Request": "true"}


def _user(email: str) -> User | None:
    from extensions import db

    db.session.expire_all()
    return db.session.scalar(select(User).filter_by(email=email))


def _count() -> int:
    from extensions import db

    return db.session.scalar(select(func.count()).select_from(User))


def _shown_password(html: str) -> str:
    return re.search(r"data-shown-password>([^<]+)<", html).group(1)


def _history(client) -> str:
    html = client.get("/settings/users/").get_data(as_text=True)
    return html.split('<section class="card" id="users-history"')[1]


@pytest.mark.parametrize("who", ["finance", "support"])
def test_only_admins_manage_users(client, users, who):
    login(client, f"{who}@relance.test")
    for response in (client.get("/settings/users/"),
                     client.post("/settings/users/", data={"email": "x@relance.test", "role": "admin"}),
                     client.post(f"/settings/users/{users[who].id}/role", data={"role": "admin"})):
        assert response.status_code == 403
        assert "Your role does not allow this." in response.get_data(as_text=True)
    assert _user("x@relance.test") is None
    assert users[who].role == who
    assert 'href="/settings/users/"' not in client.get("/").get_data(as_text=True)


def test_admins_see_every_user_and_a_users_link(admin_client, users):
    assert 'href="/settings/users/"' in admin_client.get("/").get_data(as_text=True)
    html = admin_client.get("/settings/users/").get_data(as_text=True)
    for role in ("admin", "finance", "support"):
        assert f'data-user="{role}@relance.test"' in html
    assert "Last login" in html


def test_create_a_user_with_a_generated_password_shown_once(app, admin_client, users):
    response = admin_client.post("/settings/users/", headers=HTMX,
                                 data={"email": "Jane@Relance.test", "name": "Jane Doe", "role": "finance", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    password = _shown_password(html)
    assert len(password) >= 16
    assert 'data-user="jane@relance.test"' in html and 'hx-swap-oob="true"' in html  # the list, refreshed
    assert password not in admin_client.get("/settings/users/").get_data(as_text=True)  # shown once only
    assert login(app.test_client(), "jane@relance.test", password).status_code == 302
    assert "Admin" in _history(admin_client) and "Created Jane Doe (jane@relance.test) as Finance" in _history(admin_client)


def test_create_a_user_with_a_password_set_by_the_admin(app, admin_client, users):
    response = admin_client.post("/settings/users/", data={"email": "sam@relance.test", "role": "support",
                                                          "password": "chosen-by-admin"})
    assert response.status_code == 200 and "data-shown-password" not in response.get_data(as_text=True)
    assert login(app.test_client(), "sam@relance.test", "chosen-by-admin").status_code == 302


@pytest.mark.parametrize("form, message", [
    ({"email": "finance@relance.test", "role": "finance", "password": "long-enough"}, "A user finance@relance.test already exists."),
    ({"email": "new@relance.test", "role": "finance", "password": "short"}, "at least 8 characters"),
    ({"email": "new@relance.test", "role": "boss", "password": "long-enough"}, "Unknown role"),
    ({"email": "not-an-address", "role": "finance", "password": "long-enough"}, "is not an e-mail address"),
])
def test_a_refused_user_says_why_and_keeps_the_form(admin_client, users, form, message):
    swapped = admin_client.post("/settings/users/", headers=HTMX, data=form)
    assert swapped.status_code == 200 and message in swapped.get_data(as_text=True)
    assert f'value="{form["email"]}"' in swapped.get_data(as_text=True)
    plain = admin_client.post("/settings/users/", data=form)
    assert plain.status_code == 400 and message in plain.get_data(as_text=True)
    assert _count() == 3


def test_change_a_role_and_see_it_in_the_history(app, session, admin_client, users):
    response = admin_client.post(f"/settings/users/{users['finance'].id}/role", headers=HTMX, data={"role": "support"})
    assert "Finance is now Support." in response.get_data(as_text=True)
    assert 'id="users-history" aria-labelledby="users-history-title" hx-swap-oob="true"' in response.get_data(as_text=True)
    assert _user("finance@relance.test").role == "support"
    assert "Role of Finance (finance@relance.test): Finance → Support" in _history(admin_client)
    event = session.scalars(select(AuditEvent).filter_by(action="user.role")).one()
    assert (event.actor_id, event.subject_user_id) == (users["admin"].id, users["finance"].id)
    finance = app.test_client()
    login(finance, "finance@relance.test")
    assert finance.post("/entries/1/stop-reminders", data={"stopped": "1", "reason": "x"}).status_code == 403


def test_the_last_active_admin_cannot_be_demoted(admin_client, users):
    response = admin_client.post(f"/settings/users/{users['admin'].id}/role", headers=HTMX, data={"role": "finance"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Admin (admin@relance.test) is the last active admin: make another user admin first" in html
    assert 'role="alert"' in html
    assert _user("admin@relance.test").role == "admin"
    assert admin_client.post(f"/settings/users/{users['admin'].id}/role", data={"role": "finance"}).status_code == 400
    # With a second admin, the first may step down.
    admin_client.post(f"/settings/users/{users['finance'].id}/role", data={"role": "admin"})
    admin_client.post(f"/settings/users/{users['admin'].id}/role", data={"role": "finance"})
    assert _user("admin@relance.test").role == "finance"


def test_nobody_deactivates_themselves(admin_client, users):
    html = admin_client.post(f"/settings/users/{users['admin'].id}/active", headers=HTMX,
                             data={"active": "0"}).get_data(as_text=True)
    assert "You cannot deactivate your own account" in html
    assert _user("admin@relance.test").active


def test_deactivate_and_reactivate_are_in_the_history(admin_client, users):
    admin_client.post(f"/settings/users/{users['support'].id}/active", data={"active": "0"})
    html = admin_client.get("/settings/users/").get_data(as_text=True)
    assert re.search(r'data-user="support@relance.test" class="muted".*?Deactivated', html, re.S)
    admin_client.post(f"/settings/users/{users['support'].id}/active", data={"active": "1"})
    history = _history(admin_client)
    assert history.index("Reactivated Support") < history.index("Deactivated Support")  # newest first


def test_reset_a_password_generated_or_set_by_the_admin(app, admin_client, users):
    support = app.test_client()
    login(support, "support@relance.test")
    html = admin_client.post(f"/settings/users/{users['support'].id}/password", headers=HTMX,
                             data={"password": ""}).get_data(as_text=True)
    password = _shown_password(html)
    assert "logged out everywhere" in html
    assert support.get("/").status_code == 302  # their open session ended
    assert login(app.test_client(), "support@relance.test").status_code == 401
    assert login(app.test_client(), "support@relance.test", password).status_code == 302

    admin_client.post(f"/settings/users/{users['support'].id}/password", data={"password": "set-by-the-admin"})
    assert login(app.test_client(), "support@relance.test", "set-by-the-admin").status_code == 302
    refused = admin_client.post(f"/settings/users/{users['support'].id}/password", headers=HTMX, data={"password": "short"})
    assert "at least 8 characters" in refused.get_data(as_text=True)
    assert _history(admin_client).count("Password of Support (support@relance.test) reset") == 2


def test_an_unknown_user_is_a_404(admin_client, users):
    assert admin_client.post("/settings/users/999999/role", data={"role": "admin"}).status_code == 404


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, session, users):
    """Each request alone is allowed (there are two admins); together they would leave none."""
    from extensions import db

    second = create_user(session, "admin2@relance.test", PASSWORD, "admin")
    session.commit()
    first_id, second_id, engine = users["admin"].id, second.id, db.engine
    one = Session(engine)
    set_role(one, one.get(User, first_id), one.get(User, second_id), "finance")
    one.flush()  # the first demotion is written, not yet committed
    outcome = []

    def other_admin():
        two = Session(engine)
        try:
            set_role(two, two.get(User, second_id), two.get(User, first_id), "finance")
            two.commit()
            outcome.append("demoted")
        except UserError as problem:
            two.rollback()
            outcome.append(str(problem))
        finally:
            two.close()

    thread = threading.Thread(target=other_admin)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "the second demotion waits for the first"
    one.commit()
    one.close()
    thread.join(20)
    assert len(outcome) == 1 and "is the last active admin" in outcome[0]
    session.expire_all()
    assert [u.email for u in session.scalars(select(User).filter_by(role="admin", active=True))] == ["admin@relance.test"]


# --- My account ---------------------------------------------------------------------------


def test_my_account_is_linked_from_my_name(support_client):
    html = support_client.get("/").get_data(as_text=True)
    assert re.search(r'<summary[^>]*>Support <small class="role">Support</small></summary>', html)  # the user's menu
    assert re.search(r'<a href="/account/"[^>]*>My account</a>', html)
    assert support_client.get("/account/").status_code == 200


def test_change_my_name_and_language(support_client, users):
    response = support_client.post("/account/profile", headers=HTMX, data={"name": "Sue Port", "language": "fr"})
    assert response.status_code == 200 and "Enregistré." in response.get_data(as_text=True)  # said in the new language
    user = _user("support@relance.test")
    assert (user.name, user.language) == ("Sue Port", "fr")
    assert "Sue Port" in support_client.get("/").get_data(as_text=True)
    refused = support_client.post("/account/profile", data={"name": "Sue", "language": "de"})
    assert refused.status_code == 400 and "English, Français" in refused.get_data(as_text=True)
    assert _user("support@relance.test").language == "fr"


@pytest.mark.parametrize("form, field, message", [
    ({"current_password": "wrong-one", "new_password": "a-new-password", "confirmation": "a-new-password"},
     "current_password", "This is not your current password."),
    ({"current_password": PASSWORD, "new_password": "short", "confirmation": "short"},
     "new_password", "at least 8 characters"),
    ({"current_password": PASSWORD, "new_password": "a-new-password", "confirmation": "another-one"},
     "confirmation", "The two new passwords differ."),
])
def test_my_password_change_needs_the_current_one(app, finance_client, users, form, field, message):
    response = finance_client.post("/account/password", headers=HTMX, data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f'data-field-error="{field}"' in html and message in html
    assert login(app.test_client(), "finance@relance.test").status_code == 302  # unchanged


# --- flask --app app users … ----------------------------------------------------------------


def _cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["users", *args], input=input)


def test_cli_manages_users_with_the_same_rules(app, client, users):
    assert _cli(app, "set-role", "finance@relance.test", "support").exit_code == 0
    assert _user("finance@relance.test").role == "support"

    result = _cli(app, "set-role", "admin@relance.test", "finance")
    assert result.exit_code == 1 and "is the last active admin" in result.output and "Traceback" not in result.output
    result = _cli(app, "deactivate", "ADMIN@relance.test")
    assert result.exit_code == 1 and "is the last active admin" in result.output

    assert _cli(app, "deactivate", "support@relance.test").exit_code == 0
    assert login(client, "support@relance.test").status_code == 401
    assert _cli(app, "activate", "support@relance.test").exit_code == 0
    assert login(client, "support@relance.test").status_code == 302

    result = _cli(app, "set-password", "support@relance.test", input="brand-new-pass\nbrand-new-pass\n")
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "support@relance.test", "brand-new-pass").status_code == 302
    assert "at least 8 characters" in _cli(app, "set-password", "support@relance.test", "--password", "short").output

    result = _cli(app, "set-role", "nobody@relance.test", "admin")
    assert result.exit_code == 1 and "Error: there is no user nobody@relance.test" in result.output


def test_cli_changes_are_in_the_history(app, admin_client, users):
    _cli(app, "create", "cli@relance.test", "--password", "a-long-password", "--role", "support")
    _cli(app, "set-role", "cli@relance.test", "finance")
    history = _history(admin_client)
    assert "Command line" in history
    assert "Created cli@relance.test as Support" in history and "Role of cli@relance.test: Support → Finance" in history
