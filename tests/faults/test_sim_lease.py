"""One process drives a virtual device: two servers on one store do not both move it.

Devices are sharded and the simulator of the process holding a shard's lease drives them; another process that
serves a command on such a device hands it over through the store; when the holder stops, the other takes its
shards over. Both servers' clocks are frozen at one instant and stepped together, so positions are exact. Runs on
the engine under test (one SQLite file, or one PostgreSQL database, shared by both servers).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from support import web
from support.faults import Serve, eventually
from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.clock import Clock
from tuyacloud.store.engine import open_store

SETTLE_S = 0.8
SHARDS = 16  # tuyacloud.simulator.runner.SHARDS


def _health(server: CloudServer) -> dict[str, Any]:
    body = web.get(f"{server.url}/_tuyacloud/health", timeout=10).json()
    assert body["success"], body
    result: dict[str, Any] = body["result"]
    return result


def _shards(server: CloudServer) -> int | None:
    """How many shards the server's simulator holds, per its health answer."""
    return _health(server).get("tasks", {}).get("simulator", {}).get("shards")


def _percent(client: SignedClient, device_id: str) -> int:
    body = client.get(f"/v1.0/iot-03/devices/{device_id}/status")
    assert body["success"], body
    return int(next(s["value"] for s in body["result"] if s["code"] == "percent_state"))


def _step_both(servers: list[CloudServer], seconds: float) -> None:
    for server in servers:
        server.control("POST", "/clock", {"step_ms": int(seconds * 1000)})


def test_a_second_process_does_not_drive_a_moving_device_and_takes_over_when_the_first_stops(tmp_path: Path) -> None:
    t0 = int(time.time() * 1000)
    first = CloudServer(tmp_path, clock=Clock(frozen_at_ms=t0), create_demo=False).start()
    second: CloudServer | None = None
    try:
        time.sleep(0.5)  # the first process's simulator has started (and taken every shard)
        project = first.create_project()
        curtain = first.add_devices(project["access_id"], "cl")[0]["id"]
        a = SignedClient(first.url, project["access_id"], project["access_secret"])
        assert a.connect()["success"]
        assert a.post(f"/v1.0/devices/{curtain}/commands",
                      {"commands": [{"code": "control", "value": "open"}]})["success"]

        second = CloudServer(tmp_path, clock=Clock(frozen_at_ms=t0), create_demo=False,
                             database_url=first.settings.database_url).start()
        b = SignedClient(second.url, project["access_id"], project["access_secret"])
        assert b.connect()["success"]
        time.sleep(2.5)  # the second process has seen the device (it looks for new ones every 2 s)

        _step_both([first, second], 5)
        eventually(lambda: _percent(a, curtain) > 0, what="the curtain moving")
        time.sleep(SETTLE_S)
        assert 45 <= _percent(a, curtain) <= 55, "driven by two processes: it moved twice as fast"
        assert (_shards(first), _shards(second)) == (SHARDS, 0)

        # A command served by the process that does not drive the device reaches the one that does.
        assert b.post(f"/v1.0/devices/{curtain}/commands",
                      {"commands": [{"code": "percent_control", "value": 0}]})["success"]
        time.sleep(SETTLE_S)
        _step_both([first, second], 3)
        eventually(lambda: _percent(a, curtain) < 50, what="the curtain closing")
        time.sleep(SETTLE_S)
        assert 15 <= _percent(a, curtain) <= 25

        first.stop()  # hands its shards over
        eventually(lambda: _shards(second) == SHARDS, timeout=15, what="the second process taking the shards over")
        assert b.post(f"/v1.0/devices/{curtain}/commands",
                      {"commands": [{"code": "percent_control", "value": 100}]})["success"]
        time.sleep(SETTLE_S)
        second.control("POST", "/clock", {"step_ms": 10_000})
        eventually(lambda: _percent(b, curtain) == 100, what="the curtain driven by the second process")
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_the_shards_of_a_killed_process_are_taken_over(tmp_path: Path) -> None:
    """kill -9: no hand-over; the leases run out and the survivor drives every device."""
    data = tmp_path / "data"
    probe = CloudServer(data, create_demo=False, simulator=False)  # only for its database URL
    db = probe.settings.database_url
    killed = Serve(data, db, "killed", "--no-demo")
    survivor: CloudServer | None = None
    try:
        eventually(killed.ready, timeout=90, what="the first process started")
        eventually(lambda: _health_of(killed.url).get("tasks", {}).get("simulator", {}).get("shards") == SHARDS,
                   what="the first process holding every shard")
        survivor = CloudServer(data, create_demo=False, database_url=db).start()
        time.sleep(2.5)
        assert _shards(survivor) == 0
        killed.kill()
        started = time.monotonic()
        eventually(lambda: _shards(survivor) == SHARDS, timeout=20, what="the survivor taking every shard over")
        assert time.monotonic() - started < 12  # lease 6 s + renewal every 2 s, with room for a loaded machine
    finally:
        killed.stop()
        if survivor is not None:
            survivor.stop()


def _health_of(url: str) -> dict[str, Any]:
    result: dict[str, Any] = web.get(f"{url}/_tuyacloud/health", timeout=10).json()["result"]
    return result


def test_a_lease_is_exclusive_until_it_expires(tmp_path: Path) -> None:
    """What lets a live process keep its shards and a dead one's be taken over (no renewal: expiry)."""
    server = CloudServer(tmp_path / "probe", create_demo=False, simulator=False)
    url = server.settings.effective_database_url

    async def scenario() -> None:
        store = await open_store(url)
        try:
            async def take(owner: str, now: int, until: int) -> bool:
                return bool(await store.transaction(lambda tx: tx.take_sim_lease(3, owner, now, until)))

            assert await take("alive", 1000, 7000)
            assert not await take("other", 2000, 8000)  # held
            assert await take("alive", 3000, 9000)  # renewed by its owner
            assert not await take("other", 8999, 14_999)
            assert await take("other", 9001, 15_001)  # expired: taken over
            assert not await take("alive", 9002, 15_002)
        finally:
            await store.close()

    asyncio.run(scenario())
