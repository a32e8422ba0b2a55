"""Helpers of the scene and automation tests: a server whose clock the test owns, waiting for background runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from support.custom import ok
from support.server import CloudServer
from support.signed import SignedClient
from support.smarthome import SmartHomeProject, add_home_device, create_home, smart_home_project, sync_user
from tuyacloud.clock import Clock

# 2026-03-02 (a Monday) 12:00:00 UTC: a fixed, known instant for the frozen clock.
MONDAY_NOON_UTC = 1_772_452_800_000
WIDE = 10**8  # signatures and tokens stay valid while the test moves the server clock by days


def own_server(tmp_path: Path, simulator: bool = False) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path, clock=Clock(), create_demo=False, simulator=simulator, timestamp_window_s=WIDE,
                         token_ttl_s=WIDE).start()
    try:
        yield server
    finally:
        server.stop()


def freeze(server: CloudServer, at_ms: int = MONDAY_NOON_UTC) -> None:
    server.control("POST", "/clock", {"freeze": True, "at_ms": at_ms})


def step(server: CloudServer, ms: int) -> None:
    server.control("POST", "/clock", {"step_ms": ms})


def report(server: CloudServer, device_id: str, **status: Any) -> None:
    server.control("POST", f"/devices/{device_id}/report", {"status": status})


def status(c: SignedClient, device_id: str) -> dict[str, Any]:
    return {s["code"]: s["value"] for s in ok(c.get(f"/v1.0/devices/{device_id}/status"))}


def cloud_commands(c: SignedClient, device_id: str, code: str | None = None) -> list[dict[str, Any]]:
    """The device's command log entries (event 5) issued by the cloud (event_from 4), oldest first."""
    params: dict[str, Any] = {"type": "5", "start_time": 0, "end_time": 4_000_000_000_000, "size": 100}
    if code:
        params["codes"] = code
    logs = ok(c.get(f"/v1.0/devices/{device_id}/logs", params))["logs"]
    return [entry for entry in reversed(logs) if entry["event_from"] == "4"]


def eventually(check: Callable[[], Any], timeout: float = 10.0, explain: Callable[[], Any] | None = None) -> Any:
    """Poll until ``check`` returns something truthy (background runs take a moment); on time-out the failure
    shows what ``explain`` returns (the engine's run history, say), so a rare failure in CI can be read."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"condition not reached in time; {explain() if explain else ''}"
            return value
        time.sleep(0.05)


def engine_story(server: CloudServer, c: SignedClient, *device_ids: str) -> str:
    """What the automation engine did and which cloud commands each device got: the context of a failure."""
    runs = server.control("GET", "/rules/runs")
    commands = {d: [(e["code"], e["value"]) for e in cloud_commands(c, d)] for d in device_ids}
    return f"engine runs: {runs}; cloud commands: {commands}"


def settle(seconds: float = 0.6) -> None:
    """Give the engine time to (not) act, before asserting that something did not happen."""
    time.sleep(seconds)


class Home:
    """A smart-home project with an app user, their home and a few devices in it."""

    def __init__(self, server: CloudServer, username: str = "rules@example.com",
                 categories: tuple[str, ...] = ("dj", "dj", "wsdcg")) -> None:
        self.server = server
        self.sh: SmartHomeProject = smart_home_project(server)
        self.c = self.sh.client
        self.uid = sync_user(self.c, self.sh.schema, username)
        self.home = create_home(self.c, self.uid)
        self.devices = [add_home_device(server, self.sh.project["access_id"], self.uid, self.home, cat)["id"]
                        for cat in categories]

    def path(self, tail: str = "") -> str:
        return f"/v1.0/homes/{self.home}{tail}"


def dp_issue(device_id: str, **props: Any) -> dict[str, Any]:
    return {"entity_id": device_id, "action_executor": "dpIssue", "executor_property": props}


def delay(seconds: int = 0, minutes: int = 0, hours: int = 0) -> dict[str, Any]:
    return {"entity_id": "delay", "action_executor": "delay",
            "executor_property": {"hours": str(hours), "minutes": str(minutes), "seconds": str(seconds)}}


def device_condition(device_id: str, code: str, operator: str, value: Any, order: int = 1) -> dict[str, Any]:
    return {"entity_type": 1, "entity_id": device_id, "order_num": order,
            "display": {"code": code, "operator": operator, "value": value}}


def frozen_server(tmp_path: Path) -> Iterator[CloudServer]:
    """A server of the test's own, no simulator, its clock frozen at Monday noon UTC (for a fixture)."""
    for server in own_server(tmp_path):
        freeze(server)
        yield server
