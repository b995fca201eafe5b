"""late payment: the company's basis (legal or contractual rate), recovery indemnities, formal notice
deadline; the customer's late_payment_charges switch; reference_rates (the half-years an admin set)

Revision ID: d4f2a6c8e913
Revises: c9e1a3b5d704
Create Date: 2026-12-07 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4f2a6c8e913'
down_revision = 'c9e1a3b5d704'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('company_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late_payment_basis', sa.String(length=12), server_default='legal', nullable=False))
        batch_op.add_column(sa.Column('contractual_rate_bp', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('recovery_indemnities', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('notice_days', sa.SmallInteger(), server_default='8', nullable=False))
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late_payment_charges', sa.Boolean(), server_default='1', nullable=False))
    op.create_table(
        'reference_rates',
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ecb_rate_bp', sa.Integer(), nullable=False),
        sa.Column('legal_rate_bp', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_reference_rates_updated_by_id_users')),
        sa.PrimaryKeyConstraint('starts_on', name=op.f('pk_reference_rates')),
    )


def downgrade():
    op.drop_table('reference_rates')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('late_payment_charges')
    with op.batch_alter_table('company_settings', schema=None) as batch_op:
        batch_op.drop_column('notice_days')
        batch_op.drop_column('recovery_indemnities')
        batch_op.drop_column('contractual_rate_bp')
        batch_op.drop_column('late_payment_basis')
