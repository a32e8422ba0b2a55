"""JSON nesting and size: one limit (32 levels, 4096 arrays and objects, 1 MiB) for every entry, refused with the
Tuya envelope; before, a command value nested 990 deep was a 500 with a traceback (the error message's repr
recursed) and one nested 900 deep was accepted and stored."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from support import web
from support.custom import code, ok
from support.server import ADMIN_TOKEN, CloudServer
from support.signed import SignedClient


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def nested_text(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.fixture
def light(cloud: CloudServer, project: dict[str, Any]) -> str:
    return str(cloud.add_devices(project["access_id"], "dj")[0]["id"])


def _command(client: SignedClient, device: str, code_: str, value: Any) -> dict[str, Any]:
    body = b'{"commands":[{"code":"%s","value":%s}]}' % (code_.encode(), value.encode() if isinstance(value, str)
                                                         else orjson.dumps(value))
    return client.request("POST", f"/v1.0/iot-03/devices/{device}/commands", raw_body=body)


def _status(client: SignedClient, device: str) -> dict[str, Any]:
    return {s["code"]: s["value"] for s in ok(client.get(f"/v1.0/iot-03/devices/{device}/status"))}


@pytest.mark.parametrize("depth", [33, 900, 990, 1100])
def test_deep_command_values_are_refused_not_a_500_nor_stored(client: SignedClient, light: str, depth: int) -> None:
    before = _status(client, light)
    for code_ in ("switch_led", "control_data"):  # a Boolean, and a Json DP that takes any object
        answer = _command(client, light, code_, nested_text(depth))
        assert answer["success"] is False and answer["code"] == 1109, answer
        assert "nests deeper than 32 levels" in answer.get("detail", "")
    assert _status(client, light) == before


def test_a_json_value_nested_within_the_limit_is_still_accepted(client: SignedClient, light: str) -> None:
    assert ok(_command(client, light, "control_data", {"a": nested(20)})) is True


@pytest.mark.parametrize("depth", [40, 990, 2000])
def test_deep_json_strings_inside_a_command_are_refused_with_2008(client: SignedClient, light: str,
                                                                  depth: int) -> None:
    """A Json DP's value sent as a JSON string (as clients do): the body is flat, the string is not."""
    answer = _command(client, light, "control_data", json.dumps(nested_text(depth)))
    assert answer["success"] is False and answer["code"] == 2008, answer
    assert "within the limits" in answer.get("detail", "") and len(answer.get("detail", "")) < 400


def test_v2_shadow_properties_nested_deep_are_refused(client: SignedClient, light: str) -> None:
    props = "{\"control_data\": " + nested_text(990) + "}"
    answer = client.post(f"/v2.0/cloud/thing/{light}/shadow/properties/issue", {"properties": props})
    assert answer["success"] is False and answer["code"] == 1109, answer


def test_control_api_report_nested_deep_is_refused(cloud: CloudServer, light: str) -> None:
    body = f'{{"status": {{"control_data": {nested_text(990)}}}}}'
    answer = web.post(f"{cloud.url}/_tuyacloud/devices/{light}/report", content=body,
                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30).json()
    assert answer["success"] is False and answer["code"] == 1109, answer


def test_a_body_of_too_many_arrays_is_refused_before_parsing(client: SignedClient, light: str) -> None:
    """5,000 small arrays: flat, but parsing costs about a microsecond each."""
    body = b'{"commands":[' + b",".join([b"[]"] * 5000) + b"]}"
    answer = client.request("POST", f"/v1.0/iot-03/devices/{light}/commands", raw_body=body)
    assert answer["code"] == 1109 and "more than 4096 arrays and objects" in answer.get("detail", ""), answer


def test_a_batch_of_10000_commands_is_refused(client: SignedClient, light: str) -> None:
    commands = [{"code": "switch_led", "value": i % 2 == 0} for i in range(10_000)]
    assert code(client.post(f"/v1.0/iot-03/devices/{light}/commands", {"commands": commands})) == 1109


def test_commands_per_request_are_capped_at_255(client: SignedClient, light: str) -> None:
    commands = [{"code": "switch_led", "value": i % 2 == 0} for i in range(256)]
    answer = client.post(f"/v1.0/iot-03/devices/{light}/commands", {"commands": commands})
    assert answer["code"] == 1109 and "at most 255 commands" in answer.get("detail", ""), answer
    assert ok(client.post(f"/v1.0/iot-03/devices/{light}/commands", {"commands": commands[:255]})) is True
