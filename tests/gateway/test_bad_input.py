"""Bad requests get the right Tuya code, and nothing changes: the device's name, status and log stay as they were.

Every test drives the real server over HTTP. A light (``dj``) is used because it has no behaviour of its own
while idle, so any difference after a refused request is the refused request's doing.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest

from support import web
from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.errors import all_codes
from tuyacloud.signing import parse_query, sign_request

ALL_EVENT_TYPES = "1,2,3,4,5,6,7,8,9,10"
COMMAND_PATHS = ["/v1.0/devices/{id}/commands", "/v1.0/iot-03/devices/{id}/commands"]


# --- helpers ---------------------------------------------------------------------------------------------------------
def now_ms(cloud: CloudServer) -> int:
    return cloud.clock.now_ms()


def snapshot(owner: SignedClient, device_id: str) -> dict[str, Any]:
    """What a refused request must not change: name, online state, every DP value and its time, the log."""
    details = owner.get(f"/v1.0/devices/{device_id}")
    assert details["success"], details
    shadow = owner.get(f"/v2.0/cloud/thing/{device_id}/shadow/properties")
    assert shadow["success"], shadow
    logs = owner.get(f"/v1.0/iot-03/devices/{device_id}/logs",
                     {"event_types": ALL_EVENT_TYPES, "start_time": 0, "end_time": int(time.time() * 1000) + 10**9,
                      "size": 100})
    assert logs["success"], logs
    d = details["result"]
    return {
        "name": d["name"], "online": d["online"], "update_time": d["update_time"], "status": d["status"],
        "properties": shadow["result"]["properties"],
        "logs": [(e["event_id"], e["code"], e["value"], e["event_time"]) for e in logs["result"]["logs"]],
    }


def send(client: SignedClient, method: str, path: str, *, query: str = "", body: bytes = b"",
         headers: dict[str, Any] | None = None, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Send exactly these bytes with exactly these headers (minus ``drop``); HTTP 200 and a JSON envelope."""
    sent = {k: v for k, v in (headers or {}).items() if k not in drop}
    url = f"{client.base_url}{path}" + (f"?{query}" if query else "")
    response = client.http.request(method, url, content=body, headers=sent)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    assert isinstance(payload["t"], int) and isinstance(payload["success"], bool)
    return payload


def assert_code(body: dict[str, Any], code: int, *fragments: str) -> None:
    """A refusal with ``code``: ``msg`` exactly the platform's text for it, each fragment in msg or detail."""
    assert body["success"] is False, body
    assert body["code"] == code, body
    assert isinstance(body["msg"], str)
    if code != 1114:  # the one text that names the caller's address
        assert body["msg"] == all_codes()[code], body
    said = f"{body['msg']} {body.get('detail', '')}"
    for fragment in fragments:
        assert fragment in said, (fragment, body)


def command_body(*commands: tuple[str, Any]) -> bytes:
    return orjson.dumps({"commands": [{"code": c, "value": v} for c, v in commands]})


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "tuyacloud.cli.main", *args], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def store_args(server: CloudServer) -> list[str]:
    args = ["--data-dir", str(server.settings.data_dir)]
    if server.settings.database_url:
        args += ["--database-url", server.settings.database_url]
    return args


# --- fixtures --------------------------------------------------------------------------------------------------------
@pytest.fixture
def light(cloud: CloudServer, project: dict[str, Any], client: SignedClient) -> str:
    device_id: str = cloud.add_devices(project["access_id"], "dj")[0]["id"]
    return device_id


@pytest.fixture
def before(client: SignedClient, light: str) -> dict[str, Any]:
    return snapshot(client, light)


@pytest.fixture
def other(cloud: CloudServer) -> tuple[dict[str, Any], SignedClient, str]:
    """A second project in the same data center, with its own light."""
    project = cloud.create_project(name="Other project")
    c = SignedClient(cloud.url, project["access_id"], project["access_secret"])
    assert c.connect()["success"]
    device_id = cloud.add_devices(project["access_id"], "dj")[0]["id"]
    return project, c, device_id


