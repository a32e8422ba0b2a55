"""End to end with the real tuya-connector-python 0.1.2 ``TuyaOpenAPI`` over HTTP against a running server.

Everything goes through the official client: connect, the three device-detail families, status, instruction
sets, commands and their logs, batch calls, every list endpoint walked to its end with its own cursor, the v2.0
shadow and thing model, renaming, and the client's two token-recovery paths (proactive refresh 60 s before the
expiry it computes from the response ``t``, and reconnect after a 1010).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import tuya_connector.openapi as connector_openapi
from tuya_connector import TuyaOpenAPI

from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.clock import Clock

TOKEN_TTL_S = 7200
LIST_DEVICES = 7  # not a multiple of the page size, so every walk ends on a short page
PAGE = 3


def _ok(response: dict[str, Any]) -> Any:
    assert response is not None, "the client got a non-200 answer (it returns None then)"
    assert response["success"] is True, response
    return response["result"]


def _connected(server: CloudServer, project: dict[str, Any]) -> TuyaOpenAPI:
    api = TuyaOpenAPI(server.url, project["access_id"], project["access_secret"])
    _ok(api.connect())
    return api


def _status(api: TuyaOpenAPI, device_id: str) -> dict[str, Any]:
    return {item["code"]: item["value"] for item in _ok(api.get(f"/v1.0/devices/{device_id}/status"))}


@pytest.fixture(scope="module")
def home(cloud: CloudServer) -> dict[str, Any]:
    """A project with one light (dj) and one plug (cz)."""
    project = cloud.create_project(name="e2e connector")
    light = cloud.add_devices(project["access_id"], "dj")[0]
    plug = cloud.add_devices(project["access_id"], "cz")[0]
    return {"project": project, "light": light, "plug": plug}


@pytest.fixture(scope="module")
def listing(cloud: CloudServer) -> dict[str, Any]:
    """A project with exactly LIST_DEVICES devices (4 lights, 3 plugs) for the list walks."""
    project = cloud.create_project(name="e2e connector lists")
    created = cloud.add_devices(project["access_id"], "dj", 4) + cloud.add_devices(project["access_id"], "cz", 3)
    assert len(created) == LIST_DEVICES
    return {"project": project, "ids": {d["id"] for d in created}, "plugs": {d["id"] for d in created[4:]}}


@pytest.fixture
def api(cloud: CloudServer, home: dict[str, Any]) -> TuyaOpenAPI:
    return _connected(cloud, home["project"])


# --- connect and device reads -----------------------------------------------------------------------
def test_connect_caches_a_token_whose_expiry_comes_from_the_response_t(cloud: CloudServer,
                                                                        home: dict[str, Any]) -> None:
    api = TuyaOpenAPI(cloud.url, home["project"]["access_id"], home["project"]["access_secret"])
    response = api.connect()
    result = _ok(response)
    assert api.is_connect()
    assert api.token_info.access_token == result["access_token"] and len(result["access_token"]) == 32
    assert api.token_info.refresh_token == result["refresh_token"]
    assert api.token_info.uid == home["project"]["uid"]
    # connector-py computes expiry as t + expire * 1000: the server must send both.
    assert api.token_info.expire_time == response["t"] + result["expire"] * 1000
    assert TOKEN_TTL_S - 5 <= result["expire"] <= TOKEN_TTL_S


def test_wrong_secret_is_refused_with_1004(cloud: CloudServer, home: dict[str, Any]) -> None:
    api = TuyaOpenAPI(cloud.url, home["project"]["access_id"], "x" * 32)
    response = api.connect()
    assert (response["success"], response["code"]) == (False, 1004)
    assert not api.is_connect()


def test_device_details_in_the_three_api_families(api: TuyaOpenAPI, home: dict[str, Any]) -> None:
    light = home["light"]
    v1 = _ok(api.get(f"/v1.0/devices/{light['id']}"))
    iot03 = _ok(api.get(f"/v1.1/iot-03/devices/{light['id']}"))
    v2 = _ok(api.get(f"/v2.0/cloud/thing/{light['id']}"))
    for details in (v1, iot03, v2):
        assert details["id"] == light["id"]
        assert details["local_key"] == light["local_key"]
        assert details["category"] == "dj"
        assert details["product_id"] == light["product_id"]
    assert v1["online"] is True and iot03["online"] is True
    assert v2["is_online"] is True and "status" not in v2 and "online" not in v2
    assert v1["uid"] == home["project"]["uid"]
    assert iot03["category_name"] == "Light"
    assert {s["code"] for s in v1["status"]} >= {"switch_led", "bright_value_v2"}
    # v1.0 uses 10-digit second timestamps.
    assert len(str(v1["create_time"])) == 10


def test_status_functions_and_specifications(api: TuyaOpenAPI, home: dict[str, Any]) -> None:
    light = home["light"]["id"]
    status = _status(api, light)
    assert isinstance(status["switch_led"], bool) and isinstance(status["bright_value_v2"], int)
    functions = _ok(api.get(f"/v1.0/devices/{light}/functions"))
    assert functions["category"] == "dj"
    codes = {f["code"]: f for f in functions["functions"]}
    assert {"switch_led", "bright_value_v2", "work_mode"} <= set(codes)
    assert codes["switch_led"]["type"] == "Boolean"
    bright = json.loads(codes["bright_value_v2"]["values"])  # values is a JSON string, as on the platform
    assert bright["min"] < bright["max"]
    spec = _ok(api.get(f"/v1.0/devices/{light}/specifications"))
    assert {f["code"] for f in spec["functions"]} == set(codes)
    assert set(status) <= {s["code"] for s in spec["status"]} | set(codes)
    iot03_spec = _ok(api.get(f"/v1.0/iot-03/devices/{light}/specification"))
    assert {f["code"] for f in iot03_spec["functions"]} == set(codes)
    iot03_functions = _ok(api.get(f"/v1.0/iot-03/devices/{light}/functions"))
    assert {f["code"] for f in iot03_functions["functions"]} == set(codes)


def test_command_changes_status_and_the_log_shows_it(api: TuyaOpenAPI, home: dict[str, Any]) -> None:
    light = home["light"]["id"]
    before = _status(api, light)
    target = not before["switch_led"]
    start = api.get(f"/v1.0/devices/{light}")["t"]
    assert _ok(api.post(f"/v1.0/devices/{light}/commands",
                        {"commands": [{"code": "switch_led", "value": target}]})) is True
    assert _status(api, light)["switch_led"] is target
    # The industry path changes it too.
    assert _ok(api.post(f"/v1.0/iot-03/devices/{light}/commands",
                        {"commands": [{"code": "bright_value_v2", "value": 321}]})) is True
    assert _ok(api.get(f"/v1.0/iot-03/devices/{light}/status")) == _ok(api.get(f"/v1.0/devices/{light}/status"))
    assert _status(api, light)["bright_value_v2"] == 321

    logs = _ok(api.get(f"/v1.0/devices/{light}/logs", {"type": "5", "start_time": start - 1000,
                                                        "end_time": start + 600_000}))
    commanded = [(entry["code"], entry["value"]) for entry in logs["logs"] if entry["event_id"] == 5]
    assert ("switch_led", str(target).lower()) in commanded
    assert ("bright_value_v2", "321") in commanded
    assert logs["device_id"] == light and logs["has_next"] is False


def test_a_bad_command_is_refused_and_changes_nothing(api: TuyaOpenAPI, home: dict[str, Any]) -> None:
    light = home["light"]["id"]
    before = _status(api, light)
    response = api.post(f"/v1.0/devices/{light}/commands",
                        {"commands": [{"code": "switch_led", "value": not before["switch_led"]},
                                      {"code": "bright_value_v2", "value": 999_999}]})
    assert (response["success"], response["code"]) == (False, 2008)
    assert response["msg"] == "command or value not support"
    assert "bright_value_v2" in response["detail"]
    assert _status(api, light) == before  # all or nothing


def test_batch_status(api: TuyaOpenAPI, home: dict[str, Any]) -> None:
    ids = [home["light"]["id"], home["plug"]["id"]]
    for path in ("/v1.0/devices/status", "/v1.0/iot-03/devices/status"):
        result = _ok(api.get(path, {"device_ids": ",".join(ids)}))
        by_id = {item["id"]: {s["code"]: s["value"] for s in item["status"]} for item in result}
        assert set(by_id) == set(ids)
        assert "switch_led" in by_id[home["light"]["id"]]
        assert "switch_1" in by_id[home["plug"]["id"]]
        assert by_id[home["light"]["id"]] == _status(api, home["light"]["id"])


# --- lists, walked to the end with their cursors -------------------------------------------------------
def _walk(fetch: Any, max_pages: int = 20) -> tuple[list[str], int]:
    ids: list[str] = []
    cursor = ""
    for pages in range(1, max_pages + 1):
        page_ids, cursor, more = fetch(cursor)
        ids += page_ids
        if not more:
            assert cursor == "", "the last page's cursor is empty, as the platform answers it"
            return ids, pages
        assert cursor, "a page with more to come names its cursor"
    raise AssertionError(f"the list did not end within {max_pages} pages")


def _listing_api(cloud: CloudServer, listing: dict[str, Any]) -> TuyaOpenAPI:
    return _connected(cloud, listing["project"])


def test_v13_iot03_devices_walked_with_last_row_key(cloud: CloudServer, listing: dict[str, Any]) -> None:
    api = _listing_api(cloud, listing)
    totals = []

    def fetch(cursor: str) -> tuple[list[str], str, bool]:
        params: dict[str, Any] = {"page_size": PAGE}
        if cursor:
            params["last_row_key"] = cursor
        result = _ok(api.get("/v1.3/iot-03/devices", params))
        totals.append(result["total"])
        assert len(result["list"]) <= PAGE
        return [d["id"] for d in result["list"]], result["last_row_key"], result["has_more"]

    ids, pages = _walk(fetch)
    assert sorted(ids) == sorted(listing["ids"]) and len(ids) == len(set(ids))
    assert pages == 3 and set(totals) == {LIST_DEVICES}
    plugs = _ok(api.get("/v1.3/iot-03/devices", {"category": "cz", "page_size": 20}))
    assert {d["id"] for d in plugs["list"]} == listing["plugs"] and plugs["has_more"] is False


def test_associated_users_devices_walked_with_last_row_key(cloud: CloudServer, listing: dict[str, Any]) -> None:
    api = _listing_api(cloud, listing)

    def fetch(cursor: str) -> tuple[list[str], str, bool]:
        params: dict[str, Any] = {"size": PAGE}
        if cursor:
            params["last_row_key"] = cursor
        result = _ok(api.get("/v1.0/iot-01/associated-users/devices", params))
        assert result["total"] == LIST_DEVICES
        return [d["id"] for d in result["devices"]], result["last_row_key"], result["has_more"]

    ids, pages = _walk(fetch)
    assert sorted(ids) == sorted(listing["ids"]) and len(ids) == len(set(ids))
    assert pages == 3


def test_v2_thing_devices_walked_with_last_id_until_a_short_page(cloud: CloudServer,
                                                                  listing: dict[str, Any]) -> None:
    api = _listing_api(cloud, listing)

    def fetch(cursor: str) -> tuple[list[str], str, bool]:
        params: dict[str, Any] = {"page_size": PAGE}
        if cursor:
            params["last_id"] = cursor
        page = _ok(api.get("/v2.0/cloud/thing/device", params))
        assert isinstance(page, list) and len(page) <= PAGE
        assert all(isinstance(d["isOnline"], bool) and "customName" in d and d["productName"] for d in page)
        ids = [d["id"] for d in page]
        more = len(ids) == PAGE  # a bare list: the client takes its cursor from the last item of a full page
        return ids, ids[-1] if more else "", more

    ids, pages = _walk(fetch)
    assert sorted(ids) == sorted(listing["ids"]) and len(ids) == len(set(ids))
    assert pages == 3


# The fields of Tuya's documented examples: the project list is camelCase, details and batch snake_case.
V2_LIST_KEYS = {"activeTime", "category", "createTime", "customName", "icon", "id", "ip", "isOnline", "lat",
                "localKey", "lon", "name", "productId", "productName", "sub", "timeZone", "updateTime", "uuid"}
V2_DETAIL_KEYS = {"active_time", "category", "create_time", "custom_name", "icon", "id", "ip", "is_online", "lat",
                  "local_key", "lon", "name", "product_id", "product_name", "sub", "time_zone", "update_time", "uuid"}


def test_v2_answers_use_the_documented_key_styles(cloud: CloudServer, home: dict[str, Any]) -> None:
    """mcp-server-tuya reads ``isOnline``, ``customName`` and ``productName`` from the project list; snake_case
    there showed every device offline."""
    api = _connected(cloud, home["project"])
    light = home["light"]["id"]
    listed = {d["id"]: d for d in _ok(api.get("/v2.0/cloud/thing/device", {"page_size": 20}))}
    item = listed[light]
    assert set(item) == V2_LIST_KEYS, set(item) ^ V2_LIST_KEYS
    assert item["isOnline"] is True and item["productName"] and item["localKey"]
    details = _ok(api.get(f"/v2.0/cloud/thing/{light}"))
    assert set(details) >= V2_DETAIL_KEYS and not any(k[0].islower() and not k.islower() for k in details)
    assert {k: item[k] for k in ("id", "name", "category", "uuid")} == {k: details[k] for k in
                                                                        ("id", "name", "category", "uuid")}
    assert (item["isOnline"], item["customName"], item["productName"], item["localKey"]) == (
        details["is_online"], details["custom_name"], details["product_name"], details["local_key"])
    batch = _ok(api.get("/v2.0/cloud/thing/batch", {"device_ids": light}))
    assert set(batch[0]) >= V2_DETAIL_KEYS


def test_v10_devices_by_last_id_and_by_ids_with_and_without_trailing_slash(cloud: CloudServer,
                                                                           listing: dict[str, Any]) -> None:
    api = _listing_api(cloud, listing)

    def fetch(cursor: str) -> tuple[list[str], str, bool]:
        params: dict[str, Any] = {"page_size": PAGE}
        if cursor:
            params["last_id"] = cursor
        result = _ok(api.get("/v1.0/devices", params))
        return [d["id"] for d in result["devices"]], result["last_id"], result["has_more"]

    ids, pages = _walk(fetch)
    assert sorted(ids) == sorted(listing["ids"]) and pages == 3

    wanted = sorted(listing["plugs"])
    for path in ("/v1.0/devices", "/v1.0/devices/"):  # iot-py and others call the trailing-slash form
        result = _ok(api.get(path, {"device_ids": ",".join(wanted)}))
        assert sorted(d["id"] for d in result["devices"]) == wanted, path
        assert all(d["category"] == "cz" and d["status"] for d in result["devices"]), path
        assert result["has_more"] is False


def test_another_projects_device_is_not_visible(api: TuyaOpenAPI, listing: dict[str, Any]) -> None:
    other = sorted(listing["ids"])[0]
    response = api.get(f"/v1.0/devices/{other}")
    assert (response["success"], response["code"]) == (False, 1106)
    batch = _ok(api.get("/v1.0/devices", {"device_ids": other}))
    assert batch["devices"] == []


# --- v2.0 shadow and thing model -------------------------------------------------------------------------
def _shadow(api: TuyaOpenAPI, device_id: str) -> dict[str, Any]:
    result = _ok(api.get(f"/v2.0/cloud/thing/{device_id}/shadow/properties"))
    return {p["code"]: p["value"] for p in result["properties"]}


def test_shadow_properties_get_and_issue_with_a_json_string(api: TuyaOpenAPI, home: dict[str, Any]) -> None:
    light = home["light"]["id"]
    _ok(api.post(f"/v1.0/devices/{light}/commands", {"commands": [{"code": "switch_led", "value": True}]}))
    assert _shadow(api, light)["switch_led"] is True
    issued = api.post(f"/v2.0/cloud/thing/{light}/shadow/properties/issue",
                      {"properties": json.dumps({"switch_led": False})})
    assert _ok(issued) is True
    assert _shadow(api, light)["switch_led"] is False
    assert _status(api, light)["switch_led"] is False
    only = _ok(api.get(f"/v2.0/cloud/thing/{light}/shadow/properties", {"codes": "switch_led"}))
    assert [p["code"] for p in only["properties"]] == ["switch_led"]
    assert isinstance(only["properties"][0]["dp_id"], int)


def test_thing_model_and_shadow_show_raw_dps_that_v1_status_hides(api: TuyaOpenAPI, home: dict[str, Any]) -> None:
    light = home["light"]["id"]
    model = json.loads(_ok(api.get(f"/v2.0/cloud/thing/{light}/model"))["model"])
    properties = {p["code"]: p for s in model["services"] for p in s["properties"]}
    raw = {"power_memory", "remote_switch"}  # vendor DPs of the virtual bulb
    assert raw <= set(properties) and "switch_led" in properties
    assert properties["remote_switch"]["typeSpec"]["type"] == "bool"
    assert model["modelId"] == home["light"]["product_id"]
    assert raw <= set(_shadow(api, light))
    assert not raw & set(_status(api, light))
    assert not raw & {f["code"] for f in _ok(api.get(f"/v1.0/devices/{light}/functions"))["functions"]}
    # A raw DP can be issued through the shadow and reads back there (only there).
    before = _shadow(api, light)["remote_switch"]
    _ok(api.post(f"/v2.0/cloud/thing/{light}/shadow/properties/issue",
                 {"properties": json.dumps({"remote_switch": not before})}))
    assert _shadow(api, light)["remote_switch"] is (not before)
    assert "remote_switch" not in _status(api, light)


def test_rename_then_every_detail_family_shows_the_new_name(api: TuyaOpenAPI, home: dict[str, Any]) -> None:
    plug = home["plug"]["id"]
    assert _ok(api.put(f"/v1.0/devices/{plug}", {"name": "Coffee Machine"})) is True
    assert _ok(api.get(f"/v1.0/devices/{plug}"))["name"] == "Coffee Machine"
    assert _ok(api.get(f"/v1.1/iot-03/devices/{plug}"))["name"] == "Coffee Machine"
    assert _ok(api.get(f"/v2.0/cloud/thing/{plug}"))["name"] == "Coffee Machine"
    assert _ok(api.put(f"/v1.0/iot-03/devices/{plug}", {"name": "Kettle"})) is True
    assert _ok(api.get(f"/v1.0/devices/{plug}"))["name"] == "Kettle"
    refused = api.put(f"/v1.0/devices/{plug}", {"name": ""})
    assert (refused["success"], refused["code"]) == (False, 1109)
    assert _ok(api.get(f"/v1.0/devices/{plug}"))["name"] == "Kettle"


# --- token recovery ----------------------------------------------------------------------------------------
@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[CloudServer]:
    """A server of its own whose clock the test moves; its timestamp window stays the default 15 minutes."""
    server = CloudServer(tmp_path, clock=Clock(), create_demo=False, simulator=False).start()
    yield server
    server.stop()


def _shift_client_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move connector-py's notion of now (its refresh decision and its ``t`` header), not the test process's."""
    monkeypatch.setattr(connector_openapi, "time", SimpleNamespace(time=lambda: time.time() + seconds))


