"""Home Assistant's Tuya integration against a real tuyacloud: tuya-device-sharing-sdk 0.2.15, unchanged, over
HTTPS under its hard-coded login host (see ``support/sharing.py`` for how the host reaches the test server).

The QR login approved through the control API; the ``Manager`` Home Assistant builds lists the user's homes and
devices with specifications and statuses; commands, scenes, rooms, token refresh and logout; a tampered request
answers ``sign invalid`` (what makes Home Assistant ask for a new login); one user never reaches another's devices.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from tuya_sharing import LoginControl, Manager, customerapi
from tuya_sharing.exceptions import ApiRequestException

from support.custom import ok
from support.server import CloudServer, free_port
from support.sharing import (
    HA_CLIENT_ID,
    HA_SCHEMA,
    LOGIN_HOST,
    DeviceListener,
    Household,
    TokenListener,
    household,
    manager_of,
    new_project,
    qr_login,
    routed,
    start_tls,
)
from support.smarthome import control as control_envelope
from tuyacloud.tlscert import TlsFiles, ensure_certificates

CATEGORIES = ("dj", "cz", "wsdcg", "cl", "kt")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return ensure_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[CloudServer]:
    # the embedded MQTT broker on a free port; its url names 127.0.0.1 (paho does not go through urllib3's routing)
    s = start_tls(tmp_path_factory.mktemp("sharing"), tls, create_demo=False, simulator=False,
                  mqtt_port=free_port(), mqtt_host="127.0.0.1")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def seen(server: CloudServer, tls: TlsFiles) -> Iterator[list[str]]:
    with routed(tls, server.port) as hosts:
        yield hosts


@pytest.fixture(scope="module")
def alice(server: CloudServer, seen: list[str]) -> Household:
    return household(server, new_project(server), "alice@example.com", CATEGORIES)


@pytest.fixture(scope="module")
def bob(server: CloudServer, alice: Household) -> Household:
    return household(server, alice.sh, "bob@example.com", ("dj", "cz"))


@pytest.fixture(scope="module")
def alice_login(server: CloudServer, alice: Household) -> dict[str, Any]:
    return qr_login(server, alice.user_code)


@pytest.fixture
def manager(alice: Household, alice_login: dict[str, Any]) -> Manager:
    m = manager_of(alice.user_code, alice_login)
    m.update_device_cache()
    return m


def test_qr_login_answers_the_token_and_this_server_as_endpoint(alice: Household, alice_login: dict[str, Any],
                                                                seen: list[str]) -> None:
    assert LOGIN_HOST in seen  # the SDK really went to its hard-coded host, over TLS with the generated CA
    assert alice_login["endpoint"] == f"https://{LOGIN_HOST}"
    assert alice_login["uid"] == alice.uid and alice_login["username"] == alice.username
    assert 7000 <= alice_login["expire_time"] <= 7200 and isinstance(alice_login["t"], int)
    assert len(alice_login["access_token"]) == 32 and alice_login["terminal_id"]


def test_manager_lists_the_users_homes_and_devices(manager: Manager, alice: Household) -> None:
    assert [(h.id, h.name) for h in manager.user_homes] == [(alice.home, "alice@example.com's home")]
    assert set(manager.device_map) == set(alice.devices.values())
    light = manager.device_map[alice.devices["dj"]]
    assert light.category == "dj" and light.online is True and light.set_up is True
    assert light.support_local is False  # statuses are read (and pushed) by code
    assert isinstance(light.status["switch_led"], bool)
    assert light.function["switch_led"].type == "Boolean"
    assert light.status_range["bright_value_v2"].type == "Integer"


def _status(alice: Household, device_id: str) -> dict[str, Any]:
    """The device's status as the OpenAPI (the project's token) reads it."""
    return {s["code"]: s["value"] for s in ok(alice.sh.client.get(f"/v1.0/devices/{device_id}/status"))}


def test_send_commands_goes_through_the_openapis_command_path(server: CloudServer, manager: Manager,
                                                              alice: Household) -> None:
    light = alice.devices["dj"]
    manager.send_commands(light, [{"code": "switch_led", "value": False}, {"code": "bright_value_v2", "value": 333}])
    assert _status(alice, light)["switch_led"] is False and _status(alice, light)["bright_value_v2"] == 333
    # the same device log and the same status message (outbox, Pulsar) as an OpenAPI command writes
    logs = ok(alice.sh.client.get(f"/v1.0/devices/{light}/logs",
                                  {"type": "5", "start_time": 0, "end_time": 9999999999999}))
    assert {(e["code"], e["value"]) for e in logs["logs"]} >= {("switch_led", "false"), ("bright_value_v2", "333")}
    messages = server.control("GET", f"/projects/{alice.sh.project['access_id']}/messages")
    reported = [m for m in messages if m.get("devId") == light or m.get("data", {}).get("devId") == light]
    assert reported, messages[-3:]
    manager.update_device_cache()
    assert manager.device_map[light].status["bright_value_v2"] == 333


def _eventually(check: Any, what: str, timeout: float = 20.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.05)
    return found


def test_push_reaches_home_assistants_listener(server: CloudServer, alice: Household, bob: Household,
                                               alice_login: dict[str, Any]) -> None:
    """The SDK's MQTT part (what keeps Home Assistant's entities current): a command and a device's own report
    arrive as status updates; another user's device is never pushed to this user."""
    manager = manager_of(alice.user_code, alice_login)
    manager.update_device_cache()
    listener = DeviceListener()
    manager.add_device_listener(listener)
    manager.refresh_mq()
    try:
        assert manager.mq is not None
        _eventually(lambda: manager.mq.client is not None and manager.mq.client.is_connected(), "MQTT connection")
        light, sensor = alice.devices["dj"], alice.devices["wsdcg"]
        manager.send_commands(light, [{"code": "bright_value_v2", "value": 555}])
        _eventually(lambda: any(d == light and "bright_value_v2" in codes and status["bright_value_v2"] == 555
                                for d, codes, status in listener.updates), "pushed command")
        server.control("POST", f"/devices/{sensor}/report", {"status": {"va_temperature": 215}})
        _eventually(lambda: any(d == sensor and status.get("va_temperature") == 215
                                for d, _, status in listener.updates), "pushed report")
        received: list[dict[str, Any]] = []
        manager.mq.add_message_listener(received.append)
        server.control("POST", f"/devices/{bob.devices['cz']}/report", {"status": {"cur_power": 77}})
        server.control("POST", f"/devices/{sensor}/report", {"status": {"va_temperature": 216}})
        _eventually(lambda: any(m["data"].get("devId") == sensor for m in received), "the later report")
        assert all(m["data"].get("devId") != bob.devices["cz"] for m in received)
        assert received[-1]["protocol"] == 4 and received[-1]["data"]["status"][0]["code"] == "va_temperature"
    finally:
        if manager.mq is not None:
            manager.mq.stop()


