"""The data directory removed or replaced under a running SQLite server: writes are refused, loudly.

Without the check, the server's open connections keep writing to files that no longer have a name: every command
answers success and everything is gone at the next start. The commit path compares the file's identity (device and
inode) with the one opened, and from the first difference on every write answers ``500`` naming the cause, one
CRITICAL log line says what happened, and health answers 503 (``failing: writes refused``). Reads keep working.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import web
from support.console import ConsoleClient
from support.server import ADMIN_TOKEN, CloudServer
from support.signed import SignedClient

pytestmark = pytest.mark.skipif(bool(os.environ.get("TUYACLOUD_TEST_DATABASE_URL")), reason="SQLite only")
PASSWORD = "faults-console-password"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    s = CloudServer(tmp_path / "data", create_demo=False, console_admin_password=PASSWORD).start()
    yield s
    s.stop()


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_writes_are_refused_once_the_database_file_is_gone(server: CloudServer, how: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    project = server.create_project()
    light = server.add_devices(project["access_id"], "dj")[0]["id"]
    client = SignedClient(server.url, project["access_id"], project["access_secret"])
    assert client.connect()["success"]
    assert client.post(f"/v1.0/devices/{light}/commands",
                       {"commands": [{"code": "switch_led", "value": False}]})["success"]

    data = server.settings.data_dir
    caplog.set_level(logging.WARNING, logger="tuyacloud")
    if how == "removed":
        shutil.rmtree(data)
    else:  # a restored backup copied over it: another file at the same path
        db = data / "tuyacloud.db"
        copy = data.parent / "copy.db"
        shutil.copy(db, copy)
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        shutil.move(copy, db)

    for n in range(20):
        body = client.post(f"/v1.0/devices/{light}/commands",
                           {"commands": [{"code": "bright_value_v2", "value": 100 + n}]})
        assert body["success"] is False, f"a write was accepted after the file was {how}: {body}"
        assert body["code"] == 500 and "removed or replaced" in body.get("detail", ""), body
    created = web.post(f"{server.url}/_tuyacloud/projects", json={"name": "after"}, timeout=10,
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    assert created["success"] is False and "removed or replaced" in created.get("detail", ""), created
    with ConsoleClient(server.url) as console:  # a console login writes a session: a short answer, no traceback
        page = console.login("admin", PASSWORD)
        assert page.status_code == 503 and "removed or replaced" in page.text, (page.status_code, page.text[:300])

    loud = [r for r in caplog.records if r.levelno >= logging.CRITICAL]
    assert len(loud) == 1 and str(data / "tuyacloud.db") in loud[0].getMessage(), [r.getMessage() for r in loud]
    assert not [r for r in caplog.records if r.exc_info], "a traceback per refused request"
    assert len(caplog.records) < 5, [r.getMessage() for r in caplog.records]

    response = web.get(f"{server.url}/_tuyacloud/health", timeout=10)
    health = response.json()["result"]
    assert response.status_code == 503 and health["ready"] is False and health["status"] == "unavailable", health
    assert health["checks"]["writes"].startswith("failing: writes refused: the database file was"), health
    assert health["checks"]["store"] == "ok", health  # reads still work: the reason is the writes
    assert health["tasks"]["store-writes"]["state"] == "refused", health  # the field health had before
    # Reads still answer (from what the server has open).
    assert client.get(f"/v1.0/devices/{light}")["success"]


def test_health_fails_at_once_when_the_data_directory_is_removed_under_an_idle_server(server: CloudServer) -> None:
    """Nobody writes: health itself looks at the file, so a probe takes the server out before a client finds out."""
    assert web.get(f"{server.url}/_tuyacloud/health", timeout=10).status_code == 200
    shutil.rmtree(server.settings.data_dir)
    response = web.get(f"{server.url}/_tuyacloud/health", timeout=10)
    result = response.json()["result"]
    assert response.status_code == 503 and result["ready"] is False, result
    assert result["checks"]["writes"] == ("failing: writes refused: the database file was removed under the running "
                                          "server; every write is refused until the server is restarted"), result
