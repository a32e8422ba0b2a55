"""Helpers of the tests of delayed scene actions across restarts and processes: `tuyacloud serve` child processes
whose cloud clocks the test owns, a smart home with dimmable lamps made through their control API and the OpenAPI,
and a scene of steps with a delay between each two."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.custom import ok
from support.faults import Serve
from support.rules import cloud_commands
from support.scaleout import client, control, start
from support.signed import SignedClient
from support.smarthome import create_home, new_schema, sync_user

MINUTE = 60_000
WIDE = ("--timestamp-window", "100000000", "--token-ttl", "100000000")  # the test moves the clock by minutes


def serve(data: Path, db: str | None, name: str) -> Serve:
    """``tuyacloud serve`` (no demo, no MQTT) on the data directory and database, ready to serve. ``db`` None is the
    SQLite file in ``data``."""
    return start(data, db, name, *WIDE)


def freeze(server: Serve, at_ms: int) -> None:
    control(server, "POST", "/clock", {"freeze": True, "at_ms": at_ms})


def step(server: Serve, ms: int) -> None:
    control(server, "POST", "/clock", {"step_ms": ms})


@dataclass
class SmartHome:
    """A smart-home project with an app user's home and its lamps (``dj``, brightness 10..1000)."""

    project: dict[str, Any]
    token: str
    home: str
    lamps: list[str]

    def client(self, server: Serve) -> SignedClient:
        """A signed client of ``server`` with the project's token (tokens live in the database: any process, any
        restart)."""
        return client(server, self.project, self.token)

    def scene(self, server: Serve, lamp: str, values: list[int], minutes: int = 5) -> str:
        """A scene that sets ``lamp``'s brightness to each of ``values`` in turn, ``minutes`` apart."""
        actions: list[dict[str, Any]] = []
        for value in values:
            if actions:
                actions.append({"entity_id": "delay", "action_executor": "delay",
                                "executor_property": {"hours": "0", "minutes": str(minutes), "seconds": "0"}})
            actions.append({"entity_id": lamp, "action_executor": "dpIssue",
                            "executor_property": {"bright_value_v2": value}})
        return str(ok(self.client(server).post(f"/v1.0/homes/{self.home}/scenes",
                                               {"name": f"Steps of {lamp[-4:]}", "actions": actions})))

    def trigger(self, server: Serve, scene_id: str) -> None:
        assert ok(self.client(server).post(f"/v1.0/homes/{self.home}/scenes/{scene_id}/trigger")) is True

    def brightness_commands(self, server: Serve, lamp: str) -> list[int]:
        """The brightness values the cloud commanded ``lamp`` (scenes, automations, timers), oldest first."""
        return [int(e["value"]) for e in cloud_commands(self.client(server), lamp, "bright_value_v2")]


def smart_home(server: Serve, lamps: int) -> SmartHome:
    project = control(server, "POST", "/projects", {"name": "Delays", "region": "us", "method": "smart_home"})
    c = client(server, project)
    schema = new_schema("delays")
    control(server, "POST", "/apps", {"schema": schema, "name": f"App {schema}", "region": "us"})
    control(server, "POST", f"/apps/{schema}/links", {"access_id": project["access_id"]})
    uid = sync_user(c, schema, "delays@example.com")
    home = create_home(c, uid)
    made = [control(server, "POST", f"/projects/{project['access_id']}/devices",
                    {"category": "dj", "user": uid, "home_id": home, "room_id": ""})[0]["id"] for _ in range(lamps)]
    assert c.access_token
    return SmartHome(project, c.access_token, home, made)


def runs_of(server: Serve, scene_id: str) -> list[dict[str, Any]]:
    """The entries of ``server``'s run history (``rules/runs``) for the scene."""
    return [r for r in control(server, "GET", "/rules/runs") if r["id"] == scene_id]