# --- credentials and signatures --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_wrong_secret_is_1004(cloud: CloudServer, project: dict[str, Any], client: SignedClient, light: str,
                              before: dict[str, Any], path: str) -> None:
    impostor = SignedClient(cloud.url, project["access_id"], project["access_secret"][::-1])
    impostor.access_token = client.access_token
    assert_code(impostor.connect(), 1004, "sign invalid")
    body = impostor.post(path.format(id=light), {"commands": [{"code": "switch_led", "value": False}]})
    assert_code(body, 1004, "sign invalid")
    assert snapshot(client, light) == before


def test_unknown_client_id_is_1005(cloud: CloudServer, project: dict[str, Any], client: SignedClient, light: str,
                                   before: dict[str, Any]) -> None:
    stranger = SignedClient(cloud.url, "x" * 20, project["access_secret"])
    stranger.access_token = client.access_token
    assert_code(stranger.connect(), 1005)
    assert_code(stranger.post(f"/v1.0/devices/{light}/commands", {"commands": [{"code": "switch_led",
                                                                                  "value": False}]}), 1005)
    assert snapshot(client, light) == before


@pytest.mark.parametrize("missing", ["sign", "t", "client_id"])
def test_missing_header_is_1105(client: SignedClient, light: str, before: dict[str, Any], missing: str) -> None:
    path = f"/v1.0/devices/{light}/commands"
    body = command_body(("switch_led", False))
    headers = client.headers("POST", path, body=body)
    assert_code(send(client, "POST", path, body=body, headers=headers, drop=(missing,)), 1105, missing)
    # an empty value is as missing as no header
    assert_code(send(client, "POST", path, body=body, headers={**headers, missing: ""}), 1105, missing)
    assert_code(send(client, "GET", "/v1.0/token", query="grant_type=1",
                     headers=client.headers("GET", "/v1.0/token", "grant_type=1", token=""), drop=(missing,)), 1105)
    assert snapshot(client, light) == before


@pytest.mark.parametrize("age_s", [901, -901, 86_400 * 365])
def test_stale_or_future_t_is_1013(cloud: CloudServer, client: SignedClient, light: str, before: dict[str, Any],
                                   age_s: int) -> None:
    """The default window is 900 s either side of the server clock; the signature itself is right."""
    path = f"/v1.0/devices/{light}/commands"
    body = command_body(("switch_led", False))
    t = str(now_ms(cloud) - age_s * 1000)
    assert_code(send(client, "POST", path, body=body, headers=client.headers("POST", path, body=body, t=t)), 1013,
                "request time is invalid")
    assert_code(client.get("/v1.0/token", {"grant_type": 1}, token="", t=t), 1013)
    assert snapshot(client, light) == before


def test_t_inside_the_window_is_accepted(cloud: CloudServer, client: SignedClient, light: str) -> None:
    t = str(now_ms(cloud) - 850 * 1000)
    assert client.get(f"/v1.0/devices/{light}", t=t)["success"]


def test_window_follows_the_setting(tmp_path: Path) -> None:
    server = CloudServer(tmp_path, timestamp_window_s=5).start()
    try:
        p = server.create_project()
        c = SignedClient(server.url, p["access_id"], p["access_secret"])
        assert c.connect()["success"]
        assert_code(c.get("/v1.0/iot-03/device-categories", t=str(server.clock.now_ms() - 30_000)), 1013)
        assert c.get("/v1.0/iot-03/device-categories", t=str(server.clock.now_ms() - 1_000))["success"]
    finally:
        server.stop()


@pytest.mark.parametrize("t", ["abc", "1.6e12", "0x1", "１２３", "{now}.5", "{now_}", "+{now}", "{now}abc"])
def test_non_numeric_t_is_1013(cloud: CloudServer, client: SignedClient, light: str, before: dict[str, Any],
                               t: str) -> None:
    """Only plain digits are a time: not ``1_795_...`` or ``+1795...`` although Python's int() takes them."""
    now = now_ms(cloud)
    t = t.format(now=now, now_=f"{now:_}")
    path = f"/v1.0/devices/{light}/commands"
    body = command_body(("switch_led", False))
    headers: dict[str, Any] = client.headers("POST", path, body=body, t=t)
    headers["t"] = t.encode()  # a header value is bytes on the wire
    assert_code(send(client, "POST", path, body=body, headers=headers), 1013)
    assert snapshot(client, light) == before


