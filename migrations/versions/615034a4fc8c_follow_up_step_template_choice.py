"""follow-up step template choice: follow_up_steps.template_level, ids never reused on SQLite

A step may send the template of another level than the one it reaches (a step reaching R2 with
the R1 wording); NULL keeps the template of the level reached, as before.

On SQLite the table is rebuilt with AUTOINCREMENT: the daily run's outbox keys name the step
(`plan:{customer}:{step}:{day}`), so a step added after one was deleted must not take the
deleted step's id (SQLite reuses the highest rowid otherwise). PostgreSQL sequences never reuse.

Revision ID: 615034a4fc8c
Revises: 3479acb116ff
Create Date: 2026-11-23 14:13:13.211227

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '615034a4fc8c'
down_revision = '3479acb116ff'
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    sqlite = _sqlite()
    with op.batch_alter_table('follow_up_steps', schema=None, recreate="always" if sqlite else "auto",
                              table_kwargs={"sqlite_autoincrement": True} if sqlite else {}) as batch_op:
        batch_op.add_column(sa.Column('template_level', sa.SmallInteger(), nullable=True))


def downgrade():
    sqlite = _sqlite()
    with op.batch_alter_table('follow_up_steps', schema=None, recreate="always" if sqlite else "auto",
                              table_kwargs={"sqlite_autoincrement": False} if sqlite else {}) as batch_op:
        batch_op.drop_column('template_level')
