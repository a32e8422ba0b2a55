"""Sub-device pairing through a gateway, end to end, and the devices of an asset on the iot-03 path, with
tuya-iot-py-sdk's ``TuyaOpenAPI``.

The project opens the gateway (``POST /v1.0/iot-03/device-registration/devices/{id}/actions/discover``), Zigbee
devices join while it searches (the control API and ``tuyacloud device pair --gateway`` play them), the project
lists who joined since a time (``GET .../devices/{id}/sub-devices?discovery_time=``) and closes the search
(``stop-discover``); joining a closed or timed-out gateway answers 2007. Bad input changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from tuya_iot import AuthType, TuyaOpenAPI
from typer.testing import CliRunner

from support.custom import add_asset, walk
from support.devapis import iot_py_manager, last_seq, messages_after, sdk_code, sdk_ok, signed
from support.server import CloudServer
from support.smarthome import control
from tuyacloud.cli.main import app
from tuyacloud.clock import Clock

REG = "/v1.0/iot-03/device-registration/devices/{}"


def _api(server: CloudServer, project: dict[str, Any]) -> TuyaOpenAPI:
    return iot_py_manager(server, project, AuthType.CUSTOM).api


def _join(server: CloudServer, gateway_id: str, **body: Any) -> dict[str, Any]:
    return control(server, "POST", f"/devices/{gateway_id}/join", body)


@pytest.fixture(scope="module")
def own_clock_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """A server of this module alone: its clock is stepped (the session's server keeps the wall clock, which
    tests mixing the CLI and the server rely on)."""
    server = CloudServer(tmp_path_factory.mktemp("discovery"), clock=Clock(), create_demo=False,
                         timestamp_window_s=10**7).start()
    yield server
    server.stop()


def test_discover_join_list_and_stop(own_clock_cloud: CloudServer) -> None:
    cloud = own_clock_cloud
    project = cloud.create_project(name="discovery")
    aid = project["access_id"]
    c = signed(cloud, project)
    room = add_asset(c, "Room")
    gateway = cloud.control("POST", f"/projects/{aid}/devices", {"category": "wg2", "asset_id": room})[0]
    api = _api(cloud, project)

    closed = _join(cloud, gateway["id"], category="dj")
    assert closed["success"] is False and closed["code"] == 2007  # never opened
    since = cloud.control("GET", "/clock")["now"] // 1000
    assert sdk_ok(api.post(REG.format(gateway["id"]) + "/actions/discover", {"duration": 120})) is True
    first = _join(cloud, gateway["id"], category="dj", name="Ceiling")["result"]
    out = CliRunner().invoke(app, ["device", "pair", "--gateway", gateway["id"], "--category", "kg", "--json",
                                   "--database-url", cloud.settings.effective_database_url])
    assert out.exit_code == 0, out.output
    second = json.loads(out.output)
    assert (first["gateway_id"], second["gateway_id"]) == (gateway["id"], gateway["id"])
    assert first["asset_id"] == room and second["asset_id"] == room and second["sub"] is True

    joined = sdk_ok(api.get(REG.format(gateway["id"]) + "/sub-devices", {"discovery_time": since}))
    assert [d["id"] for d in joined] == sorted([first["id"], second["id"]])
    ceiling = next(d for d in joined if d["id"] == first["id"])
    assert ceiling["name"] == "Ceiling" and ceiling["online"] is True and ceiling["asset_id"] == room
    assert len(ceiling["node_id"]) == 16 and ceiling["category"] == "dj"
    later = cloud.control("POST", "/clock", {"step_ms": 2000})["now"] // 1000
    assert sdk_ok(api.get(REG.format(gateway["id"]) + "/sub-devices", {"discovery_time": later})) == []

    assert sdk_ok(api.post(REG.format(gateway["id"]) + "/actions/stop-discover")) is True
    assert _join(cloud, gateway["id"], category="dj")["code"] == 2007
    # The search also ends by itself after its duration.
    assert sdk_ok(api.post(REG.format(gateway["id"]) + "/actions/discover", {"duration": 5})) is True
    cloud.control("POST", "/clock", {"step_ms": 6000})
    assert _join(cloud, gateway["id"], category="dj")["code"] == 2007
    assert len(sdk_ok(api.get(f"/v1.0/iot-03/devices/{gateway['id']}/sub-devices"))) == 2


def test_bad_discovery_requests_change_nothing(cloud: CloudServer) -> None:
    project = cloud.create_project(name="discovery bad input")
    stranger = cloud.create_project(name="discovery stranger")
    aid = project["access_id"]
    gateway = cloud.add_devices(aid, "wg2")[0]
    light = cloud.add_devices(aid, "dj")[0]
    foreign = cloud.add_devices(stranger["access_id"], "wg2")[0]
    api = _api(cloud, project)
    before = last_seq(cloud, aid)

    discover = REG + "/actions/discover"
    assert sdk_code(api.post(discover.format(light["id"]), {"duration": 60})) == 2009
    assert sdk_code(api.post(discover.format(foreign["id"]), {"duration": 60})) == 1106
    assert sdk_code(api.post(discover.format("vdevo_missing"), {"duration": 60})) == 2010
    assert sdk_code(api.post(discover.format(gateway["id"]), {"duration": 3601})) == 1109
    assert sdk_code(api.post(discover.format(gateway["id"]), {"duration": "soon"})) == 1109
    assert sdk_code(api.post((REG + "/actions/stop-discover").format(light["id"]))) == 2009
    assert sdk_code(api.get((REG + "/sub-devices").format(foreign["id"]), {"discovery_time": 0})) == 1106
    # Nothing was opened: no device can join, nothing was sent.
    assert _join(cloud, gateway["id"], category="dj")["code"] == 2007
    assert _join(cloud, light["id"], category="dj")["code"] == 2009
    assert messages_after(cloud, aid, before) == []
    assert sdk_ok(api.get(f"/v1.0/iot-03/devices/{gateway['id']}/sub-devices")) == []


def test_devices_of_an_asset_on_the_iot03_path(cloud: CloudServer) -> None:
    project = cloud.create_project(name="iot-03 asset devices")
    stranger = cloud.create_project(name="iot-03 asset stranger")
    aid = project["access_id"]
    c = signed(cloud, project)
    hall = add_asset(c, "Hall")
    other = add_asset(c, "Other")
    gateway = cloud.control("POST", f"/projects/{aid}/devices", {"category": "wg2", "asset_id": hall})[0]
    subs = cloud.control("POST", f"/projects/{aid}/devices", {"gateway_id": gateway["id"], "category": "dj",
                                                              "count": 2})
    plugs = cloud.control("POST", f"/projects/{aid}/devices", {"category": "cz", "asset_id": hall, "count": 2})
    cloud.control("POST", f"/projects/{aid}/devices", {"category": "cz", "asset_id": other})
    api = _api(cloud, project)

    def page(cursor: str) -> dict[str, Any]:
        result: dict[str, Any] = sdk_ok(api.get(f"/v1.0/iot-03/assets/{hall}/devices",
                                                {"page_size": 2, "last_row_key": cursor}))
        assert result["total"] == 5 and len(result["list"]) <= 2
        return result

    found = walk(page, more="has_more")
    expected = sorted(d["id"] for d in [gateway, *subs, *plugs])
    assert [d["id"] for d in found] == expected
    assert {d["asset_id"] for d in found} == {hall}
    by_id = {d["id"]: d for d in found}
    assert by_id[subs[0]["id"]]["sub"] is True and by_id[subs[0]["id"]]["gateway_id"] == gateway["id"]
    assert by_id[plugs[0]["id"]]["category"] == "cz" and "local_key" in by_id[plugs[0]["id"]]
    whole = sdk_ok(api.get(f"/v1.0/iot-03/assets/{hall}/devices"))
    assert len(whole["list"]) == 5 and whole["has_more"] is False and whole["last_row_key"] == ""
    assert sdk_code(api.get("/v1.0/iot-03/assets/no-such-asset/devices")) == 1000
    assert sdk_code(_api(cloud, stranger).get(f"/v1.0/iot-03/assets/{hall}/devices")) == 1106
    assert sdk_code(api.get(f"/v1.0/iot-03/assets/{hall}/devices", {"page_size": 101})) == 1109