def test_a_bad_command_is_refused_like_on_the_openapi(manager: Manager, alice: Household) -> None:
    with pytest.raises(ApiRequestException) as caught:
        manager.send_commands(alice.devices["dj"], [{"code": "bright_value_v2", "value": "very"}])
    assert caught.value.error_code == 2008


def test_the_devices_home_assistant_maps_give_its_dp_codes_and_types(manager: Manager, alice: Household) -> None:
    """What homeassistant/components/tuya reads for each entity (its DPCode and DPType per platform)."""
    wanted = {
        "dj": {"switch_led": "Boolean", "bright_value_v2": "Integer", "temp_value_v2": "Integer",
               "colour_data_v2": "Json", "work_mode": "Enum"},
        "cz": {"switch_1": "Boolean", "cur_power": "Integer", "cur_voltage": "Integer", "cur_current": "Integer",
               "add_ele": "Integer"},
        "wsdcg": {"va_temperature": "Integer", "va_humidity": "Integer", "battery_percentage": "Integer"},
        "cl": {"control": "Enum", "percent_control": "Integer", "percent_state": "Integer"},
        "kt": {"switch": "Boolean", "temp_set": "Integer", "temp_current": "Integer", "mode": "Enum",
               "fan_speed_enum": "Enum"},
    }
    writable = {"dj": {"switch_led", "bright_value_v2", "temp_value_v2", "colour_data_v2", "work_mode"},
                "cz": {"switch_1"}, "wsdcg": set(), "cl": {"control", "percent_control"},
                "kt": {"switch", "temp_set", "mode", "fan_speed_enum"}}
    for category, codes in wanted.items():
        device = manager.device_map[alice.devices[category]]
        assert device.category == category
        for code, dp_type in codes.items():
            assert device.status_range[code].type == dp_type, (category, code)
            assert code in device.status, (category, code)
        for code in writable[category]:
            assert device.function[code].type == codes[code], (category, code)
    import json

    curtain = manager.device_map[alice.devices["cl"]]
    assert {"open", "stop", "close"} <= set(json.loads(curtain.function["control"].values)["range"])
    light = manager.device_map[alice.devices["dj"]]
    assert {"min", "max", "scale", "step"} <= set(json.loads(light.function["bright_value_v2"].values))


