"""Virtual-device behaviour, driven only by the catalog's product data."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuyacloud.catalog.behaviours import apply_commands, initial_status, next_due_s, tick
from tuyacloud.catalog.datapoints import DpSpec, bitmap_bits, validate_value
from tuyacloud.catalog.loader import Catalog, Product, load_catalog

CATALOG = load_catalog()
T0 = 1_700_000_000_000  # ms


def product(category: str) -> Product:
    found = CATALOG.default_product(category)
    assert found is not None
    return found


class Device:
    """A tiny harness: a product, its status and a clock, like the runner keeps them."""

    def __init__(self, category: str, seed: str = "dev-1", **status: Any) -> None:
        self.product = product(category)
        self.status = initial_status(self.product) | status
        self.now, self.seed = T0, seed

    def command(self, *commands: tuple[str, Any]) -> dict[str, Any]:
        changes = apply_commands(self.product, self.status, list(commands))
        self.status.update(changes)
        return changes

    def run(self, seconds: float, step: float = 1.0) -> list[dict[str, Any]]:
        reports = []
        elapsed = 0.0
        while elapsed < seconds - 1e-9:
            dt = min(step, seconds - elapsed)
            elapsed += dt
            self.now += round(dt * 1000)
            changes = tick(self.product, self.status, dt, self.now, seed=self.seed)
            self.status.update(changes)
            reports.append(changes)
        return reports


def assert_all_valid(device_product: Product, status: dict[str, Any]) -> None:
    for code, value in status.items():
        spec = device_product.spec(code)
        assert spec is not None, code
        assert validate_value(spec, value) == value, (code, value)


# --- curtains ----------------------------------------------------------------------------------------
def test_curtain_moves_toward_its_target_and_stops_there() -> None:
    curtain = Device("cl")
    assert next_due_s(curtain.product, curtain.status) is None
    assert curtain.command(("control", "open")) == {"control": "open", "percent_control": 100,
                                                    "work_state": "opening"}
    positions = [r["percent_state"] for r in curtain.run(15) if "percent_state" in r]
    assert positions == sorted(positions) and positions[-1] == 100
    assert curtain.status["percent_state"] == 100
    assert next_due_s(curtain.product, curtain.status) is None
    assert all(r == {} for r in curtain.run(5))

    curtain.command(("percent_control", 30))
    assert curtain.status["work_state"] == "closing"
    curtain.run(3)
    assert 30 < curtain.status["percent_state"] < 100
    curtain.command(("control", "stop"))
    held = curtain.status["percent_state"]
    assert curtain.status["percent_control"] == held
    assert all("percent_state" not in r for r in curtain.run(10))


def test_fractional_rates_add_up_over_short_ticks() -> None:
    slow, fast = Device("cl"), Device("cl")
    for device in (slow, fast):
        device.command(("percent_control", 100))
    slow.run(4.0, step=0.05)
    fast.run(4.0, step=4.0)
    assert abs(slow.status["percent_state"] - 40) <= 1 and fast.status["percent_state"] == 40


# --- climate -----------------------------------------------------------------------------------------
def test_air_conditioner_temperature_drifts_toward_the_set_point_only_while_on() -> None:
    ac = Device("kt")
    assert ac.status["switch"] is False and ac.status["temp_current"] == 28
    ac.run(600, step=30)
    assert ac.status["temp_current"] == 28
    ac.command(("switch", True))
    ac.run(100, step=10)
    assert 24 < ac.status["temp_current"] < 28
    ac.command(("switch", False))
    frozen = ac.status["temp_current"]
    ac.run(300, step=30)
    assert ac.status["temp_current"] == frozen
    ac.command(("switch", True), ("temp_set", 26))
    ac.run(600, step=60)
    assert ac.status["temp_current"] == 26
    assert next_due_s(ac.product, ac.status) is None
    ac.command(("mode", "wind"), ("temp_set", 18))  # fan only: no cooling
    ac.run(300, step=60)
    assert ac.status["temp_current"] == 26


def test_thermostat_converts_between_scales() -> None:
    thermostat = Device("wk", switch=True)  # temp_set 21 (°C, scale 0), temp_current 185 (scale 1)
    thermostat.run(60, step=5)  # 0.02 °C per second
    assert thermostat.status["temp_current"] == 197
    thermostat.run(3600, step=60)
    assert thermostat.status["temp_current"] == 210


# --- countdowns and metering ---------------------------------------------------------------------------
def test_countdown_reaches_zero_and_switches_off() -> None:
    plug = Device("cz")
    plug.command(("switch_1", True), ("countdown_1", 10))
    assert plug.status["cur_power"] > 0
    assert next_due_s(plug.product, plug.status) == 10
    plug.run(9)
    assert plug.status["switch_1"] is True and plug.status["countdown_1"] in (0, 1)
    plug.run(2)
    assert plug.status["countdown_1"] == 0 and plug.status["switch_1"] is False
    assert plug.status["cur_power"] == 0 and plug.status["cur_current"] == 0


def test_countdown_toggles_an_off_channel_on_in_one_long_tick() -> None:
    switch = Device("kg")
    switch.command(("countdown_2", 30))
    switch.run(30, step=30)
    assert switch.status["switch_2"] is True and switch.status["countdown_2"] == 0
    assert switch.status["switch_1"] is False


def test_countdown_in_minutes_from_an_hour_option() -> None:
    controller = Device("ktkzq")
    controller.command(("switch", True), ("countdown_set", "1h"))
    assert controller.status["countdown_left"] == 60
    controller.run(1800, step=60)
    assert controller.status["countdown_left"] == 30 and controller.status["switch"] is True
    controller.run(1800, step=60)
    assert controller.status["switch"] is False and controller.status["countdown_set"] == "cancel"
    controller.command(("countdown_set", "12h"))
    assert controller.status["countdown_left"] == 360  # saturates at the declared maximum


def test_energy_accumulates_only_while_on() -> None:
    plug = Device("cz")
    plug.run(7200, step=60)
    assert plug.status["add_ele"] == 0 and plug.status["cur_power"] == 0
    plug.command(("switch_1", True))
    plug.run(3600, step=60)
    assert 1100 <= plug.status["add_ele"] <= 1300  # 1.2 kWh at scale 3, in 0.1 kWh steps
    powers = {r["cur_power"] for r in plug.run(600, step=30) if "cur_power" in r}
    assert len(powers) > 1 and all(11850 <= p <= 12150 for p in powers)
    plug.command(("switch_1", False))
    energy = plug.status["add_ele"]
    assert plug.status["cur_power"] == 0
    plug.run(3600, step=60)
    assert plug.status["add_ele"] == energy


# --- sensors -------------------------------------------------------------------------------------------
def test_sensor_values_stay_in_range_and_change_over_time() -> None:
    sensor = Device("wsdcg")
    temperatures, humidities = [], []
    for report in sensor.run(86400, step=60):
        temperatures += [report["va_temperature"]] if "va_temperature" in report else []
        humidities += [report["va_humidity"]] if "va_humidity" in report else []
        assert_all_valid(sensor.product, report)
    assert len(set(temperatures)) > 20 and len(set(humidities)) > 5
    assert all(200 <= t <= 270 for t in temperatures)  # mean 23.5 °C, +-3 °C wave, +-0.5 °C noise
    assert sensor.status["battery_percentage"] == 99  # one percent a day


def test_reports_follow_their_schedule_and_the_seed() -> None:
    sensor = Device("wsdcg")
    status = dict(sensor.status)
    first = tick(sensor.product, status, 3600, T0 + 3_600_000, seed="a")
    assert first and first == tick(sensor.product, status, 3600, T0 + 3_600_000, seed="a")  # deterministic
    shifted = [tick(sensor.product, status, 60, T0 + 60_000, seed=f"dev-{i}") for i in range(20)]
    assert len({json.dumps(s, sort_keys=True) for s in shifted}) > 1  # devices do not read the same values
    # With the runner's bookkeeping, a code reports once report_every_s has passed since its last report.
    for seed in "abcdefgh":
        quiet = tick(sensor.product, status, 59, T0 + 59_000, {"va_temperature": 1.0, "va_humidity": 59.0},
                     seed=seed)
        assert "va_temperature" not in quiet and "va_humidity" not in quiet
    due = [tick(sensor.product, status, 1, T0 + 1000, {"va_temperature": 60.0}, seed=s) for s in "abcdefgh"]
    assert any("va_temperature" in d for d in due)
    assert next_due_s(sensor.product, sensor.status) == 60


def test_threshold_alarm_follows_commanded_limits() -> None:
    sensor = Device("wsdcg")
    assert sensor.status["temp_alarm"] == "cancel"
    assert sensor.command(("maxtemp_set", 200))["temp_alarm"] == "upperalarm"
    assert sensor.command(("maxtemp_set", 390), ("minitemp_set", 300))["temp_alarm"] == "loweralarm"


def test_battery_drains_slowly_down_to_its_floor() -> None:
    leak = Device("sj", battery_percentage=12)
    leak.run(30 * 86400, step=3600)
    assert leak.status["battery_percentage"] == 10
    assert next_due_s(leak.product, leak.status) is None


def test_light_mode_follows_what_was_commanded() -> None:
    light = Device("dj")
    assert light.command(("colour_data_v2", '{"h":120,"s":1000,"v":1000}'))["work_mode"] == "colour"
    assert light.command(("bright_value_v2", 300))["work_mode"] == "white"
    assert next_due_s(light.product, light.status) is None


# --- generic properties over every product ---------------------------------------------------------------
def test_tick_with_no_elapsed_time_changes_nothing() -> None:
    for device_product in CATALOG.products():
        status = initial_status(device_product)
        assert tick(device_product, status, 0, T0) == {}
        assert tick(device_product, status, 0, T0, {}, seed="x") == {}


def test_apply_commands_does_not_mutate_and_returns_only_changes() -> None:
    light = product("dj")
    status = initial_status(light)
    before = dict(status)
    assert apply_commands(light, status, [("switch_led", True)]) == {}  # already on
    assert apply_commands(light, status, [("switch_led", False)]) == {"switch_led": False}
    assert status == before


def valid(spec: DpSpec) -> st.SearchStrategy[Any]:
    v = spec.values
    if spec.type == "Boolean":
        return st.booleans()
    if spec.type == "Integer":
        return st.integers(0, (v["max"] - v["min"]) // v["step"]).map(lambda k: v["min"] + k * v["step"])
    if spec.type == "Enum":
        return st.sampled_from(v["range"])
    if spec.type == "Bitmap":
        return st.integers(0, 2 ** bitmap_bits(v) - 1)
    if spec.type == "Raw":
        return st.binary(max_size=8).map(lambda b: base64.b64encode(b).decode())
    if spec.type == "Json":
        return st.just("{}")
    return st.text(max_size=min(v.get("maxlen", 10), 10))


@pytest.mark.parametrize("device_product", CATALOG.products(), ids=lambda p: p.category)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_every_product_only_ever_produces_valid_values(device_product: Product, data: st.DataObject) -> None:
    status = initial_status(device_product)
    now = T0 + data.draw(st.integers(0, 10**9))
    for _ in range(data.draw(st.integers(1, 6))):
        if device_product.functions and data.draw(st.booleans()):
            specs = data.draw(st.lists(st.sampled_from(device_product.functions), min_size=1, max_size=3))
            commands = [(s.code, data.draw(valid(s))) for s in specs]
            status.update(apply_commands(device_product, status, commands))
        elapsed = data.draw(st.floats(0.001, 7200))
        now += int(elapsed * 1000)
        status.update(tick(device_product, status, elapsed, now, seed=data.draw(st.sampled_from("abc"))))
        assert_all_valid(device_product, status)
        due = next_due_s(device_product, status)
        assert due is None or due >= 0


def test_behaviours_are_data_a_custom_product_gets_them_without_code() -> None:
    """A product defined only in data (here a fan with a countdown) behaves without any new Python."""
    fan_category = {"code": "zz", "name": "Test fan", "confidence": "partial",
                    "functions": [{"code": "power", "type": "Boolean", "values": {}, "dp_id": 1},
                                  {"code": "timer", "type": "Integer", "dp_id": 2,
                                   "values": {"unit": "s", "min": 0, "max": 600, "scale": 0, "step": 1}}],
                    "status": [{"code": "power", "type": "Boolean", "values": {}, "dp_id": 1},
                               {"code": "timer", "type": "Integer", "dp_id": 2,
                                "values": {"unit": "s", "min": 0, "max": 600, "scale": 0, "step": 1}}]}
    fan_product = {"product_id": "zzzzzzzzzzzzzzzz", "name": "Fan", "category": "zz",
                   "functions": ["power", "timer"], "status": ["power", "timer"],
                   "behaviours": [
                       {"kind": "set_on_command", "when": {"code": "timer"}, "set": {"power": True}},
                       {"kind": "countdown", "code": "timer", "on_zero": {"power": False}},
                   ]}
    fan = Catalog.from_data([fan_category], [fan_product]).default_product("zz")
    assert fan is not None
    status = initial_status(fan)
    status.update(apply_commands(fan, status, [("timer", 5)]))
    assert status == {"power": True, "timer": 5}
    assert tick(fan, status, 5, T0 + 5000) == {"power": False, "timer": 0}


def _same_values(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a == b and all(isinstance(a[k], bool) == isinstance(b[k], bool) for k in a)


@pytest.mark.parametrize("device_product", [p for p in CATALOG.products() if p.behaviours], ids=lambda p: p.category)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_a_settled_status_is_stable(device_product: Product, data: st.DataObject) -> None:
    """The settle pass runs once where no settler reads what one writes (``_settles_in_one_pass``): from any valid
    status, settling again must change nothing, with codes kept or not."""
    from tuyacloud.catalog.behaviours import _settle

    specs = device_product.status + device_product.raw_dps
    status = {s.code: data.draw(valid(s)) for s in specs}
    keep = data.draw(st.lists(st.sampled_from([s.code for s in specs]), max_size=2)) if specs else []
    once = dict(status)
    _settle(device_product, once, keep=keep)
    twice = dict(once)
    _settle(device_product, twice, keep=keep)
    assert _same_values(once, twice)


def test_a_chain_of_derived_values_is_settled_to_its_end() -> None:
    """A follow that reads what another follow writes, listed before it, needs the repeated pass: the
    one-pass shortcut must not take it."""
    from tuyacloud.catalog.behaviours import _settles_in_one_pass

    integer = {"unit": "", "min": 0, "max": 100, "scale": 0, "step": 1}
    dps = [{"code": "power", "type": "Boolean", "values": {}, "dp_id": 1},
           {"code": "level", "type": "Integer", "dp_id": 2, "values": integer},
           {"code": "draw", "type": "Integer", "dp_id": 3, "values": integer}]
    category = {"code": "zy", "name": "Test chain", "confidence": "partial", "functions": dps[:1], "status": dps}
    chain = {"product_id": "zyzyzyzyzyzyzyzy", "name": "Chain", "category": "zy", "functions": ["power"],
             "status": ["power", "level", "draw"],
             "behaviours": [{"kind": "follow", "code": "draw", "while": {"level": 40}, "on": 7, "off": 0},
                            {"kind": "follow", "code": "level", "while": {"power": True}, "on": 40, "off": 0}]}
    device_product = Catalog.from_data([category], [chain]).default_product("zy")
    assert device_product is not None and not _settles_in_one_pass(device_product)
    status = initial_status(device_product)
    assert apply_commands(device_product, status, [("power", True)]) == {"power": True, "level": 40, "draw": 7}
    assert _settles_in_one_pass(product("cz"))
