"""Pairing (simulated through the control API and the CLI), tuya-iot-py-sdk in SMART_HOME mode
end to end, and user-token isolation: one user's token never reads or controls another user's home or device."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tuya_iot import AuthType, TuyaDeviceManager, TuyaHomeManager, TuyaOpenAPI, TuyaOpenMQ
from typer.testing import CliRunner

from support.custom import code, ok
from support.server import CloudServer
from support.smarthome import (
    add_home_device,
    control,
    create_home,
    smart_home_project,
    sync_user,
    user_login,
)
from tuyacloud.cli.main import app as cli

TOKEN_PATH = "/v1.0/device/paring/token"


def test_pairing_token_flow(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud)
    c = sh.client
    uid = sync_user(c, sh.schema, "pair@example.com")
    token = ok(c.post(TOKEN_PATH, {"uid": uid, "paring_type": "EZ", "time_zone_id": "Asia/Shanghai"}))
    assert token["region"] == "AZ" and len(token["token"]) == 8 and len(token["secret"]) == 4
    assert token["expire_time"] == 300
    # no home yet: the pairing step says so
    assert control(cloud, "POST", f"/paring/{token['token']}/pair", {"category": "cz"})["code"] == 2501
    home = create_home(c, uid, rooms=["Office"])
    room = str(ok(c.get(f"/v1.0/homes/{home}/rooms"))["rooms"][0]["room_id"])
    paired = ok(control(cloud, "POST", f"/paring/{token['token']}/pair", {"category": "cz", "room_id": room}))
    assert paired["home_id"] == home and paired["uid"] == uid
    result = ok(c.get(f"/v1.0/device/paring/tokens/{token['token']}"))
    assert [d["device_id"] for d in result["success"]] == [paired["id"]] and result["failed"] == []
    assert [d["id"] for d in ok(c.get(f"/v1.0/homes/{home}/rooms/{room}/devices"))] == [paired["id"]]
    assert ok(c.get(f"/v1.0/devices/{paired['id']}"))["time_zone"] == "+08:00"
    # bad input
    assert code(c.post(TOKEN_PATH, {"uid": uid, "paring_type": "QR", "time_zone_id": "Asia/Shanghai"})) == 1109
    assert code(c.post(TOKEN_PATH, {"uid": "nouser", "paring_type": "EZ", "time_zone_id": "UTC"})) == 2006
    assert code(c.get("/v1.0/device/paring/tokens/nosuchtk")) == 1000


def test_cli_apps_pair_and_add_virtual(cloud: CloudServer, tmp_path: Path) -> None:
    runner = CliRunner()
    db = ["--data-dir", str(cloud.settings.data_dir)]
    if cloud.settings.database_url:
        db = ["--database-url", cloud.settings.database_url]
    project = cloud.create_project(name="CLI smart home", method="smart_home")
    schema = f"cli{project['access_id'][:6]}"
    made = runner.invoke(cli, ["app", "create", "--schema", schema, "--name", "CLI app", "--json", *db])
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["schema"] == schema
    linked = runner.invoke(cli, ["app", "link", "--schema", schema, "--project", project["access_id"], *db])
    assert linked.exit_code == 0 and project["access_id"] in linked.stdout, linked.output
    listed = runner.invoke(cli, ["app", "list", "--json", *db])
    assert {a["schema"]: a["projects"] for a in json.loads(listed.stdout)["list"]}[schema] == [project["access_id"]]
    unknown = runner.invoke(cli, ["app", "link", "--schema", "nosuchschema", "--project", project["access_id"], *db])
    assert unknown.exit_code == 1 and "2017" in unknown.output
    from support.signed import SignedClient

    c = SignedClient(cloud.url, project["access_id"], project["access_secret"])
    c.connect()
    uid = sync_user(c, schema, "cli@example.com")
    home = create_home(c, uid)
    added = runner.invoke(cli, ["device", "add-virtual", "--project", project["access_id"], "--user", uid,
                                "--home", home, "--category", "dj", "--json", *db])
    assert added.exit_code == 0, added.output
    device = json.loads(added.stdout)[0]
    assert device["home_id"] == home and device["owner_id"] == uid
    pair = runner.invoke(cli, ["device", "add-virtual", "--project", project["access_id"], "--user", uid,
                               "--home", home, "--category", "cz", "--count", "2", "--json", *db])
    assert pair.exit_code == 0, pair.output
    two = json.loads(pair.stdout)
    assert len(two) == 2 and len({d["id"] for d in two}) == 2
    assert all(d["home_id"] == home and d["owner_id"] == uid and d["category"] == "cz" for d in two)
    too_many = runner.invoke(cli, ["device", "add-virtual", "--project", project["access_id"], "--user", uid,
                                   "--home", home, "--category", "cz", "--count", "250", "--json", *db])
    assert too_many.exit_code == 1 and json.loads(too_many.stdout)["code"] == 1101, too_many.output
    token = ok(c.post(TOKEN_PATH, {"uid": uid, "paring_type": "AP", "time_zone_id": "Europe/Berlin"}))["token"]
    paired = runner.invoke(cli, ["device", "pair", "--token", token, "--category", "cz", "--json", *db])
    assert paired.exit_code == 0, paired.output
    assert json.loads(paired.stdout)["home_id"] == home
    ids = sorted(d["id"] for d in ok(c.get(f"/v1.0/homes/{home}/devices")))
    assert ids == sorted([device["id"], *(d["id"] for d in two), json.loads(paired.stdout)["id"]])
    unlinked = runner.invoke(cli, ["app", "unlink", "--schema", schema, "--project", project["access_id"], *db])
    assert unlinked.exit_code == 0
    assert code(c.get(f"/v1.0/homes/{home}/devices")) == 1106


def _status(manager: TuyaDeviceManager, device_id: str) -> dict[str, Any]:
    return {s["code"]: s["value"] for s in ok(manager.get_device_status(device_id))}


def test_tuya_iot_py_sdk_smart_home_end_to_end(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud)
    uid = sync_user(sh.client, sh.schema, "ha@example.com", password="plain password")
    home = create_home(sh.client, uid, "HA home")
    light = add_home_device(cloud, sh.project["access_id"], uid, home, "dj")["id"]
    # another user's device in another home: never in this user's lists
    other = sync_user(sh.client, sh.schema, "other@example.com")
    foreign = add_home_device(cloud, sh.project["access_id"], other, create_home(sh.client, other), "cz")["id"]

    api = TuyaOpenAPI(cloud.url, sh.project["access_id"], sh.project["access_secret"], AuthType.SMART_HOME)
    response = api.connect("ha@example.com", "plain password", "1", sh.schema)
    assert response["success"], response
    assert api.token_info.uid == uid and api.token_info.platform_url == cloud.url
    homes = ok(api.get(f"/v1.0/users/{api.token_info.uid}/homes"))
    assert [str(h["home_id"]) for h in homes] == [home]
    manager = TuyaDeviceManager(api, TuyaOpenMQ(api))
    home_manager = TuyaHomeManager(api, TuyaOpenMQ(api), manager)
    home_manager.update_device_cache()
    assert set(manager.device_map) == {light}
    before = _status(manager, light)
    ok(manager.send_commands(light, [{"code": "switch_led", "value": not before["switch_led"]}]))
    assert _status(manager, light)["switch_led"] is (not before["switch_led"])
    home_manager.update_device_cache()
    assert manager.device_map[light].status["switch_led"] is (not before["switch_led"])
    assert code(api.get(f"/v1.0/devices/{foreign}")) == 1106  # (the SDK's status helper assumes success)
    assert code(manager.send_commands(foreign, [{"code": "switch_1", "value": True}])) == 1106


def test_one_users_token_cannot_reach_another_users_home(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud)
    c = sh.client
    alice, bob = sync_user(c, sh.schema, "alice@example.com"), sync_user(c, sh.schema, "bob@example.com")
    a_home, b_home = create_home(c, alice, rooms=["A room"]), create_home(c, bob, rooms=["B room"])
    a_dev = add_home_device(cloud, sh.project["access_id"], alice, a_home)["id"]
    b_dev = add_home_device(cloud, sh.project["access_id"], bob, b_home)["id"]
    b_room = str(ok(c.get(f"/v1.0/homes/{b_home}/rooms"))["rooms"][0]["room_id"])
    a = user_login(c, sh.schema, "alice@example.com")
    before = ok(c.get(f"/v1.0/devices/{b_dev}"))
    attempts = [
        a.get(f"/v1.0/devices/{b_dev}"), a.get(f"/v1.0/devices/{b_dev}/status"),
        a.post(f"/v1.0/devices/{b_dev}/commands", {"commands": [{"code": "switch_led", "value": False}]}),
        a.get(f"/v1.0/homes/{b_home}"), a.get(f"/v1.0/homes/{b_home}/devices"), a.get(f"/v1.0/homes/{b_home}/rooms"),
        a.get(f"/v1.0/homes/{b_home}/members"), a.get(f"/v1.0/users/{bob}/homes"), a.get(f"/v1.0/users/{bob}/infos"),
        a.request("PUT", f"/v1.0/homes/{b_home}", json={"name": "taken"}),
        a.request("DELETE", f"/v1.0/homes/{b_home}"),
        a.post(f"/v1.0/homes/{b_home}/room", {"name": "taken"}),
        a.post(f"/v1.0/homes/{b_home}/rooms/{b_room}/devices", {"device_ids": [b_dev]}),
        a.post(f"/v1.0/homes/{b_home}/members", {"member": {"member_account": "alice@example.com"}}),
        a.post(f"/v1.0/apps/{sh.schema}/user", {"country_code": "1", "username": "x@example.com",
                                                "password": "0" * 32}),
        a.get(f"/v1.0/apps/{sh.schema}/users"),
        a.post(TOKEN_PATH, {"uid": bob, "paring_type": "EZ", "time_zone_id": "UTC"}),
    ]
    for response in attempts:
        assert code(response) == 1106, response
    listed = ok(a.get("/v1.0/devices", {"page_size": 100}))
    assert [d["id"] for d in listed["devices"]] == [a_dev] and listed["total"] == 1
    assert [d["id"] for d in ok(a.get(f"/v1.0/users/{alice}/devices"))] == [a_dev]
    assert ok(a.get("/v1.0/devices", {"device_ids": f"{a_dev},{b_dev}"}))["devices"][0]["id"] == a_dev
    after = ok(c.get(f"/v1.0/devices/{b_dev}"))
    assert after["name"] == before["name"] and after["update_time"] == before["update_time"]
    assert ok(c.get(f"/v1.0/homes/{b_home}"))["name"] == "Home"
    assert len(ok(c.get(f"/v1.0/homes/{b_home}/rooms"))["rooms"]) == 1
    # her own token works on her own things
    assert ok(a.get(f"/v1.0/homes/{a_home}/devices"))[0]["id"] == a_dev
    assert ok(a.get(f"/v1.0/users/{alice}/infos"))["uid"] == alice
