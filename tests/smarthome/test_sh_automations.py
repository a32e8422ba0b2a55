"""Automations (device linkage) on a real server with the cloud clock under the test's
control: a threshold crossing fires once per crossing, a disabled automation never fires, "all" against "any",
precondition windows in a non-UTC time zone, schedules at their minute, external triggers, the loop rule, a virtual
device's own report, and validation at save time with nothing written on error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from support.custom import code, ok
from support.rules import (
    MONDAY_NOON_UTC,
    Home,
    cloud_commands,
    device_condition,
    dp_issue,
    engine_story,
    eventually,
    frozen_server,
    own_server,
    report,
    settle,
    status,
    step,
)
from support.server import CloudServer
from support.smarthome import add_home_device, create_home
from tuyacloud.clock import Clock
from tuyacloud.domain.rules import rule_time

MINUTE, HOUR = 60_000, 3_600_000


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[CloudServer]:
    yield from frozen_server(tmp_path)


def add(home: Home, **body: Any) -> str:
    body.setdefault("name", "Automation")
    return str(ok(home.c.post(home.path("/automations"), body)))


def command(home: Home, device_id: str, code_: str, value: Any) -> None:
    ok(home.c.post(f"/v1.0/devices/{device_id}/commands", {"commands": [{"code": code_, "value": value}]}))


def runs(home: Home, device_id: str) -> int:
    return len(cloud_commands(home.c, device_id))


def test_a_threshold_crossing_fires_once_per_crossing(frozen: CloudServer) -> None:
    home = Home(frozen, "threshold@example.com", ("wsdcg", "dj", "dj"))
    sensor, fan, never = home.devices
    report(frozen, sensor, va_temperature=20)
    add(home, name="Hot", conditions=[device_condition(sensor, "va_temperature", ">", 25)],
        actions=[dp_issue(fan, switch_led=True)])
    disabled = add(home, name="Disabled", conditions=[device_condition(sensor, "va_temperature", ">", 25)],
                   actions=[dp_issue(never, switch_led=True)])
    ok(home.c.request("PUT", home.path(f"/automations/{disabled}/actions/disable")))
    for step_no, (value, fired) in enumerate([(30, 1), (31, 1), (20, 1), (30, 2)]):
        report(frozen, sensor, va_temperature=value)
        eventually(lambda fired=fired: runs(home, fan) == fired, explain=lambda: engine_story(frozen, home.c, fan))
        settle(0.3)
        assert runs(home, fan) == fired, (step_no, value)
    settle()
    assert runs(home, fan) == 2
    assert runs(home, never) == 0
    # re-enabled, it fires on the next crossing only
    ok(home.c.request("PUT", home.path(f"/automations/{disabled}/actions/enable")))
    report(frozen, sensor, va_temperature=31)
    settle()
    assert runs(home, never) == 0
    report(frozen, sensor, va_temperature=10)
    report(frozen, sensor, va_temperature=26)
    eventually(lambda: runs(home, never) == 1)
    eventually(lambda: runs(home, fan) == 3)  # both fire on this crossing, in no promised order
    settle()
    assert (runs(home, never), runs(home, fan)) == (1, 3)


def test_match_all_against_match_any(frozen: CloudServer) -> None:
    home = Home(frozen, "allany@example.com", ("wsdcg", "dj", "cz", "dj"))
    sensor, light, plug, lamp = home.devices
    report(frozen, sensor, va_temperature=20)
    command(home, light, "switch_led", False)
    conditions = [device_condition(sensor, "va_temperature", ">", 25, 1),
                  device_condition(light, "switch_led", "==", True, 2)]
    add(home, name="Any", match_type=1, conditions=conditions, actions=[dp_issue(plug, switch_1=True)])
    add(home, name="All", match_type=2, conditions=conditions, actions=[dp_issue(lamp, bright_value_v2=700)])

    def expect(any_runs: int, all_runs: int) -> None:
        eventually(lambda: (runs(home, plug), runs(home, lamp)) == (any_runs, all_runs))
        settle(0.3)
        assert (runs(home, plug), runs(home, lamp)) == (any_runs, all_runs)

    report(frozen, sensor, va_temperature=30)  # any: the sensor condition became true; all: the light is off
    expect(1, 0)
    command(home, light, "switch_led", True)  # any: the light condition; all: now both hold
    expect(2, 1)
    report(frozen, sensor, va_temperature=31)  # both stay true: nothing
    expect(2, 1)
    report(frozen, sensor, va_temperature=20)
    report(frozen, sensor, va_temperature=30)  # with the light still on, both fire again
    expect(3, 2)


def test_a_precondition_window_in_a_non_utc_time_zone(frozen: CloudServer) -> None:
    home = Home(frozen, "window@example.com", ("wsdcg", "dj"))
    sensor, light = home.devices
    report(frozen, sensor, va_temperature=20)
    # 11:00-13:00 in Tokyo (UTC+9); the clock is Monday 12:00 UTC = 21:00 in Tokyo: outside
    add(home, conditions=[device_condition(sensor, "va_temperature", ">", 25)],
        preconditions=[{"cond_type": "timeCheck", "display": {"start": "11:00", "end": "13:00", "loops": "1111111",
                                                              "timezone_id": "Asia/Tokyo"}}],
        actions=[dp_issue(light, switch_led=True)])
    report(frozen, sensor, va_temperature=30)
    settle()
    assert runs(home, light) == 0
    report(frozen, sensor, va_temperature=20)
    step(frozen, 14 * HOUR + 30 * MINUTE)  # Tuesday 02:30 UTC = 11:30 in Tokyo: inside
    report(frozen, sensor, va_temperature=30)
    eventually(lambda: runs(home, light) == 1)


def test_a_schedule_fires_at_its_minute(frozen: CloudServer) -> None:
    home = Home(frozen, "schedule@example.com", ("dj", "dj"))
    daily, sundays = home.devices
    # 14:30 in Berlin is 13:30 UTC on 2 March 2026 (winter time); the clock is Monday 12:00 UTC
    every_day = add(home, name="Daily", conditions=[{"entity_type": 6, "entity_id": "timer", "display": {
        "time": "14:30", "loops": "1111111", "timezone_id": "Europe/Berlin"}}],
        actions=[dp_issue(daily, switch_led=True)])
    add(home, name="Sundays", conditions=[{"entity_type": 6, "display": {
        "time": "14:30", "loops": "1000000", "timezone_id": "Europe/Berlin"}}],
        actions=[dp_issue(sundays, switch_led=True)])
    step(frozen, 89 * MINUTE + 59_000)  # 13:29:59 UTC
    settle()
    assert runs(home, daily) == 0
    step(frozen, 1_000)  # 13:30:00 UTC
    eventually(lambda: runs(home, daily) == 1)
    step(frozen, 30_000)
    settle()
    assert runs(home, daily) == 1  # once per occurrence
    step(frozen, 24 * HOUR)  # Tuesday, past 14:30 in Berlin: the next occurrence
    eventually(lambda: runs(home, daily) == 2)
    settle()
    assert runs(home, sundays) == 0  # not a Sunday
    assert ok(home.c.get(home.path(f"/automations/{every_day}")))["conditions"][0]["display"]["time"] == "14:30"


def test_an_external_condition_fires_on_the_trigger_call(frozen: CloudServer) -> None:
    home = Home(frozen, "external@example.com", ("dj",))
    light = home.devices[0]
    external = add(home, conditions=[{"entity_type": 15, "entity_id": "doorbell"}],
                   actions=[dp_issue(light, bright_value_v2=600)])
    trigger = home.path(f"/automations/{external}/conditions/trigger")
    assert ok(home.c.post(trigger)) is True
    eventually(lambda: status(home.c, light)["bright_value_v2"] == 600)
    ok(home.c.request("PUT", home.path(f"/automations/{external}/actions/disable")))
    assert ok(home.c.post(trigger)) is False
    device_only = add(home, conditions=[device_condition(light, "switch_led", "==", True)],
                      actions=[dp_issue(light, bright_value_v2=100)])
    assert code(home.c.post(home.path(f"/automations/{device_only}/conditions/trigger"))) == 1109
    settle()
    assert runs(home, light) == 1


def test_the_loop_rule_bounds_automations_that_retrigger_themselves(frozen: CloudServer) -> None:
    home = Home(frozen, "loops@example.com", ("dj", "dj", "dj"))
    ping_pong, dimmer, bell = home.devices
    command(home, ping_pong, "switch_led", False)
    # A turns it off when it comes on, B turns it on when it goes off: each fires once, then the chain stops
    add(home, name="A", conditions=[device_condition(ping_pong, "switch_led", "==", True)],
        actions=[dp_issue(ping_pong, switch_led=False)])
    add(home, name="B", conditions=[device_condition(ping_pong, "switch_led", "==", False)],
        actions=[dp_issue(ping_pong, switch_led=True)])
    command(home, ping_pong, "switch_led", True)
    eventually(lambda: runs(home, ping_pong) == 2, explain=lambda: engine_story(frozen, home.c, ping_pong))
    settle()
    assert [e["value"] for e in cloud_commands(home.c, ping_pong)] == ["false", "true"]
    assert status(home.c, ping_pong)["switch_led"] is True
    held = [r for r in frozen.control("GET", "/rules/runs") if not r["fired"]]
    assert held and "already in the causation chain" in held[-1]["refused"], held
    # a direct self-loop: its second action makes its own condition true again
    command(home, dimmer, "bright_value_v2", 100)
    add(home, name="Self", conditions=[device_condition(dimmer, "bright_value_v2", ">", 500)],
        actions=[dp_issue(dimmer, bright_value_v2=100), dp_issue(dimmer, bright_value_v2=900)])
    command(home, dimmer, "bright_value_v2", 900)
    eventually(lambda: runs(home, dimmer) == 2)
    settle()
    assert runs(home, dimmer) == 2
    # and at most five runs of one automation per cloud second (the frozen clock does not refill the budget)
    external = add(home, conditions=[{"entity_type": 15}], actions=[dp_issue(bell, switch_led=True)])
    fired = [ok(home.c.post(home.path(f"/automations/{external}/conditions/trigger"))) for _ in range(8)]
    assert fired == [True] * 5 + [False] * 3
    step(frozen, 1_000)
    assert ok(home.c.post(home.path(f"/automations/{external}/conditions/trigger"))) is True


def test_validation_at_save_time_writes_nothing(cloud: CloudServer) -> None:
    home = Home(cloud, "validate-automations@example.com", ("wsdcg", "dj"))
    sensor, light = home.devices
    elsewhere = add_home_device(cloud, home.sh.project["access_id"], home.uid, create_home(home.c, home.uid), "dj")
    action = [dp_issue(light, switch_led=True)]
    hot = device_condition(sensor, "va_temperature", ">", 25)

    def refused(conditions: Any = None, actions: Any = None, **extra: Any) -> dict[str, Any]:
        body = {"name": "Bad", "conditions": [hot] if conditions is None else conditions,
                "actions": action if actions is None else actions, **extra}
        response = home.c.post(home.path("/automations"), body)
        assert response["success"] is False, (body, response)
        return response

    unknown_code = refused([device_condition(sensor, "no_such_dp", "==", 1)])
    assert unknown_code["code"] == 2008 and "no_such_dp" in unknown_code["detail"]
    assert refused([device_condition("vdevo00000000000000000", "switch_led", "==", True)])["code"] == 2010
    assert refused([device_condition(elsewhere["id"], "switch_led", "==", True)])["code"] == 2514
    numeric = refused([device_condition(light, "switch_led", ">", True)])
    assert numeric["code"] == 1109 and "Boolean" in numeric["detail"]
    assert refused([device_condition(light, "work_mode", "==", "disco")])["code"] == 2008
    assert refused([device_condition(sensor, "va_temperature", "!=", 25)])["code"] == 1109
    assert refused([device_condition(sensor, "va_temperature", ">", 99999)])["code"] == 2008
    schedule = {"entity_type": 6, "display": {"time": "07:30", "loops": "1111111", "timezone_id": "Europe/Berlin"}}
    for bad in ({"time": "25:00"}, {"loops": "11111"}, {"loops": "1111112"}, {"timezone_id": "Mars/Olympus"},
                {"loops": "0000000"}, {"loops": "0000000", "date": "20261341"}):
        response = refused([{**schedule, "display": {**schedule["display"], **bad}}])
        assert response["code"] == 1109, (bad, response)
    assert refused([{"entity_type": 3, "entity_id": "weather"}])["code"] == 1109
    assert refused([])["code"] == 1100
    assert refused(actions=[])["code"] == 2512
    assert refused(actions=[dp_issue(light, switch_led=42)])["code"] == 2008
    assert refused(match_type=3)["code"] == 1109
    window = {"start": "22:00", "end": "06:00", "loops": "1111111", "timezone_id": "Asia/Tokyo"}
    for bad in ({"start": "7"}, {"loops": "abc"}, {"timezone_id": "Nowhere"}):
        response = refused(preconditions=[{"cond_type": "timeCheck", "display": {**window, **bad}}])
        assert response["code"] == 1109, (bad, response)
    assert refused(preconditions=[{"cond_type": "weather", "display": window}])["code"] == 1109
    assert ok(home.c.get(home.path("/automations"))) == []
    # a good one, with every kind of condition; then a bad modification changes nothing
    good = add(home, name="Night heat", match_type=1, conditions=[hot, schedule, {"entity_type": 15}],
               preconditions=[{"cond_type": "timeCheck", "display": window}], actions=action)
    listed = ok(home.c.get(home.path("/automations")))
    assert [a["automation_id"] for a in listed] == [good]
    v11 = ok(home.c.get(f"/v1.1/homes/{home.home}/automations"))
    assert [{k: v for k, v in a.items() if k != "actions"} for a in v11] == \
        [{k: v for k, v in a.items() if k != "actions"} for a in listed]
    assert v11[0]["actions"] == [{**listed[0]["actions"][0], "extra_property": {}}]
    one = ok(home.c.get(home.path(f"/automations/{good}")))
    assert (one["name"], one["match_type"], one["enabled"]) == ("Night heat", 1, True)
    assert [c["entity_type"] for c in one["conditions"]] == [1, 6, 15]
    assert one["preconditions"][0]["display"] == window
    response = home.c.request("PUT", home.path(f"/automations/{good}"),
                              json={"name": "Broken", "conditions": [device_condition(light, "nope", "==", 1)],
                                    "actions": action})
    assert code(response) == 2008
    assert ok(home.c.get(home.path(f"/automations/{good}")))["name"] == "Night heat"
    ok(home.c.request("PUT", home.path(f"/automations/{good}"),
                      json={"name": "Renamed", "match_type": 2, "conditions": [hot], "actions": action}))
    assert ok(home.c.get(home.path(f"/automations/{good}")))["match_type"] == 2
    ok(home.c.request("DELETE", home.path(f"/automations/{good}")))
    assert code(home.c.get(home.path(f"/automations/{good}"))) == 2503
    assert ok(home.c.get(home.path("/automations"))) == []


@pytest.fixture
def simulated(tmp_path: Path) -> Iterator[CloudServer]:
    yield from own_server(tmp_path, simulator=True)


def test_a_virtual_devices_own_report_fires_an_automation(simulated: CloudServer) -> None:
    home = Home(simulated, "simulated@example.com", ("cz", "dj"))
    plug, light = home.devices
    command(home, light, "switch_led", False)
    command(home, plug, "switch_1", True)
    add(home, name="Plug went off", conditions=[device_condition(plug, "switch_1", "==", False)],
        actions=[dp_issue(light, switch_led=True)])
    command(home, plug, "countdown_1", 60)  # the plug switches itself off when its countdown ends
    settle()
    assert status(home.c, light)["switch_led"] is False
    step(simulated, 61_000)
    eventually(lambda: status(home.c, plug)["switch_1"] is False)
    eventually(lambda: status(home.c, light)["switch_led"] is True)
    assert runs(home, light) == 1


# --- the time rules, as pure functions -------------------------------------------------------------------------
def test_windows_that_cross_midnight_belong_to_the_day_they_start() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    # Monday 2026-03-02 12:00 UTC is 21:00 in Tokyo
    assert rule_time.in_window(MONDAY_NOON_UTC, "20:00", "02:00", "1111111", tokyo)
    assert not rule_time.in_window(MONDAY_NOON_UTC, "20:00", "02:00", "1011111", tokyo)  # not on Mondays
    # Tuesday 01:00 in Tokyo: still Monday's window
    tuesday_one = MONDAY_NOON_UTC + 4 * HOUR
    assert rule_time.in_window(tuesday_one, "20:00", "02:00", "0100000", tokyo)
    assert not rule_time.in_window(tuesday_one, "20:00", "02:00", "0010000", tokyo)
    assert rule_time.in_window(MONDAY_NOON_UTC, "21:00", "21:00", "1111111", tokyo)  # the end minute counts
    assert not rule_time.in_window(MONDAY_NOON_UTC, "09:00", "20:59", "1111111", tokyo)


def test_schedule_occurrences() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    at = rule_time.occurrence_in(MONDAY_NOON_UTC, MONDAY_NOON_UTC + 2 * HOUR, "14:30", "1111111", berlin)
    assert at == MONDAY_NOON_UTC + 90 * MINUTE
    assert rule_time.occurrence_in(MONDAY_NOON_UTC, MONDAY_NOON_UTC + 2 * HOUR, "14:30", "1011111", berlin) is None
    one_shot = rule_time.occurrence_in(MONDAY_NOON_UTC, MONDAY_NOON_UTC + 2 * 24 * HOUR, "08:00", "0000000", berlin,
                                       "20260304")
    assert one_shot == MONDAY_NOON_UTC + 2 * 24 * HOUR - 5 * HOUR
    # a jump of a week fires the latest occurrence only, within a day of the jump's end
    week = rule_time.occurrence_in(MONDAY_NOON_UTC, MONDAY_NOON_UTC + 7 * 24 * HOUR, "14:30", "1111111", berlin)
    assert week == MONDAY_NOON_UTC + 6 * 24 * HOUR + 90 * MINUTE


def test_two_servers_on_one_database_fire_once(frozen: CloudServer, tmp_path: Path) -> None:
    """Two processes on one database (PostgreSQL, or the SQLite file shared): a device condition is evaluated by the
    process that committed the change, a schedule occurrence is claimed by exactly one of them."""
    database_url = frozen.settings.database_url or f"sqlite:///{frozen.settings.data_dir / 'tuyacloud.db'}"
    twin = CloudServer(tmp_path / "twin", clock=Clock(frozen_at_ms=frozen.clock.now_ms()), create_demo=False,
                       simulator=False, timestamp_window_s=10**8, token_ttl_s=10**8,
                       database_url=database_url).start()
    try:
        home = Home(frozen, "twins@example.com", ("wsdcg", "dj", "dj"))
        sensor, by_condition, by_schedule = home.devices
        report(frozen, sensor, va_temperature=20)
        add(home, name="Hot", conditions=[device_condition(sensor, "va_temperature", ">", 25)],
            actions=[dp_issue(by_condition, switch_led=True)])
        add(home, name="At 12:05 UTC", conditions=[{"entity_type": 6, "display": {
            "time": "12:05", "loops": "1111111", "timezone_id": "UTC"}}],
            actions=[dp_issue(by_schedule, switch_led=True)])
        settle(1.5)  # the twin's engine notices the new automations (rules_version) within a second
        report(twin, sensor, va_temperature=30)  # committed, and so evaluated, by the twin
        eventually(lambda: runs(home, by_condition) == 1)
        for server in (frozen, twin):
            step(server, 5 * MINUTE)
        eventually(lambda: runs(home, by_schedule) == 1)
        settle()
        assert (runs(home, by_condition), runs(home, by_schedule)) == (1, 1)
    finally:
        twin.stop()
