"""bulk runs: bulk reminders move from exports (kind bulk_dunning) to a table of their own

One word per thing: an export is a file someone asked for; a bulk run plans reminders, waits for
the user's confirmation and sends them. The runs are copied with their ids, so the outbox's dedupe
keys (`bulk:<run>:<customer>`) and the letters' names (`bulk-<run>-<customer>`) still name them and a
retried run never queues a message twice; a finished run is "done" (it was "ready"). The bell's
notifications of a run follow it.

On SQLite both tables get AUTOINCREMENT, and exports does before the runs leave it: an id is never
given again, so no new export takes a run's old folder (exports/<id>/, where the runs' reports made
before this revision stay) and no new run takes an old run's dedupe keys. PostgreSQL sequences
never reuse.

Revision ID: d4b8e1f3a920
Revises: c7d2a5e81f40
Create Date: 2026-12-02 11:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4b8e1f3a920'
down_revision = 'c7d2a5e81f40'
branch_labels = None
depends_on = None

KIND = "bulk_dunning"
SHARED = "id, user_id, params, progress, message, filename, created_at, finished_at, expires_at, file_deleted, result"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    sqlite = _sqlite()
    if sqlite:  # rebuilt with AUTOINCREMENT while it still holds the runs: the sequence starts above them
        with op.batch_alter_table('exports', schema=None, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": True}):
            pass
    op.create_table(
        'bulk_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('params', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('progress', sa.SmallInteger(), nullable=False),
        sa.Column('message', sa.String(length=500), nullable=True),
        sa.Column('filename', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('file_deleted', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('result', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_bulk_runs_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_runs')),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table('bulk_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_runs_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulk_runs_expires_at'), ['expires_at'], unique=False)
    op.execute(f"INSERT INTO bulk_runs ({SHARED}, status) "
               f"SELECT {SHARED}, CASE status WHEN 'ready' THEN 'done' ELSE status END "
               f"FROM exports WHERE kind = '{KIND}'")
    if not sqlite:  # new runs continue after the copied ones
        op.execute("SELECT setval(pg_get_serial_sequence('bulk_runs', 'id'), "
                   "COALESCE((SELECT max(id) FROM bulk_runs), 0) + 1, false)")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bulk_run_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notifications_bulk_run_id_bulk_runs'), 'bulk_runs',
                                    ['bulk_run_id'], ['id'])
    op.execute(f"UPDATE notifications SET bulk_run_id = export_id, export_id = NULL "
               f"WHERE export_id IN (SELECT id FROM exports WHERE kind = '{KIND}')")
    op.execute(f"DELETE FROM exports WHERE kind = '{KIND}'")


def downgrade():
    clash = op.get_bind().scalar(sa.text("SELECT count(*) FROM bulk_runs JOIN exports ON exports.id = bulk_runs.id"))
    if clash:
        raise RuntimeError(f"{clash} bulk run(s) share their id with an export made since the upgrade: they cannot "
                           "go back into the exports table without breaking their outbox keys.")
    op.execute(f"INSERT INTO exports ({SHARED}, status, kind) "
               f"SELECT {SHARED}, CASE status WHEN 'done' THEN 'ready' ELSE status END, '{KIND}' FROM bulk_runs")
    op.execute("UPDATE notifications SET export_id = bulk_run_id WHERE bulk_run_id IS NOT NULL")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notifications_bulk_run_id_bulk_runs'), type_='foreignkey')
        batch_op.drop_column('bulk_run_id')
    with op.batch_alter_table('bulk_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_runs_expires_at'))
        batch_op.drop_index(batch_op.f('ix_bulk_runs_user_id'))
    op.drop_table('bulk_runs')
    if not _sqlite():  # the runs' ids are taken again by exports
        op.execute("SELECT setval(pg_get_serial_sequence('exports', 'id'), "
                   "COALESCE((SELECT max(id) FROM exports), 0) + 1, false)")
