"""The schema check at start-up: a database already at the shipped heads is recognised without importing Alembic or
SQLAlchemy (most of a server's start otherwise), and anything else still goes through Alembic, which migrates an
older database and refuses a newer one. ``HEADS``, the declared heads that check compares with, must be exactly
what Alembic reads from the migration scripts, so adding a migration without updating it fails here. On the
engine under test (SQLite, or PostgreSQL when TUYACLOUD_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.server import database_url_for_test
from tuyacloud.store import migrate

IMPORTS_AFTER_UPGRADE = ("import sys; from tuyacloud.store import migrate; migrate.upgrade(sys.argv[1]); "
                         "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'sqlalchemy'}))")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return database_url_for_test() or f"sqlite:///{tmp_path / 'store.db'}"


def test_declared_heads_are_the_heads_alembic_reads_from_the_scripts() -> None:
    assert migrate.head_revisions() == migrate.HEADS


def run_sync(url: str, statement: str) -> None:
    """One statement (or an Alembic command, given as a callable's name) through SQLAlchemy, on either engine.
    Alembic and SQLAlchemy are imported here, not with the module: every test process imports every test module to
    collect it, and these two took about a fifth of that."""
    from alembic import command
    from sqlalchemy import create_engine, text
    from sqlalchemy.ext.asyncio import create_async_engine

    sa_url = migrate.to_sqlalchemy_url(url)

    def work(connection: object) -> None:
        if statement.startswith("downgrade "):
            command.downgrade(migrate._config(connection), statement.split()[1])  # type: ignore[arg-type]
        else:
            connection.execute(text(statement))  # type: ignore[attr-defined]

    if sa_url.startswith("sqlite"):
        engine = create_engine(sa_url)
        with engine.begin() as conn:
            work(conn)
        engine.dispose()
        return

    import asyncio

    async def run() -> None:
        async_engine = create_async_engine(sa_url)
        async with async_engine.begin() as conn:
            await conn.run_sync(work)
        await async_engine.dispose()

    asyncio.run(run())


def test_a_new_database_is_migrated_then_recognised_without_alembic(url: str) -> None:
    assert migrate.current_revisions(url) is None  # nothing there yet: Alembic's job
    migrate.upgrade(url)
    assert migrate.current_revisions(url) == migrate.HEADS
    done = subprocess.run([sys.executable, "-c", IMPORTS_AFTER_UPGRADE, url], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_an_older_database_is_still_migrated(url: str) -> None:
    migrate.upgrade(url)
    run_sync(url, "downgrade 0008")
    assert migrate.current_revisions(url) == {"0008"}
    migrate.upgrade(url)
    assert migrate.current_revisions(url) == migrate.HEADS


def test_a_database_from_a_newer_tuyacloud_is_still_refused(url: str) -> None:
    migrate.upgrade(url)
    run_sync(url, "UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(Exception, match="9999_future"):
        migrate.upgrade(url)


def test_a_file_that_is_not_a_database_is_left_to_alembic(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"not a database at all" * 100)
    assert migrate.current_revisions(f"sqlite:///{path}") is None
    with pytest.raises(Exception, match="not a database"):
        migrate.upgrade(f"sqlite:///{path}")
