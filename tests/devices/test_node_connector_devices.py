"""The device-management calls of Tuya's Node connector (@tuya/tuya-connector-nodejs 2.1.2), made with its own
service methods against a real server: ``device.reset`` (POST .../actions/reset), ``device.freezeState`` and
``changeFreezeState``, ``device.subDevice``, ``device.assetDevices`` and the ``deviceRegistration`` service
(``createToken`` with its lower-case pairing types, ``token``, ``discover``, ``stopDiscover``, ``subDevice``).

Skipped, never faked, where Node or the pinned package is missing (tests/support/node_connector.py).
"""

from __future__ import annotations

from typing import Any

from support.custom import add_asset, ok
from support.devapis import events_of, last_seq, messages_after, signed
from support.node_connector import node_calls, request, require_node_connector, service
from support.server import CloudServer
from support.smarthome import control

pytestmark = require_node_connector


def _ok(answer: dict[str, Any]) -> Any:
    assert answer.get("success") is True, answer
    return answer["result"]


def _code(answer: dict[str, Any]) -> int:
    assert answer.get("success") is False, answer
    return int(answer["code"])


def test_reset_and_freeze_with_the_node_connector(cloud: CloudServer) -> None:
    project = cloud.create_project(name="node device management")
    aid = project["access_id"]
    c = signed(cloud, project)
    hall = add_asset(c, "Hall")
    light, lamp = cloud.control("POST", f"/projects/{aid}/devices", {"category": "dj", "asset_id": hall,
                                                                     "count": 2})
    off = {"commands": [{"code": "switch_led", "value": False}]}
    ok(c.post(f"/v1.0/iot-03/devices/{light['id']}/commands", off))
    before = last_seq(cloud, aid)

    answers = node_calls(
        cloud.url, project,
        service("device", "reset", device_id=light["id"]),
        service("device", "detail", device_id=light["id"]),
        service("device", "freezeState", device_id=lamp["id"]),
        service("device", "changeFreezeState", device_id=lamp["id"], state=1),
        service("device", "freezeState", device_id=lamp["id"]),
        request("POST", f"/v1.0/iot-03/devices/{lamp['id']}/commands", body=off),
        service("device", "changeFreezeState", device_id=lamp["id"], state=0),
        request("POST", f"/v1.0/iot-03/devices/{lamp['id']}/commands", body=off),
        service("device", "reset", device_id="vdevo_missing"),
        service("device", "changeFreezeState", device_id=lamp["id"], state=7),
    )
    assert _ok(answers[0]) is True
    detail = _ok(answers[1])
    assert detail["asset_id"] == "" and detail["online"] is False
    assert [_ok(a) for a in answers[2:5]] == [{"state": 0}, True, {"state": 1}]
    frozen = answers[5]
    assert _code(frozen) == 1106 and frozen["msg"] == "permission deny" and "frozen" in frozen["detail"]
    assert [_ok(a) for a in answers[6:8]] == [True, True]
    assert [_code(a) for a in answers[8:]] == [2010, 1109]
    sent = events_of(messages_after(cloud, aid, before))
    assert sent[:3] == [(light["id"], "report"), (light["id"], "offline"), (light["id"], "delete")]
    assert sent[3:] == [(lamp["id"], "report")]  # the command after unfreezing; none while frozen


def test_sub_devices_registration_and_asset_devices_with_the_node_connector(cloud: CloudServer) -> None:
    project = cloud.create_project(name="node registration")
    stranger = cloud.create_project(name="node stranger")
    aid = project["access_id"]
    c = signed(cloud, project)
    room = add_asset(c, "Room")
    gateway = cloud.control("POST", f"/projects/{aid}/devices", {"category": "wg2", "asset_id": room})[0]
    foreign = cloud.add_devices(stranger["access_id"], "wg2")[0]
    since = cloud.control("GET", "/clock")["now"] // 1000

    opened = node_calls(
        cloud.url, project,
        service("deviceRegistration", "createToken", pairing_type="ez", uid=project["uid"],
                time_zone_id="Europe/Berlin", asset_id=room),
        service("deviceRegistration", "discover", device_id=gateway["id"], duration=100),
        service("deviceRegistration", "discover", device_id=foreign["id"], duration=100),
    )
    token = _ok(opened[0])
    assert len(token["token"]) == 8 and token["expire_time"] == 300
    assert _ok(opened[1]) is True and _code(opened[2]) == 1106

    # The phone and the devices: one pairs with the token, one joins the searching gateway.
    plug = cloud.control("POST", f"/registration/{token['token']}/pair", {"category": "cz"})
    joined = control(cloud, "POST", f"/devices/{gateway['id']}/join", {"category": "dj", "name": "Hall light"})
    sub = joined["result"]

    answers = node_calls(
        cloud.url, project,
        service("deviceRegistration", "token", token=token["token"]),
        service("deviceRegistration", "subDevice", device_id=gateway["id"], discovery_time=since),
        service("deviceRegistration", "stopDiscover", device_id=gateway["id"]),
        service("device", "subDevice", device_id=gateway["id"]),
        service("device", "subDevice", device_id=plug["id"]),
        service("device", "assetDevices", asset_id=room),
        service("device", "detail", device_id=sub["id"]),
        service("deviceRegistration", "subDevice", device_id=foreign["id"], discovery_time=since),
    )
    paired = _ok(answers[0])
    assert [d["device_id"] for d in paired["success_devices"]] == [plug["id"]] and paired["error_devices"] == []
    found = _ok(answers[1])
    assert [d["id"] for d in found] == [sub["id"]] and found[0]["name"] == "Hall light"
    assert _ok(answers[2]) is True
    assert [d["id"] for d in _ok(answers[3])] == [sub["id"]] and _ok(answers[4]) == []
    at_room = _ok(answers[5])
    assert sorted(d["id"] for d in at_room["list"]) == sorted([gateway["id"], plug["id"], sub["id"]])
    detail = _ok(answers[6])
    assert (detail["sub"], detail["asset_id"]) == (True, room)
    assert _code(answers[7]) == 1106
    closed = control(cloud, "POST", f"/devices/{gateway['id']}/join", {"category": "dj"})
    assert closed["success"] is False and closed["code"] == 2007
