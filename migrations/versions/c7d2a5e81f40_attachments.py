"""attachments: the invoice PDFs attached to entries move from table documents to attachments

One word per thing: "documents" named four different things; the files attached to an entry are
attachments. The rows are copied as they are (ids kept) and the old table dropped, so the
constraint and index names follow the new table on SQLite and PostgreSQL alike.

Revision ID: c7d2a5e81f40
Revises: 9b1e4c2d7a10
Create Date: 2026-12-02 06:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c7d2a5e81f40'
down_revision = '9b1e4c2d7a10'
branch_labels = None
depends_on = None

COLUMNS = "id, entry_id, filename, storage_name, content_type, size, uploaded_at"


def _create(name):
    op.create_table(
        name,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('storage_name', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f(f'fk_{name}_entry_id_entries')),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
        sa.UniqueConstraint('storage_name', name=op.f(f'uq_{name}_storage_name')),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f'ix_{name}_entry_id'), ['entry_id'], unique=False)


def _move(source, target):
    _create(target)
    op.execute(f"INSERT INTO {target} ({COLUMNS}) SELECT {COLUMNS} FROM {source}")
    if op.get_bind().dialect.name == "postgresql":  # new ids continue after the copied ones
        op.execute(f"SELECT setval(pg_get_serial_sequence('{target}', 'id'), "
                   f"COALESCE((SELECT max(id) FROM {target}), 0) + 1, false)")
    with op.batch_alter_table(source, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f'ix_{source}_entry_id'))
    op.drop_table(source)


def upgrade():
    _move('documents', 'attachments')


def downgrade():
    _move('attachments', 'documents')
