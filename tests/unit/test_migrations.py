"""Schema migrations upgrade a database that already holds a ledger, without losing a row."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

FIRST = "33d43d531fb4"


def test_upgrading_a_filled_sqlite_database_keeps_every_row(tmp_path, redis_url):
    from app import create_app

    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
    with app.app_context():
        upgrade(revision=FIRST)
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (id, email, name, password_hash, role, active, created_at) "
                "VALUES (1, 'a@example.test', '', 'x', 'admin', 1, '2026-01-01')"))
            connection.execute(text(
                "INSERT INTO customers (id, account, name, emails, language, created_at, reminders_stopped) "
                "VALUES (1, 'C1', 'Acme', '', 'en', '2026-01-01', 0)"))
            connection.execute(text(
                "INSERT INTO entries (id, customer_id, number, kind, issue_date, due_date, amount_cents, open_cents, "
                "currency, is_open, reminder_level, in_collection, disputed, reminders_stopped) VALUES "
                "(1, 1, 'INV-1', 'invoice', '2026-01-01', '2026-02-01', 10000, 9000, 'EUR', 1, 2, 0, 0, 0)"))
            connection.execute(text(
                "INSERT INTO payments (entry_id, paid_on, amount_cents, reference, created_at) "
                "VALUES (1, '2026-01-10', 1000, 'BANK-1', '2026-01-10')"))
            connection.execute(text(
                "INSERT INTO documents (id, entry_id, filename, storage_name, content_type, size, uploaded_at) "
                "VALUES (7, 1, 'INV-1.pdf', 'abc.pdf', 'application/pdf', 3, '2026-01-10')"))
        upgrade()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT open_cents, reminder_level FROM entries")).one() == (9000, 2)
            assert connection.execute(text("SELECT count(*) FROM payments")).scalar() == 1
            assert connection.execute(text("SELECT collection_case_id FROM entries")).scalar() is None
            assert connection.execute(text("SELECT export_notifications FROM users")).scalar() == "app"
            assert connection.execute(text("SELECT id, entry_id, filename FROM attachments")).all() == [(7, 1, "INV-1.pdf")], \
                "the invoice PDFs attached before the rename are still attached"
            assert connection.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        downgrade(revision=FIRST)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM payments")).scalar() == 1
            assert connection.execute(text("SELECT count(*) FROM documents")).scalar() == 1
        engine.dispose()
        from extensions import db

        db.engine.dispose()


def test_the_migrations_build_the_schema_the_models_describe(tmp_path, redis_url):
    """Every schema change goes through a migration: upgraded to the head, the database has every
    table, column, index, constraint and type the models have, and nothing else."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app import create_app
    from domain.models import Base

    url = f"sqlite:///{tmp_path / 'head.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
    with app.app_context():
        upgrade()
        engine = create_engine(url)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        engine.dispose()
        from extensions import db

        db.engine.dispose()
