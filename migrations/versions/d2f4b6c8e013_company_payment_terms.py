"""company payment terms: company_settings.payment_terms_days, the default for customers without their own

Revision ID: d2f4b6c8e013
Revises: c6e8a0b2d417
Create Date: 2026-12-07 07:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2f4b6c8e013'
down_revision = 'c6e8a0b2d417'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('company_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_terms_days', sa.SmallInteger(), server_default='30', nullable=False))


def downgrade():
    with op.batch_alter_table('company_settings', schema=None) as batch_op:
        batch_op.drop_column('payment_terms_days')
