"""``GET /_tuyacloud/health`` is a readiness check: 200 with every check ``ok`` when the store answers and its
schema is at the migrations this code ships; 503 saying what is wrong when the database is at another revision
(here: moved back one revision behind the server's back, through the engine's own store, then put back)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from support.server import CloudServer
from tuyacloud.store.engine import is_postgres, sqlite_path
from tuyacloud.store.migrate import head_revisions
from tuyacloud.store.postgres import PostgresStore
from tuyacloud.store.sqlite import SqliteStore


def set_revision(database_url: str, revision: str) -> None:
    async def work() -> None:
        store = PostgresStore(database_url) if is_postgres(database_url) else SqliteStore(sqlite_path(database_url))
        await store.start()
        try:
            await store.execute("UPDATE alembic_version SET version_num = ?", (revision,))
        finally:
            await store.close()

    asyncio.run(work())


def test_health_is_open_and_ready(cloud: CloudServer) -> None:
    response = httpx.get(f"{cloud.url}/_tuyacloud/health", timeout=10)  # no token needed
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["result"]["status"] == "ok" and body["result"]["ready"] is True
    assert body["result"]["checks"] == {"store": "ok", "migrations": "ok"}


def test_health_is_unavailable_when_the_schema_is_not_at_head(tmp_path: Path) -> None:
    server = CloudServer(tmp_path / "data", simulator=False, create_demo=False).start()
    url = server.settings.effective_database_url
    (head,) = head_revisions()
    try:
        set_revision(url, "0001")
        response = httpx.get(f"{server.url}/_tuyacloud/health", timeout=10)
        assert response.status_code == 503
        result = response.json()["result"]
        assert result["ready"] is False and result["status"] == "unavailable"
        assert result["checks"]["store"] == "ok"
        assert result["checks"]["migrations"] == f"not at head: database at 0001, this code at {head}"
        set_revision(url, head)
        assert httpx.get(f"{server.url}/_tuyacloud/health", timeout=10).status_code == 200
    finally:
        server.stop()
