"""summary_totals: the unfiltered totals of Who owes you what?, per currency, maintained with the summaries

Revision ID: b9d3f5a7c214
Revises: a7c1e3f5b902
"""
import sqlalchemy as sa
from alembic import op

revision = 'b9d3f5a7c214'
down_revision = 'a7c1e3f5b902'
branch_labels = None
depends_on = None

SUMS = ("not_due_cents", "days_1_30_cents", "days_31_60_cents", "days_61_90_cents", "over_90_cents", "disputed_cents",
        "total_cents")


def upgrade():
    op.create_table(
        'summary_totals',
        sa.Column('currency', sa.String(length=3), primary_key=True),
        sa.Column('customers', sa.Integer(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in SUMS),
    )
    op.execute(f"INSERT INTO summary_totals (currency, customers, {', '.join(SUMS)}) "
               f"SELECT currency, count(*), {', '.join(f'coalesce(sum({n}), 0)' for n in SUMS)} "
               "FROM customer_summaries GROUP BY currency")


def downgrade():
    op.drop_table('summary_totals')