def test_tampered_query_is_1004(client: SignedClient, light: str, other: tuple[dict[str, Any], SignedClient, str]
                                ) -> None:
    path = "/v1.0/iot-03/devices"
    signed = urlencode({"device_ids": light})
    headers = client.headers("GET", path, signed)
    assert send(client, "GET", path, query=signed, headers=headers)["success"]
    for wire in (urlencode({"device_ids": light + ",x"}), urlencode({"device_ids": light, "page_size": 1}), "",
                 urlencode({"device_ids": light.upper()})):
        assert_code(send(client, "GET", path, query=wire, headers=headers), 1004, "sign invalid")


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_tampered_body_is_1004(client: SignedClient, light: str, before: dict[str, Any], path: str) -> None:
    path = path.format(id=light)
    signed = command_body(("bright_value_v2", 1000))
    headers = client.headers("POST", path, body=signed)
    for wire in (command_body(("bright_value_v2", 10)), command_body(("switch_led", False)), signed + b" ",
                 signed.replace(b"1000", b"100")):
        assert_code(send(client, "POST", path, body=wire, headers=headers), 1004, "sign invalid")
    assert snapshot(client, light) == before


def test_tampered_signed_header_is_1004(client: SignedClient, light: str, before: dict[str, Any]) -> None:
    path = f"/v1.0/devices/{light}/commands"
    body = command_body(("switch_led", False))
    t = str(int(time.time() * 1000))
    sign = sign_request(client_id=client.access_id, secret=client.secret, method="POST", path=path, body=body, t=t,
                        access_token=client.access_token, signed_headers={"area_id": "a1", "call_id": "c1"})
    headers = {"client_id": client.access_id, "sign": sign, "t": t, "access_token": client.access_token,
               "sign_method": "HMAC-SHA256", "Signature-Headers": "area_id:call_id", "area_id": "a1",
               "call_id": "c1", "content-type": "application/json"}
    for changed in ({"call_id": "c2"}, {"area_id": "a1x"}, {"Signature-Headers": "area_id"}):
        assert_code(send(client, "POST", path, body=body, headers={**headers, **changed}), 1004)
    assert_code(send(client, "POST", path, body=body, headers=headers, drop=("call_id",)), 1004)
    assert snapshot(client, light) == before
    # untouched, the same request is accepted: the tampering was what failed
    assert send(client, "POST", path, body=body, headers=headers)["success"]
    assert snapshot(client, light)["status"][0] == {"code": "switch_led", "value": False}


def test_tampered_path_is_1004(client: SignedClient, light: str, other: tuple[dict[str, Any], SignedClient, str],
                               before: dict[str, Any]) -> None:
    _, _, other_light = other
    signed_path = f"/v1.0/devices/{other_light}/commands"
    body = command_body(("switch_led", False))
    headers = client.headers("POST", signed_path, body=body)
    assert_code(send(client, "POST", f"/v1.0/devices/{light}/commands", body=body, headers=headers), 1004)
    assert snapshot(client, light) == before


# --- tokens, ownership, routes, services ----------------------------------------------------------------------------
def test_another_projects_token_is_1010(client: SignedClient, light: str, before: dict[str, Any],
                                        other: tuple[dict[str, Any], SignedClient, str]) -> None:
    _, other_client, _ = other
    for path in (f"/v1.0/devices/{light}", f"/v1.0/devices/{light}/status"):
        assert_code(client.get(path, token=other_client.access_token), 1010, "token invalid")
    assert_code(client.post(f"/v1.0/devices/{light}/commands",
                            {"commands": [{"code": "switch_led", "value": False}]}, token=other_client.access_token),
                1010, "token invalid")
    # and another project's refresh token cannot be used either
    assert_code(client.get(f"/v1.0/token/{other_client.refresh_token}", token=""), 1010)
    assert other_client.get("/v1.0/iot-03/device-categories")["success"]  # its token was not spent
    assert snapshot(client, light) == before


def test_missing_token_on_a_business_call_is_1010(client: SignedClient, light: str) -> None:
    assert_code(client.get(f"/v1.0/devices/{light}", token=""), 1010, "token invalid")


