"""The typed request bodies (tuyacloud/bodies.py) of every route: decoded in process, no server.

Every body model of the route table is fed the shapes a client gets wrong (a field of each JSON type, nested
lists of the wrong kind, a body that is not an object) and must either decode or refuse with a Tuya error: a
model's ``refuse`` that raised anything else would be a 500 on the wire. The refusals the platform's clients
rely on are pinned with their code and detail; the HTTP tests of each subject check the same over the wire.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest

from tuyacloud.bodies import Body, decoder
from tuyacloud.bodies import openapi_schema as body_schema
from tuyacloud.domain.devices.requests import SendCommands
from tuyacloud.domain.rules.timer_requests import TimerBody
from tuyacloud.errors import TuyaError, code_and_message
from tuyacloud.gateway.routes import build_table

MODELS: dict[str, type[Body]] = {r.key: r.body for r in build_table().routes if r.body is not None}
WRONG: tuple[Any, ...] = (None, 0, -1, 1.5, True, "", "x", "12", [], [1], ["x"], [{}], [{"code": 1}], {}, {"a": 1})


def _decode(model: type[Body], document: Any) -> Body | TuyaError:
    try:
        return decoder(model)(orjson.dumps(document))
    except TuyaError as error:
        return error


def _variants(model: type[Body]) -> list[Any]:
    """The body itself of every JSON type, and each declared field (and each list item) of every JSON type."""
    out: list[Any] = list(WRONG)
    for name, schema in body_schema(model).get("properties", {}).items():
        out += [{name: value} for value in WRONG]
        out += [{name: [value]} for value in WRONG]
        out += [{name: [{"code": "switch_1", "value": True}, value]} for value in WRONG]
        if schema.get("type") == "array" or "items" in schema:
            out += [{name: [{key: value}]} for value in WRONG for key in ("code", "value", "time", "functions")]
    return out


@pytest.mark.parametrize("route", sorted(MODELS))
def test_any_malformed_body_is_decoded_or_refused_with_a_tuya_error(route: str) -> None:
    model = MODELS[route]
    for document in _variants(model):
        result = _decode(model, document)  # anything but a TuyaError escapes and fails the test
        assert isinstance(result, model | TuyaError), (route, document, result)


@pytest.mark.parametrize(("document", "code", "detail"), [
    ([], 1109, "the body must be an object with a commands list"),
    ({}, 1109, "the body must be an object with a commands list"),
    ({"commands": "x"}, 2008, "commands must be a list of {code, value} objects"),
    ({"commands": [1]}, 2008, "command 1 must be an object with a string code and a value"),
    ({"commands": [{"code": "a", "value": 1}, {"code": "b"}]}, 2008, "command 2 (b) has no value"),
])
def test_a_malformed_command_body_keeps_the_platform_answer(document: Any, code: int, detail: str) -> None:
    error = _decode(SendCommands, document)
    assert isinstance(error, TuyaError)
    assert (code_and_message(error)[0], error.detail) == (code, detail)


def test_extra_fields_are_ignored_and_values_stay_any_json() -> None:
    body = _decode(SendCommands, {"t": 1, "commands": [{"code": "colour_data_v2", "value": {"h": 1}, "x": 2}]})
    assert isinstance(body, SendCommands)
    assert body.pairs() == [("colour_data_v2", {"h": 1})]


def test_a_schedule_field_of_the_wrong_type_gets_the_parser_words() -> None:
    error = _decode(TimerBody, {"loops": 1111111})
    assert isinstance(error, TuyaError)
    assert error.detail == "loops 1111111 must be 7 characters of 0 and 1, Sunday first"


def test_openapi_schemas_are_of_the_3_0_dialect() -> None:
    """Nested models inlined and null as ``nullable``: OpenAPI 3.0 knows neither ``$defs`` nor ``type: null``."""
    for route, model in MODELS.items():
        text = msgspec.json.encode(body_schema(model)).decode()
        assert "$ref" not in text and '"null"' not in text, route
