"""Bring a database to the newest schema with Alembic, for SQLite files and PostgreSQL alike.

Almost every start finds the schema already current, and importing Alembic and SQLAlchemy only to learn that costs
more than half a second of CPU (the largest part of a server's start). So ``upgrade`` first reads the database's
``alembic_version`` with the driver the store uses anyway (``sqlite3``, ``asyncpg``) and compares it with
``HEADS``, the heads this code ships, declared below so that knowing them needs no Alembic.

A new, empty database gets the whole schema at once from ``schema/<engine>.sql``: what the migrations make, written
down (``scripts/gen_schema.py``), and run in one transaction with the same driver. Running every migration one by
one through Alembic took about 0.6 s of CPU, nearly half of a first start. Only a database that is neither empty
nor exactly at ``HEADS`` (older, newer, or unreadable) goes through Alembic, which migrates or refuses as it always
did.

Neither shortcut can drift unnoticed: a test compares ``HEADS`` with what Alembic's own ``ScriptDirectory`` reads
from the scripts (``head_revisions``), and another makes one database through Alembic and one from the schema file
on the engine under test and compares their catalogues (tests/store/test_schema_file.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Alembic and SQLAlchemy are imported only when a migration has to run
    from alembic.config import Config
    from sqlalchemy import Connection

log = logging.getLogger("tuyacloud.store")

MIGRATIONS = Path(__file__).parent / "migrations"
# The schema at HEADS per engine, each file run as one script: schema/sqlite.sql, schema/postgresql.sql.
SCHEMA = Path(__file__).parent / "schema"

# The newest revision of each migration branch in migrations/versions. A new migration script changes this too
# (tests/store/test_migrate_fast_path.py fails until it does).
HEADS: frozenset[str] = frozenset({"0021"})


def _config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def run_alembic(connection: Connection) -> None:
    """Every pending migration, through Alembic, on a SQLAlchemy connection."""
    from alembic import command

    command.upgrade(_config(connection), "heads")


def schema_script(engine: str) -> str:
    """The schema file of ``engine`` (``sqlite`` or ``postgresql``): DDL that ends by recording ``HEADS``."""
    return (SCHEMA / f"{engine}.sql").read_text(encoding="utf-8")


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


def _create_sqlite(path: str) -> bool:
    """Give a new SQLite database the schema from its file, in one transaction; False (nothing done) unless the
    file is missing, empty, or a database with nothing in it."""
    if os.path.exists(path) and os.path.getsize(path) > 0:
        try:
            with contextlib.closing(sqlite3.connect(path)) as conn:
                if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    return False
        except sqlite3.Error:  # not a database: Alembic says so in its own words
            return False
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript(f"BEGIN;\n{schema_script('sqlite')}\nCOMMIT;")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    finally:
        conn.close()
    return True


async def _postgres_revisions(database_url: str, *, create: bool = False) -> tuple[frozenset[str] | None, bool]:
    """The revisions of a PostgreSQL database (None: unknown), and whether it was created now: with ``create``, a
    database with nothing in its schema yet first gets the schema from its file, in one transaction."""
    import asyncpg

    from tuyacloud.store.postgres import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        try:
            rows = await conn.fetch("SELECT version_num FROM alembic_version")
            return frozenset(str(row[0]) for row in rows), False
        except asyncpg.UndefinedTableError:
            pass
        except asyncpg.PostgresError:  # no permission, and the like: Alembic decides
            return None, False
        if not create or not await conn.fetchval(
                "SELECT current_schema() IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_class "
                "WHERE relnamespace = current_schema()::regnamespace)"):
            return None, False
        async with conn.transaction():
            await conn.execute(schema_script("postgresql"))
        return HEADS, True
    finally:
        await conn.close()


def current_revisions(database_url: str) -> frozenset[str] | None:
    """The revisions the database is at, read without Alembic; None when unknown. A database that cannot be
    reached raises here as it would in Alembic (the same driver errors, which the CLI explains)."""
    if database_url.startswith("sqlite:///") and "?" not in database_url:
        return sqlite_revisions(database_url.split("sqlite:///", 1)[1])
    if database_url.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        return asyncio.run(_postgres_revisions(database_url))[0]
    return None


def _at_heads_or_created(database_url: str) -> bool:
    """Whether the database is at ``HEADS``, either already or now that a new one got the schema from its file."""
    if database_url.startswith("sqlite:///") and "?" not in database_url:
        path = database_url.split("sqlite:///", 1)[1]
        if sqlite_revisions(path) == HEADS:
            return True
        created = _create_sqlite(path)
    elif database_url.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        revisions, created = asyncio.run(_postgres_revisions(database_url, create=True))
        if revisions == HEADS and not created:
            return True
    else:
        return False
    if created:
        log.info("a new database: created its schema at revision %s", ", ".join(sorted(HEADS)))
    return created


def upgrade(database_url: str) -> None:
    """Bring the database to ``HEADS``: nothing to do, a new database made from the schema file, or the pending
    migrations through Alembic. Synchronous: called once at start-up, before the event loop serves anything; under
    the start-up lock (store/engine.py), so processes started together on a new database take turns."""
    if not _at_heads_or_created(database_url):
        alembic_upgrade(database_url)


def alembic_upgrade(database_url: str) -> None:
    """The pending migrations through Alembic, whatever the database holds (it refuses a newer one)."""
    from sqlalchemy import create_engine
    from sqlalchemy.ext.asyncio import create_async_engine

    url = to_sqlalchemy_url(database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url)
        with engine.begin() as conn:
            run_alembic(conn)
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
            await conn.run_sync(run_alembic)
        await async_engine.dispose()

    asyncio.run(run())
