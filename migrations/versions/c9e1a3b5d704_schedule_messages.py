"""messages about payment schedules: outbox_messages.kind (a reminder, the plan agreed, an instalment
coming or overdue) and instalments.reminded_offset (the last plan step sent for an instalment)

Revision ID: c9e1a3b5d704
Revises: b7d9f1a3c582
Create Date: 2026-12-07 11:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c9e1a3b5d704'
down_revision = 'b7d9f1a3c582'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='reminder', nullable=False))
    with op.batch_alter_table('instalments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_offset', sa.SmallInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('instalments', schema=None) as batch_op:
        batch_op.drop_column('reminded_offset')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('kind')
