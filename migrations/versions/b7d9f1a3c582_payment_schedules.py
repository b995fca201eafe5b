"""payment schedules: a schedule over several invoices, its instalments, the entries it holds
(entries.scheduled), the company's missed instalments that break one

Revision ID: b7d9f1a3c582
Revises: a3c5e7f9b146
Create Date: 2026-12-07 09:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7d9f1a3c582'
down_revision = 'a3c5e7f9b146'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'payment_schedules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('total_cents', sa.BigInteger(), nullable=False),
        sa.Column('open_at_start_cents', sa.BigInteger(), nullable=False),
        sa.Column('frequency', sa.String(length=10), nullable=False),
        sa.Column('grace_days', sa.SmallInteger(), nullable=False),
        sa.Column('broken_after', sa.SmallInteger(), nullable=False),
        sa.Column('waive_fees', sa.Boolean(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('paid_cents', sa.BigInteger(), nullable=False),
        sa.Column('settled_on', sa.Date(), nullable=True),
        sa.Column('cancelled_reason', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_payment_schedules_created_by_id_users')),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_payment_schedules_customer_id_customers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_schedules')),
    )
    op.create_index(op.f('ix_payment_schedules_created_by_id'), 'payment_schedules', ['created_by_id'])
    op.create_index(op.f('ix_payment_schedules_customer_id'), 'payment_schedules', ['customer_id'])
    op.create_index('ix_payment_schedules_status', 'payment_schedules', ['status'])
    op.create_table(
        'schedule_entries',
        sa.Column('schedule_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_schedule_entries_entry_id_entries')),
        sa.ForeignKeyConstraint(['schedule_id'], ['payment_schedules.id'],
                                name=op.f('fk_schedule_entries_schedule_id_payment_schedules'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('schedule_id', 'entry_id', name=op.f('pk_schedule_entries')),
    )
    op.create_index(op.f('ix_schedule_entries_entry_id'), 'schedule_entries', ['entry_id'])
    op.create_table(
        'instalments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('schedule_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.SmallInteger(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('paid_cents', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(['schedule_id'], ['payment_schedules.id'],
                                name=op.f('fk_instalments_schedule_id_payment_schedules'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_instalments')),
        sa.UniqueConstraint('schedule_id', 'number', name=op.f('uq_instalments_schedule_id')),
    )
    op.create_index('ix_instalments_due', 'instalments', ['due_on'])
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scheduled', sa.Boolean(), server_default='0', nullable=False))
    with op.batch_alter_table('company_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule_broken_after', sa.SmallInteger(), server_default='2', nullable=False))


def downgrade():
    with op.batch_alter_table('company_settings', schema=None) as batch_op:
        batch_op.drop_column('schedule_broken_after')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_column('scheduled')
    op.drop_index('ix_instalments_due', table_name='instalments')
    op.drop_table('instalments')
    op.drop_index(op.f('ix_schedule_entries_entry_id'), table_name='schedule_entries')
    op.drop_table('schedule_entries')
    op.drop_index('ix_payment_schedules_status', table_name='payment_schedules')
    op.drop_index(op.f('ix_payment_schedules_customer_id'), table_name='payment_schedules')
    op.drop_index(op.f('ix_payment_schedules_created_by_id'), table_name='payment_schedules')
    op.drop_table('payment_schedules')