def test_another_projects_device_is_1106(client: SignedClient, other: tuple[dict[str, Any], SignedClient, str]
                                         ) -> None:
    _, owner, foreign = other
    before = snapshot(owner, foreign)
    for path in (f"/v1.0/devices/{foreign}", f"/v1.0/devices/{foreign}/status", f"/v1.0/iot-03/devices/{foreign}",
                 f"/v1.0/iot-03/devices/{foreign}/status", f"/v2.0/cloud/thing/{foreign}"):
        assert_code(client.get(path), 1106, "permission deny")
    for path in COMMAND_PATHS:
        assert_code(client.post(path.format(id=foreign), {"commands": [{"code": "switch_led", "value": False}]}),
                    1106)
    assert_code(client.request("PUT", f"/v1.0/devices/{foreign}", json={"name": "mine now"}), 1106)
    assert_code(client.request("DELETE", f"/v1.0/devices/{foreign}"), 1106)
    assert snapshot(owner, foreign) == before


@pytest.mark.parametrize("device_id", ["vdevo000000000000000", "nope", "a" * 64])
def test_unknown_device_is_2010(client: SignedClient, device_id: str) -> None:
    for path in (f"/v1.0/devices/{device_id}", f"/v1.0/devices/{device_id}/status",
                 f"/v1.0/iot-03/devices/{device_id}", f"/v2.0/cloud/thing/{device_id}"):
        assert_code(client.get(path), 2010, "device not exist")
    for path in COMMAND_PATHS:
        assert_code(client.post(path.format(id=device_id), {"commands": [{"code": "switch_led", "value": True}]}),
                    2010)


@pytest.mark.parametrize("path", ["/v1.0/nothing", "/v9.9/devices", "/", "/v1.0/devices/a/b/c/d",
                                  "/v1.0/tokens"])
def test_unknown_path_is_1108(client: SignedClient, path: str) -> None:
    assert_code(client.get(path), 1108, "uri path invalid")


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1.0/devices/{id}"), ("PATCH", "/v1.0/devices/{id}"), ("DELETE", "/v1.0/devices/{id}/status"),
    ("GET", "/v1.0/devices/{id}/commands"), ("PUT", "/v1.0/token"), ("POST", "/v1.0/iot-03/device-categories"),
])
def test_wrong_method_on_a_known_path_is_1108(client: SignedClient, light: str, before: dict[str, Any], method: str,
                                              path: str) -> None:
    body = client.request(method, path.format(id=light), json={"commands": [{"code": "switch_led", "value": False}],
                                                               "name": "renamed"})
    assert_code(body, 1108, f"{method} is not supported")
    assert snapshot(client, light) == before


def test_unauthorised_service_is_28841101(cloud: CloudServer) -> None:
    project = cloud.create_project(name="Token only", services=["authorization"])
    assert project["services"] == ["authorization"]
    device_id = cloud.add_devices(project["access_id"], "dj")[0]["id"]
    c = SignedClient(cloud.url, project["access_id"], project["access_secret"])
    assert c.connect()["success"]  # the authorisation service is always on
    assert c.get(f"/v1.0/token/{c.refresh_token}", token="")["success"]
    c.connect()
    for path in (f"/v1.0/devices/{device_id}", "/v1.0/iot-03/device-categories", "/v1.0/devices"):
        assert_code(c.get(path), 28841101, "This API is not subscribed", "iot_core")
    assert_code(c.post(f"/v1.0/devices/{device_id}/commands", {"commands": [{"code": "switch_led", "value": False}]}),
                28841101)
    shown = orjson.loads(run_cli("device", "show", device_id, "--json", *store_args(cloud)).stdout)
    assert {"code": "switch_led", "value": True} in shown["status"]


