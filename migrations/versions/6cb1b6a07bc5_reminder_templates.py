"""reminder templates: saved overrides of the default reminder templates

Revision ID: 6cb1b6a07bc5
Revises: e44d910bcaf5
Create Date: 2026-11-23 12:42:04.473986

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6cb1b6a07bc5'
down_revision = 'e44d910bcaf5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reminder_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_reminder_templates_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_templates')),
    sa.UniqueConstraint('level', 'channel', 'language', name=op.f('uq_reminder_templates_level'))
    )


def downgrade():
    op.drop_table('reminder_templates')
