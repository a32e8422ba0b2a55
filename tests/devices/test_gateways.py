"""Virtual Zigbee gateways (``wg2``) and their sub-devices, seen through tuya-iot-py-sdk's ``TuyaOpenAPI``.

Sub-devices are made with ``tuyacloud device add-virtual --gateway`` and the control API's ``gateway_id``; they
live at the gateway's asset, carry ``sub``/``gateway_id``/``node_id`` in every device family, are listed by
``GET /v1.0/iot-03/devices/{gateway}/sub-devices``, follow the gateway offline and back (an event for each), and
go with it when it is removed or reset. Bad input answers the platform's code and creates nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tuya_iot import AuthType, TuyaOpenAPI
from typer.testing import CliRunner

from support.custom import add_asset, code, ok
from support.devapis import events_of, iot_py_manager, last_seq, messages_after, sdk_code, sdk_ok, signed
from support.server import ADMIN_TOKEN, CloudServer
from support.smarthome import control
from tuyacloud.cli.main import app


def _api(server: CloudServer, project: dict[str, Any]) -> TuyaOpenAPI:
    return iot_py_manager(server, project, AuthType.CUSTOM).api


def _add(server: CloudServer, access_id: str, **body: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = server.control("POST", f"/projects/{access_id}/devices", body)
    return result


@pytest.fixture
def site(cloud: CloudServer) -> dict[str, Any]:
    project = cloud.create_project(name="gateways")
    c = signed(cloud, project)
    floor = add_asset(c, "Floor 1")
    gateway = _add(cloud, project["access_id"], category="wg2", asset_id=floor)[0]
    return {"project": project, "client": c, "floor": floor, "gateway": gateway}


def test_sub_devices_from_the_cli_and_the_control_api(cloud: CloudServer, site: dict[str, Any]) -> None:
    project, c, gateway = site["project"], site["client"], site["gateway"]
    aid = project["access_id"]
    out = CliRunner().invoke(app, ["device", "add-virtual", "--project", aid, "--gateway", gateway["id"],
                                   "--category", "dj", "--count", "2", "--database-url",
                                   cloud.settings.effective_database_url, "--json"])
    assert out.exit_code == 0, out.output
    lights = json.loads(out.output)
    switch = _add(cloud, aid, gateway_id=gateway["id"], category="kg", name="Stair switch")[0]
    assert [d["sub"] for d in [*lights, switch]] == [True, True, True]
    assert len({d["node_id"] for d in [*lights, switch]}) == 3

    api = _api(cloud, project)
    listed = sdk_ok(api.get(f"/v1.0/iot-03/devices/{gateway['id']}/sub-devices"))
    assert sorted(d["id"] for d in listed) == sorted([lights[0]["id"], lights[1]["id"], switch["id"]])
    item = next(d for d in listed if d["id"] == switch["id"])
    assert item["name"] == "Stair switch" and item["asset_id"] == site["floor"] and item["online"] is True
    assert item["category"] == "kg" and len(item["node_id"]) == 16 and item["node_id"] == switch["node_id"]

    v11 = sdk_ok(api.get(f"/v1.1/iot-03/devices/{switch['id']}"))
    assert (v11["sub"], v11["gateway_id"], v11["node_id"]) == (True, gateway["id"], switch["node_id"])
    assert sdk_ok(api.get(f"/v1.0/devices/{switch['id']}"))["sub"] is True
    assert sdk_ok(api.get(f"/v2.0/cloud/thing/{switch['id']}"))["sub"] is True
    own = sdk_ok(api.get(f"/v1.1/iot-03/devices/{gateway['id']}"))
    assert (own["sub"], own["gateway_id"], own["category"]) == (False, "", "wg2")
    # A device that is no gateway has no sub-devices (an empty list, as the platform answers).
    assert sdk_ok(api.get(f"/v1.0/iot-03/devices/{switch['id']}/sub-devices")) == []
    at_floor = ok(c.get(f"/v1.0/iot-02/assets/{site['floor']}/devices", {"page_size": 100}))["list"]
    assert len(at_floor) == 4


def test_sub_devices_follow_their_gateway_offline_and_back(cloud: CloudServer, site: dict[str, Any]) -> None:
    project, c, gateway = site["project"], site["client"], site["gateway"]
    aid = project["access_id"]
    lamp, sensor, sleeper = _add(cloud, aid, gateway_id=gateway["id"], category="dj", count=3)
    cloud.control("POST", f"/devices/{sleeper['id']}/online", {"online": False})  # its battery died first
    before = last_seq(cloud, aid)

    cloud.control("POST", f"/devices/{gateway['id']}/online", {"online": False})
    down = messages_after(cloud, aid, before)
    assert events_of(down)[0] == (gateway["id"], "offline")
    assert sorted(events_of(down)[1:]) == sorted([(lamp["id"], "offline"), (sensor["id"], "offline")])
    online = {d["id"]: d["online"] for d in ok(c.get("/v1.0/iot-03/devices",
                                                     {"device_ids": ",".join([lamp["id"], sensor["id"]])}))["list"]}
    assert online == {lamp["id"]: False, sensor["id"]: False}
    assert code(c.post(f"/v1.0/iot-03/devices/{lamp['id']}/commands",
                       {"commands": [{"code": "switch_led", "value": False}]})) == 2001
    refused = control(cloud, "POST", f"/devices/{lamp['id']}/online", {"online": True})
    assert refused["success"] is False and refused["code"] == 2001 and gateway["id"] in refused["detail"]

    mark = last_seq(cloud, aid)
    cloud.control("POST", f"/devices/{gateway['id']}/online", {"online": True})
    up = messages_after(cloud, aid, mark)
    assert events_of(up)[0] == (gateway["id"], "online")
    assert sorted(events_of(up)[1:]) == sorted([(lamp["id"], "online"), (sensor["id"], "online")])
    api = _api(cloud, project)
    states = {d["id"]: d["online"] for d in sdk_ok(api.get(f"/v1.0/iot-03/devices/{gateway['id']}/sub-devices"))}
    assert states == {lamp["id"]: True, sensor["id"]: True, sleeper["id"]: False}
    assert ok(c.post(f"/v1.0/iot-03/devices/{lamp['id']}/commands",
                     {"commands": [{"code": "switch_led", "value": False}]})) is True


def test_removing_or_resetting_a_gateway_takes_its_sub_devices(cloud: CloudServer, site: dict[str, Any]) -> None:
    project, c = site["project"], site["client"]
    aid = project["access_id"]
    manager = iot_py_manager(cloud, project, AuthType.CUSTOM)

    reset_gw = _add(cloud, aid, category="wg2", asset_id=site["floor"])[0]
    reset_sub = _add(cloud, aid, gateway_id=reset_gw["id"], category="dj")[0]
    before = last_seq(cloud, aid)
    assert sdk_ok(manager.factory_reset(reset_gw["id"])) is True
    assert [e for e in events_of(messages_after(cloud, aid, before)) if e[1] == "delete"] == [
        (reset_gw["id"], "delete"), (reset_sub["id"], "delete")]
    sub_now = ok(c.get(f"/v1.1/iot-03/devices/{reset_sub['id']}"))
    assert sub_now["asset_id"] == "" and sub_now["online"] is False and sub_now["gateway_id"] == reset_gw["id"]

    gateway = site["gateway"]
    subs = _add(cloud, aid, gateway_id=gateway["id"], category="kg", count=2)
    before = last_seq(cloud, aid)
    assert sdk_ok(manager.remove_device(gateway["id"])) is True
    assert events_of(messages_after(cloud, aid, before)) == [
        (gateway["id"], "delete"), *sorted((s["id"], "delete") for s in subs)]
    for sub in subs:
        assert code(c.get(f"/v1.0/iot-03/devices/{sub['id']}")) == 2010


def test_bad_gateway_input_changes_nothing(cloud: CloudServer, site: dict[str, Any]) -> None:
    project, c, gateway = site["project"], site["client"], site["gateway"]
    aid = project["access_id"]
    stranger = cloud.create_project(name="gateways stranger")
    foreign_gw = _add(cloud, stranger["access_id"], category="wg2")[0]
    light = _add(cloud, aid, category="dj")[0]
    count = ok(c.get("/v1.3/iot-03/devices", {"page_size": 200}))["total"]
    before = last_seq(cloud, aid)

    def refused(**body: Any) -> tuple[int, str]:
        answer = control(cloud, "POST", f"/projects/{aid}/devices", body)
        assert answer["success"] is False, answer
        return int(answer["code"]), str(answer["msg"])

    assert refused(gateway_id=light["id"], category="dj") == (2009, "not support this device")
    assert refused(gateway_id=foreign_gw["id"], category="dj") == (1106, "permission deny")
    assert refused(gateway_id="vdevo_missing", category="dj") == (2010, "device not exist")
    assert refused(gateway_id=gateway["id"], category="wg2")[0] == 1109
    assert refused(gateway_id=gateway["id"], category="nope")[0] == 2015
    cli = CliRunner().invoke(app, ["device", "add-virtual", "--project", aid, "--gateway", light["id"],
                                   "--category", "dj", "--database-url", cloud.settings.effective_database_url])
    assert cli.exit_code != 0 and "not support this device" in cli.output

    api = _api(cloud, project)
    assert sdk_code(api.get(f"/v1.0/iot-03/devices/{foreign_gw['id']}/sub-devices")) == 1106
    assert sdk_code(api.get("/v1.0/iot-03/devices/vdevo_missing/sub-devices")) == 2010
    assert ok(c.get("/v1.3/iot-03/devices", {"page_size": 200}))["total"] == count
    assert messages_after(cloud, aid, before) == []
    assert sdk_ok(_api(cloud, stranger).get(f"/v1.0/iot-03/devices/{foreign_gw['id']}/sub-devices")) == []


def test_removing_a_gateway_and_its_sub_devices_in_one_batch(cloud: CloudServer, site: dict[str, Any]) -> None:
    project, c, gateway = site["project"], site["client"], site["gateway"]
    sub = _add(cloud, project["access_id"], gateway_id=gateway["id"], category="dj")[0]
    manager = iot_py_manager(cloud, project, AuthType.CUSTOM)
    assert sdk_ok(manager.remove_device_list([gateway["id"], sub["id"]])) is True
    assert code(c.get(f"/v1.0/iot-03/devices/{sub['id']}")) == 2010


def test_the_testing_kit_makes_sub_devices_and_joins_gateways(cloud: CloudServer, site: dict[str, Any]) -> None:
    from tuyacloud.testing import ControlClient, ControlError

    project, gateway = site["project"], site["gateway"]
    api = _api(cloud, project)
    with ControlClient(cloud.url, ADMIN_TOKEN) as kit:
        made = kit.add_devices(project["access_id"], "dj", 2, gateway_id=gateway["id"])
        assert [d["sub"] for d in made] == [True, True]
        with pytest.raises(ControlError) as refused:  # not searching yet
            kit.join_gateway(gateway["id"], "kg")
        assert refused.value.code == 2007
        assert sdk_ok(api.post(f"/v1.0/iot-03/device-registration/devices/{gateway['id']}/actions/discover")) is True
        joined = kit.join_gateway(gateway["id"], "kg", name="Porch switch")
    assert joined["name"] == "Porch switch" and joined["gateway_id"] == gateway["id"]
    listed = sdk_ok(api.get(f"/v1.0/iot-03/devices/{gateway['id']}/sub-devices"))
    assert sorted(d["id"] for d in listed) == sorted([made[0]["id"], made[1]["id"], joined["id"]])


def test_the_gateway_information_counts_its_sub_devices(cloud: CloudServer, site: dict[str, Any]) -> None:
    """The gateway's ``master_information`` DP (a JSON string) says how many sub-devices it has: it follows them as
    they are added, join, are removed, and stay linked through the gateway's reset; the gateway reports each new
    value (a status report and a log row)."""
    project, gateway = site["project"], site["gateway"]
    aid = project["access_id"]
    manager = iot_py_manager(cloud, project, AuthType.CUSTOM)

    def information() -> dict[str, Any]:
        status = {s["code"]: s["value"] for s in sdk_ok(manager.get_device_status(gateway["id"]))}
        found: dict[str, Any] = json.loads(status["master_information"])
        return found

    assert information() == {"version": "1.4.2", "subdevices": 0}
    before = last_seq(cloud, aid)
    lamps = _add(cloud, aid, gateway_id=gateway["id"], category="dj", count=3)
    assert information() == {"version": "1.4.2", "subdevices": 3}
    reports = [[(s["code"], s["value"]) for s in m["data"]["status"]] for m in messages_after(cloud, aid, before)
               if m["protocol"] == 4 and m["device_id"] == gateway["id"]]
    assert reports == [[("master_information", '{"version":"1.4.2","subdevices":3}')]]
    logs = sdk_ok(manager.api.get(f"/v1.0/devices/{gateway['id']}/logs",
                                  {"type": "7", "start_time": 0, "end_time": 9_999_999_999_999}))["logs"]
    assert [(entry["code"], entry["value"]) for entry in logs] == [
        ("master_information", '{"version":"1.4.2","subdevices":3}')]

    assert sdk_ok(manager.api.post(f"/v1.0/iot-03/device-registration/devices/{gateway['id']}/actions/discover"))
    cloud.control("POST", f"/devices/{gateway['id']}/join", {"category": "kg"})
    assert information()["subdevices"] == 4
    assert sdk_ok(manager.remove_device(lamps[0]["id"])) is True
    assert information()["subdevices"] == 3
    assert sdk_ok(manager.factory_reset(gateway["id"])) is True  # its sub-devices keep their link to it
    assert information() == {"version": "1.4.2", "subdevices": 3}
    assert len(sdk_ok(manager.api.get(f"/v1.0/iot-03/devices/{gateway['id']}/sub-devices"))) == 3


def test_sub_devices_made_together_get_the_given_name_numbered(cloud: CloudServer, site: dict[str, Any]) -> None:
    project, gateway = site["project"], site["gateway"]
    aid = project["access_id"]
    bulbs = _add(cloud, aid, gateway_id=gateway["id"], category="dj", count=2, name="Zigbee bulb")
    porch = _add(cloud, aid, gateway_id=gateway["id"], category="kg", name="Porch switch")[0]
    plain = _add(cloud, aid, gateway_id=gateway["id"], category="kg")[0]
    assert [d["name"] for d in bulbs] == ["Zigbee bulb 1", "Zigbee bulb 2"]
    assert porch["name"] == "Porch switch"
    listed = {d["id"]: d["name"] for d in sdk_ok(_api(cloud, project).get(
        f"/v1.0/iot-03/devices/{gateway['id']}/sub-devices"))}
    assert listed == {bulbs[0]["id"]: "Zigbee bulb 1", bulbs[1]["id"]: "Zigbee bulb 2",
                      porch["id"]: "Porch switch", plain["id"]: plain["name"]}
    assert plain["name"].startswith("Virtual ")  # no name given: the product's, numbered
