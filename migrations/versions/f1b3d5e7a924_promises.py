"""promises to pay: a promise on one or several entries, the entries' pause (promised_until), the
company's grace period; notifications that open a customer's account (a broken promise)

Revision ID: f1b3d5e7a924
Revises: e8a1c3d5f702
Create Date: 2026-12-07 08:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f1b3d5e7a924'
down_revision = 'e8a1c3d5f702'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'promises',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('promised_on', sa.Date(), nullable=False),
        sa.Column('grace_days', sa.SmallInteger(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('open_at_start_cents', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('paid_cents', sa.BigInteger(), nullable=False),
        sa.Column('settled_on', sa.Date(), nullable=True),
        sa.Column('cancelled_reason', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_promises_contact_id_contacts'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_promises_customer_id_customers')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_promises_recorded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_promises')),
    )
    op.create_index(op.f('ix_promises_customer_id'), 'promises', ['customer_id'])
    op.create_index(op.f('ix_promises_recorded_by_id'), 'promises', ['recorded_by_id'])
    op.create_index('ix_promises_status_due', 'promises', ['status', 'promised_on'])
    op.create_table(
        'promise_entries',
        sa.Column('promise_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_promise_entries_entry_id_entries')),
        sa.ForeignKeyConstraint(['promise_id'], ['promises.id'], name=op.f('fk_promise_entries_promise_id_promises'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('promise_id', 'entry_id', name=op.f('pk_promise_entries')),
    )
    op.create_index(op.f('ix_promise_entries_entry_id'), 'promise_entries', ['entry_id'])
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('promised_until', sa.Date(), nullable=True))
    with op.batch_alter_table('company_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('promise_grace_days', sa.SmallInteger(), server_default='3', nullable=False))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notifications_customer_id_customers'), 'customers', ['customer_id'],
                                    ['id'])


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notifications_customer_id_customers'), type_='foreignkey')
        batch_op.drop_column('customer_id')
    with op.batch_alter_table('company_settings', schema=None) as batch_op:
        batch_op.drop_column('promise_grace_days')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_column('promised_until')
    op.drop_index(op.f('ix_promise_entries_entry_id'), table_name='promise_entries')
    op.drop_table('promise_entries')
    op.drop_index('ix_promises_status_due', table_name='promises')
    op.drop_index(op.f('ix_promises_recorded_by_id'), table_name='promises')
    op.drop_index(op.f('ix_promises_customer_id'), table_name='promises')
    op.drop_table('promises')