def test_allowlist_refusal_is_1114_and_names_the_address(tmp_path: Path) -> None:
    server = CloudServer(tmp_path).start()
    try:
        p = server.create_project()
        c = SignedClient(server.url, p["access_id"], p["access_secret"])
        assert c.connect()["success"]
        device_id = server.add_devices(p["access_id"], "dj")[0]["id"]
        before = snapshot(c, device_id)
        run_cli("project", "set-allowlist", p["access_id"], "--address", "10.1.2.3", *store_args(server))
        assert_code(c.get(f"/v1.0/devices/{device_id}"), 1114, "127.0.0.1")
        refused = c.post(f"/v1.0/devices/{device_id}/commands", {"commands": [{"code": "switch_led", "value": False}]})
        assert_code(refused, 1114)
        assert refused["msg"] == "your ip(127.0.0.1) don't have access to this API"
        assert_code(c.connect(), 1114, "127.0.0.1")
        # a network that contains the caller lets it in again
        run_cli("project", "set-allowlist", p["access_id"], "--address", "10.1.2.3", "--address", "127.0.0.0/8",
                *store_args(server))
        assert c.connect()["success"]
        assert snapshot(c, device_id) == before
        run_cli("project", "set-allowlist", p["access_id"], "--address", "10.1.2.3", *store_args(server))
        assert_code(c.get(f"/v1.0/devices/{device_id}"), 1114)
        run_cli("project", "set-allowlist", p["access_id"], "--disable", *store_args(server))
        assert c.get(f"/v1.0/devices/{device_id}")["success"]
    finally:
        server.stop()


# --- command validation ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", COMMAND_PATHS)
@pytest.mark.parametrize(("command", "fragments"), [
    (("no_such_code", True), ("no_such_code", "switch_led", "bright_value_v2", "work_mode")),
    (("switch_led", "yes"), ("switch_led", "a boolean")),
    (("switch_led", 1), ("switch_led", "a boolean")),
    (("bright_value_v2", "high"), ("bright_value_v2", "from 10 to 1000")),
    (("bright_value_v2", True), ("bright_value_v2", "from 10 to 1000")),
    (("bright_value_v2", 5000), ("bright_value_v2", "from 10 to 1000", "5000")),
    (("bright_value_v2", 9), ("bright_value_v2", "from 10 to 1000")),
    (("bright_value_v2", 500.5), ("bright_value_v2", "from 10 to 1000")),
    (("countdown_1", -1), ("countdown_1", "from 0 to 86400")),
    (("work_mode", "disco"), ("work_mode", "white", "colour", "scene", "music", "disco")),
    (("work_mode", 1), ("work_mode", "one of white")),
    (("colour_data_v2", {"h": 400, "s": 1000, "v": 1000}), ("colour_data_v2", "h", "from 0 to 360")),
    (("colour_data_v2", "not json"), ("colour_data_v2", "JSON")),
])
def test_bad_command_value_is_2008(client: SignedClient, light: str, before: dict[str, Any], path: str,
                                   command: tuple[str, Any], fragments: tuple[str, ...]) -> None:
    body = client.post(path.format(id=light), {"commands": [{"code": command[0], "value": command[1]}]})
    assert_code(body, 2008, "command or value not support", *fragments)
    assert snapshot(client, light) == before


def test_off_step_value_is_2008(cloud: CloudServer, project: dict[str, Any], client: SignedClient) -> None:
    curtain = cloud.add_devices(project["access_id"], "clkg")[0]["id"]
    before = snapshot(client, curtain)
    for path in COMMAND_PATHS:
        body = client.post(path.format(id=curtain), {"commands": [{"code": "percent_control", "value": 15}]})
        assert_code(body, 2008, "percent_control", "from 0 to 100 in steps of 10", "15")
    assert snapshot(client, curtain) == before
    issue = client.post(f"/v2.0/cloud/thing/{curtain}/shadow/properties/issue",
                        {"properties": orjson.dumps({"percent_control": 15}).decode()})
    assert_code(issue, 2008, "percent_control")
    assert snapshot(client, curtain) == before


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_a_batch_with_one_bad_command_applies_none(client: SignedClient, light: str, before: dict[str, Any],
                                                   path: str) -> None:
    batches: list[list[tuple[str, Any]]] = [
        [("switch_led", False), ("bright_value_v2", 5000)],
        [("bright_value_v2", 20), ("work_mode", "colour"), ("no_such_code", 1)],
        [("work_mode", "scene"), ("switch_led", "off")],
    ]
    for batch in batches:
        body = client.post(path.format(id=light), {"commands": [{"code": c, "value": v} for c, v in batch]})
        assert_code(body, 2008)
    assert snapshot(client, light) == before
    # the same batch without the bad one applies all of it
    ok = client.post(path.format(id=light), {"commands": [{"code": "switch_led", "value": False},
                                                          {"code": "bright_value_v2", "value": 20}]})
    assert ok["success"], ok
    after = {s["code"]: s["value"] for s in snapshot(client, light)["status"]}
    assert (after["switch_led"], after["bright_value_v2"]) == (False, 20)


