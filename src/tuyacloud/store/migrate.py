"""Bring a database to the newest schema with Alembic, for SQLite files and PostgreSQL alike.

Almost every start finds the schema already current, and importing Alembic and SQLAlchemy only to learn that costs
more than half a second of CPU (the largest part of a server's start). So ``upgrade`` first reads the database's
``alembic_version`` with the driver the store uses anyway (``sqlite3``, ``asyncpg``) and compares it with
``HEADS``, the heads this code ships, declared below so that knowing them needs no Alembic; only a database that
is not exactly there (new, older, newer, or unreadable) goes through Alembic, which then migrates or refuses as it
always did. ``HEADS`` cannot drift from the migration scripts unnoticed: a test compares it with what Alembic's own
``ScriptDirectory`` reads from them (``head_revisions``).
"""

from __future__ import annotations

import asyncio
import functools
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Alembic and SQLAlchemy are imported only when a migration has to run
    from alembic.config import Config
    from sqlalchemy import Connection

MIGRATIONS = Path(__file__).parent / "migrations"

# The newest revision of each migration branch in migrations/versions. A new migration script changes this too
# (tests/store/test_migrate_fast_path.py fails until it does).
HEADS: frozenset[str] = frozenset({"0021"})


def _config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(_config(connection), "heads")


@functools.cache
def head_revisions() -> frozenset[str]:
    """The heads as Alembic reads them from the scripts (slow: imports Alembic and every script); what ``HEADS``
    must equal."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def to_sqlalchemy_url(database_url: str) -> str:
    if database_url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + database_url.split("://", 1)[1]
    return database_url


def sqlite_revisions(path: str | Path) -> frozenset[str] | None:
    """The revisions a SQLite file is at; None when that cannot be read cheaply (no such file, no version table,
    not a database): Alembic then decides."""
    if not os.path.isfile(path):
        return None
    try:
        conn = sqlite3.connect(path)
    except sqlite3.Error:
        return None
    try:
        return frozenset(str(row[0]) for row in conn.execute("SELECT version_num FROM alembic_version"))
    except sqlite3.Error:
        return None
    finally:
        conn.close()


async def _postgres_revisions(database_url: str) -> frozenset[str] | None:
    import asyncpg

    from tuyacloud.store.postgres import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch("SELECT version_num FROM alembic_version")
    except asyncpg.PostgresError:  # no version table yet (an empty database), no permission: Alembic decides
        return None
    finally:
        await conn.close()
    return frozenset(str(row[0]) for row in rows)


def current_revisions(database_url: str) -> frozenset[str] | None:
    """The revisions the database is at, read without Alembic; None when unknown. A database that cannot be
    reached raises here as it would in Alembic (the same driver errors, which the CLI explains)."""
    if database_url.startswith("sqlite:///") and "?" not in database_url:
        return sqlite_revisions(database_url.split("sqlite:///", 1)[1])
    if database_url.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        return asyncio.run(_postgres_revisions(database_url))
    return None


def upgrade(database_url: str) -> None:
    """Run pending migrations. Synchronous: called once at start-up, before the event loop serves anything."""
    if current_revisions(database_url) == HEADS:
        return
    from sqlalchemy import create_engine
    from sqlalchemy.ext.asyncio import create_async_engine

    url = to_sqlalchemy_url(database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url)
        with engine.begin() as conn:
            _upgrade(conn)
        engine.dispose()
        return

    async def run() -> None:
        import asyncpg

        from tuyacloud.store.postgres import asyncpg_dsn

        # asyncpg reads the URL itself, as the store does: SQLAlchemy would hand its query parameters (libpq's
        # sslmode and the like) to asyncpg.connect() as keyword arguments, which it does not take.
        dsn = asyncpg_dsn(database_url)
        async_engine = create_async_engine("postgresql+asyncpg://", async_creator=lambda: asyncpg.connect(dsn))
        async with async_engine.begin() as conn:
            await conn.run_sync(_upgrade)
        await async_engine.dispose()

    asyncio.run(run())
