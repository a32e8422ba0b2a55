"""An Integer data point's range as the catalog's type offers it: bounds, step, scale, clamping and rescaling.

The simulator's behaviours and the console's controls read these instead of unpacking ``values`` themselves, so
these are the rules they all follow.
"""

from __future__ import annotations

import pytest

from tuyacloud.catalog.datapoints import DpSpec
from tuyacloud.errors import CommandNotSupported


def _integer(lo: int, hi: int, step: int = 1, scale: int = 0, unit: str = "") -> DpSpec:
    values = {"unit": unit, "min": lo, "max": hi, "scale": scale, "step": step}
    return DpSpec.from_dict({"code": "temp_set", "type": "Integer", "values": values, "dp_id": 2})


def test_bounds_step_scale_and_unit_come_from_the_values() -> None:
    spec = _integer(50, 300, step=5, scale=1, unit="℃")
    assert (spec.bounds, spec.minimum, spec.maximum, spec.step, spec.scale, spec.unit) == (
        (50, 300), 50, 300, 5, 1, "℃")
    assert spec.allowed() == "an integer from 50 to 300 in steps of 5"


def test_other_types_have_no_scale_and_a_unit_step() -> None:
    switch = DpSpec.from_dict({"code": "switch", "type": "Boolean", "values": {}, "dp_id": 1})
    assert (switch.scale, switch.step, switch.is_integer) == (0, 1, False)
    assert switch.clamp(True) is True and switch.clamp(7) == 7  # clamping is for Integer DPs only


@pytest.mark.parametrize(("value", "clamped"), [(-4, 10), (10, 10), (12, 10), (13, 15), (999, 100), (97.6, 100)])
def test_clamp_keeps_a_number_in_range_and_on_the_step_grid(value: float, clamped: int) -> None:
    assert _integer(10, 100, step=5).clamp(value) == clamped


def test_clamp_never_snaps_past_the_top_of_an_uneven_grid() -> None:
    assert _integer(0, 7, step=3).clamp(7) == 6


def test_rescale_converts_between_decimal_places_and_clamps() -> None:
    tenth = _integer(0, 500, scale=1)
    assert tenth.rescale(21, from_scale=0) == 210
    assert tenth.rescale(99, from_scale=0) == 500
    assert _integer(0, 50).rescale(215, from_scale=1) == 22  # 21.5 rounds to the nearest step
    assert tenth.rescale("21", from_scale=0) == "21"  # not a number: left alone


def test_validate_refuses_off_grid_values_with_the_allowed_range() -> None:
    spec = _integer(10, 100, step=5)
    assert spec.validate(15.0) == 15
    with pytest.raises(CommandNotSupported, match="an integer from 10 to 100 in steps of 5"):
        spec.validate(12)
