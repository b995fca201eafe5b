"""Texts Relance stores and people read later (history and its reasons, notifications, a send's last
error, a run's or an export's message, case tasks, dispute timelines, the reasons of a dispute, a stop or a ⚖️) keep the sentence behind
them (message id and values, JSON) so each reader sees it in their own language; an export and a bulk run keep
the locale of who asked (their browser's when they chose no language).

Revision ID: a7c1e3f5b902
Revises: e5b7c9d1f246
"""
import sqlalchemy as sa
from alembic import op

revision = 'a7c1e3f5b902'
down_revision = 'e5b7c9d1f246'
branch_labels = None
depends_on = None

COLUMNS = (("audit_events", "detail_i18n"), ("notifications", "text_i18n"), ("outbox_messages", "last_error_i18n"),
           ("exports", "message_i18n"), ("bulk_runs", "message_i18n"), ("case_tasks", "text_i18n"),
           ("dispute_events", "text_i18n"), ("entries", "dispute_reason_i18n"), ("audit_events", "reason_i18n"),
           ("customers", "stop_reason_i18n"), ("entries", "stop_reason_i18n"), ("entries", "collection_reason_i18n"))


def upgrade():
    for table, column in COLUMNS:  # a nullable column: added in place, even on SQLite (no table copy)
        op.add_column(table, sa.Column(column, sa.Text(), nullable=True))
    for table in ("exports", "bulk_runs"):  # the locale of who asked, when they asked
        op.add_column(table, sa.Column("locale", sa.String(length=16), nullable=True))


def downgrade():
    for table in ("bulk_runs", "exports"):
        op.drop_column(table, "locale")
    for table, column in reversed(COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
