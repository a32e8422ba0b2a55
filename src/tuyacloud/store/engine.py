"""Open the store a database URL names: a SQLite file (default) or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

from tuyacloud.store import migrate
from tuyacloud.store.base import Store
from tuyacloud.store.sqlite import SqliteStore

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: one process per data directory is the user's job there
    fcntl = None  # type: ignore[assignment]

# The PostgreSQL advisory lock of start-up; outside the 32-bit range of the per-project hashtext() message locks.
STARTUP_LOCK_KEY = 0x7475_7961_636C_6F75  # "tuyaclou"


# libpq's connection parameters that asyncpg, the PostgreSQL driver, does not read from a URL (it would pass them
# to the server as settings, which refuses them). Those it reads work as in libpq: sslmode, sslrootcert, sslcert,
# sslkey, sslpassword, sslcrl, sslnegotiation, ssl_min/max_protocol_version, target_session_attrs, passfile,
# service, krbsrvname, gsslib, host, port, user, password, dbname; any other name is a server setting
# (application_name, search_path, ...), which the server checks when the connection opens.
UNSUPPORTED_LIBPQ = frozenset({
    "hostaddr", "connect_timeout", "options", "fallback_application_name", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "gssdelegation",
    "channel_binding", "require_auth", "requiressl", "requirepeer", "sslcompression", "sslcertmode", "sslcrldir",
    "sslsni", "sslkeylogfile", "load_balance_hosts",
})


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://"))


def unsupported_parameters(database_url: str) -> list[str]:
    """The libpq parameters of a PostgreSQL URL that the driver does not support (none for another URL)."""
    if not is_postgres(database_url):
        return []
    query = urllib.parse.urlsplit(database_url).query
    return sorted({name for name, _ in urllib.parse.parse_qsl(query, keep_blank_values=True)} & UNSUPPORTED_LIBPQ)


def unsupported_message(names: list[str]) -> str:
    return (f"the PostgreSQL driver (asyncpg) does not support the URL parameter{'s' if len(names) > 1 else ''} "
            f"{', '.join(names)}; remove {'them' if len(names) > 1 else 'it'} (sslmode, sslrootcert, sslcert, "
            "sslkey, target_session_attrs and the server's settings such as application_name work)")


def sqlite_path(database_url: str) -> str:
    return database_url.split("sqlite:///", 1)[1]


def _check_url(database_url: str) -> None:
    if not (is_postgres(database_url) or database_url.startswith("sqlite:///")):
        raise ValueError(f"unsupported database URL {database_url!r}: use sqlite:///PATH or postgresql://...")
    unsupported = unsupported_parameters(database_url)
    if unsupported:
        raise ValueError(unsupported_message(unsupported))


@contextlib.asynccontextmanager
async def startup_lock(database_url: str) -> AsyncIterator[None]:
    """Held while one process migrates the schema and makes its first-start records (the admin token, the demo,
    the first console account), so any number of processes started together on a new database take turns instead
    of racing (two CREATE TABLEs, two demos). PostgreSQL: a session advisory lock; SQLite: a file lock beside the
    database file. Both are released by the operating system or the server if the process dies."""
    _check_url(database_url)
    if is_postgres(database_url):
        import asyncpg  # only who uses PostgreSQL imports its driver

        from tuyacloud.store.postgres import asyncpg_dsn

        conn = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", STARTUP_LOCK_KEY)
            yield
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)  # ending the session releases the lock
        return
    path = Path(sqlite_path(database_url))
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(str(path) + ".startup-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


async def open_store(database_url: str, *, locked: bool = False) -> Store:
    """Migrate the schema to head (in a thread: Alembic is synchronous), then start the engine, both under
    :func:`startup_lock` unless the caller already holds it (``locked``).

    The start is under the lock too: on SQLite it switches a new file to WAL, which needs the file to itself; done
    after the lock was released, it contended with the next process's migration and read of the schema, and under
    load one of four processes started together gave up with "database is locked"."""
    _check_url(database_url)
    if database_url.startswith("sqlite:///"):
        Path(sqlite_path(database_url)).parent.mkdir(parents=True, exist_ok=True)
    if locked:
        return await _migrate_and_start(database_url)
    async with startup_lock(database_url):
        return await _migrate_and_start(database_url)


async def _migrate_and_start(database_url: str) -> Store:
    await asyncio.to_thread(migrate.upgrade, database_url)
    if is_postgres(database_url):
        from tuyacloud.store.postgres import PostgresStore  # asyncpg is imported only by who uses PostgreSQL

        store: Store = PostgresStore(database_url)
    else:
        store = SqliteStore(sqlite_path(database_url))
    await store.start()
    return store
