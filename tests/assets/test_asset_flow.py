"""The custom-project flow end to end: a tree, devices at its nodes, two users with different grants, and what
each token can list and command, through the real tuya-iot-py-sdk (asset manager, CUSTOM login) and signed calls.
"""

from __future__ import annotations

import asyncio

import pytest
from tuya_iot import AuthType, TuyaAssetManager, TuyaOpenAPI

from support.custom import add_asset, code, login, ok, register, sha
from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.store.engine import open_store

SWITCH_OFF = {"commands": [{"code": "switch_led", "value": False}]}


class World:
    def __init__(self, cloud: CloudServer) -> None:
        self.cloud = cloud
        self.project = cloud.create_project(name="Facility")
        aid = self.project["access_id"]
        self.c = SignedClient(cloud.url, aid, self.project["access_secret"])
        ok(self.c.connect())
        self.campus = add_asset(self.c, "Campus")
        self.building = add_asset(self.c, "Building A", self.campus)
        self.floor = add_asset(self.c, "Floor 2", self.building)
        self.room = add_asset(self.c, "Room 201", self.floor)
        self.room2 = add_asset(self.c, "Room 202", self.floor)
        self.dev: dict[str, str] = {}
        for key, asset in (("campus", self.campus), ("building", self.building), ("floor", self.floor),
                           ("room", self.room), ("room2", self.room2)):
            made = cloud.control("POST", f"/projects/{aid}/devices", {"category": "dj", "asset_id": asset})
            self.dev[key] = made[0]["id"]
        self.dev["root"] = cloud.add_devices(aid, "dj")[0]["id"]  # no node: the project's root asset
        self.alice = register(self.c, "alice", "alice-pw")
        self.bob = register(self.c, "bob", "bob-pw")
        ok(self.c.post("/v1.0/iot-03/assets/actions/user-authorized",
                       {"uid": self.alice, "asset_id": self.building, "authorized_children": True}))
        ok(self.c.post(f"/v1.0/iot-03/users/{self.bob}/actions/batch-assets-authorized",
                       {"uid": self.bob, "asset_ids": self.room, "authorized_children": False}))


@pytest.fixture(scope="module")
def world(cloud: CloudServer) -> World:
    return World(cloud)


def sdk(cloud: CloudServer, w: World, username: str, password: str) -> TuyaOpenAPI:
    api = TuyaOpenAPI(cloud.url, w.project["access_id"], w.project["access_secret"], AuthType.CUSTOM)
    assert api.connect(username, password)["success"]
    return api


def test_tree_shapes_and_root_asset(world: World) -> None:
    c = world.c
    room = ok(c.get(f"/v1.0/iot-02/assets/{world.room}"))
    assert room == {"asset_id": world.room, "asset_name": "Room 201", "parent_asset_id": world.floor, "level": 3,
                    "asset_full_name": "Campus/Building A/Floor 2/Room 201"}
    top = ok(c.get("/v1.0/iot-02/assets/-1/sub-assets", {"page_size": 20}))
    names = {a["asset_name"]: a for a in top["list"]}
    assert set(names) == {"Facility", "Campus"} and top["has_next"] is False
    root = names["Facility"]["asset_id"]
    devices_at_root = ok(c.get(f"/v1.0/iot-02/assets/{root}/devices", {"page_size": 100}))
    assert [d["device_id"] for d in devices_at_root["list"]] == [world.dev["root"]]
    by_asset = ok(c.get("/v1.3/iot-03/devices", {"source_type": "asset", "source_id": world.floor}))
    assert [d["id"] for d in by_asset["list"]] == [world.dev["floor"]]
    cross = ok(c.post("/v1.1/iot-02/cross-level-sub-assets", {"asset_id": world.campus, "page_size": 10}))
    assert cross["count"] == 4 and {a["asset_id"] for a in cross["list"]} == {
        world.building, world.floor, world.room, world.room2}
    one_level = ok(c.post("/v1.1/iot-02/cross-level-sub-assets", {"asset_id": world.campus, "level": 1}))
    assert [a["asset_id"] for a in one_level["list"]] == [world.building]
    batch = ok(c.get("/v1.0/iot-02/assets", {"asset_ids": f"{world.room},{world.floor},nope"}))
    assert {a["asset_id"] for a in batch} == {world.room, world.floor}


