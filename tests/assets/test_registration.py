"""Device registration end to end: a token for an asset, devices pairing with it through the
control API and the CLI, the pairing result, the devices at the asset; expiry (2007) and bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from support import web
from support.custom import add_asset, code, login, ok, register
from support.server import ADMIN_TOKEN, CloudServer
from support.signed import SignedClient
from tuyacloud.cli.main import app
from tuyacloud.clock import Clock

TOKEN_PATH = "/v1.0/iot-03/device-registration/token"
RESULT_PATH = "/v1.1/iot-03/device-registration/tokens/{}"
DAY_MS = 24 * 3600 * 1000


def control(server: CloudServer, method: str, path: str, json: Any = None) -> dict[str, Any]:
    """The control API's envelope, successful or not."""
    response = web.request(method, f"{server.url}/_tuyacloud{path}", json=json,
                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
    body: dict[str, Any] = response.json()
    return body


def new_token(c: SignedClient, **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = ok(c.post(TOKEN_PATH, {"pairing_type": "EZ", "time_zone_id": "Asia/Shanghai", **body}))
    return result


def custom_client(server: CloudServer, name: str, region: str = "us", host: str | None = None) -> SignedClient:
    project = server.create_project(name=name, region=region)
    c = SignedClient(server.url, project["access_id"], project["access_secret"], host=host)
    ok(c.connect())
    return c


def test_token_pair_poll_and_devices_at_the_asset(cloud: CloudServer) -> None:
    c = custom_client(cloud, "Registration flow")
    building = add_asset(c, "Building")
    room = add_asset(c, "Room 1", building)
    made = new_token(c, asset_id=room, pairing_type="AP", lon="13.4", lat="52.5", lang="en",
                     extension={"uuid": "abc"})
    assert made["region"] == "AZ" and made["expire_time"] == 300
    assert len(made["token"]) == 8 and made["token"].isalnum() and len(made["secret"]) == 4
    assert set(made["extension"]) == {"encrypt_key", "random"}
    token = made["token"]
    assert ok(c.get(RESULT_PATH.format(token))) == {"success_devices": [], "error_devices": []}

    # the phone and the device, played by the control API ...
    first = cloud.control("POST", f"/registration/{token}/pair", {"category": "cz", "name": "Desk socket"})
    assert first["asset_id"] == room and first["name"] == "Desk socket" and first["category"] == "cz"
    # ... and by the CLI, on the same database
    runner = CliRunner()
    url = cloud.settings.effective_database_url
    out = runner.invoke(app, ["device", "pair", "--token", token, "--category", "dj", "--database-url", url,
                              "--json"])
    assert out.exit_code == 0, out.output
    second = json.loads(out.output)
    assert second["asset_id"] == room and second["category"] == "dj" and second["token"] == token
    table = runner.invoke(app, ["device", "pair", "--token", token, "--category", "kg", "--name", "Wall switch",
                                "--database-url", url], terminal_width=200)
    assert table.exit_code == 0 and "Paired" in table.output and room in table.output, table.output

    listed = ok(c.get(RESULT_PATH.format(token)))
    assert listed["error_devices"] == []
    devices = listed["success_devices"]
    assert [d["device_id"] for d in devices[:2]] == [first["id"], second["id"]] and len(devices) == 3
    assert devices[0] == {"device_id": first["id"], "product_id": first["product_id"], "name": "Desk socket",
                          "category": "cz", "uuid": first["uuid"], "asset_id": room}
    assert devices[2]["name"] == "Wall switch" and {d["asset_id"] for d in devices} == {room}

    at_room = ok(c.get("/v1.3/iot-03/devices", {"source_type": "asset", "source_id": room}))
    assert sorted(d["id"] for d in at_room["list"]) == sorted(d["device_id"] for d in devices)
    details = ok(c.get(f"/v1.0/devices/{first['id']}"))
    assert details["time_zone"] == "+08:00" and details["online"] is True
    assert ok(c.get("/v1.3/iot-03/devices", {"source_type": "asset", "source_id": building}))["list"] == []


def test_default_asset_is_the_root_and_region_follows_the_data_center(cloud: CloudServer) -> None:
    c = custom_client(cloud, "Registration root")
    token = new_token(c, time_zone_id="+05:30")["token"]
    device = cloud.control("POST", f"/registration/{token}/pair", {"category": "dj"})
    root = ok(c.get("/v1.0/iot-02/assets/-1/sub-assets", {"page_size": 10}))["list"][0]["asset_id"]
    assert device["asset_id"] == root and device["time_zone"] == "+05:30"
    eu = custom_client(cloud, "Registration eu", region="eu", host="openapi.tuyaeu.com")
    assert new_token(eu, pairing_type="Bluetooth")["region"] == "EU"


def test_expired_token_lists_but_does_not_pair(tmp_path: Path) -> None:
    server = CloudServer(tmp_path, clock=Clock(), create_demo=False, simulator=False, timestamp_window_s=10**7,
                         token_ttl_s=10**7).start()
    try:
        c = custom_client(server, "Registration expiry")
        token = new_token(c)["token"]
        paired = server.control("POST", f"/registration/{token}/pair", {"category": "cz"})
        server.control("POST", "/clock", {"step_ms": 299_000})
        server.control("POST", f"/registration/{token}/pair", {"category": "cz"})  # just in time
        server.control("POST", "/clock", {"step_ms": 2_000})
        late = control(server, "POST", f"/registration/{token}/pair", {"category": "cz"})
        assert code(late) == 2007 and late["msg"] == "device token expired", late
        listed = ok(c.get(RESULT_PATH.format(token)))["success_devices"]
        assert len(listed) == 2 and listed[0]["device_id"] == paired["id"]
        assert ok(c.get("/v1.0/iot-03/devices", {"page_size": 20}))["total"] == 2  # the late one made nothing
        server.control("POST", "/clock", {"step_ms": DAY_MS})
        assert code(c.get(RESULT_PATH.format(token))) == 1000  # long gone
    finally:
        server.stop()


@pytest.mark.parametrize(("body", "expected"), [
    ({"pairing_type": "QR", "time_zone_id": "Asia/Shanghai"}, 1109),
    ({"pairing_type": "zigbee", "time_zone_id": "Asia/Shanghai"}, 1109),
    ({"pairing_type": 1, "time_zone_id": "Asia/Shanghai"}, 1109),
    ({"time_zone_id": "Asia/Shanghai"}, 1100),
    ({"pairing_type": "EZ"}, 1100),
    ({"pairing_type": "EZ", "time_zone_id": "Mars/Olympus"}, 1109),
    ({"pairing_type": "EZ", "time_zone_id": 8}, 1109),
    ({"pairing_type": "EZ", "time_zone_id": "UTC", "asset_id": "no-such-asset"}, 1000),
    ({"pairing_type": "EZ", "time_zone_id": "UTC", "asset_id": "-1"}, 1000),
    ({"pairing_type": "EZ", "time_zone_id": "UTC", "asset_id": 5}, 1109),
    ({"pairing_type": "EZ", "time_zone_id": "UTC", "lat": [1]}, 1109),
    ({"pairing_type": "EZ", "time_zone_id": "UTC", "extension": "x"}, 1109),
])
def test_bad_token_requests(client: SignedClient, body: dict[str, Any], expected: int) -> None:
    assert code(client.post(TOKEN_PATH, body)) == expected


def test_tokens_are_the_projects_own(cloud: CloudServer) -> None:
    a = custom_client(cloud, "Registration A")
    b = custom_client(cloud, "Registration B")
    a_asset = add_asset(a, "A's room")
    a_token = new_token(a, asset_id=a_asset)["token"]
    cloud.control("POST", f"/registration/{a_token}/pair", {"category": "cz"})
    # B can neither place devices in A's tree nor read A's pairing results
    assert code(b.post(TOKEN_PATH, {"pairing_type": "EZ", "time_zone_id": "UTC", "asset_id": a_asset})) == 1106
    foreign = b.get(RESULT_PATH.format(a_token))
    assert code(foreign) == 1000 and a_token in foreign["detail"]
    assert code(b.get(RESULT_PATH.format("nOtAtOkn"))) == 1000
    # a project user's token is refused on both (management calls are the project's)
    uid = register(a, "pairing-user")
    ok(a.post("/v1.0/iot-03/assets/actions/user-authorized", {"uid": uid, "asset_id": a_asset,
                                                               "authorized_children": True}))
    user = login(a, "pairing-user")
    assert code(user.post(TOKEN_PATH, {"pairing_type": "EZ", "time_zone_id": "UTC"})) == 1106
    assert code(user.get(RESULT_PATH.format(a_token))) == 1106


def test_bad_pair_requests(cloud: CloudServer, client: SignedClient) -> None:
    token = new_token(client)["token"]
    assert code(control(cloud, "POST", "/registration/nOtAtOkn/pair", {"category": "cz"})) == 1000
    assert code(control(cloud, "POST", f"/registration/{token}/pair", {})) == 1109
    assert code(control(cloud, "POST", f"/registration/{token}/pair", {"category": "nope"})) == 2015
    assert code(control(cloud, "POST", f"/registration/{token}/pair", {"product_id": "nope"})) == 2005
    assert code(control(cloud, "POST", f"/registration/{token}/pair", {"category": "cz", "name": " "})) == 1109
    assert code(control(cloud, "POST", f"/registration/{token}/pair", [1])) == 1109
    unauthorised = web.post(f"{cloud.url}/_tuyacloud/registration/{token}/pair", json={"category": "cz"})
    assert unauthorised.json()["code"] == 1106
    assert ok(client.get(RESULT_PATH.format(token)))["success_devices"] == []
    out = CliRunner().invoke(app, ["device", "pair", "--token", "nOtAtOkn", "--category", "cz", "--database-url",
                                   cloud.settings.effective_database_url])
    assert out.exit_code == 1 and "1000" in out.output
