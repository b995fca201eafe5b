"""customer payment terms: customers.payment_terms_days, the days from issue to due date agreed with
the customer (a file without due dates, the FEC, uses it)

Revision ID: f7a3d9e1c250
Revises: e5c9a7b2d431
Create Date: 2026-12-02 11:45:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f7a3d9e1c250'
down_revision = 'e5c9a7b2d431'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_terms_days', sa.SmallInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('payment_terms_days')