def test_iot03_assets_with_type_and_image(world: World) -> None:
    c = world.c
    lab = ok(c.post("/v1.0/iot-03/assets", {"asset_name": "Lab", "parent_asset_id": world.floor,
                                            "asset_type": "room", "asset_image": "https://img.example/lab.png"}))
    got = ok(c.get(f"/v1.0/iot-03/assets/{lab}"))
    assert got["asset_type"] == "room" and got["asset_image"].endswith("lab.png")
    assert got["asset_full_name"] == "Campus/Building A/Floor 2/Lab"
    subs = ok(c.get(f"/v1.0/iot-03/assets/{world.floor}/sub-assets", {"page_size": 10}))
    assert lab in {a["asset_id"] for a in subs["list"]} and subs["has_more"] is False
    listed = ok(c.get("/v1.0/iot-03/assets", {"asset_name": "Lab"}))
    assert [a["asset_id"] for a in listed["list"]] == [lab]
    ok(c.request("PUT", f"/v1.0/iot-02/assets/{lab}", json={"name": "Lab 1"}))
    assert ok(c.get(f"/v1.0/iot-02/assets/{lab}"))["asset_name"] == "Lab 1"
    assert ok(c.request("DELETE", f"/v1.0/iot-02/assets/{lab}")) is True
    assert code(c.get(f"/v1.0/iot-02/assets/{lab}")) == 1000


def test_sdk_asset_manager_walks_each_users_tree(cloud: CloudServer, world: World) -> None:
    for user, password, expected in (
        ("alice", "alice-pw", {"building", "floor", "room", "room2"}),
        ("bob", "bob-pw", {"room"}),
    ):
        api = sdk(cloud, world, user, password)
        manager = TuyaAssetManager(api)
        found: list[str] = []
        stack = ["-1"]
        while stack:
            node = stack.pop()
            if node != "-1":
                found += manager.get_device_list(node)
            stack += [a["asset_id"] for a in manager.get_asset_list(node)]
        assert sorted(found) == sorted(world.dev[k] for k in expected), user
        # the project's own view: everything
    project_api = TuyaOpenAPI(cloud.url, world.project["access_id"], world.project["access_secret"], AuthType.CUSTOM)
    assert project_api.connect("alice", "wrong")["code"] == 2401


def test_user_tokens_list_and_command_only_their_nodes(world: World) -> None:
    alice, bob = login(world.c, "alice", "alice-pw"), login(world.c, "bob", "bob-pw")
    visible = {"alice": {"building", "floor", "room", "room2"}, "bob": {"room"}}
    for name, client in (("alice", alice), ("bob", bob)):
        mine = {world.dev[k] for k in visible[name]}
        listed = ok(client.get("/v1.3/iot-03/devices", {"page_size": 100}))
        assert {d["id"] for d in listed["list"]} == mine and listed["total"] == len(mine), name
        v1 = ok(client.get("/v1.0/devices", {"page_size": 100}))
        assert {d["id"] for d in v1["devices"]} == mine
        batch = ok(client.get("/v1.0/iot-03/devices/status", {"device_ids": ",".join(world.dev.values())}))
        assert {d["id"] for d in batch} == mine
        for key, device in world.dev.items():
            allowed = key in visible[name]
            for response in (client.get(f"/v1.0/iot-03/devices/{device}"),
                             client.get(f"/v1.0/devices/{device}/status"),
                             client.get(f"/v1.0/iot-03/devices/{device}/functions"),
                             client.post(f"/v1.0/iot-03/devices/{device}/commands", SWITCH_OFF)):
                if allowed:
                    ok(response)
                else:
                    assert code(response) == 1106 and "permission deny" in response["msg"], (name, key)
    # the current user's assets, one level at a time
    top = ok(alice.get("/v1.0/iot-03/users/assets"))
    assert [(a["asset_id"], a["permission"], a["current_asset_device_num"]) for a in top["assets"]] == [
        (world.building, "all", 1)]
    assert top["project_name"] == "Facility"
    floor = ok(alice.get("/v1.0/iot-03/users/assets", {"parent_asset_id": world.building}))
    assert [a["asset_id"] for a in floor["assets"]] == [world.floor]
    bob_top = ok(bob.get("/v1.0/iot-03/users/assets"))
    assert [(a["asset_id"], a["permission"]) for a in bob_top["assets"]] == [(world.room, "read")]
    assert code(bob.get("/v1.0/iot-03/users/assets", {"parent_asset_id": world.floor})) == 1106
    # management needs the project's token
    assert code(alice.post("/v1.0/iot-02/assets", {"name": "Mine"})) == 1106
    assert code(alice.get("/v1.0/iot-02/users", {"page_size": 5})) == 1106
    # the project's token still sees everything
    everything = ok(world.c.get("/v1.3/iot-03/devices", {"page_size": 100}))
    assert set(world.dev.values()) <= {d["id"] for d in everything["list"]}