def _signed_at_server_time(server: CloudServer, project: dict[str, Any]) -> tuple[SignedClient, str]:
    return SignedClient(server.url, project["access_id"], project["access_secret"]), str(server.clock.now_ms())


@pytest.mark.parametrize("elapsed_s", [TOKEN_TTL_S - 30, TOKEN_TTL_S + 600], ids=["in-last-minute", "expired"])
def test_stale_token_is_refreshed_proactively_with_the_refresh_token(
        clocked: CloudServer, monkeypatch: pytest.MonkeyPatch, elapsed_s: int) -> None:
    project = clocked.create_project(name="clock")
    device = clocked.add_devices(project["access_id"], "cz")[0]["id"]
    api = _connected(clocked, project)
    old_access, old_refresh = api.token_info.access_token, api.token_info.refresh_token

    # Time passes for both the cloud and the client.
    clocked.clock.step(elapsed_s * 1000)
    _shift_client_clock(monkeypatch, elapsed_s)
    signed, server_now = _signed_at_server_time(clocked, project)
    if elapsed_s > TOKEN_TTL_S:  # the server really refuses the old token now
        stale = signed.get(f"/v1.0/devices/{device}/status", token=old_access, t=server_now)
        assert (stale["success"], stale["code"], stale["msg"]) == (False, 1010, "token invalid")

    # The client notices before calling, refreshes, and the call succeeds at the first attempt.
    response = api.get(f"/v1.0/devices/{device}/status")
    assert {s["code"] for s in _ok(response)} >= {"switch_1"}
    assert api.token_info.access_token not in ("", old_access)
    assert api.token_info.refresh_token not in ("", old_refresh)
    assert api.token_info.expire_time >= clocked.clock.now_ms() + (TOKEN_TTL_S - 120) * 1000
    # It used the refresh token (single use: a second use is refused), not a fresh grant.
    again = signed.get(f"/v1.0/token/{old_refresh}", token="", t=str(clocked.clock.now_ms()))
    assert (again["success"], again["code"]) == (False, 1010)
    # And keeps working with the new token.
    _ok(api.post(f"/v1.0/devices/{device}/commands", {"commands": [{"code": "switch_1", "value": True}]}))
    assert {s["code"]: s["value"] for s in _ok(api.get(f"/v1.0/devices/{device}/status"))}["switch_1"] is True