def test_shadow_issue_with_one_bad_property_applies_none(client: SignedClient, light: str, before: dict[str, Any]
                                                         ) -> None:
    path = f"/v2.0/cloud/thing/{light}/shadow/properties/issue"
    for properties in ({"switch_led": False, "bright_value_v2": 5000}, {"switch_led": False, "nope": 1}):
        assert_code(client.post(path, {"properties": orjson.dumps(properties).decode()}), 2008)
    assert snapshot(client, light) == before


# --- malformed bodies -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", COMMAND_PATHS)
@pytest.mark.parametrize(("raw", "code"), [
    (b'{"commands": [', 1109),
    (b"{'commands': []}", 1109),
    (b'{"commands": [{"code": "switch_led", "value": false}]', 1109),
    (b"\xff\xfe{}", 1109),
    (b'{"foo": 1}', 1109),
    (b'{"Commands": [{"code": "switch_led", "value": false}]}', 1109),
    (b"[]", 1109),
    (b'[{"code": "switch_led", "value": false}]', 1109),
    (b'"commands"', 1109),
    (b"42", 1109),
    (b"null", 1109),
    (b"true", 1109),
    (b"", 1109),
    (b"{}", 1109),
    (b'{"commands": []}', 1100),
    (b'{"commands": null}', 1100),
    (b'{"commands": "switch_led"}', 2008),
    (b'{"commands": {"code": "switch_led", "value": false}}', 2008),
    (b'{"commands": [1]}', 2008),
    (b'{"commands": [{"code": "switch_led"}]}', 2008),
    (b'{"commands": [{"value": false}]}', 2008),
])
def test_malformed_command_bodies(client: SignedClient, light: str, before: dict[str, Any], path: str, raw: bytes,
                                  code: int) -> None:
    assert_code(client.request("POST", path.format(id=light), raw_body=raw), code)
    assert snapshot(client, light) == before


@pytest.mark.parametrize("raw", [b"[1]", b'"name"', b"7", b"null", b'{"name": 5}', b'{"name": ""}', b"{",
                                 b'{"name": "' + b"x" * 51 + b'"}', b'{"nom": "x"}'])
def test_malformed_rename_bodies_are_1109(client: SignedClient, light: str, before: dict[str, Any], raw: bytes
                                          ) -> None:
    for path in (f"/v1.0/devices/{light}", f"/v1.0/iot-03/devices/{light}"):
        assert_code(client.request("PUT", path, raw_body=raw), 1109)
    assert_code(client.request("POST", f"/v2.0/cloud/thing/{light}/attribute", raw_body=raw), 1109)
    assert snapshot(client, light) == before


@pytest.mark.parametrize("raw", [b"[1]", b"null", b'{"properties": "[1]"}', b'{"properties": "{"}',
                                 b'{"properties": {}}', b'{"properties": 5}', b"{"])
def test_malformed_property_issue_bodies(client: SignedClient, light: str, before: dict[str, Any], raw: bytes
                                         ) -> None:
    body = client.request("POST", f"/v2.0/cloud/thing/{light}/shadow/properties/issue", raw_body=raw)
    assert_code(body, body["code"])
    assert body["code"] in (1100, 1109, 2008), body
    assert snapshot(client, light) == before


def test_huge_body_is_refused_whole(client: SignedClient, light: str, before: dict[str, Any]) -> None:
    """Over 1 MiB: 1109, even though the command inside it is valid and correctly signed."""
    payload = {"commands": [{"code": "switch_led", "value": False}], "padding": "x" * (1 << 20)}
    for path in COMMAND_PATHS:
        assert_code(client.post(path.format(id=light), payload), 1109, "larger")
    assert snapshot(client, light) == before
    # just under the limit is fine
    small = {"commands": [{"code": "switch_led", "value": False}], "padding": "x" * ((1 << 20) - 200)}
    assert client.post(f"/v1.0/devices/{light}/commands", small)["success"]


def test_deeply_nested_body_does_not_break_the_server(client: SignedClient, light: str, before: dict[str, Any]
                                                      ) -> None:
    raw = b'{"commands": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    body = client.request("POST", f"/v1.0/devices/{light}/commands", raw_body=raw)
    assert body["success"] is False and body["code"] in (1109, 2008), body
    assert snapshot(client, light) == before


