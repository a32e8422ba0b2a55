"""Device timers over HTTP on a real server: both API families, validation, limits, isolation, and execution on
the cloud's (frozen, stepped) clock — exactly once at the minute, in the timer's time zone, as a real command."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from support.custom import code, ok
from support.pulsar import PulsarConsumer
from support.server import CloudServer
from support.signed import SignedClient
from support.smarthome import add_home_device, create_home, smart_home_project, sync_user, user_login
from tuyacloud.clock import Clock

MINUTE = 60_000
DAY = 86_400_000
SHANGHAI, NEW_YORK = "Asia/Shanghai", "America/New_York"
V1 = "/v1.0/devices/{}/timers"
V2 = "/v2.0/cloud/timer/device/{}"
QUIET_S = 0.7  # several scheduler polls (0.2 s): long enough to see a run that should not happen


def new_server(path: Path, **overrides: Any) -> CloudServer:
    # Signed requests carry the real time while the cloud's clock is moved by days: a wide timestamp window.
    return CloudServer(path, clock=Clock(), create_demo=False, simulator=False, timestamp_window_s=10**7,
                       token_ttl_s=10**7, **overrides).start()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    server = new_server(tmp_path_factory.mktemp("timers"))
    yield server
    server.stop()


@dataclass
class Lamp:
    cloud: CloudServer
    project: dict[str, Any]
    client: SignedClient
    id: str

    def status(self) -> dict[str, Any]:
        return {s["code"]: s["value"] for s in ok(self.client.get(f"/v1.0/devices/{self.id}"))["status"]}

    def cloud_commands(self) -> list[dict[str, Any]]:
        """The device's command log entries made by the cloud (event_from 4), oldest first."""
        query = {"event_types": "5", "start_time": 0, "end_time": 9_999_999_999_999, "size": 100}
        logs = ok(self.client.get(f"/v1.0/iot-03/devices/{self.id}/logs", query))["logs"]
        return sorted((e for e in logs if e["event_from"] == "4"), key=lambda e: e["event_time"])

    def command(self, code_: str, value: Any) -> None:
        ok(self.client.post(f"/v1.0/devices/{self.id}/commands", {"commands": [{"code": code_, "value": value}]}))


def new_lamp(cloud: CloudServer, name: str = "Timers") -> Lamp:
    project = cloud.create_project(name=name)
    c = SignedClient(cloud.url, project["access_id"], project["access_secret"])
    assert c.connect()["success"]
    device = cloud.add_devices(project["access_id"], "dj")[0]
    return Lamp(cloud, project, c, device["id"])


def local_ms(day: date, hhmm: str, zone: str) -> int:
    hour, minute = map(int, hhmm.split(":"))
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def a_day_ahead(days: int, weekday: int | None = None) -> date:
    """A day near the real today (signatures carry real times), optionally the next given weekday (Mon 0)."""
    day = date.today() + timedelta(days=days)
    while weekday is not None and day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def put(c: SignedClient, path: str, json: Any) -> dict[str, Any]:
    return c.request("PUT", path, json=json)


