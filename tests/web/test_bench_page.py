"""The bare page `make bench` compares real pages against: only there with BENCH_ROUTES."""
import pytest

from tests.conftest import PASSWORD, login


@pytest.fixture
def bench_app(database_url, redis_url, tmp_path, pinned_today):
    from app import create_app

    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "WTF_CSRF_ENABLED": False,
        "EXPORT_DIR": str(tmp_path / "exports"),
        "ATTACHMENT_DIR": str(tmp_path / "documents"),
        "BENCH_ROUTES": True,
    })
    with app.app_context():
        yield app
        from extensions import db

        db.session.remove()
        db.engine.dispose()


def test_bare_page_renders_50_rows(bench_app):
    from domain.users import create_user
    from extensions import db

    create_user(db.session, "finance@relance.test", PASSWORD, "finance", name="Finance")
    db.session.commit()
    client = bench_app.test_client()
    assert login(client, "finance@relance.test").status_code == 302

    response = client.get("/bench/bare")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-testid="bench-table"' in html
    assert html.count("<tr data-account=") == 50
    assert 'class="topbar"' in html  # the same layout as the real pages


def test_bare_page_needs_login(bench_app):
    response = bench_app.test_client().get("/bench/bare")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_no_bench_routes_without_the_setting(finance_client):
    assert finance_client.get("/bench/bare").status_code == 404
