"""The exact-message contract: every error answers ``msg`` exactly as the platform words it for its code, and what
this cloud can add (which device, which field, which limit) travels in the extra ``detail`` key, never in ``msg``.

Clients compare the text: tinytuya's ``getmapping`` tests ``msg == 'not support this device'``, tinytuya and the
connectors look for ``token invalid``. The platform's texts are written out here a second time, independently of
the server's table, so a change to a text is a failing test and not a silent drift.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from tuya_connector import TuyaOpenAPI

from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud import envelope, errors

# code -> the platform's exact message (Tuya's global error-code pages and real responses seen in client logs).
PLATFORM_TEXT: dict[int, str] = {
    500: "system error, please contact the admin",
    1000: "data not exist",
    1001: "secret invalid",
    1003: "grant type invalid",
    1004: "sign invalid",
    1005: "clientId invalid",
    1006: "not support content type",
    1010: "token invalid",
    1013: "request time is invalid",
    1100: "param is empty",
    1101: "params range invalid",
    1104: "type is incorrect",
    1105: "missing the header",
    1106: "permission deny",
    1108: "uri path invalid",
    1109: "param is illegal, please check it",
    1110: "concurrent request over limit",
    1111: "system is busy, please retry later",
    1199: "your requests are too frequent",
    2001: "device is offline",
    2003: "function not support",
    2005: "product not exist",
    2006: "user not exist",
    2007: "device token expired",
    2008: "command or value not support",
    2009: "not support this device",
    2010: "device not exist",
    2015: "this category is not supported",
    2017: "schema does not exist",
    2023: "user exist",
    2201: "time overlap",
    2202: "date format error",
    2204: "the number of timers exceeds the maximum of 30",
    2209: "scheduled task expired",
    2401: "username or password wrong",
    2501: "home not exist",
    2502: "room not exist",
    2503: "scene not exist",
    2506: "the member account is not registered",
    2507: "the member is already in the family",
    2508: "the operator must be an administrator of the family",
    2509: "the member does not exist",
    2510: "the member name already exists",
    2512: "action is empty",
    2514: "scene and device are not related",
    28841004: "Please upgrade to the official version: Your quota of Trial Edition is used up.",
    28841101: "No permissions. This API is not subscribed.",
    60001001: "Your controllable device pool quota is insufficient.",
}


def _error_classes() -> list[type[errors.TuyaError]]:
    """Every concrete error a client can receive (the IP refusal is checked on its own below)."""
    found: list[type[errors.TuyaError]] = []
    pending = list(errors.TuyaError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not errors.IpNotAllowed and cls.__module__ == errors.__name__:
            found.append(cls)
    return sorted(found, key=lambda c: c.__name__)


def test_every_code_the_server_answers_has_the_platform_text() -> None:
    table = errors.all_codes()
    missing = {code: text for code, text in table.items() if code != 1114 and PLATFORM_TEXT.get(code) != text}
    assert not missing, f"codes whose text differs from the platform's (or is not known here): {missing}"


def _make(cls: type[errors.TuyaError], detail: str | None) -> errors.TuyaError:
    """An instance carrying ``detail``, whatever arguments the class's own constructor takes."""
    error = cls.__new__(cls)
    errors.TuyaError.__init__(error, detail)
    return error


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_msg_is_exactly_the_text_and_the_detail_is_separate(cls: type[errors.TuyaError]) -> None:
    detail = f"what {cls.__name__} adds about device 'vdevo1'"
    body = orjson.loads(envelope.failure(_make(cls, detail), 1, "0" * 32))
    assert body["code"] in PLATFORM_TEXT, f"{cls.__name__}: code {body['code']} has no platform text here"
    assert body["msg"] == PLATFORM_TEXT[body["code"]], body
    assert body["detail"] == detail, body
    assert list(body)[:5] == ["code", "msg", "success", "t", "tid"], "the platform's keys first, in its order"
    bare = orjson.loads(envelope.failure(_make(cls, None), 1, "0" * 32))
    assert bare["msg"] == body["msg"] and "detail" not in bare, bare


def test_the_ip_refusal_names_the_address_in_the_platform_text() -> None:
    body = orjson.loads(envelope.failure(errors.IpNotAllowed("203.0.113.7"), 1, "0" * 32))
    assert (body["code"], body["msg"]) == (1114, "your ip(203.0.113.7) don't have access to this API")
    assert "detail" not in body


# --- over HTTP, with the real clients --------------------------------------------------------------------------
def test_refusals_over_http_carry_the_exact_text_and_the_detail(client: SignedClient, cloud: CloudServer,
                                                               project: dict[str, Any]) -> None:
    light = cloud.add_devices(project["access_id"], "dj")[0]["id"]
    cases: list[tuple[dict[str, Any], int, str]] = [
        (client.get("/v1.0/devices/vdevo0000000000000000"), 2010, "vdevo0000000000000000"),
        (client.post(f"/v1.0/devices/{light}/commands",
                     {"commands": [{"code": "bright_value_v2", "value": 99999}]}), 2008, "bright_value_v2"),
        (client.get("/v1.0/no/such/api"), 1108, "/v1.0/no/such/api"),
    ]
    for body, code, fragment in cases:
        assert body["success"] is False and body["code"] == code, body
        assert body["msg"] == PLATFORM_TEXT[code], body
        assert fragment in body.get("detail", ""), body
        assert fragment not in body["msg"]


def test_connector_python_sees_the_exact_text(cloud: CloudServer, project: dict[str, Any]) -> None:
    api = TuyaOpenAPI(cloud.url, project["access_id"], project["access_secret"])
    assert api.connect()["success"]
    plug = cloud.add_devices(project["access_id"], "cz")[0]["id"]
    refused = api.post(f"/v1.0/iot-03/devices/{plug}/commands", {"commands": [{"code": "no_such_dp", "value": 1}]})
    assert (refused["code"], refused["msg"]) == (2008, "command or value not support"), refused
    assert "no_such_dp" in refused["detail"]
    missing = api.get("/v1.0/iot-03/devices/vdevo0000000000000000")
    assert (missing["code"], missing["msg"]) == (2010, "device not exist"), missing


def test_iot_py_sdk_sees_the_exact_text(cloud: CloudServer, project: dict[str, Any]) -> None:
    from tuya_iot import AuthType
    from tuya_iot import TuyaOpenAPI as IotOpenAPI

    api = IotOpenAPI(cloud.url, project["access_id"], project["access_secret"], AuthType.CUSTOM)
    answer = api.connect("nobody", "wrong-password")
    assert answer["success"] is False and answer["msg"] == PLATFORM_TEXT[answer["code"]], answer
