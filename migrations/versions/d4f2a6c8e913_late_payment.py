"""late payment, formal notices, debt collection: the company's basis (legal or contractual rate), recovery
indemnities, notice deadline, IBAN/BIC; the customer's late_payment_charges switch; reference_rates
(the half-years an admin set); formal_notices, formal_notice_entries, claimed_charges; the transfer
option (company, customer), working days calendar, debt_collection_claims; late_charges_totals;
monitoring_points; legal_steps, case_tasks

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
        batch_op.add_column(sa.Column('transfer_option', sa.SmallInteger(), server_default='30', nullable=False))
        batch_op.add_column(sa.Column('transfer_working_days', sa.SmallInteger(), server_default='3', nullable=False))
        batch_op.add_column(sa.Column('claim_auto_close_days', sa.SmallInteger(), server_default='60', nullable=False))
        batch_op.add_column(sa.Column('holiday_country', sa.String(length=2), server_default='FR', nullable=False))
        batch_op.add_column(sa.Column('holiday_region', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('iban', sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column('bic', sa.String(length=11), nullable=True))
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late_payment_charges', sa.Boolean(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('transfer_option', sa.SmallInteger(), nullable=True))
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
    op.create_table(
        'formal_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('principal_cents', sa.BigInteger(), nullable=False),
        sa.Column('interest_cents', sa.BigInteger(), nullable=False),
        sa.Column('indemnity_cents', sa.BigInteger(), nullable=False),
        sa.Column('claims_charges', sa.Boolean(), nullable=False),
        sa.Column('earlier_cents', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('basis', sa.String(length=12), nullable=True),
        sa.Column('rates', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('outbox_message_id', sa.Integer(), nullable=True),
        sa.Column('registered_tracking', sa.String(length=60), nullable=True),
        sa.Column('registered_on', sa.Date(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(), nullable=True),
        sa.Column('cancel_reason', sa.String(length=500), nullable=True),
        sa.Column('token', sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_formal_notices_created_by_id_users')),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_formal_notices_customer_id_customers')),
        sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'],
                                name=op.f('fk_formal_notices_outbox_message_id_outbox_messages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_formal_notices')),
        sa.UniqueConstraint('token', name=op.f('uq_formal_notices_token')),
    )
    op.create_index(op.f('ix_formal_notices_customer_id'), 'formal_notices', ['customer_id'], unique=False)
    op.create_table(
        'formal_notice_entries',
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('principal_cents', sa.BigInteger(), nullable=False),
        sa.Column('interest_cents', sa.BigInteger(), nullable=False),
        sa.Column('interest_from', sa.Date(), nullable=True),
        sa.Column('indemnity_cents', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_formal_notice_entries_entry_id_entries')),
        sa.ForeignKeyConstraint(['notice_id'], ['formal_notices.id'],
                                name=op.f('fk_formal_notice_entries_notice_id_formal_notices')),
        sa.PrimaryKeyConstraint('notice_id', 'entry_id', name=op.f('pk_formal_notice_entries')),
    )
    op.create_index(op.f('ix_formal_notice_entries_entry_id'), 'formal_notice_entries', ['entry_id'], unique=False)
    op.create_table(
        'claimed_charges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('from_day', sa.Date(), nullable=False),
        sa.Column('through_day', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('settled_at', sa.DateTime(), nullable=True),
        sa.Column('settled_by_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_claimed_charges_customer_id_customers')),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_claimed_charges_entry_id_entries')),
        sa.ForeignKeyConstraint(['notice_id'], ['formal_notices.id'],
                                name=op.f('fk_claimed_charges_notice_id_formal_notices')),
        sa.ForeignKeyConstraint(['settled_by_id'], ['users.id'], name=op.f('fk_claimed_charges_settled_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_claimed_charges')),
        sa.UniqueConstraint('entry_id', 'kind', 'from_day', name=op.f('uq_claimed_charges_entry_id')),
    )
    op.create_index(op.f('ix_claimed_charges_customer_id'), 'claimed_charges', ['customer_id'], unique=False)
    op.create_index(op.f('ix_claimed_charges_entry_id'), 'claimed_charges', ['entry_id'], unique=False)
    op.create_index(op.f('ix_claimed_charges_notice_id'), 'claimed_charges', ['notice_id'], unique=False)
    op.create_table(
        'legal_steps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('on', sa.Date(), nullable=False),
        sa.Column('note', sa.String(length=1000), nullable=True),
        sa.Column('costs_cents', sa.BigInteger(), nullable=False),
        sa.Column('document_filename', sa.String(length=255), nullable=True),
        sa.Column('document_storage', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['collection_cases.id'], name=op.f('fk_legal_steps_case_id_collection_cases')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_legal_steps_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_steps')),
    )
    op.create_index(op.f('ix_legal_steps_case_id'), 'legal_steps', ['case_id'], unique=False)
    op.create_table(
        'case_tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('step_id', sa.Integer(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.Column('done_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['collection_cases.id'], name=op.f('fk_case_tasks_case_id_collection_cases')),
        sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_case_tasks_done_by_id_users')),
        sa.ForeignKeyConstraint(['step_id'], ['legal_steps.id'], name=op.f('fk_case_tasks_step_id_legal_steps')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_tasks')),
    )
    op.create_index(op.f('ix_case_tasks_case_id'), 'case_tasks', ['case_id'], unique=False)
    op.create_index(op.f('ix_case_tasks_due_on'), 'case_tasks', ['due_on'], unique=False)
    op.create_table(
        'monitoring_points',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('list', sa.String(length=30), nullable=False),
        sa.Column('query', sa.String(length=2000), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('checked_on', sa.Date(), nullable=True),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('new_count', sa.Integer(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=True),
        sa.Column('keys', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_monitoring_points_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_points')),
    )
    op.create_index(op.f('ix_monitoring_points_user_id'), 'monitoring_points', ['user_id'], unique=False)
    op.create_table(
        'late_charges_totals',
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('invoices', sa.Integer(), nullable=False),
        sa.Column('interest_cents', sa.BigInteger(), nullable=True),
        sa.Column('indemnity_cents', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_late_charges_totals_customer_id_customers')),
        sa.PrimaryKeyConstraint('customer_id', 'currency', name=op.f('pk_late_charges_totals')),
    )
    op.create_table(
        'debt_collection_claims',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('option', sa.SmallInteger(), nullable=False),
        sa.Column('tab', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('listed_on', sa.Date(), nullable=False),
        sa.Column('since_on', sa.Date(), nullable=False),
        sa.Column('transfer_on', sa.Date(), nullable=True),
        sa.Column('pause_reason', sa.String(length=500), nullable=True),
        sa.Column('paused_until', sa.Date(), nullable=True),
        sa.Column('paused_by_id', sa.Integer(), nullable=True),
        sa.Column('approved_at', sa.DateTime(), nullable=True),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('transferred_at', sa.DateTime(), nullable=True),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('close_reason', sa.String(length=12), nullable=True),
        sa.Column('close_note', sa.String(length=500), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'],
                                name=op.f('fk_debt_collection_claims_approved_by_id_users')),
        sa.ForeignKeyConstraint(['case_id'], ['collection_cases.id'],
                                name=op.f('fk_debt_collection_claims_case_id_collection_cases')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_debt_collection_claims_closed_by_id_users')),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_debt_collection_claims_customer_id_customers')),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_debt_collection_claims_entry_id_entries')),
        sa.ForeignKeyConstraint(['notice_id'], ['formal_notices.id'],
                                name=op.f('fk_debt_collection_claims_notice_id_formal_notices')),
        sa.ForeignKeyConstraint(['paused_by_id'], ['users.id'], name=op.f('fk_debt_collection_claims_paused_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_debt_collection_claims')),
        sa.UniqueConstraint('entry_id', 'notice_id', name=op.f('uq_debt_collection_claims_entry_id')),
    )
    op.create_index('ix_claims_status_tab', 'debt_collection_claims', ['status', 'tab'], unique=False)
    op.create_index(op.f('ix_debt_collection_claims_customer_id'), 'debt_collection_claims', ['customer_id'],
                    unique=False)
    op.create_index(op.f('ix_debt_collection_claims_entry_id'), 'debt_collection_claims', ['entry_id'], unique=False)
    op.create_index(op.f('ix_debt_collection_claims_notice_id'), 'debt_collection_claims', ['notice_id'], unique=False)


def downgrade():
    op.drop_table('debt_collection_claims')
    op.drop_table('late_charges_totals')
    op.drop_table('monitoring_points')
    op.drop_table('case_tasks')
    op.drop_table('legal_steps')
    op.drop_table('claimed_charges')
    op.drop_table('formal_notice_entries')
    op.drop_table('formal_notices')
    op.drop_table('reference_rates')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('transfer_option')
        batch_op.drop_column('late_payment_charges')
    with op.batch_alter_table('company_settings', schema=None) as batch_op:
        batch_op.drop_column('bic')
        batch_op.drop_column('iban')
        batch_op.drop_column('holiday_region')
        batch_op.drop_column('holiday_country')
        batch_op.drop_column('claim_auto_close_days')
        batch_op.drop_column('transfer_working_days')
        batch_op.drop_column('transfer_option')
        batch_op.drop_column('notice_days')
        batch_op.drop_column('recovery_indemnities')
        batch_op.drop_column('contractual_rate_bp')
        batch_op.drop_column('late_payment_basis')