def test_the_lights_colour_ranges_are_what_home_assistant_builds_its_hs_colour_from(manager: Manager,
                                                                                    alice: Household) -> None:
    """Home Assistant's light entity builds one integer type per colour component (h, s, v) from the colour DP's
    ``values`` and needs each one's min, max, scale and step: without scale and step its light setup fails with a
    TypeError. The platform's colour_data_v2 (from Tuya's dj instruction set) carries all of them."""
    light = manager.device_map[alice.devices["dj"]]
    for spec in (light.function["colour_data_v2"], light.status_range["colour_data_v2"]):
        ranges = json.loads(spec.values)
        assert ranges == {"h": {"min": 0, "scale": 0, "unit": "", "max": 360, "step": 1},
                          "s": {"min": 0, "scale": 0, "unit": "", "max": 1000, "step": 1},
                          "v": {"min": 0, "scale": 0, "unit": "", "max": 1000, "step": 1}}
    # a colour command inside those ranges is taken, one outside refused (the ranges still validate commands)
    manager.send_commands(light.id, [{"code": "colour_data_v2", "value": '{"h":120,"s":500,"v":800}'}])
    with pytest.raises(ApiRequestException) as caught:
        manager.send_commands(light.id, [{"code": "colour_data_v2", "value": '{"h":400,"s":500,"v":800}'}])
    assert caught.value.error_code == 2008


def test_room_of_a_device(manager: Manager, alice: Household) -> None:
    room = manager.query_room_by_device(alice.devices["dj"])
    assert room is not None and room.name == "Living room"
    assert manager.query_room_by_device(alice.devices["cz"]) is None


def test_a_scene_is_listed_and_triggered(manager: Manager, alice: Household) -> None:
    plug = alice.devices["cz"]
    ok(alice.sh.client.post(f"/v1.0/devices/{plug}/commands", {"commands": [{"code": "switch_1", "value": False}]}))
    scene_id = ok(alice.sh.client.post(f"/v1.0/homes/{alice.home}/scenes", {
        "name": "Plug on", "actions": [{"entity_id": plug, "action_executor": "dpIssue",
                                        "executor_property": {"switch_1": True}}]}))
    found = manager.query_scenes()
    assert [(s.scene_id, s.name, s.enabled, s.home_id) for s in found] == [(scene_id, "Plug on", True, alice.home)]
    manager.trigger_scene(found[0].home_id, found[0].scene_id)
    assert _status(alice, plug)["switch_1"] is True


def test_the_token_refreshes_and_the_old_refresh_token_is_spent(alice: Household, server: CloudServer) -> None:
    info = qr_login(server, alice.user_code)
    tokens = TokenListener()
    manager = manager_of(alice.user_code, info, tokens)
    manager.customer_api.token_info.expire_time = 0  # as if two hours had passed: the SDK refreshes first
    manager.update_device_cache()
    assert len(tokens.updates) == 1
    new = tokens.updates[0]
    assert new["access_token"] != info["access_token"] and new["refresh_token"] != info["refresh_token"]
    assert new["uid"] == alice.uid and 7000 <= new["expire_time"] <= 7200
    assert set(manager.device_map) == set(alice.devices.values())
    # Home Assistant stores the new pair; a manager from it works, one from the old pair cannot refresh again
    fresh = manager_of(alice.user_code, {**info, **new, "t": new["t"]})
    fresh.update_device_cache()
    assert set(fresh.device_map) == set(alice.devices.values())
    spent = _raw_call(info, f"/v1.0/m/token/{info['refresh_token']}")  # the old pair, refreshed already
    assert spent["success"] is False and spent["code"] == 1010


