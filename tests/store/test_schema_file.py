"""A new database is created from the engine's schema file (store/schema/) instead of running every migration: the
result must be the very schema the migrations make. Each test makes one database each way on the engine under test
(SQLite, or PostgreSQL when TUYACLOUD_TEST_DATABASE_URL is set) and compares what the engine's catalogue says about
them: tables, columns with their types, defaults and positions, keys, indexes, triggers, functions, and the rows
(only ``alembic_version`` has any). A migration added without running ``python3 scripts/gen_schema.py`` fails here.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support.server import database_url_for_test, fresh_postgres_database
from tuyacloud.store import migrate

REGENERATE = "the schema file is not what the migrations make: run python3 scripts/gen_schema.py"

# What a PostgreSQL schema holds, each as rows that say everything about one kind of object, by name.
PG_CATALOGUE = {
    "relations": "SELECT relname, relkind, relpersistence, reloptions FROM pg_class "
                 "WHERE relnamespace = current_schema()::regnamespace ORDER BY relname",
    "columns": "SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, "
               "numeric_precision, column_default, is_nullable, is_identity, collation_name "
               "FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 3",
    "constraints": "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1",
    "triggers": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE NOT tgisinternal ORDER BY 1, 2",
    "functions": "SELECT proname, pg_get_functiondef(oid) FROM pg_proc "
                 "WHERE pronamespace = current_schema()::regnamespace ORDER BY 1",
    "sequences": "SELECT sequence_name, data_type, start_value, increment FROM information_schema.sequences "
                 "WHERE sequence_schema = current_schema() ORDER BY 1",
}


def describe_sqlite(path: Path) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        objects = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall()
        tables = [name for kind, name, _, _ in objects if kind == "table"]
        rows = {t: db.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}
        pragmas = {p: db.execute(f"PRAGMA {p}").fetchone() for p in ("user_version", "application_id", "encoding")}
    return {"objects": objects, "rows": rows, "pragmas": pragmas}


async def describe_postgres(url: str) -> dict[str, Any]:
    import asyncpg

    from tuyacloud.store.postgres import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        described: dict[str, Any] = {k: [tuple(r) for r in await conn.fetch(q)] for k, q in PG_CATALOGUE.items()}
        tables = [name for name, kind, _, _ in described["relations"] if kind in ("r", "p")]
        described["rows"] = {t: [tuple(r) for r in await conn.fetch(f'SELECT * FROM "{t}" ORDER BY 1')]
                             for t in tables}
    finally:
        await conn.close()
    return described


def test_a_new_sqlite_file_from_the_schema_file_is_what_the_migrations_make(tmp_path: Path) -> None:
    if database_url_for_test():
        pytest.skip("SQLite only (the PostgreSQL half runs the PostgreSQL version)")
    migrated, created = tmp_path / "migrated.db", tmp_path / "created.db"
    migrate.alembic_upgrade(f"sqlite:///{migrated}")
    migrate.upgrade(f"sqlite:///{created}")
    assert describe_sqlite(created) == describe_sqlite(migrated), REGENERATE


def test_a_new_postgresql_database_from_the_schema_file_is_what_the_migrations_make() -> None:
    server = database_url_for_test()
    if not server:
        pytest.skip("PostgreSQL only: scripts/test runs it with a throwaway cluster")
    migrated, created = fresh_postgres_database(server), fresh_postgres_database(server)
    migrate.alembic_upgrade(migrated)
    migrate.upgrade(created)
    assert asyncio.run(describe_postgres(created)) == asyncio.run(describe_postgres(migrated)), REGENERATE


def test_the_schema_files_record_the_heads() -> None:
    for engine in ("sqlite", "postgresql"):
        last = migrate.schema_script(engine).strip().splitlines()[-len(migrate.HEADS):]
        assert last == [f"INSERT INTO alembic_version (version_num) VALUES ('{h}');" for h in sorted(migrate.HEADS)], \
            REGENERATE


def test_a_new_database_starts_without_alembic_and_an_emptied_file_too(tmp_path: Path) -> None:
    """Neither a missing file nor an empty one (a zero-byte file, a database with nothing in it) costs Alembic."""
    if database_url_for_test():
        pytest.skip("SQLite only")
    empty = tmp_path / "empty.db"
    empty.touch()
    blank = tmp_path / "blank.db"
    sqlite3.connect(blank).execute("VACUUM").connection.close()
    script = ("import sys; from tuyacloud.store import migrate\n"
              "for url in sys.argv[1:]: migrate.upgrade(url)\n"
              "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'sqlalchemy'}))")
    urls = [f"sqlite:///{p}" for p in (tmp_path / "new.db", empty, blank)]
    done = subprocess.run([sys.executable, "-c", script, *urls], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert {migrate.current_revisions(url) for url in urls} == {migrate.HEADS}


def test_a_schema_file_that_fails_midway_leaves_the_database_empty(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """One transaction: a failure part way (a schema file with a broken statement after its first ten) leaves no
    half schema behind, so the next start finds an empty database and makes it whole."""
    url = database_url_for_test()
    url = fresh_postgres_database(url) if url else f"sqlite:///{tmp_path / 'store.db'}"
    engine = "postgresql" if url.startswith("postgresql") else "sqlite"
    statements = migrate.schema_script(engine).split(";\n\n")
    assert len(statements) > 20
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / f"{engine}.sql").write_text(";\n\n".join([*statements[:10], "CREATE TABLE (no such syntax",
                                                         *statements[10:]]))
    monkeypatch.setattr(migrate, "SCHEMA", broken)
    with pytest.raises(Exception, match="syntax"):
        migrate.upgrade(url)
    assert migrate.current_revisions(url) is None
    if engine == "sqlite":
        assert describe_sqlite(Path(url.split("sqlite:///", 1)[1]))["objects"] == []
    else:
        assert asyncio.run(describe_postgres(url))["relations"] == []
    monkeypatch.undo()
    migrate.upgrade(url)
    assert migrate.current_revisions(url) == migrate.HEADS
