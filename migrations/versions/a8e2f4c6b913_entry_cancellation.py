"""entry cancellation: entries.cancelled_at, cancelled_by_id, cancel_reason

An entry cancelled by hand (issued by mistake) is kept and listed, with open amount 0, in no balance.

Revision ID: a8e2f4c6b913
Revises: f7a3d9e1c250
Create Date: 2026-12-02 12:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a8e2f4c6b913'
down_revision = 'f7a3d9e1c250'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_entries_cancelled_by_id_users'), 'users', ['cancelled_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_entries_cancelled_by_id_users'), type_='foreignkey')
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_by_id')
        batch_op.drop_column('cancelled_at')
