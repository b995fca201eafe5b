"""disputes: a dispute on one or several entries, its timeline; the disputed sub-total of each
summary; the company's "untouched for N days". Entries flagged disputed before become one open
dispute per customer (reason "other", the flag's reason as its note), so an entry is disputed
exactly when an unresolved dispute holds it.

Revision ID: e8a1c3d5f702
Revises: d2f4b6c8e013
Create Date: 2026-12-07 07:30:00.000000

"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e8a1c3d5f702'
down_revision = 'd2f4b6c8e013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'disputes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('follow_up_on', sa.Date(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('opened_by_id', sa.Integer(), nullable=True),
        sa.Column('last_activity_at', sa.DateTime(), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=True),
        sa.Column('credit_note_cents', sa.BigInteger(), nullable=True),
        sa.Column('credit_note_id', sa.Integer(), nullable=True),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.Column('resolved_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_disputes_contact_id_contacts'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['credit_note_id'], ['entries.id'], name=op.f('fk_disputes_credit_note_id_entries')),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_disputes_customer_id_customers')),
        sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_disputes_opened_by_id_users')),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_disputes_owner_id_users')),
        sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_disputes_resolved_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_disputes')),
    )
    op.create_index(op.f('ix_disputes_customer_id'), 'disputes', ['customer_id'])
    op.create_index(op.f('ix_disputes_owner_id'), 'disputes', ['owner_id'])
    op.create_index('ix_disputes_status_activity', 'disputes', ['status', 'last_activity_at'])
    op.create_table(
        'dispute_entries',
        sa.Column('dispute_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id'], name=op.f('fk_dispute_entries_dispute_id_disputes'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_dispute_entries_entry_id_entries')),
        sa.PrimaryKeyConstraint('dispute_id', 'entry_id', name=op.f('pk_dispute_entries')),
    )
    op.create_index(op.f('ix_dispute_entries_entry_id'), 'dispute_entries', ['entry_id'])
    op.create_table(
        'dispute_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dispute_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=True),
        sa.Column('storage_name', sa.String(length=255), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_dispute_events_actor_id_users')),
        sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id'], name=op.f('fk_dispute_events_dispute_id_disputes'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute_events')),
        sa.UniqueConstraint('storage_name', name=op.f('uq_dispute_events_storage_name')),
    )
    op.create_index(op.f('ix_dispute_events_dispute_id'), 'dispute_events', ['dispute_id'])
    with op.batch_alter_table('customer_summaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disputed_cents', sa.BigInteger(), server_default='0', nullable=False))
    with op.batch_alter_table('company_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispute_stale_days', sa.SmallInteger(), server_default='14', nullable=False))

    connection = op.get_bind()
    connection.execute(sa.text(
        "UPDATE customer_summaries SET disputed_cents = COALESCE((SELECT SUM(CASE WHEN e.kind = 'credit_note' "
        "THEN -e.open_cents ELSE e.open_cents END) FROM entries e WHERE e.customer_id = customer_summaries.customer_id "
        "AND e.currency = customer_summaries.currency AND e.is_open = :yes AND e.disputed = :yes), 0) "
        "WHERE disputed_count > 0"), {"yes": True})
    flagged = connection.execute(sa.text(
        "SELECT id, customer_id, disputed_at, disputed_by_id, dispute_reason FROM entries WHERE disputed = :yes "
        "ORDER BY customer_id, disputed_at, id"), {"yes": True}).all()
    by_customer: dict = {}
    for entry in flagged:
        by_customer.setdefault(entry.customer_id, []).append(entry)
    for customer_id, entries in by_customer.items():
        first = entries[0]
        opened = first.disputed_at or datetime.utcnow()  # naive UTC, as the app writes
        reasons = sorted({entry.dispute_reason for entry in entries if entry.dispute_reason})
        dispute_id = connection.execute(sa.text(
            "INSERT INTO disputes (customer_id, reason, note, status, opened_at, opened_by_id, last_activity_at) "
            "VALUES (:customer, 'other', :note, 'open', :opened, :by, :opened) RETURNING id"),
            {"customer": customer_id, "note": "; ".join(reasons), "opened": opened, "by": first.disputed_by_id}
        ).scalar()
        for entry in entries:
            connection.execute(sa.text("INSERT INTO dispute_entries (dispute_id, entry_id) VALUES (:d, :e)"),
                               {"d": dispute_id, "e": entry.id})
        connection.execute(sa.text("INSERT INTO dispute_events (dispute_id, at, actor_id, kind, text) "
                                   "VALUES (:d, :at, :by, 'opened', :text)"),
                           {"d": dispute_id, "at": opened, "by": first.disputed_by_id,
                            "text": "Disputed before disputes had their own page; " + "; ".join(reasons)})


def downgrade():
    with op.batch_alter_table('company_settings', schema=None) as batch_op:
        batch_op.drop_column('dispute_stale_days')
    with op.batch_alter_table('customer_summaries', schema=None) as batch_op:
        batch_op.drop_column('disputed_cents')
    op.drop_index(op.f('ix_dispute_events_dispute_id'), table_name='dispute_events')
    op.drop_table('dispute_events')
    op.drop_index(op.f('ix_dispute_entries_entry_id'), table_name='dispute_entries')
    op.drop_table('dispute_entries')
    op.drop_index('ix_disputes_status_activity', table_name='disputes')
    op.drop_index(op.f('ix_disputes_owner_id'), table_name='disputes')
    op.drop_index(op.f('ix_disputes_customer_id'), table_name='disputes')
    op.drop_table('disputes')
