"""Virtual IR blasters (category qt) and their remotes, through the clients that call them.

tuya-iot-py-sdk 0.6.6 in SMART_HOME mode finds the blasters among the app user's devices and walks
``query_infrared_devices`` (remotes, then each remote's keys) and ``trigger_infrared_commands``; tinytuya 1.20's
``Cloud.cloudrequest`` calls the v2.0 IR control hub paths (adding a remote, the air-conditioner APIs). Each key
press is in the blaster's device log and its message, the remote keeps its state, and bad input is refused with
the platform's code and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import tinytuya
from tuya_iot import AuthType, TuyaDeviceManager, TuyaHomeManager, TuyaOpenAPI, TuyaOpenMQ

from support.custom import ok
from support.smarthome import create_home, md5, new_schema
from support.tinytuya_tls import TlsCloudServer, route_tuya_hosts, start_tls, tinytuya_cloud
from tuyacloud.tlscert import TlsFiles, ensure_certificates

TV, AC, FAN = 2, 5, 8


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return ensure_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[TlsCloudServer]:
    s = start_tls(tmp_path_factory.mktemp("ir-cloud"), tls, create_demo=False, simulator=False)
    yield s
    s.stop()


class World:
    """A smart-home project with an app user whose home has an IR blaster (TV and fan remotes) and a light."""

    def __init__(self, server: TlsCloudServer) -> None:
        self.server = server
        self.project = server.create_project(name="IR", method="smart_home")
        self.access_id = self.project["access_id"]
        self.schema = new_schema("ir")
        server.control("POST", "/apps", {"schema": self.schema, "name": "IR app", "region": "us"})
        server.control("POST", f"/apps/{self.schema}/links", {"access_id": self.access_id})
        self.cloud = tinytuya_cloud(self.project)
        body = {"country_code": "1", "username": "ir@example.com", "password": md5("secret"), "username_type": 2}
        self.uid = str(ok(self.cloud.cloudrequest(f"/v1.0/apps/{self.schema}/user", post=body))["uid"])
        self.home = create_home(_Signed(self.cloud), self.uid)
        self.blaster = self.add_device("qt")
        self.light = self.add_device("dj")
        self.tv = server.control("POST", f"/infrareds/{self.blaster}/remotes",
                                 {"category_id": TV, "brand_name": "Sony", "remote_name": "Living room TV"})
        self.fan = server.control("POST", f"/infrareds/{self.blaster}/remotes", {"category_id": FAN})

    def add_device(self, category: str) -> str:
        return str(self.server.control("POST", f"/projects/{self.access_id}/devices",
                                       {"category": category, "user": self.uid, "home_id": self.home})[0]["id"])

    def remotes(self) -> dict[str, dict[str, Any]]:
        return {r["remote_id"]: r for r in self.server.control("GET", f"/infrareds/{self.blaster}/remotes")}

    def messages(self) -> list[dict[str, Any]]:
        return list(self.server.control("GET", f"/projects/{self.access_id}/messages?limit=1000"))

    def logs(self) -> list[dict[str, Any]]:
        now = self.server.clock.now_ms()
        answer = ok(self.cloud.cloudrequest(f"/v1.0/devices/{self.blaster}/logs",
                                            query={"type": "5,7", "start_time": now - 3_600_000,
                                                   "end_time": now + 60_000, "size": 100}))
        return list(answer["logs"])


class _Signed:
    """``create_home`` takes a client with ``post``: tinytuya's cloudrequest is that client here."""

    def __init__(self, cloud: tinytuya.Cloud) -> None:
        self.cloud = cloud

    def post(self, path: str, body: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.cloud.cloudrequest(path, action="POST", post=body)
        return result


@pytest.fixture(scope="module")
def world(server: TlsCloudServer, tls: TlsFiles) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as mp:
        route_tuya_hosts(mp, tls, server.port)
        yield World(server)


@pytest.fixture
def routed(world: World, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> World:
    route_tuya_hosts(monkeypatch, tls, world.server.port)
    return world


def _ir_sends(world: World, after: int = 0) -> list[dict[str, Any]]:
    """The blaster's status messages (protocol 4) carrying ``ir_send``, decoded."""
    found = []
    for m in world.messages():
        if m["seq"] <= after or m["device_id"] != world.blaster or m["protocol"] != 4:
            continue
        for item in m["data"]["status"]:
            if item["code"] == "ir_send":
                found.append(json.loads(item["value"]))
    return found


def _last_seq(world: World) -> int:
    return max((m["seq"] for m in world.messages()), default=0)


def _raw(world: World, path: str, body: Any = None, action: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = world.cloud.cloudrequest(path, action=action, post=body)
    return result


# --- tuya-iot-py-sdk -----------------------------------------------------------------------------------------------
def test_iot_py_finds_the_remotes_and_their_keys_and_presses_a_key(routed: World) -> None:
    w = routed
    ac = w.server.control("POST", f"/infrareds/{w.blaster}/remotes", {"category_id": AC})
    api = TuyaOpenAPI(w.server.url, w.access_id, w.project["access_secret"], AuthType.SMART_HOME)
    assert ok(api.connect("ir@example.com", "secret", "1", w.schema))
    mq = TuyaOpenMQ(api)  # not started: query_infrared_devices needs only the device cache
    manager = TuyaDeviceManager(api, mq)
    home = TuyaHomeManager(api, mq, manager)
    home.update_device_cache()
    assert manager.device_map[w.blaster].category == "qt"
    found = home.query_infrared_devices()
    assert [r.remote_id for r in found] == [w.blaster]  # the blaster, not the light
    by_id = {d.remote_id: d for d in found[0].remote_devices}
    # the SDK leaves air conditioners out ("not implemented yet"): it compares category_id with the string "5"
    assert set(by_id) == {w.tv["remote_id"], w.fan["remote_id"]} and ac["remote_id"] not in by_id
    tv = by_id[w.tv["remote_id"]]
    assert (tv.remote_name, tv.category_id, tv.brand_id, tv.remote_index) == ("Living room TV", "2", "0", "0")
    keys = {k.key: k for k in tv.keys}
    assert {"Power", "OK", "Volume+", "Channel-", "0", "9"} <= set(keys)
    assert keys["Power"].standard_key is True and isinstance(keys["Power"].key_id, int)
    assert {k.key for k in by_id[w.fan["remote_id"]].keys} >= {"PowerOn", "PowerOff", "Swing", "Speed"}

    before_seq, before_logs = _last_seq(w), len(w.logs())
    home.trigger_infrared_commands(w.blaster, w.tv["remote_id"], "Power")
    assert w.remotes()[w.tv["remote_id"]]["state"]["power"] == 1  # Power toggles the TV on
    sent = _ir_sends(w, before_seq)
    assert len(sent) == 1
    assert sent[0]["control"] == "send_ir" and sent[0]["key"] == "Power" and sent[0]["remote_id"] == w.tv["remote_id"]
    logs = w.logs()
    assert len(logs) == before_logs + 2  # the command the cloud sent the blaster, and the blaster's report
    assert {(entry["event_id"], entry["code"]) for entry in logs[:2]} == {(5, "ir_send"), (7, "ir_send")}
    home.trigger_infrared_commands(w.blaster, w.tv["remote_id"], "Power")
    assert w.remotes()[w.tv["remote_id"]]["state"]["power"] == 0


# --- tinytuya: the v1.0 and v2.0 paths ---------------------------------------------------------------------------
def test_remote_lists_and_keys_in_both_families(routed: World) -> None:
    w = routed
    v1 = ok(_raw(w, f"/v1.0/infrareds/{w.blaster}/remotes"))
    v2 = ok(_raw(w, f"/v2.0/infrareds/{w.blaster}/remotes"))
    tv1 = next(r for r in v1 if r["remote_id"] == w.tv["remote_id"])
    tv2 = next(r for r in v2 if r["remote_id"] == w.tv["remote_id"])
    assert tv1["category_id"] == "2" and tv2["category_id"] == 2  # v1.0 strings, v2.0 integers
    assert tv1["brand_name"] == tv2["brand_name"] == "Sony"
    keys = ok(_raw(w, f"/v2.0/infrareds/{w.blaster}/remotes/{w.tv['remote_id']}/keys"))
    assert keys["category_id"] == 2 and keys["duplicate_power"] is True and "key_range" not in keys
    categories = ok(_raw(w, f"/v2.0/infrareds/{w.blaster}/categories"))
    assert {"category_id": 5, "category_name": "Air conditioner"} in categories


def test_air_conditioner_remembers_what_the_commands_set(routed: World) -> None:
    w = routed
    remote_id = ok(_raw(w, f"/v2.0/infrareds/{w.blaster}/remotes",
                        {"category_id": AC, "brand_id": 97, "brand_name": "Gree", "remote_index": 3327,
                         "remote_name": "Bedroom AC"}))
    assert isinstance(remote_id, str) and remote_id in w.remotes()
    status_path = f"/v2.0/infrareds/{w.blaster}/remotes/{remote_id}/ac/status"
    assert ok(_raw(w, status_path)) == {"remote_id": remote_id, "power": "0", "mode": "0", "temp": "26", "wind": "0"}
    keys = ok(_raw(w, f"/v2.0/infrareds/{w.blaster}/remotes/{remote_id}/keys"))
    assert {k["key"] for k in keys["key_list"]} == {"PowerOn", "PowerOff", "M", "T", "F"}
    assert [m["mode"] for m in keys["key_range"]] == [0, 1, 2, 3, 4]
    assert [t["temp"] for t in keys["key_range"][0]["temp_list"]] == list(range(16, 31))

    seq = _last_seq(w)
    scene = f"/v2.0/infrareds/{w.blaster}/air-conditioners/{remote_id}/scenes/command"
    assert ok(_raw(w, scene, {"power": 1, "mode": 1, "temp": 22, "wind": 2})) is True
    assert ok(_raw(w, status_path)) == {"remote_id": remote_id, "power": "1", "mode": "1", "temp": "22", "wind": "2"}
    single = f"/v2.0/infrareds/{w.blaster}/air-conditioners/{remote_id}/command"
    assert ok(_raw(w, single, {"code": "temp", "value": 27})) is True
    assert ok(_raw(w, single, {"code": "wind", "value": 3})) is True
    # the standard key command (v1.0 as iot-py sends it, v2.0 with category_id) on the same remote
    assert ok(_raw(w, f"/v1.0/infrareds/{w.blaster}/remotes/{remote_id}/command", {"key": "M4"})) is True
    assert ok(_raw(w, f"/v2.0/infrareds/{w.blaster}/remotes/{remote_id}/command",
                   {"category_id": 5, "key": "PowerOff"})) is True
    assert ok(_raw(w, status_path)) == {"remote_id": remote_id, "power": "0", "mode": "4", "temp": "27", "wind": "3"}
    sent = _ir_sends(w, seq)
    assert [s.get("temp") or s.get("value") or s.get("key") for s in sent] == [22, 27, 3, "M4", "PowerOff"]
    assert all(s["remote_id"] == remote_id and s["remote_index"] == 3327 for s in sent)


def _snapshot(w: World) -> tuple[Any, ...]:
    return w.remotes(), _last_seq(w), len(w.logs())


def test_bad_input_answers_the_platform_code_and_changes_nothing(routed: World, server: TlsCloudServer) -> None:
    w = routed
    ac = w.server.control("POST", f"/infrareds/{w.blaster}/remotes", {"category_id": AC})["remote_id"]
    tv = w.tv["remote_id"]
    other = server.create_project(name="IR other")
    foreign_blaster = server.add_devices(other["access_id"], "qt")[0]["id"]
    foreign_remote = server.control("POST", f"/infrareds/{foreign_blaster}/remotes", {"category_id": TV})["remote_id"]
    before = _snapshot(w)
    cases = [
        # an unknown remote, and another blaster's remote through ours
        (f"/v1.0/infrareds/{w.blaster}/remotes/vdevo00000000000000000/command", {"key": "Power"}, 2010),
        (f"/v1.0/infrareds/{w.blaster}/remotes/{foreign_remote}/keys", None, 2010),
        # a key the remote does not have; a category that is not the remote's
        (f"/v1.0/infrareds/{w.blaster}/remotes/{tv}/command", {"key": "Eject"}, 2008),
        (f"/v2.0/infrareds/{w.blaster}/remotes/{tv}/raw/command", {"category_id": 2, "key_id": 999}, 2008),
        (f"/v2.0/infrareds/{w.blaster}/remotes/{tv}/command", {"category_id": 5, "key": "Power"}, 2008),
        # out-of-range air-conditioner values; the AC APIs on a TV remote
        (f"/v2.0/infrareds/{w.blaster}/air-conditioners/{ac}/command", {"code": "temp", "value": 31}, 2008),
        (f"/v2.0/infrareds/{w.blaster}/air-conditioners/{ac}/command", {"code": "mode", "value": 5}, 2008),
        (f"/v2.0/infrareds/{w.blaster}/air-conditioners/{ac}/scenes/command", {"power": 1, "temp": 15}, 2008),
        (f"/v1.0/infrareds/{w.blaster}/remotes/{ac}/command", {"key": "T31"}, 2008),
        (f"/v2.0/infrareds/{w.blaster}/air-conditioners/{tv}/command", {"code": "temp", "value": 20}, 2009),
        # a blaster of another project; a device that is not a blaster
        (f"/v1.0/infrareds/{foreign_blaster}/remotes", None, 1106),
        (f"/v1.0/infrareds/{foreign_blaster}/remotes/{foreign_remote}/command", {"key": "Power"}, 1106),
        (f"/v1.0/infrareds/{w.light}/remotes", None, 2009),
        # adding a remote of an unsupported type
        (f"/v2.0/infrareds/{w.blaster}/remotes", {"category_id": 77}, 2015),
    ]
    for path, body, code in cases:
        answer = _raw(w, path, body)
        assert (answer["success"], answer["code"]) == (False, code), (path, answer)
        assert answer["detail"], answer
    assert _snapshot(w) == before
    assert server.control("GET", f"/infrareds/{foreign_blaster}/remotes")[0]["state"] == {"power": 0}


def test_an_offline_blaster_refuses_key_presses(routed: World) -> None:
    w = routed
    before = _snapshot(w)
    w.server.control("POST", f"/devices/{w.blaster}/online", {"online": False})
    try:
        answer = _raw(w, f"/v1.0/infrareds/{w.blaster}/remotes/{w.fan['remote_id']}/command", {"key": "PowerOn"})
        assert (answer["success"], answer["code"], answer["msg"]) == (False, 2001, "device is offline")
        assert w.remotes() == before[0]
    finally:
        w.server.control("POST", f"/devices/{w.blaster}/online", {"online": True})


def test_remotes_can_be_renamed_and_removed(routed: World) -> None:
    w = routed
    remote_id = ok(_raw(w, f"/v2.0/infrareds/{w.blaster}/remotes", {"category_id": FAN}))
    assert ok(_raw(w, f"/v2.0/infrareds/{w.blaster}/remotes/{remote_id}", {"remote_name": "Desk fan"},
                   action="PUT")) is True
    assert w.remotes()[remote_id]["remote_name"] == "Desk fan"
    assert ok(_raw(w, f"/v2.0/infrareds/{w.blaster}/remotes/{remote_id}", action="DELETE")) is True
    assert remote_id not in w.remotes()
    gone = _raw(w, f"/v2.0/infrareds/{w.blaster}/remotes/{remote_id}/keys")
    assert (gone["success"], gone["code"]) == (False, 2010)


def test_removing_a_blaster_removes_its_remotes(routed: World, server: TlsCloudServer) -> None:
    w = routed
    blaster = w.add_device("qt")
    remote_id = ok(_raw(w, f"/v2.0/infrareds/{blaster}/remotes", {"category_id": TV}))
    other = [r.id for r in server.in_domain(lambda ctx: ctx.store.remotes_of(w.blaster, "us"))]
    assert [r.id for r in server.in_domain(lambda ctx: ctx.store.remotes_of(blaster, "us"))] == [remote_id]
    assert ok(_raw(w, f"/v1.0/devices/{blaster}", action="DELETE")) is True
    assert server.in_domain(lambda ctx: ctx.store.remotes_of(blaster, "us")) == []  # no rows left behind
    assert [r.id for r in server.in_domain(lambda ctx: ctx.store.remotes_of(w.blaster, "us"))] == other


def test_the_cli_adds_a_remote(routed: World, server: TlsCloudServer) -> None:
    world = routed
    import subprocess

    from support.cli import cli_command, cli_env

    data = ["--data-dir", str(server.settings.data_dir)]
    if server.settings.database_url:
        data = ["--database-url", server.settings.database_url]
    made = subprocess.run([*cli_command(), "device", "add-virtual", "--project", world.access_id, "--category", "qt",
                           "--name", "Study IR", *data, "--json"], capture_output=True, text=True, env=cli_env(),
                          timeout=120)
    assert made.returncode == 0, made.stderr
    study = json.loads(made.stdout)[0]
    assert study["category"] == "qt" and study["name"] == "Study IR"
    assert ok(_raw(world, f"/v1.0/infrareds/{study['id']}/remotes")) == []
    done = subprocess.run([*cli_command(), "infrared", "add-remote", world.blaster, "--type", "ac",
                           "--name", "Study AC", *data, "--json"], capture_output=True, text=True, env=cli_env(),
                          timeout=120)
    assert done.returncode == 0, done.stderr
    added = json.loads(done.stdout)
    assert added["category_id"] == AC and added["state"] == {"power": 0, "mode": 0, "temp": 26, "wind": 0}
    assert world.remotes()[added["remote_id"]]["remote_name"] == "Study AC"
    listed = subprocess.run([*cli_command(), "infrared", "remotes", world.blaster, *data], capture_output=True,
                            text=True, env=cli_env(), timeout=120)
    assert listed.returncode == 0 and "Study AC" in listed.stdout, listed.stderr
    # A list like every other: it says how many there are, and pages.
    count = len(world.remotes())
    assert listed.stdout.rstrip().splitlines()[-1] == f"showing {count} of {count} remotes", listed.stdout
    paged = subprocess.run([*cli_command(), "infrared", "remotes", world.blaster, "--limit", "1", "--json", *data],
                           capture_output=True, text=True, env=cli_env(), timeout=120)
    page = json.loads(paged.stdout)
    assert (page["total"], len(page["list"]), page["has_more"]) == (count, 1, count > 1), paged.stderr
