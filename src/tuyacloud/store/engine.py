"""Open the store a database URL names: a SQLite file (default) or PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tuyacloud.store import migrate
from tuyacloud.store.base import Store
from tuyacloud.store.sqlite import SqliteStore


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://"))


def sqlite_path(database_url: str) -> str:
    return database_url.split("sqlite:///", 1)[1]


async def open_store(database_url: str) -> Store:
    """Migrate the schema to head (in a thread: Alembic is synchronous), then start the engine."""
    if not (is_postgres(database_url) or database_url.startswith("sqlite:///")):
        raise ValueError(f"unsupported database URL {database_url!r}: use sqlite:///PATH or postgresql://...")
    if database_url.startswith("sqlite:///"):
        Path(sqlite_path(database_url)).parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(migrate.upgrade, database_url)
    if is_postgres(database_url):
        from tuyacloud.store.postgres import PostgresStore  # asyncpg is imported only by who uses PostgreSQL

        store: Store = PostgresStore(database_url)
    else:
        store = SqliteStore(sqlite_path(database_url))
    await store.start()
    return store
