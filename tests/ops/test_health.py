"""``GET /_tuyacloud/health`` is a readiness check: 200 with every check ``ok`` when the store answers and its
schema is at the migrations this code ships; 503 saying what is wrong when the database is at another revision
(here: moved back one revision behind the server's back, through the engine's own store, then put back)."""

from __future__ import annotations

import asyncio
import glob
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from support import web
from support.server import ADMIN_TOKEN, CloudServer, fresh_postgres_database
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
    response = web.get(f"{cloud.url}/_tuyacloud/health", timeout=10)  # no token needed
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["result"]["status"] == "ok" and body["result"]["ready"] is True
    assert body["result"]["checks"] == {"store": "ok", "migrations": "ok", "writes": "ok"}


def test_health_is_unavailable_when_the_schema_is_not_at_head(tmp_path: Path) -> None:
    server = CloudServer(tmp_path / "data", simulator=False, create_demo=False).start()
    url = server.settings.effective_database_url
    (head,) = head_revisions()
    try:
        set_revision(url, "0001")
        response = web.get(f"{server.url}/_tuyacloud/health", timeout=10)
        assert response.status_code == 503
        result = response.json()["result"]
        assert result["ready"] is False and result["status"] == "unavailable"
        assert result["checks"]["store"] == "ok"
        assert result["checks"]["migrations"] == f"not at head: database at 0001, this code at {head}"
        set_revision(url, head)
        assert web.get(f"{server.url}/_tuyacloud/health", timeout=10).status_code == 200
    finally:
        server.stop()


PGBIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
CLUSTER_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pg-test-cluster"


def _as_postgres(*command: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=60)


def _health(server: CloudServer) -> tuple[int, dict[str, Any]]:
    response = web.get(f"{server.url}/_tuyacloud/health", timeout=10)
    return response.status_code, response.json()["result"]


@pytest.mark.skipif(not PGBIN, reason="PostgreSQL is not installed (apt-get install postgresql)")
def test_health_says_the_store_is_unreachable_while_postgresql_is_down_and_recovers(tmp_path: Path) -> None:
    """A PostgreSQL cluster of this test's own (the suite's shared one must stay up) is stopped under a running
    server, then started again on the same port."""
    started = subprocess.run(["bash", str(CLUSTER_SCRIPT), "start"], check=True, capture_output=True, text=True,
                             timeout=120).stdout
    cluster = dict(re.findall(r"export (\w+)=(\S+)", started))
    directory, url = cluster["PGTEST_DIR"], cluster["TUYACLOUD_TEST_DATABASE_URL"]
    port = url.rsplit(":", 1)[1].split("/")[0]
    pg_ctl = f"{PGBIN[-1]}/pg_ctl"
    server = None
    try:
        server = CloudServer(tmp_path / "data", database_url=fresh_postgres_database(url), simulator=False,
                             create_demo=False).start()
        assert _health(server)[0] == 200
        _as_postgres(pg_ctl, "-D", f"{directory}/data", "-m", "immediate", "-w", "stop")
        status, result = _health(server)
        assert status == 503 and result["ready"] is False, result
        assert result["checks"]["store"].startswith("unreachable"), result
        scrape = web.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
        assert scrape.status_code == 200 and "tuyacloud_store_up 0.0" in scrape.text
        _as_postgres(pg_ctl, "-D", f"{directory}/data", "-l", f"{directory}/log", "-w", "-t", "30", "-o",
                     f"-k {directory} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        deadline = time.monotonic() + 20
        while _health(server)[0] != 200:  # the pool replaces its dead connections as they are used
            assert time.monotonic() < deadline, _health(server)
            time.sleep(0.2)
    finally:
        if server is not None:
            server.stop()
        subprocess.run(["bash", str(CLUSTER_SCRIPT), "stop", directory], capture_output=True, timeout=120)
