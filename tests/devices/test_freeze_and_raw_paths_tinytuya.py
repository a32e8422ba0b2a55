"""The raw device-management paths through tinytuya's ``Cloud.cloudrequest`` over HTTPS at the real host name:
freeze state (``GET|PUT /v1.0/iot-03/devices/{id}/freeze-state``), the other factory-reset spellings (``PUT
/v1.0/devices/{id}/reset-factory``, ``POST /v2.0/cloud/thing/{id}/reset``) and the smart-home sub-device calls.

A frozen device refuses commands from every family (``1106 permission deny``, the detail says it is frozen) and
changes nothing; unfrozen it obeys again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import tinytuya

from support.devapis import last_seq, messages_after
from support.tinytuya_tls import TlsCloudServer, route_tuya_hosts, start_tls, tinytuya_cloud
from tuyacloud.tlscert import TlsFiles, ensure_certificates


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return ensure_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[TlsCloudServer]:
    s = start_tls(tmp_path_factory.mktemp("freeze"), tls, create_demo=False)
    yield s
    s.stop()


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch, tls: TlsFiles, server: TlsCloudServer) -> dict[str, Any]:
    route_tuya_hosts(monkeypatch, tls, server.port)
    project = server.create_project(name="tinytuya device management")
    stranger = server.create_project(name="tinytuya stranger")
    return {"project": project, "stranger": stranger, "api": tinytuya_cloud(project),
            "light": server.add_devices(project["access_id"], "dj")[0],
            "foreign": server.add_devices(stranger["access_id"], "dj")[0]}


def _ok(response: dict[str, Any]) -> Any:
    assert response.get("success") is True, response
    return response["result"]


def _fail(response: dict[str, Any]) -> tuple[int, str]:
    assert response.get("success") is False, response
    return int(response["code"]), str(response["msg"])


def _status(api: tinytuya.Cloud, device_id: str) -> dict[str, Any]:
    return {s["code"]: s["value"] for s in _ok(api.getstatus(device_id))}


def test_a_frozen_device_refuses_commands_until_unfrozen(site: dict[str, Any], server: TlsCloudServer) -> None:
    api, light = site["api"], site["light"]["id"]
    path = f"/v1.0/iot-03/devices/{light}/freeze-state"
    assert _ok(api.cloudrequest(path)) == {"state": 0}
    assert _ok(api.cloudrequest(path, action="PUT", post={"state": 1})) is True
    assert _ok(api.cloudrequest(path)) == {"state": 1}
    before, seq = _status(api, light), last_seq(server, site["project"]["access_id"])
    off = {"commands": [{"code": "switch_led", "value": False}]}
    # tinytuya's own sendcommand reports the platform's text in its error payload.
    assert "'permission deny'" in api.sendcommand(light, off)["Payload"]
    refusals = [
        api.cloudrequest(f"/v1.0/devices/{light}/commands", post=off),
        api.cloudrequest(f"/v1.0/iot-03/devices/{light}/commands", post=off),
        api.cloudrequest(f"/v2.0/cloud/thing/{light}/shadow/properties/issue",
                         post={"properties": '{"switch_led": false}'}),
    ]
    for refused in refusals:
        assert _fail(refused) == (1106, "permission deny") and "frozen" in refused["detail"]
    assert _status(api, light) == before
    assert messages_after(server, site["project"]["access_id"], seq) == []
    # Freezing twice is no error; unfreezing lets commands through again.
    assert _ok(api.cloudrequest(path, action="PUT", post={"state": 1})) is True
    assert _ok(api.cloudrequest(path, action="PUT", post={"state": 0})) is True
    assert _ok(api.sendcommand(light, off)) is True
    assert _status(api, light)["switch_led"] is False


def test_bad_freeze_requests(site: dict[str, Any]) -> None:
    api, light = site["api"], site["light"]["id"]
    path = f"/v1.0/iot-03/devices/{light}/freeze-state"
    for body, expected in (({"state": 2}, 1109), ({"state": "frozen"}, 1109), ({"state": True}, 1109),
                           ({"other": 1}, 1100)):
        assert _fail(api.cloudrequest(path, action="PUT", post=body))[0] == expected, body
    assert _ok(api.cloudrequest(path)) == {"state": 0}
    assert _fail(api.cloudrequest("/v1.0/iot-03/devices/vdevo_missing/freeze-state"))[0] == 2010
    foreign = f"/v1.0/iot-03/devices/{site['foreign']['id']}/freeze-state"
    assert _fail(api.cloudrequest(foreign, action="PUT", post={"state": 1}))[0] == 1106
    assert _ok(tinytuya_cloud(site["stranger"]).cloudrequest(foreign)) == {"state": 0}


def test_the_other_reset_spellings(site: dict[str, Any], server: TlsCloudServer) -> None:
    api = site["api"]
    lights = server.add_devices(site["project"]["access_id"], "dj", 2)
    for light, (path, action) in zip(lights, ((f"/v1.0/devices/{lights[0]['id']}/reset-factory", "PUT"),
                                              (f"/v2.0/cloud/thing/{lights[1]['id']}/reset", "POST")), strict=True):
        assert _ok(api.cloudrequest(path, action=action)) is True
        details = _ok(api.cloudrequest(f"/v1.0/devices/{light['id']}"))
        assert details["online"] is False and details["uid"] == ""
    assert _fail(api.cloudrequest(f"/v2.0/cloud/thing/{site['foreign']['id']}/reset", action="POST"))[0] == 1106


def test_smart_home_sub_device_calls(site: dict[str, Any], server: TlsCloudServer) -> None:
    api, aid = site["api"], site["project"]["access_id"]
    gateway = server.add_devices(aid, "wg2")[0]
    sub = server.control("POST", f"/projects/{aid}/devices", {"gateway_id": gateway["id"], "category": "dj"})[0]
    listed = _ok(api.cloudrequest(f"/v1.0/devices/{gateway['id']}/sub-devices"))
    assert [d["id"] for d in listed] == [sub["id"]]
    assert listed[0]["sub"] is True and len(listed[0]["node_id"]) == 16
    assert _ok(api.cloudrequest(f"/v1.0/devices/{site['light']['id']}/sub-devices")) == []

    enable = f"/v1.0/devices/{gateway['id']}/enabled-sub-discovery"
    assert _ok(api.cloudrequest(enable, action="PUT", query={"duration": 60})) is True
    since = server.control("POST", "/clock", {"step_ms": 2000})["now"] // 1000  # a second after the first sub
    joined = server.control("POST", f"/devices/{gateway['id']}/join", {"category": "kg", "name": "Wall switch"})
    found = _ok(api.cloudrequest(f"/v1.0/devices/{gateway['id']}/list-sub", query={"discovery_time": since}))
    assert [d["id"] for d in found] == [joined["id"]] and found[0]["name"] == "Wall switch"
    assert _ok(api.cloudrequest(enable, action="PUT", query={"duration": 0})) is True
    refused = _fail(api.cloudrequest(f"/v1.0/devices/{site['light']['id']}/enabled-sub-discovery",
                                     action="PUT", query={"duration": 60}))
    assert refused == (2009, "not support this device")
