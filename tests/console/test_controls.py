"""Device controls from the instruction set: a long range's coarse slider step, a duration read as hours and
minutes, an HSV colour code's picker (RGB <-> HSV both ways) and the parsing of submitted controls back into the
command value a client would send. The page-level behaviour is in test_pages.py and test_browser.py."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuyacloud.catalog.datapoints import DpSpec
from tuyacloud.catalog.loader import load_catalog
from tuyacloud.console.controls import (
    control_for,
    hex_to_hsv,
    hsv_fields,
    hsv_to_hex,
    human_duration,
    slider_step,
    submitted_value,
)

CATALOG = load_catalog()


def spec(category: str, code: str) -> DpSpec:
    kind = CATALOG.category(category)
    found = kind.function(code) if kind else None
    assert found is not None, code
    return found


@pytest.mark.parametrize(("lo", "hi", "step", "duration", "expected"), [
    (10, 1000, 1, "", 1),  # a brightness: every value fits a slider
    (0, 86400, 1, "s", 300),  # a day's countdown in seconds: 5-minute steps (288 positions)
    (0, 1440, 1, "min", 5),  # a day in minutes: 5 minutes
    (0, 3600, 1, "s", 15),  # an hour in seconds: 15 s
    (0, 120000, 1, "", 500),  # milliseconds, no round time: round numbers
    (0, 50000, 100, "", 100),  # 500 positions of its own step: fine already
    (0, 500000, 100, "", 2000),  # a multiple of the spec's own step
    (0, 5256000, 1, "min", 20000),  # ten years in minutes: past the round times, round numbers
])
def test_slider_step(lo: int, hi: int, step: int, duration: str, expected: int) -> None:
    got = slider_step(lo, hi, step, duration)
    assert got == expected
    assert got % step == 0 and (hi - lo) / got <= 1000


def test_countdown_control_has_a_coarse_slider_and_reads_as_a_duration() -> None:
    countdown = control_for(spec("kg", "countdown_1"), 5400)
    assert (countdown.kind, countdown.step, countdown.slider_step, countdown.duration) == ("range", 1, 300, "s")
    assert countdown.shown == "1 h 30 min" and countdown.number == 5400
    light = control_for(spec("dj", "countdown_1"), None)
    assert light.duration == "s" and light.slider_step == 300 and light.number == 0  # no unit: still seconds
    brightness = control_for(spec("dj", "bright_value_v2"), 250)
    assert (brightness.slider_step, brightness.duration, brightness.shown) == (1, "", "250")
    # Read as every other number of the console: "1,000" beside its range "10-1,000", not "1000".
    assert control_for(spec("dj", "bright_value_v2"), 1000).shown == "1,000"
    power = DpSpec(code="p", name="Power", desc="", type="Integer", dp_id=1,
                   values={"unit": "W", "min": 0, "max": 500000, "scale": 1, "step": 1})
    assert control_for(power, 123456).shown == "12,345.6W"


def test_human_duration() -> None:
    assert [human_duration(s) for s in (0, 59, 60, 3600, 5405, 86400, 90061)] == [
        "0 s", "59 s", "1 min", "1 h", "1 h 30 min 5 s", "1 d", "1 d 1 h 1 min 1 s"]


def test_hsv_colour_codes_are_found_from_the_instruction_set() -> None:
    assert hsv_fields(spec("dj", "colour_data_v2")) == {"h": (0, 360), "s": (0, 1000), "v": (0, 1000)}
    assert hsv_fields(spec("dj", "colour_data")) == {"h": (0, 360), "s": (0, 255), "v": (0, 255)}
    assert hsv_fields(spec("dj", "scene_data_v2")) == {}
    assert hsv_fields(spec("dj", "bright_value_v2")) == {}


def test_colour_control_shows_the_current_colour() -> None:
    colour = control_for(spec("dj", "colour_data_v2"), '{"h":120,"s":1000,"v":1000}')
    assert colour.kind == "colour" and colour.hsv_current == {"h": 120, "s": 1000, "v": 1000}
    assert colour.hex == "#00ff00"
    old = control_for(spec("dj", "colour_data"), {"h": 240, "s": 255, "v": 128})
    assert old.hex == "#000080"
    unknown = control_for(spec("dj", "colour_data_v2"), "not json")
    assert unknown.hsv_current == {"h": 0, "s": 1000, "v": 1000} and unknown.hex == "#ff0000"


def test_hsv_and_hex() -> None:
    assert hsv_to_hex(0, 1000, 1000, 1000, 1000) == "#ff0000"
    assert hsv_to_hex(360, 1000, 1000, 1000, 1000) == "#ff0000"
    assert hsv_to_hex(0, 0, 1000, 1000, 1000) == "#ffffff"
    assert hsv_to_hex(0, 0, 0, 255, 255) == "#000000"
    assert hex_to_hsv("#ff0000", 1000, 1000) == (0, 1000, 1000)
    assert hex_to_hsv("#0000ff", 255, 255) == (240, 255, 255)
    assert hex_to_hsv("#808080", 1000, 1000) == (0, 0, 502)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
def test_hex_survives_the_round_trip_through_tuyas_hsv(r: int, g: int, b: int) -> None:
    """A picked colour sent as HSV (s and v out of 1000) and shown again is the colour picked, within rounding."""
    colour = f"#{r:02x}{g:02x}{b:02x}"
    back = hsv_to_hex(*hex_to_hsv(colour, 1000, 1000), 1000, 1000)
    assert all(abs(int(back[i:i + 2], 16) - int(colour[i:i + 2], 16)) <= 2 for i in (1, 3, 5)), (colour, back)


def test_submitted_colour_is_the_json_string_clients_send() -> None:
    colour = spec("dj", "colour_data_v2")
    value = submitted_value(colour, {"h": "120", "s": " 500", "v": "1000"})
    assert value == '{"h":120,"s":500,"v":1000}' and orjson.loads(value) == {"h": 120, "s": 500, "v": 1000}
    # Text that is no integer goes on as it is, so validation names the field.
    assert orjson.loads(submitted_value(colour, {"h": "red", "s": "1", "v": "1"})) == {
        "h": "red", "s": 1, "v": 1}
    # The raw JSON of the same DP (an API-style value field) still goes through unchanged.
    assert submitted_value(colour, {"value": '{"h": 1, "s": 2, "v": 3}'}) == '{"h": 1, "s": 2, "v": 3}'
    # Other controls: the value field, typed.
    assert submitted_value(spec("kg", "countdown_1"), {"value": "5400"}) == 5400
    assert submitted_value(spec("dj", "switch_led"), {"value": "false"}) is False
