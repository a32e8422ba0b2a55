"""PostgreSQL: notify every server process when projects or access tokens change, so they may keep them in memory.

Each statement that updates, deletes or truncates rows of ``projects`` or ``tokens`` (an upsert's update
included) sends ``NOTIFY tuyacloud_cache, '<table>'`` at its commit, whoever runs it: another server process, the
CLI, psql. A statement that changed no row sends nothing. SQLite needs nothing (one process writes; it sees other
connections' commits through ``PRAGMA data_version``).

Revision ID: 0018
Revises: 0016
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

TABLES = ("projects", "tokens")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION tuyacloud_cache_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF EXISTS (SELECT 1 FROM changed) THEN PERFORM pg_notify('tuyacloud_cache', TG_TABLE_NAME); END IF; "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE FUNCTION tuyacloud_cache_truncated() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM pg_notify('tuyacloud_cache', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    for table in TABLES:
        # One trigger per event: a statement trigger with a transition table may have only one event.
        op.execute(f"CREATE TRIGGER tuyacloud_cache_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS changed "
                   "FOR EACH STATEMENT EXECUTE FUNCTION tuyacloud_cache_changed()")
        op.execute(f"CREATE TRIGGER tuyacloud_cache_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS changed "
                   "FOR EACH STATEMENT EXECUTE FUNCTION tuyacloud_cache_changed()")
        op.execute(f"CREATE TRIGGER tuyacloud_cache_truncate AFTER TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION tuyacloud_cache_truncated()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        for event in ("update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS tuyacloud_cache_{event} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS tuyacloud_cache_changed()")
    op.execute("DROP FUNCTION IF EXISTS tuyacloud_cache_truncated()")
