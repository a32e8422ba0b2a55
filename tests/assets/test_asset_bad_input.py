"""Bad input on assets, users and authorisations: the right code, and nothing changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.custom import add_asset, code, ok, register, sha
from support.server import CloudServer
from support.signed import SignedClient


def client_for(cloud: CloudServer, name: str = "Bad input", region: str = "us") -> tuple[dict[str, Any], SignedClient]:
    project = cloud.create_project(name=name, region=region)
    c = SignedClient(cloud.url, project["access_id"], project["access_secret"],
                     host="openapi.tuyaeu.com" if region == "eu" else None)
    ok(c.connect())
    return project, c


def tree_of(c: SignedClient) -> list[tuple[str, str]]:
    found = ok(c.get("/v1.1/iot-02/assets", {"page_size": 100}))
    return sorted((a["asset_id"], a["asset_name"]) for a in found["list"])


@pytest.fixture
def setup(cloud: CloudServer) -> tuple[CloudServer, dict[str, Any], SignedClient]:
    project, c = client_for(cloud)
    return cloud, project, c


def test_unknown_assets_answer_1000(setup: Any) -> None:
    _, _, c = setup
    before = tree_of(c)
    assert code(c.get("/v1.0/iot-02/assets/nope")) == 1000
    assert code(c.get("/v1.0/iot-03/assets/nope")) == 1000
    assert code(c.get("/v1.0/iot-02/assets/nope/sub-assets", {"page_size": 10})) == 1000
    assert code(c.get("/v1.0/iot-02/assets/nope/devices", {"page_size": 10})) == 1000
    assert code(c.post("/v1.0/iot-02/assets", {"name": "Orphan", "parent_asset_id": "nope"})) == 1000
    assert code(c.request("PUT", "/v1.0/iot-02/assets/nope", json={"name": "x"})) == 1000
    assert code(c.request("DELETE", "/v1.0/iot-02/assets/nope")) == 1000
    assert code(c.post("/v1.1/iot-02/cross-level-sub-assets", {"asset_id": "nope"})) == 1000
    assert tree_of(c) == before


def test_deleting_non_empty_assets_and_the_root_is_refused(setup: Any) -> None:
    cloud, project, c = setup
    top = add_asset(c, "Top")
    child = add_asset(c, "Child", top)
    assert code(c.request("DELETE", f"/v1.0/iot-02/assets/{top}")) == 1109
    device = cloud.control("POST", f"/projects/{project['access_id']}/devices", {"category": "dj", "asset_id": child})
    assert code(c.request("DELETE", f"/v1.0/iot-02/assets/{child}")) == 1109
    root = next(a for a in ok(c.get("/v1.0/iot-02/assets/-1/sub-assets", {"page_size": 10}))["list"]
                if a["asset_name"] == "Bad input")
    assert code(c.request("DELETE", f"/v1.0/iot-02/assets/{root['asset_id']}")) == 1109
    assert {n for _, n in tree_of(c)} == {"Bad input", "Top", "Child"}
    ok(c.post(f"/v1.0/iot-03/assets/devices/{device[0]['id']}/actions/transfer", {"target_asset_id": top}))
    ok(c.request("DELETE", f"/v1.0/iot-02/assets/{child}"))
    assert {n for _, n in tree_of(c)} == {"Bad input", "Top"}


@pytest.mark.parametrize("name", ["", "   ", "a/b", "x" * 51, "tab\there", 42])
def test_bad_names_are_1109(setup: Any, name: Any) -> None:
    _, _, c = setup
    before = tree_of(c)
    assert code(c.post("/v1.0/iot-02/assets", {"name": name})) == 1109
    assert code(c.post("/v1.0/iot-03/assets", {"asset_name": name, "parent_asset_id": "-1"})) == 1109
    assert tree_of(c) == before


def test_bad_asset_type_is_1109(setup: Any) -> None:
    _, _, c = setup
    assert code(c.post("/v1.0/iot-03/assets", {"asset_name": "x", "asset_type": "castle"})) == 1109


def test_depth_and_breadth_limits(tmp_path: Path) -> None:
    server = CloudServer(tmp_path, asset_max_depth=3, asset_max_children=2).start()
    try:
        _, c = client_for(server, "Limits")
        a = add_asset(c, "L0")
        b = add_asset(c, "L1", a)
        leaf = add_asset(c, "L2", b)
        deeper = c.post("/v1.0/iot-02/assets", {"name": "L3", "parent_asset_id": leaf})
        assert code(deeper) == 1101 and "3 levels" in deeper["detail"]
        add_asset(c, "L1b", a)
        wide = c.post("/v1.0/iot-02/assets", {"name": "L1c", "parent_asset_id": a})
        assert code(wide) == 1101 and "2 sub-assets" in wide["detail"]
        assert len(tree_of(c)) == 5  # root, L0, L1, L2, L1b
    finally:
        server.stop()


def test_users_duplicates_passwords_and_unknowns(setup: Any) -> None:
    _, _, c = setup
    uid = register(c, "dana", "pw1")
    assert code(c.post("/v1.0/iot-02/users", {"username": "dana", "password": sha("other")})) == 2023
    assert ok(c.get("/v1.1/iot-02/users/page", {"page_no": 1, "page_size": 10}))["records_count"] == 1
    wrong = c.request("PUT", f"/v1.0/iot-02/users/{uid}", json={"old_password": sha("nope"),
                                                                "new_password": sha("pw2")})
    assert code(wrong) == 2401
    assert ok(c.request("POST", "/v1.0/iot-03/users/login", json={"username": "dana", "password": sha("pw1")},
                        token=""))
    assert code(c.post("/v1.0/iot-02/users", {"username": "erin", "password": "plaintext"})) == 1109
    assert code(c.post("/v1.0/iot-02/users", {"username": "has space", "password": sha("x")})) == 1109
    assert code(c.get("/v1.0/iot-02/users/nobody")) == 2006
    assert code(c.get("/v1.2/iot-02/users/nobody")) == 2006
    assert code(c.request("DELETE", "/v1.0/iot-02/users/nobody")) == 2006
    assert code(c.request("PUT", "/v1.0/iot-02/users/reset-password",
                          json={"username": "nobody", "new_password": sha("x")})) == 2006
    assert code(c.request("POST", "/v1.0/iot-03/users/login", json={"username": "nobody", "password": sha("x")},
                          token="")) == 2401


def test_authorising_on_another_projects_asset_is_refused(cloud: CloudServer, setup: Any) -> None:
    _, _, c = setup
    _, other = client_for(cloud, "Other")
    _, eu = client_for(cloud, "Elsewhere", region="eu")
    theirs = add_asset(other, "Theirs")
    uid = register(c, "frank")
    mine = add_asset(c, "Mine")
    grant = {"uid": uid, "asset_id": theirs, "authorized_children": True}
    assert code(c.post("/v1.0/iot-03/assets/actions/user-authorized", grant)) == 1106
    # all or nothing: one foreign id in a batch grants none
    batch = c.post(f"/v1.0/iot-03/users/{uid}/actions/batch-assets-authorized", {"asset_ids": f"{mine},{theirs}"})
    assert code(batch) == 1106
    assert ok(c.get(f"/v1.0/iot-03/users/{uid}/assets", {"page_no": 1, "page_size": 10}))["total"] == 0
    assert code(c.get(f"/v1.0/iot-02/assets/{theirs}")) == 1106
    assert code(c.get(f"/v1.0/iot-03/{theirs}/authorized_users")) == 1106
    assert code(c.post("/v1.0/iot-03/assets/actions/user-authorized",
                       {"uid": "nobody", "asset_id": mine})) == 2006
    assert code(c.post("/v1.0/iot-03/assets/actions/user-authorized",
                       {"uid": uid, "asset_id": mine, "authorized_children": "yes"})) == 1109
    # the other project's user cannot be authorised here either
    their_user = register(other, "grace")
    assert code(c.post("/v1.0/iot-03/assets/actions/user-authorized",
                       {"uid": their_user, "asset_id": mine})) == 2006
    # and a device cannot be moved to another project's asset
    assert ok(other.get(f"/v1.0/iot-02/assets/{theirs}"))["asset_name"] == "Theirs"
    assert code(eu.get(f"/v1.0/iot-02/assets/{theirs}")) == 1000  # another data center: unknown there