@pytest.mark.parametrize(("params", "code"), [
    ({"page_size": "abc"}, 1109), ({"page_size": 0}, 1109), ({"page_size": 10**6}, 1109),
    ({"page_no": -1}, 1109), ({"page_size": "1.5"}, 1109),
])
def test_ill_typed_query_parameters_are_1109(client: SignedClient, params: dict[str, Any], code: int) -> None:
    assert_code(client.get("/v1.0/devices", params), code)


def test_missing_required_query_parameter_is_1100(client: SignedClient, light: str) -> None:
    assert_code(client.get("/v1.0/devices/status"), 1100, "device_ids")
    assert_code(client.get(f"/v1.0/devices/{light}/logs"), 1100, "type")
    assert_code(client.get("/v1.0/token", token=""), 1100, "grant_type")


# --- device state ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_offline_device_commands_are_2001(cloud: CloudServer, client: SignedClient, light: str, path: str) -> None:
    assert cloud.control("POST", f"/devices/{light}/online", {"online": False}) == {"id": light, "online": False}
    before = snapshot(client, light)
    assert before["online"] is False
    assert_code(client.post(path.format(id=light), {"commands": [{"code": "switch_led", "value": False}]}), 2001,
                "device is offline")
    issue = client.post(f"/v2.0/cloud/thing/{light}/shadow/properties/issue",
                        {"properties": orjson.dumps({"switch_led": False}).decode()})
    assert_code(issue, 2001)
    assert snapshot(client, light) == before
    # a bad command to an offline device is still refused for what it is
    assert_code(client.post(path.format(id=light), {"commands": [{"code": "nope", "value": 1}]}), 2008)
    cloud.control("POST", f"/devices/{light}/online", {"online": True})
    assert client.post(path.format(id=light), {"commands": [{"code": "switch_led", "value": False}]})["success"]


# --- tolerated oddities ---------------------------------------------------------------------------------------------
def test_go_style_header_names_are_accepted(client: SignedClient, light: str) -> None:
    """tuya-connector-go canonicalises names: ``Client_id``, ``T``, ``Sign``, ``Access_token``, ``Nonce``."""
    path = f"/v1.0/devices/{light}/commands"
    body = command_body(("bright_value_v2", 500))
    t, nonce = str(int(time.time() * 1000)), "0f8fad5b-d9cb-469f-a165-70867728950e"
    sign = sign_request(client_id=client.access_id, secret=client.secret, method="POST", path=path, body=body, t=t,
                        access_token=client.access_token, nonce=nonce)
    headers = {"Client_id": client.access_id, "Sign": sign, "T": t, "Sign_method": "HMAC-SHA256", "Nonce": nonce,
               "Access_token": client.access_token, "Content-Type": "application/json", "Dev_lang": "golang",
               "Dev_channel": "SaaSFramework"}
    assert send(client, "POST", path, body=body, headers=headers)["success"]
    status = {s["code"]: s["value"] for s in snapshot(client, light)["status"]}
    assert status["bright_value_v2"] == 500
    token_path, query = "/v1.0/token", "grant_type=1"
    t = str(int(time.time() * 1000))
    sign = sign_request(client_id=client.access_id, secret=client.secret, method="GET", path=token_path,
                        query=parse_query(query), t=t, nonce=nonce)
    headers = {"Client_id": client.access_id, "Sign": sign, "T": t, "Nonce": nonce, "SIGN_METHOD": "HMAC-SHA256"}
    assert send(client, "GET", token_path, query=query, headers=headers)["success"]


def test_lower_case_sign_and_trailing_slash_are_accepted(client: SignedClient, light: str) -> None:
    path = f"/v1.0/devices/{light}/"
    headers = client.headers("GET", path)
    headers["sign"] = headers["sign"].lower()
    assert send(client, "GET", path, headers=headers)["success"]


def test_unknown_headers_and_a_secret_header_are_ignored(client: SignedClient, light: str) -> None:
    headers = {**client.headers("GET", f"/v1.0/devices/{light}"), "mode": "cors", "secret": "whatever",
               "X-Anything": "1", "lang": "zh"}
    assert send(client, "GET", f"/v1.0/devices/{light}", headers=headers)["success"]


