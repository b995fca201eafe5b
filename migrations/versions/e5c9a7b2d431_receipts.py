"""receipts: payments recorded by hand (a cheque, a transfer) spread over entries, and reversals

A receipt is what came in once from a customer; its payments are what it settles on each entry
(payments.receipt_id). A payment reversed (a cheque returned unpaid) keeps its row with
payments.reversed_at, and its amount is open again. Imported payments have no receipt.

Revision ID: e5c9a7b2d431
Revises: d4b8e1f3a920
Create Date: 2026-12-02 11:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e5c9a7b2d431'
down_revision = 'd4b8e1f3a920'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'receipts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('received_on', sa.Date(), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('reference', sa.String(length=100), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=64), nullable=True),
        sa.Column('reversed_at', sa.DateTime(), nullable=True),
        sa.Column('reversed_by_id', sa.Integer(), nullable=True),
        sa.Column('reversal_reason', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_receipts_customer_id_customers')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_receipts_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['reversed_by_id'], ['users.id'], name=op.f('fk_receipts_reversed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_receipts_dedupe_key')),
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipts_customer_id'), ['customer_id'], unique=False)
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reversed_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_payments_receipt_id'), ['receipt_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_payments_receipt_id_receipts'), 'receipts', ['receipt_id'], ['id'])


def downgrade():
    # A reversed payment's amount is already open again: without the mark it would read as paid.
    op.execute("DELETE FROM payments WHERE reversed_at IS NOT NULL")
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payments_receipt_id_receipts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_payments_receipt_id'))
        batch_op.drop_column('reversed_at')
        batch_op.drop_column('receipt_id')
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipts_customer_id'))
    op.drop_table('receipts')
