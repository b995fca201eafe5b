"""Configuration by environment (RELANCE_*), the production secret-key rule, and `users create`."""
from __future__ import annotations

import stat

import pytest

from tests.conftest import login

SETTINGS = ("RELANCE_ENV", "RELANCE_SECRET_KEY", "RELANCE_DATABASE_URL", "RELANCE_REDIS_URL", "RELANCE_SMTP_URL",
            "RELANCE_PORT", "RELANCE_INSECURE_COOKIES", "RELANCE_INSTANCE_PATH", "RELANCE_STORAGE_DIR")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No RELANCE_* from the machine running the tests; an instance folder of this test's own."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RELANCE_INSTANCE_PATH", str(tmp_path / "instance"))
    return monkeypatch


def _create_app(test_config=None):
    from app import create_app

    return create_app(test_config)


def test_files_live_under_the_storage_dir_a_shared_volume_can_hold(clean_env, tmp_path):
    default = _create_app({"TESTING": True})
    assert default.config["EXPORT_DIR"] == str(tmp_path / "instance" / "exports")
    assert default.config["ATTACHMENT_DIR"] == str(tmp_path / "instance" / "documents")

    clean_env.setenv("RELANCE_STORAGE_DIR", str(tmp_path / "shared"))
    app = _create_app({"TESTING": True})
    assert app.config["EXPORT_DIR"] == str(tmp_path / "shared" / "exports")
    assert app.config["ATTACHMENT_DIR"] == str(tmp_path / "shared" / "documents")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'relance.db'}"


def test_production_without_a_secret_key_refuses_to_start(clean_env, tmp_path):
    from app import ConfigError

    clean_env.setenv("RELANCE_ENV", "production")
    with pytest.raises(ConfigError, match="RELANCE_SECRET_KEY") as raised:
        _create_app()
    assert isinstance(raised.value, RuntimeError)
    assert not (tmp_path / "instance" / "secret_key").exists()  # no silent default written either


def test_production_with_an_empty_secret_key_refuses_to_start(clean_env):
    from app import ConfigError

    clean_env.setenv("RELANCE_ENV", "production")
    clean_env.setenv("RELANCE_SECRET_KEY", "")
    with pytest.raises(ConfigError, match="RELANCE_SECRET_KEY"):
        _create_app()


def test_production_uses_the_secret_key_and_secure_cookies(clean_env, tmp_path):
    clean_env.setenv("RELANCE_ENV", "production")
    clean_env.setenv("RELANCE_SECRET_KEY", "a-production-secret")
    app = _create_app()
    assert app.config["SECRET_KEY"] == app.secret_key == "a-production-secret"
    assert app.config["ENV_NAME"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_production_cookies_over_plain_http_only_when_asked(clean_env):
    clean_env.setenv("RELANCE_ENV", "production")
    clean_env.setenv("RELANCE_SECRET_KEY", "a-production-secret")
    clean_env.setenv("RELANCE_INSECURE_COOKIES", "1")
    assert _create_app().config["SESSION_COOKIE_SECURE"] is False


def test_development_keeps_a_generated_secret_key_in_the_instance_folder(clean_env, tmp_path):
    first = _create_app()
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.read_text().strip() == first.secret_key and len(first.secret_key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert _create_app().secret_key == first.secret_key  # logins survive a restart
    assert first.config.get("SESSION_COOKIE_SECURE") is False  # plain http://localhost works


def test_development_uses_a_secret_key_from_the_environment(clean_env, tmp_path):
    clean_env.setenv("RELANCE_SECRET_KEY", "from-the-environment")
    assert _create_app().secret_key == "from-the-environment"
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_settings_are_read_from_the_environment(clean_env):
    clean_env.setenv("RELANCE_DATABASE_URL", "sqlite:////tmp/relance-config-test.db")
    clean_env.setenv("RELANCE_REDIS_URL", "redis://redis.example:6380/3")
    clean_env.setenv("RELANCE_SMTP_URL", "smtp://mailer:secret@smtp.example:587")
    clean_env.setenv("RELANCE_PORT", "8123")
    config = _create_app({"TESTING": True}).config
    assert config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/relance-config-test.db"
    assert config["REDIS_URL"] == "redis://redis.example:6380/3"
    assert config["SMTP_URL"] == "smtp://mailer:secret@smtp.example:587"
    assert config["PORT"] == 8123


def test_defaults_without_environment(clean_env, tmp_path):
    app = _create_app({"TESTING": True})
    assert app.instance_path == str(tmp_path / "instance")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'relance.db'}"
    assert app.config["REDIS_URL"] is None  # `serve` then starts the bundled redis-server
    assert app.config["SMTP_URL"] is None
    assert app.config["PORT"] == 5000
    assert app.config["ENV_NAME"] == "development"
    assert app.config["EXPORT_DIR"] == str(tmp_path / "instance" / "exports")


def test_test_config_overrides_the_environment(clean_env):
    clean_env.setenv("RELANCE_REDIS_URL", "redis://from-env:6379/0")
    clean_env.setenv("RELANCE_PORT", "8123")
    config = _create_app({"TESTING": True, "REDIS_URL": "redis://from-test:6379/1", "PORT": 9000}).config
    assert config["REDIS_URL"] == "redis://from-test:6379/1"
    assert config["PORT"] == 9000


def test_serve_reads_the_port_from_the_environment(clean_env):
    """`flask serve` binds RELANCE_PORT; the --port option wins over it (checked without binding)."""
    from cli.serve import serve

    clean_env.setenv("RELANCE_PORT", "8123")
    assert _create_app({"TESTING": True}).config["PORT"] == 8123
    port_option = next(param for param in serve.params if param.name == "port")
    assert port_option.default is None  # so the app's PORT (RELANCE_PORT) is used


def test_serve_prints_the_login_that_the_demo_data_creates():
    from cli.serve import DEMO_LOGIN

    demo = pytest.importorskip("demo.generator")
    assert DEMO_LOGIN == demo.DEMO_LOGIN


# --- flask --app app users create ---------------------------------------------------------


def _users_create(app, *args):
    return app.test_cli_runner().invoke(args=["users", "create", *args])


def test_users_create_makes_a_user_who_can_log_in(app, client):
    result = _users_create(app, "New.Person@Relance.test", "--password", "a-long-password", "--role", "finance",
                           "--name", "New Person")
    assert result.exit_code == 0, result.output
    assert "Created finance new.person@relance.test" in result.output

    response = login(client, "new.person@relance.test", "a-long-password")
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_users_create_refuses_an_unknown_role(app, client):
    result = _users_create(app, "someone@relance.test", "--password", "a-long-password", "--role", "boss")
    assert result.exit_code != 0
    assert "--role" in result.output and "boss" in result.output and "finance" in result.output
    assert login(client, "someone@relance.test", "a-long-password").status_code == 401


def test_users_create_refuses_a_short_password(app, client):
    result = _users_create(app, "someone@relance.test", "--password", "short", "--role", "admin")
    assert result.exit_code == 1
    assert "Error: the password must have at least 8 characters" in result.output
    assert "Traceback" not in result.output
    assert login(client, "someone@relance.test", "short").status_code == 401


def test_users_create_refuses_a_second_user_with_the_same_email(app):
    assert _users_create(app, "twice@relance.test", "--password", "a-long-password", "--role", "support").exit_code == 0
    result = _users_create(app, "TWICE@relance.test", "--password", "another-password", "--role", "admin")
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_users_create_requires_a_role(app):
    result = _users_create(app, "someone@relance.test", "--password", "a-long-password")
    assert result.exit_code != 0
    assert "Missing option '--role'" in result.output
