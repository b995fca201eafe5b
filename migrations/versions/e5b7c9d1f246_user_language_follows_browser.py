"""a user's interface language may be unset (NULL: the browser's Accept-Language, then RELANCE_LOCALE);
"en", the default of every user made before the French interface existed, becomes unset

Revision ID: e5b7c9d1f246
Revises: d4f2a6c8e913
Create Date: 2026-12-07 17:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e5b7c9d1f246'
down_revision = 'd4f2a6c8e913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('language', existing_type=sa.String(length=5), nullable=True, server_default=None)
    op.execute("UPDATE users SET language = NULL WHERE language = 'en'")


def downgrade():
    op.execute("UPDATE users SET language = 'en' WHERE language IS NULL")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('language', existing_type=sa.String(length=5), nullable=False, server_default='en')