def test_grants_lists_revoke_and_user_deletion(world: World) -> None:
    c = world.c
    carol = register(c, "carol", "carol-pw")
    ok(c.post(f"/v1.0/iot-03/users/{carol}/actions/batch-assets-authorized",
              {"asset_ids": f"{world.room},{world.room2}", "authorized_children": False}))
    theirs = ok(c.get(f"/v1.0/iot-03/users/{carol}/assets", {"page_no": 1, "page_size": 10}))
    assert {a["asset_id"] for a in theirs["list"]} == {world.room, world.room2} and theirs["total"] == 2
    on_room = ok(c.get(f"/v1.0/iot-03/{world.room}/authorized_users", {"page_no": 1, "page_size": 20}))
    assert {u["user_account"] for u in on_room["data"]} == {"bob", "carol"} and on_room["total"] == 2
    carol_client = login(c, "carol", "carol-pw")
    ok(carol_client.get(f"/v1.0/iot-03/devices/{world.dev['room2']}"))
    ok(c.post(f"/v1.0/iot-03/users/{carol}/actions/assets-unauthorized", {"asset_id": world.room2}))
    assert code(carol_client.get(f"/v1.0/iot-03/devices/{world.dev['room2']}")) == 1106
    ok(c.request("DELETE", f"/v1.0/iot-02/users/{carol}"))
    on_room = ok(c.get(f"/v1.0/iot-03/{world.room}/authorized_users", {"page_no": 1, "page_size": 20}))
    assert {u["user_account"] for u in on_room["data"]} == {"bob"}
    assert code(carol_client.get(f"/v1.0/iot-03/devices/{world.dev['room']}")) == 1010  # token retired
    assert code(c.get(f"/v1.0/iot-02/users/{carol}")) == 2006


def test_transfer_keeps_status_and_history_and_emits_event(world: World) -> None:
    c = world.c
    device = world.cloud.control("POST", f"/projects/{world.project['access_id']}/devices",
                                 {"category": "dj", "asset_id": world.room})[0]["id"]
    ok(c.post(f"/v1.0/iot-03/devices/{device}/commands", SWITCH_OFF))
    before = ok(c.get(f"/v1.0/iot-03/devices/{device}/status"))
    ok(c.post(f"/v1.0/iot-03/assets/devices/{device}/actions/transfer",
              {"source_asset_id": world.room, "target_asset_id": world.room2}))
    assert ok(c.get(f"/v1.0/iot-03/devices/{device}/status")) == before
    at_room2 = ok(c.get(f"/v1.0/iot-02/assets/{world.room2}/devices", {"page_size": 100}))
    assert device in {d["device_id"] for d in at_room2["list"]}
    assert code(login(c, "bob", "bob-pw").get(f"/v1.0/iot-03/devices/{device}")) == 1106
    # wrong source: refused, nothing moved
    assert code(c.post(f"/v1.0/iot-03/assets/devices/{device}/actions/transfer",
                       {"source_asset_id": world.room, "target_asset_id": world.campus})) == 1109
    logs = ok(c.get(f"/v1.0/iot-03/devices/{device}/logs", {"event_types": "1,2,3,4,5,6,7,8,9,10", "start_time": 0,
                                                           "end_time": 9 * 10**12, "size": 100}))
    assert any(log["event_id"] == 5 for log in logs["logs"]), logs  # the command before the move
    assert "assetTransfer" in outbox_biz_codes(world.cloud, world.project["access_id"], device)


def outbox_biz_codes(cloud: CloudServer, access_id: str, device_id: str) -> list[str]:
    """The device's events in the outbox, read through a store of our own (works on both engines)."""

    async def read() -> list[str]:
        store = await open_store(cloud.settings.effective_database_url)
        try:
            found = await store.messages_after(access_id, 0, 100_000)
        finally:
            await store.close()
        return [m.data.get("bizCode", "") for m in found if m.device_id == device_id]

    return asyncio.run(read())


def test_login_refresh_gives_user_token_again(world: World) -> None:
    result = ok(world.c.request("POST", "/v1.0/iot-03/users/login",
                                json={"username": "bob", "password": sha("bob-pw")}, token=""))
    assert result["uid"] == world.bob and result["expire"] == result["expire_time"] > 0
    refreshed = ok(world.c.request("POST", f"/v1.0/iot-03/users/token/{result['refresh_token']}", token=""))
    bob = SignedClient(world.c.base_url, world.c.access_id, world.c.secret)
    bob.access_token = refreshed["access_token"]
    assert code(bob.get(f"/v1.0/iot-03/devices/{world.dev['campus']}")) == 1106
    ok(bob.get(f"/v1.0/iot-03/devices/{world.dev['room']}"))
