"""Virtual devices in a running server: behaviour follows the cloud clock, reports reach status and logs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.clock import Clock


@pytest.fixture
def live(tmp_path: Path) -> Iterator[CloudServer]:
    # A wide timestamp window: the test steps the server clock by hours while the client signs with real time.
    server = CloudServer(tmp_path, clock=Clock(), create_demo=False, timestamp_window_s=10**7,
                         token_ttl_s=10**8).start()
    yield server
    server.stop()


def _client(server: CloudServer) -> tuple[SignedClient, str]:
    project = server.create_project()
    client = SignedClient(server.url, project["access_id"], project["access_secret"])
    assert client.connect()["success"]
    return client, project["access_id"]


def _status(client: SignedClient, device_id: str) -> dict[str, Any]:
    body = client.get(f"/v1.0/iot-03/devices/{device_id}/status")
    assert body["success"], body
    return {item["code"]: item["value"] for item in body["result"]}


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def _step(server: CloudServer, seconds: int) -> None:
    server.control("POST", "/clock", {"step_ms": seconds * 1000})


def test_curtain_moves_over_time_and_stops_at_target(live: CloudServer) -> None:
    client, access_id = _client(live)
    curtain = live.add_devices(access_id, "cl")[0]["id"]
    assert client.post(f"/v1.0/devices/{curtain}/commands",
                       {"commands": [{"code": "percent_control", "value": 100}]})["success"]
    assert _status(client, curtain)["percent_state"] < 100  # not there at once
    _step(live, 5)
    _eventually(lambda: 0 < _status(client, curtain)["percent_state"] < 100)
    _step(live, 120)
    _eventually(lambda: _status(client, curtain)["percent_state"] == 100)
    logs = client.get(f"/v1.0/devices/{curtain}/logs", {"type": "7", "codes": "percent_state"})["result"]["logs"]
    assert len(logs) >= 2  # intermediate positions were reported


def test_socket_accumulates_energy_only_while_on(live: CloudServer) -> None:
    client, access_id = _client(live)
    plug = live.add_devices(access_id, "cz")[0]["id"]
    _step(live, 3600)
    time.sleep(0.6)
    assert _status(client, plug)["add_ele"] == 0
    assert client.post(f"/v1.0/devices/{plug}/commands", {"commands": [{"code": "switch_1", "value": True}]})["success"]
    _eventually(lambda: _status(client, plug)["cur_power"] > 0)
    _step(live, 3600)
    _eventually(lambda: _status(client, plug)["add_ele"] > 0)


def test_air_conditioner_drifts_toward_target_while_on(live: CloudServer) -> None:
    client, access_id = _client(live)
    ac = live.add_devices(access_id, "kt")[0]["id"]
    before = _status(client, ac)["temp_current"]
    _step(live, 1800)
    time.sleep(0.6)
    assert _status(client, ac)["temp_current"] == before  # off: no drift
    client.post(f"/v1.0/devices/{ac}/commands", {"commands": [{"code": "switch", "value": True},
                                                              {"code": "temp_set", "value": 20}]})
    _step(live, 1800)
    _eventually(lambda: _status(client, ac)["temp_current"] < before)


def test_sensor_reports_on_schedule(live: CloudServer) -> None:
    client, access_id = _client(live)
    sensor = live.add_devices(access_id, "wsdcg")[0]["id"]
    seen = set()
    for _ in range(6):
        _step(live, 900)
        time.sleep(0.3)
        seen.add(_status(client, sensor)["va_temperature"])
    assert len(seen) > 1
    reports = client.get(f"/v1.0/iot-03/devices/{sensor}/report-logs", {"codes": "va_temperature"})["result"]
    assert reports["list"], reports


def test_offline_device_refuses_commands_and_comes_back(live: CloudServer) -> None:
    client, access_id = _client(live)
    light = live.add_devices(access_id, "dj")[0]["id"]
    live.control("POST", f"/devices/{light}/online", {"online": False})
    body = client.post(f"/v1.0/devices/{light}/commands", {"commands": [{"code": "switch_led", "value": False}]})
    assert (body["success"], body["code"]) == (False, 2001)
    assert client.get(f"/v1.0/devices/{light}")["result"]["online"] is False
    assert _status(client, light)["switch_led"] is True  # nothing changed
    live.control("POST", f"/devices/{light}/online", {"online": True})
    assert client.post(f"/v1.0/devices/{light}/commands",
                       {"commands": [{"code": "switch_led", "value": False}]})["success"]
    assert _status(client, light)["switch_led"] is False


def test_injected_report_updates_status_and_time(live: CloudServer) -> None:
    client, access_id = _client(live)
    sensor = live.add_devices(access_id, "wsdcg")[0]["id"]
    before = client.get(f"/v2.0/cloud/thing/{sensor}/shadow/properties", {"codes": "va_humidity"})["result"]
    live.control("POST", f"/devices/{sensor}/report", {"status": {"va_humidity": 77}})
    after = client.get(f"/v2.0/cloud/thing/{sensor}/shadow/properties", {"codes": "va_humidity"})["result"]
    assert after["properties"][0]["value"] == 77
    assert after["properties"][0]["time"] >= before["properties"][0]["time"]
