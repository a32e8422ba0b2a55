"""Simulated time never jumps across idle time: a behaviour runs from the last change of its inputs.

The server's clock is frozen and stepped through the control API, so every figure below is exact: a curtain idle
for 20 s and then told to open takes its full 10 s; a light idle for 30 s with ``countdown_1=10`` toggles 10 s after
the command, not at once. Runs on the engine under test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.faults import eventually
from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.clock import Clock

SETTLE_S = 0.6  # long enough for the runner to have acted on a change (it wakes at once)


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path, clock=Clock(frozen_at_ms=int(time.time() * 1000)), create_demo=False).start()
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


def _command(client: SignedClient, device_id: str, code: str, value: Any) -> None:
    body = client.post(f"/v1.0/devices/{device_id}/commands", {"commands": [{"code": code, "value": value}]})
    assert body["success"], body


def _step(server: CloudServer, seconds: float) -> None:
    server.control("POST", "/clock", {"step_ms": int(seconds * 1000)})


def test_a_curtain_idle_for_20_s_then_told_to_open_takes_its_full_10_s(frozen: CloudServer) -> None:
    client, access_id = _client(frozen)
    curtain = frozen.add_devices(access_id, "cl")[0]["id"]
    _command(client, curtain, "control_back_mode", "forward")  # the simulator has looked at it: it is idle now
    time.sleep(SETTLE_S)
    _step(frozen, 20)  # idle
    time.sleep(SETTLE_S)
    _command(client, curtain, "control", "open")
    time.sleep(SETTLE_S)
    assert _status(client, curtain)["percent_state"] == 0, "the idle time before the command was simulated"
    _step(frozen, 5)
    eventually(lambda: _status(client, curtain)["percent_state"] > 0, what="the curtain moving")
    time.sleep(SETTLE_S)
    assert 45 <= _status(client, curtain)["percent_state"] <= 55  # half way after half its 10 s
    _step(frozen, 5)
    eventually(lambda: _status(client, curtain)["percent_state"] == 100, what="the curtain fully open")


def test_a_light_idle_for_30_s_with_countdown_10_toggles_after_10_s(frozen: CloudServer) -> None:
    client, access_id = _client(frozen)
    light = frozen.add_devices(access_id, "dj")[0]["id"]
    assert _status(client, light)["switch_led"] is True
    _command(client, light, "bright_value_v2", 500)
    time.sleep(SETTLE_S)
    _step(frozen, 30)  # idle
    time.sleep(SETTLE_S)
    _command(client, light, "countdown_1", 10)
    time.sleep(SETTLE_S)
    status = _status(client, light)
    assert status["switch_led"] is True and status["countdown_1"] == 10, status
    _step(frozen, 5)
    time.sleep(SETTLE_S)
    assert _status(client, light)["switch_led"] is True, "toggled before its 10 s"
    _step(frozen, 5)
    eventually(lambda: _status(client, light)["switch_led"] is False, what="the countdown toggling the light")
    assert _status(client, light)["countdown_1"] == 0