def _raw_call(info: dict[str, Any], path: str, params: dict[str, Any] | None = None,
              tamper: str = "", signed: dict[str, str] | None = None,
              unsigned: dict[str, str] | None = None) -> dict[str, Any]:
    """One request built exactly as the SDK builds it (its own helpers), optionally tampered with afterwards:
    ``signed`` headers are replaced before the signature is made (so it matches them), ``unsigned`` after."""
    import hashlib
    import time
    import uuid

    rid = str(uuid.uuid4())
    hash_key = hashlib.md5((rid + info["refresh_token"]).encode()).hexdigest()
    secret = customerapi._secret_generating(rid, "", hash_key)
    query = customerapi._aes_gcm_encrypt(customerapi._form_to_json(params), secret).decode() if params else ""
    headers = {"X-appKey": HA_CLIENT_ID, "X-requestId": rid, "X-sid": "", "X-time": str(int(time.time() * 1000)),
               "X-token": info["access_token"], **(signed or {})}
    headers["X-sign"] = customerapi._restful_sign(hash_key, query, "", headers)
    headers.update(unsigned or {})
    if tamper == "sign":
        headers["X-sign"] = ("0" if headers["X-sign"][0] != "0" else "1") + headers["X-sign"][1:]
    if tamper == "encdata":
        query = query[:20] + ("A" if query[20] != "A" else "B") + query[21:]
    answer: dict[str, Any] = requests.get(info["endpoint"] + path, params={"encdata": query} if query else None,
                                          headers=headers, timeout=30).json()
    if answer.get("success"):
        answer["result"] = customerapi._aex_gcm_decrypt(answer["result"], secret)
    return answer


@pytest.mark.parametrize("tamper", ["sign", "encdata"])
def test_a_tampered_request_answers_sign_invalid(alice: Household, alice_login: dict[str, Any],
                                                 tamper: str) -> None:
    params = {"homeId": alice.home}
    assert _raw_call(alice_login, "/v1.0/m/life/ha/home/devices", params)["success"] is True
    answer = _raw_call(alice_login, "/v1.0/m/life/ha/home/devices", params, tamper=tamper)
    assert answer["success"] is False and answer["code"] == 1004
    # Home Assistant starts re-authentication when the SDK's exception text holds "sign invalid"
    error = ApiRequestException(error_code=answer["code"], error_message=answer["msg"])
    assert "sign invalid" in str(error)


@pytest.mark.parametrize(("signed", "unsigned", "code"), [
    ({}, {"X-sign": "\u00e9" * 64}, 1004),  # not ASCII: compare_digest raised TypeError (500)
    ({"X-sid": "ab"}, {}, 1004),  # signed, but too short to make the key ('b' picks position 2): IndexError (500)
    ({"X-time": "1" * 5000}, {}, 1013),  # signed, but int() refuses 5,000 digits: ValueError (500)
    ({"X-time": "1" * 14}, {}, 1013),  # more digits than epoch milliseconds have
    ({"X-time": "\u00b9" * 13}, {}, 1013),  # not ASCII digits
], ids=["sign-not-ascii", "sid-short", "time-5000-digits", "time-14-digits", "time-not-ascii"])
def test_hostile_sharing_headers_get_the_openapis_codes(alice_login: dict[str, Any], signed: dict[str, str],
                                                        unsigned: dict[str, str], code: int) -> None:
    answer = _raw_call(alice_login, "/v1.0/m/life/users/homes", signed=signed, unsigned=unsigned)
    assert answer["success"] is False and answer["code"] == code, answer
    assert _raw_call(alice_login, "/v1.0/m/life/users/homes")["success"] is True  # the session is still good


def test_a_nul_in_the_encrypted_query_answers_1109(alice_login: dict[str, Any]) -> None:
    """PostgreSQL text cannot hold one: the home lookup failed in the driver (a 500) before."""
    answer = _raw_call(alice_login, "/v1.0/m/life/ha/home/devices", {"homeId": "1\x00"})
    assert answer["success"] is False and answer["code"] == 1109, answer