def delete(c: SignedClient, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return c.request("DELETE", path, params)


def freeze(cloud: CloudServer, at_ms: int) -> None:
    cloud.control("POST", "/clock", {"freeze": True, "at_ms": at_ms})


def step(cloud: CloudServer, ms: int) -> None:
    cloud.control("POST", "/clock", {"step_ms": ms})


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the timer did not run in time"
        time.sleep(0.05)


def runs_after_quiet(lamp: Lamp) -> int:
    time.sleep(QUIET_S)
    return len(lamp.cloud_commands())


def v2_timer(lamp: Lamp, **fields: Any) -> str:
    body = {"alias_name": "test", "time": "07:30", "timezone_id": SHANGHAI,
            "functions": [{"code": "bright_value_v2", "value": 345}], **fields}
    return str(ok(lamp.client.post(V2.format(lamp.id), body))["timer_id"])


def v1_body(times: list[str], loops: str = "1111111", category: str = "timer", date_: str = "",
            zone: str = SHANGHAI) -> dict[str, Any]:
    return {"category": category, "loops": loops, "time_zone": "+08:00", "timezone_id": zone, "alias_name": "group",
            "instruct": [{"time": t, "date": date_, "functions": [{"code": "switch_led", "value": False}]}
                         for t in times]}


def v2_list(lamp: Lamp, **params: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = ok(lamp.client.get(V2.format(lamp.id), params))
    return result


def count_timers(lamp: Lamp) -> int:
    return len(v2_list(lamp))


# --- execution ------------------------------------------------------------------------------------------------------
def test_a_one_shot_timer_fires_exactly_once_at_its_minute_in_shanghai(cloud: CloudServer) -> None:
    lamp = new_lamp(cloud)
    day = a_day_ahead(3)
    at = local_ms(day, "07:30", SHANGHAI)  # 23:30 UTC the day before
    freeze(cloud, at - 2 * MINUTE)
    timer_id = v2_timer(lamp, date=day.strftime("%Y%m%d"))
    assert lamp.status()["bright_value_v2"] != 345
    consumer = PulsarConsumer(cloud.port, lamp.project["access_id"], lamp.project["access_secret"],
                              auto_ack=True).connect()
    try:
        step(cloud, MINUTE)  # a minute before
        assert runs_after_quiet(lamp) == 0
        step(cloud, MINUTE - 1)  # a millisecond before
        assert runs_after_quiet(lamp) == 0 and lamp.status()["bright_value_v2"] != 345
        step(cloud, 1)  # the minute
        wait_for(lambda: lamp.status()["bright_value_v2"] == 345)
        runs = lamp.cloud_commands()
        assert [(r["code"], r["value"], r["event_time"]) for r in runs] == [("bright_value_v2", "345", at)]
        message = consumer.get_many(1, accept=lambda m: m.device_id == lamp.id and m.protocol == 4)[0]
        assert message.status_value("bright_value_v2") == 345
        # not again: neither later that minute, nor the next day or week
        lamp.command("bright_value_v2", 100)
        for ms in (30_000, DAY, 7 * DAY):
            step(cloud, ms)
            assert runs_after_quiet(lamp) == 1
        assert lamp.status()["bright_value_v2"] == 100
        # a one-shot switches itself off after its run, and keeps its day
        listed = v2_list(lamp)
        assert [(t["timer_id"], t["enable"], t["date"]) for t in listed] == [(timer_id, False, day.strftime("%Y%m%d"))]
    finally:
        consumer.close()


def test_a_repeating_timer_fires_on_its_weekdays_only(cloud: CloudServer) -> None:
    lamp = new_lamp(cloud)
    sunday = a_day_ahead(2, weekday=6)
    freeze(cloud, local_ms(sunday, "00:00", NEW_YORK))
    ok(lamp.client.post(V1.format(lamp.id), v1_body(["8:15"], loops="0101010", zone=NEW_YORK)))  # Mon, Wed, Fri
    expected = 0
    for offset in range(8):  # Sunday to the next Sunday
        day = sunday + timedelta(days=offset)
        at = local_ms(day, "08:15", NEW_YORK)
        freeze(cloud, at - MINUTE)
        assert runs_after_quiet(lamp) == expected, day
        freeze(cloud, at)
        if day.weekday() in (0, 2, 4):
            expected += 1
            wait_for(lambda expected=expected: len(lamp.cloud_commands()) == expected)
            assert lamp.cloud_commands()[-1]["event_time"] == at
        assert runs_after_quiet(lamp) == expected, day
    assert expected == 3


def test_a_disabled_timer_never_fires_and_an_enabled_one_does(cloud: CloudServer) -> None:
    lamp = new_lamp(cloud)
    day = a_day_ahead(4)
    freeze(cloud, local_ms(day, "06:00", SHANGHAI))
    timer_id = v2_timer(lamp, time="07:00", loops="1111111")
    group_id = ok(lamp.client.post(V1.format(lamp.id), v1_body(["07:05"])))["group_id"]
    assert ok(put(lamp.client, V2.format(lamp.id) + "/state", {"timer_id": timer_id, "enable": False})) is True
    status_path = V1.format(lamp.id) + f"/categories/timer/groups/{group_id}/status"
    assert ok(put(lamp.client, status_path, {"value": "0"})) is True
    for hhmm in ("07:00", "07:05", "07:10"):
        freeze(cloud, local_ms(day, hhmm, SHANGHAI))
        assert runs_after_quiet(lamp) == 0
    listed = ok(lamp.client.get(V1.format(lamp.id)))
    assert [t["status"] for c in listed for g in c["groups"] for t in g["timers"]] == [0, 0]
    # switched back on, each runs at its next minute
    assert ok(put(lamp.client, V2.format(lamp.id) + "/state", {"timer_id": timer_id, "enable": True})) is True
    assert ok(put(lamp.client, status_path, {"value": 1})) is True
    freeze(cloud, local_ms(day + timedelta(days=1), "07:00", SHANGHAI))
    wait_for(lambda: len(lamp.cloud_commands()) == 1)
    freeze(cloud, local_ms(day + timedelta(days=1), "07:05", SHANGHAI))
    wait_for(lambda: len(lamp.cloud_commands()) == 2)
    assert [r["code"] for r in lamp.cloud_commands()] == ["bright_value_v2", "switch_led"]


def test_an_offline_device_fails_the_run_and_the_timer_moves_on(cloud: CloudServer) -> None:
    lamp = new_lamp(cloud)
    day = a_day_ahead(5)
    freeze(cloud, local_ms(day, "07:00", SHANGHAI))
    v2_timer(lamp, loops="1111111")
    cloud.control("POST", f"/devices/{lamp.id}/online", {"online": False})
    freeze(cloud, local_ms(day, "07:30", SHANGHAI))
    assert runs_after_quiet(lamp) == 0
    cloud.control("POST", f"/devices/{lamp.id}/online", {"online": True})
    assert runs_after_quiet(lamp) == 0  # the failed run is not retried
    # the control API shows what the scheduler did and will do
    [seen] = cloud.control("GET", f"/devices/{lamp.id}/timers")
    assert seen["last_result"] == "failed: device is offline"
    assert seen["last_run_ms"] == local_ms(day, "07:30", SHANGHAI)
    assert seen["next_run_ms"] == local_ms(day + timedelta(days=1), "07:30", SHANGHAI) and seen["enabled"]
    freeze(cloud, local_ms(day + timedelta(days=1), "07:30", SHANGHAI))
    wait_for(lambda: len(lamp.cloud_commands()) == 1)
    wait_for(lambda: cloud.control("GET", f"/devices/{lamp.id}/timers")[0]["last_result"] == "ok")


def test_missed_runs_fire_once_within_the_grace_and_are_skipped_beyond_it(cloud: CloudServer) -> None:
    lamp = new_lamp(cloud)
    day = a_day_ahead(6)
    at = local_ms(day, "07:30", SHANGHAI)
    freeze(cloud, at - MINUTE)
    v2_timer(lamp, loops="1111111")
    # the clock jumps three days and two hours past a due run: far beyond the grace, nothing fires
    step(cloud, MINUTE + 3 * DAY + 2 * 3600_000)
    assert runs_after_quiet(lamp) == 0
    # the timer moved to its next occurrence after now (day + 4), which still fires, once
    freeze(cloud, local_ms(day + timedelta(days=4), "07:30", SHANGHAI) - 1)
    assert runs_after_quiet(lamp) == 0
    step(cloud, 1)
    wait_for(lambda: len(lamp.cloud_commands()) == 1)
    # a run found three minutes late (within the five-minute grace) fires once, not once per missed day
    freeze(cloud, local_ms(day + timedelta(days=5), "07:33", SHANGHAI))
    wait_for(lambda: len(lamp.cloud_commands()) == 2)
    assert lamp.cloud_commands()[-1]["event_time"] == local_ms(day + timedelta(days=5), "07:33", SHANGHAI)
    assert runs_after_quiet(lamp) == 2
    step(cloud, 10 * MINUTE)
    assert runs_after_quiet(lamp) == 2


def test_a_run_happens_once_across_two_processes_on_one_database(cloud: CloudServer, tmp_path: Path) -> None:
    first = new_server(tmp_path / "one")
    second = new_server(tmp_path / "one", database_url=first.settings.database_url)
    try:
        lamp = new_lamp(first)
        day = a_day_ahead(3)
        at = local_ms(day, "07:30", SHANGHAI)
        for server in (first, second):
            freeze(server, at - MINUTE)
        v2_timer(lamp, loops="1111111")
        for offset in range(3):  # three daily runs, each claimed by exactly one of the two schedulers
            for server in (first, second):
                freeze(server, at + offset * DAY)
            wait_for(lambda offset=offset: len(lamp.cloud_commands()) == offset + 1)
            assert runs_after_quiet(lamp) == offset + 1
    finally:
        second.stop()
        first.stop()


# --- validation and limits ------------------------------------------------------------------------------------------
def test_the_31st_timer_is_refused_and_nothing_is_written(cloud: CloudServer) -> None:
    lamp = new_lamp(cloud)
    freeze(cloud, local_ms(a_day_ahead(2), "06:00", SHANGHAI))
    ok(lamp.client.post(V1.format(lamp.id), v1_body([f"10:{m:02d}" for m in range(10)])))
    group = ok(lamp.client.post(V1.format(lamp.id), v1_body([f"11:{m:02d}" for m in range(19)], category="b")))
    v2_timer(lamp, loops="1111111")
    assert count_timers(lamp) == 30
    refused = lamp.client.post(V2.format(lamp.id), {"alias_name": "x", "time": "12:00", "timezone_id": SHANGHAI,
                                                    "loops": "1111111",
                                                    "functions": [{"code": "switch_led", "value": True}]})
    assert code(refused) == 2204 and "30" in refused["msg"] + refused.get("detail", ""), refused
    assert code(lamp.client.post(V1.format(lamp.id), v1_body(["12:00"]))) == 2204
    # a group modified to more timers than the room left: refused, the group as it was
    grown = put(lamp.client, V1.format(lamp.id) + f"/groups/{group['group_id']}",
                            v1_body([f"11:{m:02d}" for m in range(20)], category="b"))
    assert code(grown) == 2204
    assert count_timers(lamp) == 30
    assert len(ok(lamp.client.get(V1.format(lamp.id) + "/categories/b"))[0]["groups"][0]["timers"]) == 19


@pytest.mark.parametrize(("change", "expected", "names"), [
    ({"date": "PAST"}, 2209, ""),
    ({"date": "20261340"}, 2202, "date"),
    ({"date": "2026-12-01"}, 2202, "date"),
    ({"time": "25:00"}, 1109, "time"),
    ({"loops": "11111"}, 1109, "loops"),
    ({"timezone_id": "Mars/Olympus"}, 1109, "timezone_id"),
    ({"functions": [{"code": "bright_value_v2", "value": 5000}]}, 2008, "bright_value_v2"),
    ({"functions": [{"code": "switch_led", "value": "on"}]}, 2008, "switch_led"),
    ({"functions": [{"code": "no_such_code", "value": 1}]}, 2008, "no_such_code"),
    ({"functions": []}, 1100, "functions"),
])
def test_bad_timers_are_refused_with_a_clear_error(cloud: CloudServer, change: dict[str, Any], expected: int,
                                                   names: str) -> None:
    lamp = new_lamp(cloud)
    day = a_day_ahead(2)
    freeze(cloud, local_ms(day, "08:00", SHANGHAI))
    if change.get("date") == "PAST":
        change = {"date": day.strftime("%Y%m%d")}  # 07:30 that day is half an hour ago
    body = {"alias_name": "bad", "time": "07:30", "timezone_id": SHANGHAI,
            "functions": [{"code": "switch_led", "value": True}], **change}
    refused = lamp.client.post(V2.format(lamp.id), body)
    assert code(refused) == expected and names in f"{refused['msg']} {refused.get('detail', '')}", refused
    group = v1_body(["07:30"], loops=change.get("loops", "0000000"), date_=str(change.get("date", "")),
                    zone=str(change.get("timezone_id", SHANGHAI)))
    group["instruct"][0].update({k: v for k, v in change.items() if k in ("time", "functions")})
    refused = lamp.client.post(V1.format(lamp.id), group)
    assert code(refused) == expected and names in f"{refused['msg']} {refused.get('detail', '')}", refused
    assert count_timers(lamp) == 0


def test_two_timers_of_a_group_at_one_minute_overlap(cloud: CloudServer) -> None:
    lamp = new_lamp(cloud)
    freeze(cloud, local_ms(a_day_ahead(2), "06:00", SHANGHAI))
    refused = lamp.client.post(V1.format(lamp.id), v1_body(["07:30", "7:30"]))
    assert code(refused) == 2201, refused
    assert count_timers(lamp) == 0


# --- the two API families -------------------------------------------------------------------------------------------
def test_v1_timer_groups_add_list_modify_switch_and_delete(cloud: CloudServer) -> None:
    lamp = new_lamp(cloud)
    day = a_day_ahead(2)
    freeze(cloud, local_ms(day, "06:00", SHANGHAI))
    base = V1.format(lamp.id)
    once = ok(lamp.client.post(base, v1_body(["7:05", "21:30"], loops="0000000", date_=day.strftime("%Y%m%d"))))
    daily = ok(lamp.client.post(base, v1_body(["06:30"], loops="1111111", category="wake")))
    listed = ok(lamp.client.get(base))
    assert [c["category"] for c in listed] == ["timer", "wake"]
    group = listed[0]["groups"][0]
    assert group["id"] == once["group_id"]
    first = group["timers"][0]
    assert isinstance(first["timer_id"], int)
    assert {k: first[k] for k in ("alias_name", "date", "time", "loops", "timezone_id", "status", "group_order",
                                  "is_app_push")} == {
        "alias_name": "group", "date": day.strftime("%Y%m%d"), "time": "07:05", "loops": "0000000",
        "timezone_id": SHANGHAI, "status": 1, "group_order": 0, "is_app_push": False}
    assert first["functions"] == [{"code": "switch_led", "value": False}]
    assert [t["time"] for t in group["timers"]] == ["07:05", "21:30"]
    wake = ok(lamp.client.get(base + "/categories/wake"))
    assert [(c["category"], [g["id"] for g in c["groups"]]) for c in wake] == [("wake", [daily["group_id"]])]
    assert ok(lamp.client.get(base + "/categories/none")) == []
    # modify: the group keeps its id, its timers are the new ones
    assert ok(put(lamp.client, base + f"/groups/{daily['group_id']}",
                              v1_body(["06:45", "06:50"], loops="0111110", category="wake"))) is True
    wake = ok(lamp.client.get(base + "/categories/wake"))[0]["groups"]
    assert [(g["id"], [(t["time"], t["loops"]) for t in g["timers"]]) for g in wake] == [
        (daily["group_id"], [("06:45", "0111110"), ("06:50", "0111110")])]
    assert code(put(lamp.client, base + "/groups/nosuchgroup", v1_body(["06:45"]))) == 1000
    # switch a group off and on, then delete it, a category, everything
    status = base + f"/categories/wake/groups/{daily['group_id']}/status"
    assert ok(put(lamp.client, status, {"value": "0"})) is True
    assert {t["status"] for t in ok(lamp.client.get(base + "/categories/wake"))[0]["groups"][0]["timers"]} == {0}
    assert code(put(lamp.client, status, {"value": "7"})) == 1109
    assert code(put(lamp.client, base + "/categories/timer/groups/nosuchgroup/status", {"value": "1"})) == 1000
    assert ok(delete(lamp.client, base + f"/categories/wake/groups/{daily['group_id']}")) is True
    assert code(delete(lamp.client, base + f"/categories/wake/groups/{daily['group_id']}")) == 1000
    assert [c["category"] for c in ok(lamp.client.get(base))] == ["timer"]
    ok(lamp.client.post(base, v1_body(["06:30"], category="other")))
    assert ok(delete(lamp.client, base + "/categories/timer")) is True
    assert [c["category"] for c in ok(lamp.client.get(base))] == ["other"]
    assert ok(delete(lamp.client, base)) is True
    assert ok(lamp.client.get(base)) == []
    assert ok(delete(lamp.client, base)) is True  # nothing left to delete is fine


def test_v2_timers_add_query_modify_switch_and_delete(cloud: CloudServer) -> None:
    lamp = new_lamp(cloud)
    day = a_day_ahead(2)
    freeze(cloud, local_ms(day, "06:00", SHANGHAI))
    base = V2.format(lamp.id)
    one = v2_timer(lamp, date=day.strftime("%Y%m%d"), category="sd")
    two = v2_timer(lamp, time="8:5", loops="0000001", alias_name="saturdays")
    three = v2_timer(lamp, time="22:00")  # a one-shot without a date: the next 22:00, today
    listed = v2_list(lamp)
    assert [t["timer_id"] for t in listed] == [one, two, three]
    assert listed[1] == {"timer_id": two, "alias_name": "saturdays", "time": "08:05", "timezone_id": SHANGHAI,
                         "date": "00000000", "loops": "0000001", "enable": True,
                         "functions": [{"code": "bright_value_v2", "value": 345}], "category": ""}
    assert (listed[0]["date"], listed[0]["category"], listed[2]["date"]) == (day.strftime("%Y%m%d"), "sd",
                                                                            day.strftime("%Y%m%d"))
    assert [t["timer_id"] for t in v2_list(lamp, timer_ids=f"{three},{one}")] == [one, three]
    assert [t["timer_id"] for t in v2_list(lamp, category="sd")] == [one]
    # the v1.0 list shows them too, each a group of its own
    groups = [g for c in ok(lamp.client.get(V1.format(lamp.id))) for g in c["groups"]]
    assert sorted(str(t["timer_id"]) for g in groups for t in g["timers"]) == sorted([one, two, three])
    # modify keeps the id; the listed date of a repeating timer can be sent back as it is
    assert ok(put(lamp.client, base, {**listed[1], "time": "09:00", "functions": [{"code": "switch_led",
                                                                                   "value": True}]})) is True
    changed = v2_list(lamp, timer_ids=two)[0]
    assert (changed["time"], changed["functions"], changed["alias_name"]) == (
        "09:00", [{"code": "switch_led", "value": True}], "saturdays")
    assert code(put(lamp.client, base, {**listed[1], "timer_id": "123"})) == 1000
    assert code(put(lamp.client, base, {"time": "09:00", "timezone_id": SHANGHAI, "functions": []})) == 1100
    # state
    assert ok(put(lamp.client, base + "/state", {"timer_id": two, "enable": False})) is True
    assert v2_list(lamp, timer_ids=two)[0]["enable"] is False
    assert code(put(lamp.client, base + "/state", {"timer_id": two, "enable": "no"})) == 1109
    # batch delete: all named or none
    assert code(delete(lamp.client, base + "/batch", {"timer_ids": f"{one},999"})) == 1000
    assert len(v2_list(lamp)) == 3
    assert ok(delete(lamp.client, base + "/batch", {"timer_ids": f"{one},{two}"})) is True
    assert [t["timer_id"] for t in v2_list(lamp)] == [three]
    assert code(delete(lamp.client, base + "/batch")) == 1100
    assert ok(delete(lamp.client, base)) is True
    assert v2_list(lamp) == []


# --- isolation ------------------------------------------------------------------------------------------------------
def test_users_and_projects_reach_only_their_own_devices_timers(cloud: CloudServer) -> None:
    freeze(cloud, local_ms(a_day_ahead(2), "06:00", SHANGHAI))
    sh = smart_home_project(cloud, name="Timer homes")
    c, access_id = sh.client, sh.project["access_id"]
    alice_uid, bob_uid = sync_user(c, sh.schema, "alice@x.test"), sync_user(c, sh.schema, "bob@x.test")
    alice_home, bob_home = create_home(c, alice_uid), create_home(c, bob_uid)
    alice_lamp = add_home_device(cloud, access_id, alice_uid, alice_home)["id"]
    bob_lamp = add_home_device(cloud, access_id, bob_uid, bob_home)["id"]
    alice = user_login(c, sh.schema, "alice@x.test")
    body = {"alias_name": "a", "time": "07:30", "timezone_id": SHANGHAI, "loops": "1111111",
            "functions": [{"code": "switch_led", "value": True}]}
    mine = ok(alice.post(V2.format(alice_lamp), body))["timer_id"]
    group = ok(alice.post(V1.format(alice_lamp), v1_body(["08:00"])))["group_id"]
    bobs = ok(c.post(V2.format(bob_lamp), body))["timer_id"]  # the project may manage every linked device
    bob_group = ok(c.post(V1.format(bob_lamp), v1_body(["08:00"])))["group_id"]
    assert len(ok(alice.get(V2.format(alice_lamp)))) == 2
    assert ok(alice.get(V2.format(alice_lamp)))[0]["timer_id"] == mine
    attempts = [
        ("GET", V2.format(bob_lamp), None, None), ("POST", V2.format(bob_lamp), None, body),
        ("PUT", V2.format(bob_lamp), None, {**body, "timer_id": bobs}),
        ("PUT", V2.format(bob_lamp) + "/state", None, {"timer_id": bobs, "enable": False}),
        ("DELETE", V2.format(bob_lamp) + "/batch", {"timer_ids": bobs}, None),
        ("DELETE", V2.format(bob_lamp), None, None),
        ("GET", V1.format(bob_lamp), None, None), ("POST", V1.format(bob_lamp), None, v1_body(["09:00"])),
        ("GET", V1.format(bob_lamp) + "/categories/timer", None, None),
        ("PUT", V1.format(bob_lamp) + f"/groups/{bob_group}", None, v1_body(["09:00"])),
        ("PUT", V1.format(bob_lamp) + f"/categories/timer/groups/{bob_group}/status", None, {"value": "0"}),
        ("DELETE", V1.format(bob_lamp) + f"/categories/timer/groups/{bob_group}", None, None),
        ("DELETE", V1.format(bob_lamp) + "/categories/timer", None, None), ("DELETE", V1.format(bob_lamp), None, None),
    ]
    other = new_lamp(cloud, "Another project")
    for method, path, params, json in attempts:
        for intruder in (alice, other.client):
            response = intruder.request(method, path, params, json=json) if json is not None else \
                intruder.request(method, path, params)
            assert code(response) == 1106, (method, path, response)
    # and the other project cannot reach Alice's timers either
    assert code(other.client.get(V2.format(alice_lamp))) == 1106
    assert code(put(other.client, V1.format(alice_lamp) + f"/categories/timer/groups/{group}/status",
                                 {"value": "2"})) == 1106
    # Bob's timers are all still there, untouched
    left = ok(c.get(V2.format(bob_lamp)))
    assert len(left) == 2 and bobs in [t["timer_id"] for t in left] and all(t["enable"] for t in left), left
