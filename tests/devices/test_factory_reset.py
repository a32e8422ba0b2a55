"""Factory reset through tuya-iot-py-sdk's ``TuyaDeviceManager.factory_reset``: CUSTOM sends
``DELETE /v1.0/iot-03/devices/{id}/actions/reset``, SMART_HOME ``POST /v1.0/devices/{id}/reset-factory``.

A reset device is back at its product's initial status, unbound from its asset (custom) or its user and home
(smart home), offline, with its logs and timers cleared; the status report, ``offline`` and ``delete`` messages
are in the outbox in that order. Bad input changes nothing and emits nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from tuya_iot import AuthType

from support.custom import add_asset, code, device_log_events, ok
from support.devapis import events_of, iot_py_manager, last_seq, messages_after, sdk_code, sdk_ok, signed
from support.server import CloudServer
from support.smarthome import add_home_device, create_home, smart_home_project, sync_user

LIGHT_INITIAL = {"switch_led": True, "work_mode": "white", "bright_value_v2": 1000, "temp_value_v2": 500}


def _status(c: Any, device_id: str) -> dict[str, Any]:
    return {s["code"]: s["value"] for s in ok(c.get(f"/v1.0/iot-03/devices/{device_id}/status"))}



@pytest.fixture(params=[AuthType.CUSTOM, AuthType.SMART_HOME], ids=["custom-DELETE-iot03", "smart_home-POST-v1"])
def auth_type(request: pytest.FixtureRequest) -> AuthType:
    return request.param  # type: ignore[no-any-return]


def test_factory_reset_restores_unbinds_and_announces(cloud: CloudServer, auth_type: AuthType) -> None:
    project = cloud.create_project(name=f"reset {auth_type.name}")
    aid = project["access_id"]
    c = signed(cloud, project)
    hall = add_asset(c, "Hall")
    light = cloud.control("POST", f"/projects/{aid}/devices", {"category": "dj", "asset_id": hall})[0]
    other = cloud.control("POST", f"/projects/{aid}/devices", {"category": "dj", "asset_id": hall})[0]
    ok(c.post(f"/v1.0/iot-03/devices/{light['id']}/commands",
              {"commands": [{"code": "switch_led", "value": False}, {"code": "bright_value_v2", "value": 300}]}))
    ok(c.post(f"/v2.0/cloud/timer/device/{light['id']}",
              {"alias_name": "wake", "time": "07:00", "timezone_id": "UTC", "loops": "1111111",
               "functions": [{"code": "switch_led", "value": True}]}))
    assert len(cloud.control("GET", f"/devices/{light['id']}/timers")) == 1
    before = last_seq(cloud, aid)

    manager = iot_py_manager(cloud, project, auth_type)
    assert sdk_ok(manager.factory_reset(light["id"])) is True

    details = ok(c.get(f"/v1.0/iot-03/devices/{light['id']}"))
    assert details["asset_id"] == "" and details["online"] is False and details["uid"] == ""
    status = _status(c, light["id"])
    assert {k: status[k] for k in LIGHT_INITIAL} == LIGHT_INITIAL
    assert device_log_events(c, light["id"]) == [(2, ""), (4, "")]  # offline and reset; the history before is cleared
    assert cloud.control("GET", f"/devices/{light['id']}/timers") == []  # the cloud's data of it is cleared
    at_hall = ok(c.get(f"/v1.0/iot-02/assets/{hall}/devices", {"page_size": 100}))["list"]
    assert [d["device_id"] for d in at_hall] == [other["id"]]

    sent = messages_after(cloud, aid, before)
    assert events_of(sent) == [(light["id"], "report"), (light["id"], "offline"), (light["id"], "delete")]
    report = {s["code"]: s["value"] for s in sent[0]["data"]["status"]}
    assert {k: report[k] for k in LIGHT_INITIAL} == LIGHT_INITIAL
    assert sent[2]["data"]["bizData"]["devId"] == light["id"] and sent[2]["data"]["devId"] == light["id"]

    # In pairing mode: offline until it is brought back, and it stays where it is (unbound).
    assert code(c.post(f"/v1.0/iot-03/devices/{light['id']}/commands",
                       {"commands": [{"code": "switch_led", "value": False}]})) == 2001
    assert sdk_ok(manager.get_device_status(other["id"]))  # the other light is untouched


def test_reset_of_an_app_users_device_leaves_the_user_and_home(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud, name="reset smart home")
    uid = sync_user(sh.client, sh.schema, "reset-user@example.com")
    home = create_home(sh.client, uid, rooms=["Kitchen"])
    lamp = add_home_device(cloud, sh.project["access_id"], uid, home)
    assert [d["id"] for d in ok(sh.client.get(f"/v1.0/users/{uid}/devices"))] == [lamp["id"]]
    before = last_seq(cloud, sh.project["access_id"])

    manager = iot_py_manager(cloud, sh.project, AuthType.SMART_HOME)
    assert sdk_ok(manager.factory_reset(lamp["id"])) is True

    assert ok(sh.client.get(f"/v1.0/users/{uid}/devices")) == []
    assert ok(sh.client.get(f"/v1.0/homes/{home}/devices")) == []
    details = ok(sh.client.get(f"/v1.0/devices/{lamp['id']}"))
    assert details["uid"] == "" and details["online"] is False
    sent = messages_after(cloud, sh.project["access_id"], before)
    assert events_of(sent) == [(lamp["id"], "report"), (lamp["id"], "offline"), (lamp["id"], "delete")]
    assert sent[-1]["data"]["bizData"]["uid"] == uid


def test_bad_resets_answer_the_platform_code_and_change_nothing(cloud: CloudServer) -> None:
    project = cloud.create_project(name="reset bad input")
    stranger = cloud.create_project(name="reset stranger")
    aid = project["access_id"]
    c = signed(cloud, project)
    light = cloud.add_devices(aid, "dj")[0]
    foreign = cloud.add_devices(stranger["access_id"], "dj")[0]
    ok(c.post(f"/v1.0/iot-03/devices/{light['id']}/commands",
              {"commands": [{"code": "switch_led", "value": False}]}))
    ok(c.request("PUT", f"/v1.0/iot-03/devices/{light['id']}/freeze-state", json={"state": 1}))
    before, status_before = last_seq(cloud, aid), _status(c, light["id"])

    for auth_type in (AuthType.CUSTOM, AuthType.SMART_HOME):
        manager = iot_py_manager(cloud, project, auth_type)
        assert sdk_code(manager.factory_reset("vdevo_no_such_device")) == 2010
        assert sdk_code(manager.factory_reset(foreign["id"])) == 1106
        frozen = manager.factory_reset(light["id"])
        assert sdk_code(frozen) == 1106 and frozen["msg"] == "permission deny" and "frozen" in frozen["detail"]

    assert _status(c, light["id"]) == status_before
    assert ok(c.get(f"/v1.0/iot-03/devices/{light['id']}"))["online"] is True
    assert messages_after(cloud, aid, before) == []
    assert ok(signed(cloud, stranger).get(f"/v1.0/iot-03/devices/{foreign['id']}"))["online"] is True