def test_pending_qr_logins_are_capped_per_user_code(server: CloudServer, alice: Household) -> None:
    dave = household(server, alice.sh, "dave@example.com", ("dj",))
    control = LoginControl()
    qrcodes = []
    for _ in range(10):
        answer = control.qr_code(HA_CLIENT_ID, HA_SCHEMA, dave.user_code)
        assert answer["success"], answer
        qrcodes.append(answer["result"]["qrcode"])
    refused = control.qr_code(HA_CLIENT_ID, HA_SCHEMA, dave.user_code)
    assert refused["success"] is False and refused["code"] == 1199, refused
    assert refused["msg"] == "your requests are too frequent"
    assert "10 QR logins are already waiting for approval for this user code (at most 10)" in refused["detail"]
    # Another user's code is not affected, and a decided login makes room.
    assert control.qr_code(HA_CLIENT_ID, HA_SCHEMA, alice.user_code)["success"]
    server.control("POST", f"/sharing/logins/{qrcodes[0]}/refuse")
    assert control.qr_code(HA_CLIENT_ID, HA_SCHEMA, dave.user_code)["success"]


def test_a_request_without_a_known_token_answers_1010(alice_login: dict[str, Any]) -> None:
    answer = _raw_call({**alice_login, "access_token": "0" * 32}, "/v1.0/m/life/users/homes")
    assert answer["success"] is False and answer["code"] == 1010


def test_user_a_never_sees_user_bs_devices(server: CloudServer, alice: Household, bob: Household,
                                           alice_login: dict[str, Any]) -> None:
    bobs = manager_of(bob.user_code, qr_login(server, bob.user_code))
    bobs.update_device_cache()
    assert set(bobs.device_map) == set(bob.devices.values())
    assert not set(bobs.device_map) & set(alice.devices.values())
    light = alice.devices["dj"]
    with pytest.raises(ApiRequestException) as caught:
        bobs.send_commands(light, [{"code": "switch_led", "value": True}])
    assert caught.value.error_code == 1106
    assert bobs.device_repository.query_devices_by_ids([light, bob.devices["dj"]])[0].id == bob.devices["dj"]
    assert len(bobs.device_repository.query_devices_by_ids([light])) == 0
    with pytest.raises(ApiRequestException) as caught:
        bobs.customer_api.get("/v1.0/m/life/ha/home/devices", {"homeId": alice.home})
    assert caught.value.error_code == 1106
    with pytest.raises(ApiRequestException) as caught:
        bobs.customer_api.get(f"/v1.1/m/life/{light}/specifications")
    assert caught.value.error_code == 1106


def test_stream_allocate_answers_function_not_supported_for_a_light(manager: Manager, alice: Household) -> None:
    with pytest.raises(ApiRequestException) as caught:
        manager.get_device_stream_allocate(alice.devices["dj"], "rtsp")
    assert caught.value.error_code == 2003 and caught.value.error_message == "function not support"


def test_a_camera_gives_home_assistant_a_stream_that_plays(server: CloudServer, alice: Household) -> None:
    """Home Assistant's camera entity asks for an ``rtsp`` stream and hands the URL to FFmpeg (its stream
    component); the answer is the camera's one-time HLS URL, which FFmpeg plays. Another user's camera is refused."""
    import av

    dora = household(server, alice.sh, "dora@example.com", ("sp",))
    m = manager_of(dora.user_code, qr_login(server, dora.user_code))
    m.update_device_cache()
    url = m.get_device_stream_allocate(dora.devices["sp"], "rtsp")
    assert url is not None and url.startswith(f"https://{LOGIN_HOST}/live/") and url.endswith("/index.m3u8")
    # Home Assistant's host resolves the login host to tuyacloud; here FFmpeg is pointed at the port directly
    local = url.replace(f"https://{LOGIN_HOST}", server.url)
    with av.open(local, timeout=30) as media:
        frames = []
        for frame in media.decode(media.streams.video[0]):
            frames.append(frame)
            if len(frames) == 3:
                break
    assert [(f.width, f.height) for f in frames] == [(320, 180)] * 3
    with pytest.raises(ApiRequestException) as caught:
        manager_of(alice.user_code, qr_login(server, alice.user_code)).get_device_stream_allocate(
            dora.devices["sp"], "rtsp")
    assert caught.value.error_code == 1106


def test_versions_report_and_logout(server: CloudServer, alice: Household) -> None:
    info = qr_login(server, alice.user_code)
    manager = manager_of(alice.user_code, info)
    manager.report_version("2026.1.0", "2026.1.0", "0.2.15")
    manager.unload()  # Home Assistant removing the integration: the session ends
    with pytest.raises(ApiRequestException) as caught:
        manager.update_device_cache()
    assert caught.value.error_code == 1010


