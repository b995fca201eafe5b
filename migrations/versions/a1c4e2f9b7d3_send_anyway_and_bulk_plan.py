"""Send anyway (outbox override reason) and the bulk run's plan and counts (exports.result)

Revision ID: a1c4e2f9b7d3
Revises: 615034a4fc8c
Create Date: 2026-12-02 03:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'a1c4e2f9b7d3'
down_revision = '615034a4fc8c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.add_column(sa.Column('override_reason', sa.String(length=500), nullable=True))
    with op.batch_alter_table('exports') as batch_op:
        batch_op.add_column(sa.Column('result', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('exports') as batch_op:
        batch_op.drop_column('result')
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.drop_column('override_reason')