def test_after_a_1010_connector_returns_it_once_then_reconnects(api: TuyaOpenAPI, home: dict[str, Any]) -> None:
    light = home["light"]["id"]
    old_refresh = api.token_info.refresh_token
    api.token_info.access_token = "0" * 32  # a token the server never issued
    response = api.get(f"/v1.0/devices/{light}/status")
    assert response is not None
    assert (response["success"], response["code"], response["msg"]) == (False, 1010, "token invalid")
    # The client dropped the token and connected again (grant_type=1) behind the scenes.
    assert api.is_connect()
    assert api.token_info.access_token != "0" * 32 and api.token_info.refresh_token != old_refresh
    assert {s["code"] for s in _ok(api.get(f"/v1.0/devices/{light}/status"))} >= {"switch_led"}


@pytest.fixture
def skewed(tmp_path: Path) -> Iterator[CloudServer]:
    """A server whose clock may run hours ahead of its clients: the timestamp window is widened to allow it."""
    server = CloudServer(tmp_path, clock=Clock(), create_demo=False, simulator=False,
                         timestamp_window_s=3 * TOKEN_TTL_S).start()
    yield server
    server.stop()


def test_token_expired_on_the_server_only_recovers_after_one_1010(skewed: CloudServer) -> None:
    """The cloud's clock ran ahead of the client's: the client does not know its token is dead, gets one 1010,
    reconnects, and the next call works."""
    project = skewed.create_project(name="skew")
    device = skewed.add_devices(project["access_id"], "dj")[0]["id"]
    api = _connected(skewed, project)
    old_access = api.token_info.access_token
    skewed.clock.step((TOKEN_TTL_S + 60) * 1000)
    first = api.get(f"/v1.0/devices/{device}")
    assert (first["success"], first["code"], first["msg"]) == (False, 1010, "token invalid")
    assert api.token_info.access_token not in ("", old_access)
    assert _ok(api.get(f"/v1.0/devices/{device}"))["id"] == device