def test_refused_unknown_and_reused_qr_logins(server: CloudServer, alice: Household) -> None:
    control = LoginControl()
    unknown = control.qr_code(HA_CLIENT_ID, HA_SCHEMA, "nosuchcode")
    assert unknown["success"] is False and unknown["code"] == 2006 and "user code" in unknown["detail"]
    qrcode = control.qr_code(HA_CLIENT_ID, HA_SCHEMA, alice.user_code)["result"]["qrcode"]
    pending = server.control("GET", "/sharing/logins")
    assert {"qrcode": qrcode, "username": alice.username, "state": "pending"}.items() <= \
        next(p for p in pending if p["qrcode"] == qrcode).items()
    server.control("POST", f"/sharing/logins/{qrcode}/refuse")
    done, info = control.login_result(qrcode, HA_CLIENT_ID, alice.user_code)
    assert not done and info["code"] == 1106 and "refused" in info["detail"]
    used = qr_login(server, alice.user_code)
    assert used["access_token"]
    done, info = control.login_result("not-a-qrcode", HA_CLIENT_ID, alice.user_code)
    assert not done and info["code"] == 1010 and "scan a new one" in info["detail"]


def test_an_expired_qr_code_is_refused_with_a_clear_message(server: CloudServer, alice: Household) -> None:
    """It moves the server's clock past the QR code's five minutes (by less than the tokens' lifetime)."""
    control = LoginControl()
    qrcode = control.qr_code(HA_CLIENT_ID, HA_SCHEMA, alice.user_code)["result"]["qrcode"]
    server.control("POST", "/clock", {"step_ms": 301_000})
    done, info = control.login_result(qrcode, HA_CLIENT_ID, alice.user_code)
    assert not done and info["code"] == 1010 and "expired" in info["detail"] and "scan a new one" in info["detail"]
    approving = control_envelope(server, "POST", f"/sharing/logins/{qrcode}/approve")
    assert approving["success"] is False and approving["code"] == 1010


def test_the_cli_shows_user_codes_and_approves_logins(server: CloudServer, alice: Household) -> None:
    from typer.testing import CliRunner

    from tuyacloud.cli.main import app as cli

    runner = CliRunner()
    db = ["--database-url", server.settings.database_url] if server.settings.database_url else \
        ["--data-dir", str(server.settings.data_dir)]
    shown = runner.invoke(cli, ["app", "user-code", "--schema", alice.sh.schema, "--username", alice.username,
                                "--json", *db])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == {"uid": alice.uid, "user_code": alice.user_code}
    control = LoginControl()
    qrcode = control.qr_code(HA_CLIENT_ID, HA_SCHEMA, alice.user_code)["result"]["qrcode"]
    listed = runner.invoke(cli, ["app", "logins", "--json", *db])
    assert qrcode in [v["qrcode"] for v in json.loads(listed.stdout)["list"]], listed.output
    # the table a person copies the QR code from, in an 80-column terminal: the code whole, never cut short
    from tuyacloud.cli.common import console

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(console(), "width", 80)
        table = runner.invoke(cli, ["app", "logins", *db])
    assert table.exit_code == 0 and qrcode in table.stdout, table.output
    approved = runner.invoke(cli, ["app", "approve-login", qrcode, *db])
    assert approved.exit_code == 0 and "approved" in approved.stdout, approved.output
    again = runner.invoke(cli, ["app", "refuse-login", qrcode, *db])
    assert again.exit_code == 1 and "already approved" in again.output, again.output
    done, info = control.login_result(qrcode, HA_CLIENT_ID, alice.user_code)
    assert done and info["uid"] == alice.uid


def test_a_gateways_sub_device_is_marked_sub(server: CloudServer, alice: Household) -> None:
    """The SDK's ``CustomerDevice.sub`` (Home Assistant tells sub-devices by it) comes from the gateway link."""
    carol = household(server, alice.sh, "carol@example.com", ("wg2", "cz"))
    gateway, plug = carol.devices["wg2"], carol.devices["cz"]
    sub = server.control("POST", f"/projects/{alice.sh.project['access_id']}/devices",
                         {"gateway_id": gateway, "category": "dj"})[0]["id"]
    m = manager_of(carol.user_code, qr_login(server, carol.user_code))
    m.update_device_cache()
    assert set(m.device_map) == {gateway, plug, sub}
    assert {d: m.device_map[d].sub for d in m.device_map} == {gateway: False, plug: False, sub: True}
