"""The open-hub links are visible: ``tuyacloud messages links`` / ``messages status`` (a subprocess on the running
server's store), the control API's ``GET /_tuyacloud/projects/{id}/mqtt-links`` and the console's message page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.console import ConsoleClient
from support.custom import ok
from support.openhub import Subscriber, eventually, get_config, mqtt_server
from support.server import CloudServer
from support.signed import SignedClient

PASSWORD = "console-open-hub"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    s = mqtt_server(tmp_path_factory.mktemp("status"), simulator=False, console_admin_password=PASSWORD)
    yield s
    s.stop()


def _cli(server: CloudServer, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "tuyacloud"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tuyacloud.cli.main"]
    command += ["messages", *args, "--data-dir", str(server.settings.data_dir)]
    if server.settings.database_url:
        command += ["--database-url", server.settings.database_url]
    env = {k: v for k, v in os.environ.items() if k not in ("TUYACLOUD_DATA_DIR", "TUYACLOUD_DATABASE_URL")}
    env["COLUMNS"] = "250"
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def test_links_are_a_list_that_pages_and_says_how_many(server: CloudServer) -> None:
    """Like every list command: a page (--limit/--offset) or --all, "showing N of M links", the JSON page shape;
    ``messages status`` shows the first page of links and says how to see the rest."""
    project = server.create_project(name="many links")
    access_id = project["access_id"]
    c = SignedClient(server.url, access_id, project["access_secret"])
    c.connect()
    made = [get_config(c, project["uid"], link_id=f"page.link{i}")["client_id"] for i in range(3)]
    first = _cli(server, "links", "--project", access_id, "--limit", "2")
    assert first.returncode == 0, first.stderr
    assert first.stdout.rstrip().splitlines()[-1] == \
        "showing 2 of 3 links (1-2); next page: --offset 2, every one: --all"
    page = json.loads(_cli(server, "links", "--project", access_id, "--json", "--offset", "2").stdout)
    assert (page["total"], page["offset"], page["limit"], page["has_more"], len(page["list"])) == (3, 2, 100, False, 1)
    every = json.loads(_cli(server, "links", "--project", access_id, "--json", "--all").stdout)
    assert sorted(r["client_id"] for r in every["list"]) == sorted(made) and every["limit"] is None
    status = _cli(server, "status", "--project", access_id)
    assert status.returncode == 0 and "showing 3 of 3 links" in status.stdout


def test_links_are_listed_with_user_connection_last_message_and_expiry(server: CloudServer) -> None:
    project = server.create_project(name="links")
    access_id = project["access_id"]
    plug = server.add_devices(access_id, "cz")[0]["id"]
    c = SignedClient(server.url, access_id, project["access_secret"])
    c.connect()
    config = get_config(c, project["uid"], "1.0", link_id="status.link")
    idle = get_config(c, project["uid"], link_id="idle.link")
    sub = Subscriber(config, "1.0").start().ready()
    try:
        ok(c.post(f"/v1.0/iot-03/devices/{plug}/commands", {"commands": [{"code": "switch_1", "value": True}]}))
        eventually(lambda: sub.devices() == {plug}, what="the report")

        def row() -> dict | None:
            rows = {r["client_id"]: r for r in server.control("GET", f"/projects/{access_id}/mqtt-links")}
            r = rows.get(config["client_id"])
            return r if r and r["connected"] and r["messages"] >= 1 else None

        shown = eventually(row, what="the link's row with its message")
        assert shown["uid"] == project["uid"] and shown["sees"] == "the whole project" and shown["version"] == "1.0"
        assert shown["last_message_ms"] and shown["valid"] and shown["expires_ms"] > shown["created_ms"]
        links = json.loads(_cli(server, "links", "--project", access_id, "--json").stdout)
        by_client = {r["client_id"]: r for r in links["list"]}
        assert by_client[config["client_id"]]["connected"] is True
        assert by_client[idle["client_id"]]["connected"] is False and by_client[idle["client_id"]]["messages"] == 0
        table = _cli(server, "status", "--project", access_id)
        assert table.returncode == 0 and "MQTT open-hub links" in table.stdout and "status.link" in table.stdout

        console = ConsoleClient(server.url)
        assert console.login("admin", PASSWORD).status_code == 303
        page = console.get(f"/console/projects/{access_id}/messages")
        assert page.status_code == 200 and config["client_id"] in page.text and "since" in page.text
        assert config["password"] not in page.text and config["password"] not in table.stdout
        console.close()
    finally:
        sub.stop()
    eventually(lambda: not row() and any(
        r["client_id"] == config["client_id"] and not r["connected"]
        for r in server.control("GET", f"/projects/{access_id}/mqtt-links")), what="the disconnection")
