"""Moving asset nodes (control API and CLI): subtrees keep their devices and grants; cycles are refused."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from support import web
from support.cli import cli_command, cli_env
from support.custom import add_asset, code, ok
from support.server import ADMIN_TOKEN, CloudServer
from support.signed import SignedClient


def _client(cloud: CloudServer) -> tuple[dict[str, Any], SignedClient]:
    project = cloud.create_project(name="Mover")
    c = SignedClient(cloud.url, project["access_id"], project["access_secret"])
    ok(c.connect())
    return project, c


def _move(cloud: CloudServer, access_id: str, asset_id: str, parent: str) -> dict[str, Any]:
    response = web.post(f"{cloud.url}/_tuyacloud/projects/{access_id}/assets/{asset_id}/move",
                        json={"parent_asset_id": parent}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    return response.json()  # type: ignore[no-any-return]


def _details(c: SignedClient, asset_id: str) -> dict[str, Any]:
    return ok(c.get(f"/v1.0/iot-02/assets/{asset_id}"))  # type: ignore[no-any-return]


def _snapshot(c: SignedClient, ids: list[str]) -> list[tuple[Any, ...]]:
    return [tuple(sorted(_details(c, i).items())) for i in ids]


def test_a_subtree_moves_with_its_devices(cloud: CloudServer) -> None:
    project, c = _client(cloud)
    campus = add_asset(c, "Campus")
    a, b = add_asset(c, "Building A", campus), add_asset(c, "Building B", campus)
    floor = add_asset(c, "Floor 2", a)
    room = add_asset(c, "Room 201", floor)
    device = cloud.control("POST", f"/projects/{project['access_id']}/devices",
                           {"category": "dj", "asset_id": room})[0]["id"]
    moved = _move(cloud, project["access_id"], floor, b)
    assert moved["success"], moved
    assert _details(c, floor)["parent_asset_id"] == b
    assert _details(c, room)["asset_full_name"] == "Campus/Building B/Floor 2/Room 201"
    assert _details(c, room)["level"] == _details(c, floor)["level"] + 1
    listed = ok(c.get("/v1.3/iot-03/devices", {"source_type": "asset", "source_id": room}))["list"]
    assert [d["id"] for d in listed] == [device]
    assert ok(c.get(f"/v1.0/devices/{device}/status"))  # status and history stay with the device


def test_cycles_and_the_root_are_refused_and_nothing_changes(cloud: CloudServer) -> None:
    project, c = _client(cloud)
    top = add_asset(c, "Top")
    mid = add_asset(c, "Mid", top)
    leaf = add_asset(c, "Leaf", mid)
    before = _snapshot(c, [top, mid, leaf])
    for target, parent in ((top, leaf), (top, mid), (mid, mid), (mid, leaf)):
        answer = _move(cloud, project["access_id"], target, parent)
        assert (answer["success"], answer["code"]) == (False, 1109), answer
        assert "under itself" in answer["detail"]
    root = [a for a in ok(c.get("/v1.0/iot-02/assets/-1/sub-assets", {"page_size": 50}))["list"]
            if a["asset_name"] == "Mover"][0]["asset_id"]
    assert code(_move(cloud, project["access_id"], root, top)) == 1109
    assert code(_move(cloud, project["access_id"], top, "nope")) == 1000
    assert _snapshot(c, [top, mid, leaf]) == before


def test_a_move_may_not_exceed_the_depth_limit(tmp_path: Any) -> None:
    server = CloudServer(tmp_path, create_demo=False, asset_max_depth=3).start()
    try:
        project, c = _client(server)
        one = add_asset(c, "One")
        two = add_asset(c, "Two", one)
        other = add_asset(c, "Other")
        deep = add_asset(c, "Deep", other)
        before = _snapshot(c, [one, two, other, deep])
        assert code(_move(server, project["access_id"], other, two)) == 1101  # Deep would be at level 3
        assert _snapshot(c, [one, two, other, deep]) == before
        assert _move(server, project["access_id"], deep, "-1")["success"]
        assert _details(c, deep)["level"] == 0
    finally:
        server.stop()


def test_the_cli_moves_an_asset_on_the_store(tmp_path: Any) -> None:
    server = CloudServer(tmp_path, create_demo=False).start()
    try:
        project, c = _client(server)
        first, second = add_asset(c, "First"), add_asset(c, "Second")
        command = [*cli_command(), "asset", "move", second, "--parent", first, "--project", project["access_id"],
                   "--json", "--data-dir", str(tmp_path)]
        if server.settings.database_url:
            command += ["--database-url", server.settings.database_url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=cli_env())
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["parent_asset_id"] == first
        assert _details(c, second)["parent_asset_id"] == first
    finally:
        server.stop()
