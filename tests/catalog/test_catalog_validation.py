"""Validation over every DP of every category: valid values pass unchanged, invalid ones name the code."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuyacloud.catalog.datapoints import DpSpec, bitmap_bits, validate_value
from tuyacloud.catalog.loader import Product, load_catalog
from tuyacloud.catalog.validation import validate_commands, validate_properties
from tuyacloud.errors import CommandNotSupported, ParamEmpty

CATALOG = load_catalog()
ALL_SPECS: list[DpSpec] = [s for c in CATALOG.categories() for s in c.functions + c.status]
SPECS_BY_CATEGORY = {c.code: c.functions + c.status for c in CATALOG.categories()}
JSON_SCALARS = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8)
ANY_JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
NOT_A_NUMBER = st.text(max_size=5) | st.none() | st.lists(st.integers(), max_size=2) | st.booleans()


def per_spec(make: Callable[[DpSpec], st.SearchStrategy[Any]]) -> Callable[[DpSpec], st.SearchStrategy[Any]]:
    """A spec's strategy made once and kept (the specs are the catalog's, alive for the run): Hypothesis validates
    and analyses a strategy the first time it draws from it, and a new one at every draw was a sixth of this file's
    CPU. The same strategy each time, so the same values are drawn."""
    made: dict[int, st.SearchStrategy[Any]] = {}

    def kept(spec: DpSpec) -> st.SearchStrategy[Any]:
        if id(spec) not in made:
            made[id(spec)] = make(spec)
        return made[id(spec)]

    return kept


def field_value(rule: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "list_of" in rule:
        return st.lists(json_object(rule["list_of"]), max_size=3)
    if "range" in rule:
        return st.sampled_from(rule["range"])
    return st.integers(rule.get("min", -1000), rule.get("max", 1000))


def json_object(fields: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={name: field_value(rule) for name, rule in fields.items()})


@per_spec
def valid_value(spec: DpSpec) -> st.SearchStrategy[Any]:
    v = spec.values
    if spec.type == "Boolean":
        return st.booleans()
    if spec.type == "Integer":
        return st.integers(0, (v["max"] - v["min"]) // v["step"]).map(lambda k: v["min"] + k * v["step"])
    if spec.type == "Enum":
        return st.sampled_from(v["range"])
    if spec.type == "String":
        return st.text(max_size=min(v.get("maxlen", 64), 64))
    if spec.type == "Raw":
        return st.binary(max_size=min(v.get("maxlen", 48), 48)).map(lambda b: base64.b64encode(b).decode())
    if spec.type == "Bitmap":
        return st.integers(0, 2 ** bitmap_bits(v) - 1)
    if v.get("fields"):
        return json_object(v["fields"]) | json_object(v["fields"]).map(json.dumps)
    containers = st.lists(ANY_JSON, max_size=3) | st.dictionaries(st.text(max_size=5), ANY_JSON, max_size=3)
    return containers | ANY_JSON.map(json.dumps)  # objects as such, anything JSON as a string


def parses_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@per_spec
def invalid_value(spec: DpSpec) -> st.SearchStrategy[Any]:
    v = spec.values
    if spec.type == "Boolean":
        return st.integers() | st.sampled_from(["true", "false", "yes", 0, 1, None]) | st.floats()
    if spec.type == "Integer":
        lo, hi, step = v["min"], v["max"], v["step"]
        wrong = st.integers(max_value=lo - 1) | st.integers(min_value=hi + 1) | NOT_A_NUMBER
        wrong |= st.floats(allow_nan=True).filter(lambda f: not f.is_integer())
        if step > 1:
            wrong |= st.integers(0, (hi - lo) // step - 1).flatmap(
                lambda k: st.integers(1, step - 1).map(lambda r: lo + k * step + r))
        return wrong
    if spec.type == "Enum":
        return st.text(max_size=12).filter(lambda s: s not in v["range"]) | st.integers() | st.none()
    if spec.type == "String":
        wrong = st.integers() | st.none() | st.booleans() | st.lists(st.text(), max_size=2)
        if "maxlen" in v:
            wrong |= st.text(min_size=v["maxlen"] + 1, max_size=v["maxlen"] + 5)
        return wrong
    if spec.type == "Raw":
        return st.text(min_size=1, max_size=10).map(lambda s: "!" + s) | st.integers() | st.none()
    if spec.type == "Bitmap":
        top = 2 ** bitmap_bits(v) - 1
        return st.integers(max_value=-1) | st.integers(min_value=top + 1) | NOT_A_NUMBER
    # Text that starts like an object but is not JSON: "{" + "}" is, and a spec without fields accepts it.
    broken = st.text(max_size=10).map(lambda s: "{" + s).filter(lambda text: not parses_as_json(text))
    wrong = broken | st.integers() | st.booleans() | st.none()
    fields = v.get("fields") or {}
    numeric = {k: r for k, r in fields.items() if "max" in r}
    if numeric:
        wrong |= st.sampled_from(sorted(numeric)).flatmap(
            lambda k: st.integers(numeric[k]["max"] + 1, numeric[k]["max"] + 10**6).map(lambda n: {k: n}))
    return wrong


@pytest.mark.parametrize("category", sorted(SPECS_BY_CATEGORY))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_valid_values_are_accepted(category: str, data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from(SPECS_BY_CATEGORY[category]))
    value = data.draw(valid_value(spec))
    result = validate_value(spec, value)
    if spec.type == "Json":
        expected = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"),
                                                                   ensure_ascii=False)
        assert result == expected
        json.loads(result)
    else:
        assert result == value and type(result) is type(value)


@pytest.mark.parametrize("category", sorted(SPECS_BY_CATEGORY))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_invalid_values_are_refused_naming_the_code(category: str, data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from(SPECS_BY_CATEGORY[category]))
    value = data.draw(invalid_value(spec))
    with pytest.raises(CommandNotSupported) as caught:
        validate_value(spec, value)
    assert caught.value.detail is not None and spec.code in caught.value.detail


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_integral_floats_are_accepted_as_ints(data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from([s for s in ALL_SPECS if s.type == "Integer"]))
    value = data.draw(valid_value(spec))
    result = validate_value(spec, float(value))
    assert result == value and type(result) is int


def spec_of(category: str, code: str) -> DpSpec:
    cat = CATALOG.category(category)
    assert cat is not None
    spec = cat.function(code) or cat.status_spec(code)
    assert spec is not None
    return spec


@pytest.mark.parametrize(("category", "code", "value", "message"), [
    ("dj", "bright_value_v2", 5000,
     "bright_value_v2 must be an integer from 10 to 1000 in steps of 1 (got 5000)"),
    ("dj", "work_mode", "disco", "work_mode must be one of white, colour, scene, music"),
    ("dj", "switch_led", "yes", "switch_led must be a boolean (got 'yes')"),
    ("dj", "switch_led", 1, "switch_led must be a boolean (got 1)"),
    ("dj", "bright_value_v2", True, "bright_value_v2 must be an integer"),
    ("wsdcg", "temp_set", 52, "temp_set must be an integer from 50 to 350 in steps of 5 (got 52)"),
    ("dj", "colour_data_v2", {"h": 400, "s": 0, "v": 0},
     "colour_data_v2 field h must be an integer from 0 to 360"),
    ("dj", "colour_data_v2", "{not json", "colour_data_v2 must be a JSON string"),
    ("cz", "fault", 64, "fault must be an integer bitmap from 0 to 63 (got 64)"),
    ("tdq", "switch_interlock", "%%%", "switch_interlock must be a base64 string"),
    ("tdq", "cycle_time", "x" * 256, "cycle_time must be a string of at most 255 characters"),
])
def test_error_messages(category: str, code: str, value: Any, message: str) -> None:
    with pytest.raises(CommandNotSupported) as caught:
        validate_value(spec_of(category, code), value)
    assert caught.value.detail is not None and caught.value.detail.startswith(message)


def test_json_objects_are_serialised_compactly() -> None:
    spec = spec_of("dj", "colour_data_v2")
    assert validate_value(spec, {"h": 120, "s": 1000, "v": 500}) == '{"h":120,"s":1000,"v":500}'
    text = '{"h": 120, "s": 1000, "v": 500}'
    assert validate_value(spec, text) == text
    scene = spec_of("dj", "scene_data_v2")
    bad_unit = {"scene_num": 1, "scene_units": [{"unit_change_mode": "wobble"}]}
    with pytest.raises(CommandNotSupported, match="scene_data_v2 field scene_units\\[0\\].unit_change_mode"):
        validate_value(scene, bad_unit)


def product(category: str) -> Product:
    found = CATALOG.default_product(category)
    assert found is not None
    return found


@pytest.mark.parametrize("category", sorted(SPECS_BY_CATEGORY))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_batch_with_one_bad_command_is_refused(category: str, data: st.DataObject) -> None:
    device = product(category)
    good = [{"code": s.code, "value": data.draw(valid_value(s))} for s in device.functions]
    if good:
        assert len(validate_commands(device, good)) == len(good)
    target = data.draw(st.sampled_from(list(device.functions))) if device.functions else None
    if target is not None and data.draw(st.booleans()):
        bad = {"code": target.code, "value": data.draw(invalid_value(target))}
        named = target.code
    else:
        named = data.draw(st.sampled_from(["no_such_code", "switch_99", "bright_value_v3"]))
        bad = {"code": named, "value": True}
    batch = list(good)
    batch.insert(data.draw(st.integers(0, len(batch))), bad)
    with pytest.raises(CommandNotSupported) as caught:
        validate_commands(device, batch)
    assert caught.value.detail is not None and named in caught.value.detail


def test_command_shapes() -> None:
    light = product("dj")
    assert validate_commands(light, [{"code": "switch_led", "value": True},
                                     {"code": "bright_value_v2", "value": 500.0}]) == [
        ("switch_led", True), ("bright_value_v2", 500)]
    for empty in (None, []):
        with pytest.raises(ParamEmpty):
            validate_commands(light, empty)
    for bad in ({"code": "switch_led"}, "switch_led", [{"value": True}], [{"code": 5, "value": True}],
                [{"code": "switch_led"}], ["switch_led"]):
        with pytest.raises(CommandNotSupported):
            validate_commands(light, bad)  # type: ignore[arg-type]
    with pytest.raises(CommandNotSupported) as caught:
        validate_commands(light, [{"code": "bright_value", "value": 100}])  # v1 code: not on this product
    assert caught.value.detail is not None
    assert "bright_value is not a function" in caught.value.detail
    assert "bright_value_v2" in caught.value.detail  # the allowed codes are listed
    sensor = product("wsdcg")
    with pytest.raises(CommandNotSupported, match="va_temperature"):
        validate_commands(sensor, [{"code": "va_temperature", "value": 200}])  # report-only
    with pytest.raises(CommandNotSupported, match="none"):
        validate_commands(product("pir"), [{"code": "pir", "value": "pir"}])


def test_properties_target_writable_standard_and_raw_dps() -> None:
    light, socket = product("dj"), product("cz")
    assert validate_properties(light, {"switch_led": False, "remote_switch": True}) == [
        ("switch_led", False), ("remote_switch", True)]
    assert validate_properties(light, {"control_data": {"h": 1}}) == [("control_data", '{"h":1}')]
    for bad in ({"cur_power": 5}, {"voltage_coe": 10}, {"nope": 1}):
        with pytest.raises(CommandNotSupported, match=next(iter(bad))):
            validate_properties(socket, bad)
    with pytest.raises(CommandNotSupported, match="overcharge_switch must be a boolean"):
        validate_properties(socket, {"overcharge_switch": "on"})
    for empty in (None, {}):
        with pytest.raises(ParamEmpty):
            validate_properties(socket, empty)
    with pytest.raises(CommandNotSupported):
        validate_properties(socket, [("switch_1", True)])
