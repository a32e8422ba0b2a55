"""The bounds of the other data-point types as the catalog's type offers them: an Enum's options, a maxlen, a Json
DP's fields and their integer bounds. The console and the simulator read these (tests/architecture's
test_device_knowledge.py forbids unpacking ``values`` outside the catalog), so the values a command is checked
against and the ones a control offers are one reading of the data."""

from __future__ import annotations

import pytest

from tuyacloud.catalog.datapoints import DpSpec
from tuyacloud.catalog.loader import load_catalog
from tuyacloud.errors import CommandNotSupported


def _spec(type_: str, values: dict[str, object]) -> DpSpec:
    return DpSpec.from_dict({"code": "dp", "type": type_, "values": values, "dp_id": 9})


def test_an_enum_offers_its_range_in_order_and_refuses_the_rest() -> None:
    mode = _spec("Enum", {"range": ["white", "colour", "scene"]})
    assert mode.options == ("white", "colour", "scene")
    assert mode.validate("scene") == "scene"
    with pytest.raises(CommandNotSupported, match="one of white, colour, scene"):
        mode.validate("music")


def test_maxlen_bounds_strings_and_raw_values_and_is_none_when_undeclared() -> None:
    text = _spec("String", {"maxlen": 4})
    assert (text.maxlen, _spec("String", {}).maxlen, text.options) == (4, None, ())
    assert text.validate("abcd") == "abcd"
    with pytest.raises(CommandNotSupported, match="at most 4 characters"):
        text.validate("abcde")
    raw = _spec("Raw", {"maxlen": 2})
    with pytest.raises(CommandNotSupported, match="at most 2 bytes"):
        raw.validate("AAAA")  # three bytes


def test_a_maxlen_that_is_not_a_whole_number_is_refused_when_the_catalog_loads() -> None:
    with pytest.raises(ValueError, match="maxlen"):
        _spec("String", {"maxlen": "255"})


def test_json_fields_and_their_integer_bounds() -> None:
    light = load_catalog().category("dj")
    colour = light.function("colour_data_v2") if light else None
    assert colour is not None
    assert set(colour.field_names) == {"h", "s", "v"}
    assert colour.field_bounds == {"h": (0, 360), "s": (0, 1000), "v": (0, 1000)}
    partly = _spec("Json", {"fields": {"name": {"range": ["a"]}, "level": {"min": 1, "max": 5}, "n": {"min": 0}}})
    assert partly.field_names == ("name", "level", "n")
    assert partly.field_bounds == {"level": (1, 5)}  # only fields with both bounds
    assert _spec("Json", {}).field_bounds == {} and _spec("Integer", {"min": 0, "max": 1, "step": 1}).field_names == ()
