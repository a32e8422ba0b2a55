"""Two server processes' worth of cloud on one PostgreSQL database, each with its own broker: a credential issued
by one is accepted by the other's broker, which delivers the commits made through the first (LISTEN/NOTIFY)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.custom import ok
from support.openhub import Subscriber, eventually, get_config, mqtt_server
from support.signed import SignedClient


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
