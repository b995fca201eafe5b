"""import mappings: which header of a file holds each import column, remembered per kind

Revision ID: c6e8a0b2d417
Revises: b3d5f7a9c124
Create Date: 2026-12-07 08:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c6e8a0b2d417'
down_revision = 'b3d5f7a9c124'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_mappings',
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('columns', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('kind', name=op.f('pk_import_mappings')),
    )


def downgrade():
    op.drop_table('import_mappings')
