"""Two server processes' worth of cloud on one PostgreSQL database, each with its own broker: a credential issued
by one is accepted by the other's broker, which delivers the commits made through the first (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import asyncpg
import pytest

from support.custom import ok
from support.openhub import Subscriber, eventually, get_config, mqtt_server
from support.server import ADMIN_TOKEN
from support.signed import SignedClient
from tuyacloud.store.postgres import asyncpg_dsn
from tuyacloud.testing.control import ControlClient


@pytest.mark.skipif(not os.environ.get("TUYACLOUD_TEST_DATABASE_URL"), reason="needs PostgreSQL (one database "
                    "shared by two servers); scripts/test runs this half with a throwaway cluster")
def test_a_credential_works_on_another_servers_broker(tmp_path: Path) -> None:
    first = mqtt_server(tmp_path / "a", simulator=False)
    second = None
    try:
        second = mqtt_server(tmp_path / "b", simulator=False, database_url=first.settings.database_url)
        project = first.create_project(name="two processes")
        plug = first.add_devices(project["access_id"], "cz")[0]["id"]
        c = SignedClient(first.url, project["access_id"], project["access_secret"])
        c.connect()
        config = get_config(c, project["uid"])
        assert config["url"].endswith(f":{first.settings.mqtt_port}")
        elsewhere = {**config, "url": f"tcp://127.0.0.1:{second.settings.mqtt_port}"}
        sub = Subscriber(elsewhere).start().ready()
        try:
            for value in (True, False, True):
                command = {"commands": [{"code": "switch_1", "value": value}]}
                ok(c.post(f"/v1.0/iot-03/devices/{plug}/commands", command))
            seen = eventually(lambda: (r := [s["value"] for s in sub.reports(plug) if s["code"] == "switch_1"])
                              and len(r) >= 3 and r, what="the reports through the other server")
            assert seen == [True, False, True]
            links = second.control("GET", f"/projects/{project['access_id']}/mqtt-links")
            assert [row["connected"] for row in links if row["client_id"] == config["client_id"]] == [True]
        finally:
            sub.stop()
    finally:
        if second is not None:
            second.stop()
        first.stop()


@pytest.mark.skipif(not os.environ.get("TUYACLOUD_TEST_DATABASE_URL"), reason="needs PostgreSQL (commits of "
                    "several writers land out of position order only there)")
def test_a_new_link_gets_a_message_committed_out_of_order_just_before_it(tmp_path: Path) -> None:
    """Another writer drew a position before the newest committed message but commits after the config call: the
    link's start must not pass it (it is capped at the outbox's horizon), or that message is never delivered."""
    server = mqtt_server(tmp_path, simulator=False)
    loop = asyncio.new_event_loop()
    raw: asyncpg.Connection | None = None
    sub: Subscriber | None = None
    try:
        project = server.create_project(name="out of order")
        access_id = project["access_id"]
        plug = server.add_devices(access_id, "cz")[0]["id"]
        c = SignedClient(server.url, access_id, project["access_secret"])
        c.connect()
        ok(c.post(f"/v1.0/iot-03/devices/{plug}/commands", {"commands": [{"code": "switch_1", "value": True}]}))
        with ControlClient(server.url, ADMIN_TOKEN) as control:
            report = [m for m in control.messages(access_id) if m["protocol"] == 4][-1]
        data = {**report["data"], "status": [{**report["data"]["status"][0], "code": "countdown_1", "value": 777}]}
        raw = loop.run_until_complete(asyncpg.connect(asyncpg_dsn(server.settings.database_url)))
        # A writer as the server's: its transaction id first, then the position it draws.
        loop.run_until_complete(raw.execute("BEGIN; SELECT pg_current_xact_id()"))
        early = loop.run_until_complete(raw.fetchval(
            "INSERT INTO messages (access_id, region, protocol, device_id, data, created_ms) "
            "VALUES ($1, $2, 4, $3, $4, $5) RETURNING seq",
            access_id, project.get("region", "us"), plug, json.dumps(data), report["t"]))
        ok(c.post(f"/v1.0/iot-03/devices/{plug}/commands", {"commands": [{"code": "switch_1", "value": False}]}))
        config = get_config(c, project["uid"])  # the newest committed position is now above ``early``
        loop.run_until_complete(raw.execute("COMMIT"))
        sub = Subscriber(config).start().ready()
        eventually(lambda: any(s["code"] == "countdown_1" and s["value"] == 777 for s in sub.reports(plug)),
                   what=f"the message at position {early}, committed after the config call")
    finally:
        if sub is not None:
            sub.stop()
        if raw is not None:
            loop.run_until_complete(raw.close())
        loop.close()
        server.stop()
