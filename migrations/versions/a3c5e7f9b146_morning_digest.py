"""morning digest: users.morning_digest, digest_deliveries (one per user and day)

Revision ID: a3c5e7f9b146
Revises: f1b3d5e7a924
Create Date: 2026-12-07 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a3c5e7f9b146'
down_revision = 'f1b3d5e7a924'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('morning_digest', sa.Boolean(), server_default='0', nullable=False))
    op.create_table(
        'digest_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempted_at', sa.DateTime(), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_digest_deliveries_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_deliveries')),
        sa.UniqueConstraint('user_id', 'day', name=op.f('uq_digest_deliveries_user_id')),
    )


def downgrade():
    op.drop_table('digest_deliveries')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('morning_digest')
