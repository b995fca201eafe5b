"""billing contact: contacts.billing, the one contact of a customer who receives the reminders

Revision ID: b3d5f7a9c124
Revises: a8e2f4c6b913
Create Date: 2026-12-02 12:15:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b3d5f7a9c124'
down_revision = 'a8e2f4c6b913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('billing', sa.Boolean(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('billing')
