"""One server with its MQTT broker for the open-hub tests of a module, and a custom project with two users on two
assets (a device each), so visibility can be checked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from support.custom import add_asset, login, ok, register
from support.openhub import mqtt_server
from support.server import CloudServer
from support.signed import SignedClient


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    server = mqtt_server(tmp_path_factory.mktemp("openhub"), simulator=False)
    yield server
    server.stop()


@dataclass
class Site:
    project: dict[str, Any]
    client: SignedClient  # the project's token
    users: dict[str, SignedClient]  # username -> a client carrying the user's token
    uids: dict[str, str]
    devices: dict[str, dict[str, Any]]  # username -> the light at the user's asset
    assets: dict[str, str]


def make_site(server: CloudServer, names: tuple[str, ...] = ("alice", "bob")) -> Site:
    project = server.create_project(name="open-hub")
    c = SignedClient(server.url, project["access_id"], project["access_secret"])
    assert c.connect()["success"]
    users, uids, devices, assets = {}, {}, {}, {}
    for name in names:
        asset = add_asset(c, f"{name}'s flat")
        uid = register(c, f"{name}@example.com")
        ok(c.post("/v1.0/iot-03/assets/actions/user-authorized", {"uid": uid, "asset_id": asset}))
        devices[name] = server.control("POST", f"/projects/{project['access_id']}/devices",
                                       {"category": "dj", "asset_id": asset})[0]
        users[name], uids[name], assets[name] = login(c, f"{name}@example.com"), uid, asset
    return Site(project, c, users, uids, devices, assets)


@pytest.fixture(scope="module")
def site(hub: CloudServer) -> Site:
    return make_site(hub)