@pytest.fixture
def raw_http() -> Iterator[httpx.Client]:
    with web.client(timeout=30) as c:
        yield c


def test_unsigned_garbage_gets_an_envelope(cloud: CloudServer, raw_http: httpx.Client) -> None:
    for method, path in (("GET", "/"), ("POST", "/v1.0/devices/x/commands"), ("OPTIONS", "/v1.0/devices"),
                         ("HEAD", "/v1.0/devices")):
        response = raw_http.request(method, cloud.url + path, content=b"\x00\x01garbage")
        assert response.status_code == 200
        if method != "HEAD":
            body = response.json()
            assert body["success"] is False and isinstance(body["code"], int) and isinstance(body["t"], int)


@pytest.mark.parametrize("params", [
    {"start_time": 10**19}, {"end_time": 10**19}, {"start_time": 10**13}, {"last_row_key": "9" * 20},
    {"last_row_key": "-1"}, {"last_row_key": "abc"}, {"start_time": -1}, {"size": 0}, {"size": 101},
    {"start_time": 2000, "end_time": 1000},
])
def test_out_of_range_log_queries_are_1109(client: SignedClient, light: str, params: dict[str, Any]) -> None:
    """Found by schemathesis: a start_time or row key beyond 64 bits overflowed the store (code 500)."""
    queries = {
        f"/v1.0/devices/{light}/logs": {"type": ALL_EVENT_TYPES},
        f"/v2.0/cloud/thing/{light}/logs": {"type": ALL_EVENT_TYPES},
        f"/v1.0/iot-03/devices/{light}/logs": {"event_types": ALL_EVENT_TYPES},
        f"/v1.0/iot-03/devices/{light}/report-logs": {},
        f"/v2.0/cloud/thing/{light}/report-logs": {},
    }
    for path, required in queries.items():
        assert_code(client.get(path, {**required, **params}), 1109)
    big_start = client.get(f"/v1.0/devices/{light}/logs", {"type": ALL_EVENT_TYPES, "start_row_key": "9" * 20})
    assert_code(big_start, 1109)


def test_nul_characters_are_1109(client: SignedClient, light: str, before: dict[str, Any]) -> None:
    """Found by schemathesis on PostgreSQL, whose text cannot hold NUL: it was a code-500 answer."""
    nul_path = f"/v1.0/devices/{light}\x00x"
    headers = client.headers("GET", nul_path)  # signed as the server decodes the path
    assert_code(send(client, "GET", f"/v1.0/devices/{light}%00x", headers=headers), 1109, "NUL")
    assert_code(client.get("/v1.0/devices", {"last_id": "a\x00b"}), 1109, "NUL")
    assert_code(client.get(f"/v1.0/devices/{light}/logs", {"type": "7", "codes": "switch_led,\x00"}), 1109)
    assert_code(client.get("/v1.0/iot-03/devices", {"name": "\x00"}), 1109)
    refresh_path = "/v1.0/token/ab\x00cd"
    headers = client.headers("GET", refresh_path, token="")
    assert_code(send(client, "GET", "/v1.0/token/ab%00cd", headers=headers), 1109)
    for path, payload in (
        (f"/v1.0/devices/{light}", {"name": "a\x00b"}),
        (f"/v1.0/devices/{light}/commands", {"commands": [{"code": "switch_led\x00", "value": False}]}),
        (f"/v1.0/devices/{light}/commands",
         {"commands": [{"code": "colour_data_v2", "value": {"h\x00": 1, "s": 1, "v": 1}}]}),
        (f"/v2.0/cloud/thing/{light}/attribute", {"type": 1, "data": "\x00"}),
        (f"/v2.0/cloud/thing/{light}/shadow/properties/issue", {"properties": {"switch_led": False, "x": ["\x00"]}}),
    ):
        method = "PUT" if path == f"/v1.0/devices/{light}" else "POST"
        assert_code(client.request(method, path, json=payload), 1109, "NUL")
    assert snapshot(client, light) == before
    # an escaped backslash before u0000 is not a NUL
    ok = client.request("PUT", f"/v1.0/devices/{light}", raw_body=b'{"name": "a\\\\u0000"}')
    assert ok["success"], ok
    assert snapshot(client, light)["name"] == "a\\u0000"
