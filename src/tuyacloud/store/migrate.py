"""Bring a database to the newest schema with Alembic, for SQLite files and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(_config(connection), "heads")


@functools.cache
def head_revisions() -> frozenset[str]:
    """The newest revision of each migration branch shipped with this code: where ``upgrade`` takes a database.
    Reading the scripts takes a moment, so it is done once, on first use."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def to_sqlalchemy_url(database_url: str) -> str:
    if database_url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + database_url.split("://", 1)[1]
    return database_url


def upgrade(database_url: str) -> None:
    """Run pending migrations. Synchronous: called once at start-up, before the event loop serves anything."""
    url = to_sqlalchemy_url(database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url)
        with engine.begin() as conn:
            _upgrade(conn)
        engine.dispose()
        return

    async def run() -> None:
        async_engine = create_async_engine(url)
        async with async_engine.begin() as conn:
            await conn.run_sync(_upgrade)
        await async_engine.dispose()

    asyncio.run(run())
