"""End to end with the real tuya-iot-py-sdk 0.6.6 (``TuyaOpenAPI`` + ``TuyaDeviceManager``) over HTTP.

How the SDK gets its token here, and why: ``TuyaOpenAPI.connect()`` never asks for a project token. In
``AuthType.CUSTOM`` it POSTs a *project user* login to ``/v1.0/iot-03/users/login`` (sha256 password), in
``AuthType.SMART_HOME`` an associated-user login to ``/v1.0/iot-01/associated-users/actions/authorized-login``;
both need user accounts and give tokens scoped to those users' devices (the CUSTOM login end to end, with a user
made by ``tuyacloud user create``, is ``test_e2e_iot_py_custom_login.py``). To see the whole project, the tests
here drive the SDK's own ``get('/v1.0/token', {'grant_type': 1})`` (signed by the SDK without a token, as a token
call must be) and put the answer into ``api.token_info`` with the SDK's ``TuyaTokenInfo``: every later request,
signature, header and refresh decision is the SDK's own.

The device manager gets the SDK's own ``TuyaOpenMQ`` object, never started: the manager only registers a
listener on it, so no MQTT broker is involved. Known limits of this set-up, asserted below: the CUSTOM refresh
(``POST /v1.0/iot-03/users/token/{refresh_token}``) is served for project tokens too, and after a 1010 the SDK
re-runs the user login, so it cannot recover a project token by itself; the SMART_HOME refresh
(``GET /v1.0/token/{refresh_token}``) works.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import tuya_iot.openapi as iot_openapi
from tuya_iot import AuthType, TuyaDeviceManager, TuyaOpenAPI, TuyaOpenMQ, TuyaTokenInfo

from support.server import CloudServer
from tuyacloud.clock import Clock

TOKEN_TTL_S = 7200


def _ok(response: dict[str, Any]) -> Any:
    assert response is not None, "the SDK got a non-200 answer (it returns None then)"
    assert response["success"] is True, response
    return response["result"]


def _with_project_token(server: CloudServer, project: dict[str, Any], auth_type: AuthType) -> TuyaOpenAPI:
    api = TuyaOpenAPI(server.url, project["access_id"], project["access_secret"], auth_type)
    response = api.get("/v1.0/token", {"grant_type": 1})
    _ok(response)
    api.token_info = TuyaTokenInfo(response)
    assert api.is_connect()
    assert api.token_info.expire_time == response["t"] + response["result"]["expire"] * 1000
    return api


def _status(manager: TuyaDeviceManager, device_id: str) -> dict[str, Any]:
    result = _ok(manager.get_device_status(device_id))
    return {s["code"]: s["value"] for s in result}


@pytest.fixture(scope="module")
def site(cloud: CloudServer) -> dict[str, Any]:
    project = cloud.create_project(name="e2e iot-py")
    light = cloud.add_devices(project["access_id"], "dj")[0]
    plug = cloud.add_devices(project["access_id"], "cz")[0]
    return {"project": project, "light": light, "plug": plug}


@pytest.fixture(params=[AuthType.CUSTOM, AuthType.SMART_HOME], ids=["custom", "smart_home"])
def manager(request: pytest.FixtureRequest, cloud: CloudServer, site: dict[str, Any]) -> TuyaDeviceManager:
    api = _with_project_token(cloud, site["project"], request.param)
    return TuyaDeviceManager(api, TuyaOpenMQ(api))


def test_user_login_connect_fails_cleanly_without_app_users(cloud: CloudServer, site: dict[str, Any]) -> None:
    for auth_type in (AuthType.CUSTOM, AuthType.SMART_HOME):
        api = TuyaOpenAPI(cloud.url, site["project"]["access_id"], site["project"]["access_secret"], auth_type)
        response = api.connect("nobody@example.com", "wrong", "1", "smartlife")
        assert response is not None, "HTTP 200 with a Tuya envelope is mandatory (the SDK returns None otherwise)"
        assert response["success"] is False and isinstance(response["code"], int)
        assert not api.is_connect()


def test_project_token_through_the_sdk(cloud: CloudServer, site: dict[str, Any]) -> None:
    api = _with_project_token(cloud, site["project"], AuthType.CUSTOM)
    assert api.token_info.uid == site["project"]["uid"]
    assert len(api.token_info.access_token) == 32 and len(api.token_info.refresh_token) == 32


def test_manager_reads_devices_status_functions_and_specification(manager: TuyaDeviceManager,
                                                                  site: dict[str, Any]) -> None:
    light = site["light"]
    info = _ok(manager.get_device_info(light["id"]))
    assert info["id"] == light["id"] and info["local_key"] == light["local_key"] and info["category"] == "dj"
    status = _status(manager, light["id"])
    assert isinstance(status["switch_led"], bool) and "bright_value_v2" in status
    functions = _ok(manager.get_device_functions(light["id"]))
    assert {"switch_led", "bright_value_v2"} <= {f["code"] for f in functions["functions"]}
    spec = _ok(manager.get_device_specification(light["id"]))
    assert {f["code"] for f in spec["functions"]} == {f["code"] for f in functions["functions"]}
    assert set(status) <= {s["code"] for s in spec["status"]} | {f["code"] for f in spec["functions"]}

    ids = [light["id"], site["plug"]["id"]]
    listed = _ok(manager.get_device_list_info(ids))  # smart home: GET /v1.0/devices/?device_ids= (slash)
    assert sorted(d["id"] for d in listed["list"]) == sorted(ids)
    statuses = {item["id"]: item["status"] for item in _ok(manager.get_device_list_status(ids))}
    assert set(statuses) == set(ids)
    assert {s["code"]: s["value"] for s in statuses[light["id"]]} == status


def test_send_commands_then_status_changes(manager: TuyaDeviceManager, site: dict[str, Any]) -> None:
    light = site["light"]["id"]
    before = _status(manager, light)
    target = not before["switch_led"]
    sent = manager.send_commands(light, [{"code": "switch_led", "value": target},
                                         {"code": "work_mode", "value": "colour"}])
    assert _ok(sent) is True
    after = _status(manager, light)
    assert after["switch_led"] is target and after["work_mode"] == "colour"
    refused = manager.send_commands(light, [{"code": "no_such_code", "value": 1}])
    assert (refused["success"], refused["code"]) == (False, 2008)
    assert _status(manager, light) == after


def test_update_device_caches_fills_the_device_map(cloud: CloudServer, site: dict[str, Any]) -> None:
    """CUSTOM: the industry manager caches info (``/v1.0/iot-03/devices?device_ids=``), status
    (``/v1.0/iot-03/devices/status``) and functions/status ranges (``.../specification``)."""
    api = _with_project_token(cloud, site["project"], AuthType.CUSTOM)
    manager = TuyaDeviceManager(api, TuyaOpenMQ(api))
    plug = site["plug"]
    _ok(manager.send_commands(plug["id"], [{"code": "switch_1", "value": True}]))
    manager.update_device_caches([plug["id"]])
    device = manager.device_map[plug["id"]]
    assert device.name == plug["name"] and device.local_key == plug["local_key"] and device.online is True
    assert isinstance(device.status, dict) and device.status["switch_1"] is True
    assert device.function["switch_1"].type == "Boolean"
    assert {"switch_1", "cur_power"} <= set(device.status_range)

    _ok(manager.send_commands(plug["id"], [{"code": "switch_1", "value": False}]))
    manager.update_device_caches([plug["id"]])
    assert manager.device_map[plug["id"]].status["switch_1"] is False


def test_update_device_list_in_smart_home(cloud: CloudServer, site: dict[str, Any]) -> None:
    """SMART_HOME: ``/v1.0/users/{uid}/devices`` with the token's uid, then each device's specifications."""
    api = _with_project_token(cloud, site["project"], AuthType.SMART_HOME)
    manager = TuyaDeviceManager(api, TuyaOpenMQ(api))
    manager.update_device_list_in_smart_home()
    light, plug = site["light"], site["plug"]
    assert {light["id"], plug["id"]} <= set(manager.device_map)
    cached = manager.device_map[light["id"]]
    assert cached.local_key == light["local_key"]
    assert cached.status == _status(manager, light["id"])
    assert cached.function["bright_value_v2"].type == "Integer"
    assert "switch_1" in manager.device_map[plug["id"]].function


@pytest.mark.parametrize("auth_type", [AuthType.CUSTOM, AuthType.SMART_HOME], ids=["custom", "smart_home"])
def test_remove_devices(cloud: CloudServer, site: dict[str, Any], auth_type: AuthType) -> None:
    first, second = cloud.add_devices(site["project"]["access_id"], "cz", 2)
    api = _with_project_token(cloud, site["project"], auth_type)
    manager = TuyaDeviceManager(api, TuyaOpenMQ(api))
    assert _ok(manager.remove_device(first["id"])) is True
    gone = api.get(f"/v1.0/devices/{first['id']}")
    assert (gone["success"], gone["code"]) == (False, 2010)
    if auth_type == AuthType.CUSTOM:  # the industry manager also removes in bulk
        assert _ok(manager.remove_device_list([second["id"]])) is True
        assert api.get(f"/v1.0/devices/{second['id']}")["code"] == 2010
    assert _ok(api.get(f"/v1.0/devices/{site['light']['id']}"))["id"] == site["light"]["id"]


# --- token lifetime -------------------------------------------------------------------------------------
@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path, clock=Clock(), create_demo=False, simulator=False).start()
    yield server
    server.stop()


def _age_token(server: CloudServer, monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    """Time passes for the cloud and for the SDK (its refresh decision and its ``t`` header)."""
    server.clock.step(seconds * 1000)
    monkeypatch.setattr(iot_openapi, "time", SimpleNamespace(time=lambda: time.time() + seconds))


def test_smart_home_stale_token_is_refreshed_proactively(clocked: CloudServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    project = clocked.create_project(name="iot-py clock")
    plug = clocked.add_devices(project["access_id"], "cz")[0]["id"]
    api = _with_project_token(clocked, project, AuthType.SMART_HOME)
    manager = TuyaDeviceManager(api, TuyaOpenMQ(api))
    old = api.token_info.access_token
    _age_token(clocked, monkeypatch, TOKEN_TTL_S + 300)
    _ok(manager.send_commands(plug, [{"code": "switch_1", "value": True}]))  # GET /v1.0/token/{rt} first
    assert api.token_info.access_token not in ("", old)
    assert _status(manager, plug)["switch_1"] is True


def test_custom_stale_token_is_refreshed_proactively(clocked: CloudServer, monkeypatch: pytest.MonkeyPatch) -> None:
    project = clocked.create_project(name="iot-py clock custom")
    plug = clocked.add_devices(project["access_id"], "cz")[0]["id"]
    api = _with_project_token(clocked, project, AuthType.CUSTOM)
    manager = TuyaDeviceManager(api, TuyaOpenMQ(api))
    _age_token(clocked, monkeypatch, TOKEN_TTL_S - 30)
    response = manager.get_device_status(plug)
    assert response["success"] is True, (
        f"iot-py CUSTOM refresh via POST /v1.0/iot-03/users/token/{{rt}} failed; the call answered {response}")


def test_after_1010_the_sdk_retries_its_user_login(cloud: CloudServer, site: dict[str, Any]) -> None:
    """iot-py answers a 1010 by re-running ``connect()`` with the stored user credentials: a project-token
    caller gets the 1010 back, and the SDK is left without a token (nothing to log in with)."""
    api = _with_project_token(cloud, site["project"], AuthType.SMART_HOME)
    api.token_info.access_token = "0" * 32
    response = api.get(f"/v1.0/devices/{site['light']['id']}")
    assert (response["success"], response["code"], response["msg"]) == (False, 1010, "token invalid")
    assert not api.is_connect()
