"""Tap-to-run scenes on a real server: tuya-iot-py-sdk in smart-home mode lists and
triggers them; add, modify, delete and both list shapes; bad actions refused with nothing written; delays follow
the stepped cloud clock; ruleDisable/ruleEnable actions; a failed action does not stop the others; one user's token
cannot reach another user's scenes (1106)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tuya_iot import AuthType, TuyaDeviceManager, TuyaHomeManager, TuyaOpenAPI, TuyaOpenMQ

from support.custom import code, ok
from support.rules import (
    Home,
    cloud_commands,
    delay,
    device_condition,
    dp_issue,
    eventually,
    frozen_server,
    settle,
    status,
    step,
)
from support.server import CloudServer
from support.smarthome import add_home_device, create_home, sync_user, user_login


@pytest.fixture
def frozen(tmp_path: Path) -> Iterator[CloudServer]:
    yield from frozen_server(tmp_path)


def test_tuya_iot_py_sdk_lists_and_triggers_a_scene(cloud: CloudServer) -> None:
    home = Home(cloud, "sdk-scenes@example.com", ("dj",))
    light = home.devices[0]
    ok(home.c.request("POST", f"/v1.0/devices/{light}/commands",
                      json={"commands": [{"code": "switch_led", "value": False}]}))
    scene_id = ok(home.c.post(home.path("/scenes"), {
        "name": "Reading", "background": "https://example.com/reading.png",
        "actions": [dp_issue(light, switch_led=True, bright_value_v2=321)]}))
    assert isinstance(scene_id, str) and len(scene_id) == 16
    # the SDK, logged in as the app user
    sync_user(home.c, home.sh.schema, "sdk-scenes@example.com", password="app password")
    api = TuyaOpenAPI(cloud.url, home.sh.project["access_id"], home.sh.project["access_secret"], AuthType.SMART_HOME)
    assert api.connect("sdk-scenes@example.com", "app password", "1", home.sh.schema)["success"]
    manager = TuyaDeviceManager(api, TuyaOpenMQ(api))
    home_manager = TuyaHomeManager(api, TuyaOpenMQ(api), manager)
    home_manager.update_device_cache()
    assert set(manager.device_map) == {light}
    scenes = home_manager.query_scenes()
    assert [(s.scene_id, s.name, str(s.home_id)) for s in scenes] == [(scene_id, "Reading", home.home)]
    assert scenes[0].enabled is True and scenes[0].actions[0]["action_executor"] == "dpIssue"
    assert ok(home_manager.trigger_scene(scenes[0].home_id, scenes[0].scene_id)) is True
    # actions before the first delay have run when the trigger call returns
    now = {s["code"]: s["value"] for s in ok(manager.get_device_status(light))}
    assert now["switch_led"] is True and now["bright_value_v2"] == 321
    logged = cloud_commands(home.c, light)
    assert {(e["code"], e["value"]) for e in logged} == {("switch_led", "true"), ("bright_value_v2", "321")}
    home_manager.update_device_cache()
    assert manager.device_map[light].status["bright_value_v2"] == 321


def test_add_modify_delete_and_both_list_shapes(cloud: CloudServer) -> None:
    home = Home(cloud, "crud-scenes@example.com", ("dj", "cz"))
    light, plug = home.devices
    automation = ok(home.c.post(home.path("/automations"), {
        "name": "Plug follows light", "conditions": [device_condition(light, "switch_led", "==", True)],
        "actions": [dp_issue(plug, switch_1=True)]}))
    actions = [dp_issue(light, switch_led=True), delay(seconds=30), dp_issue(plug, switch_1=True),
               {"entity_id": automation, "action_executor": "ruleDisable"}]
    scene_id = ok(home.c.post(home.path("/scenes"), {"name": "Evening", "actions": actions}))
    v10 = ok(home.c.get(home.path("/scenes")))
    assert v10 == [{"scene_id": scene_id, "name": "Evening", "background": "", "enabled": True, "actions": [
        {"entity_id": light, "action_executor": "dpIssue", "executor_property": {"switch_led": True}},
        {"entity_id": "delay", "action_executor": "delay",
         "executor_property": {"hours": "0", "minutes": "0", "seconds": "30"}},
        {"entity_id": plug, "action_executor": "dpIssue", "executor_property": {"switch_1": True}},
        {"entity_id": automation, "action_executor": "ruleDisable", "executor_property": {}},
    ]}]
    v11 = ok(home.c.get(f"/v1.1/homes/{home.home}/scenes"))
    assert v11[0]["status"] == "1" and all(a["extra_property"] == {} for a in v11[0]["actions"])
    assert {k: v for k, v in v11[0].items() if k not in ("status", "actions")} == \
        {k: v for k, v in v10[0].items() if k != "actions"}
    ok(home.c.request("PUT", home.path(f"/scenes/{scene_id}"),
                      json={"name": "Late evening", "background": "https://example.com/b.png",
                            "actions": [dp_issue(plug, switch_1=False)]}))
    changed = ok(home.c.get(home.path("/scenes")))[0]
    assert (changed["name"], changed["background"], len(changed["actions"])) == \
        ("Late evening", "https://example.com/b.png", 1)
    second = ok(home.c.post(home.path("/scenes"), {"name": "Second", "actions": [dp_issue(light, switch_led=False)]}))
    assert [s["scene_id"] for s in ok(home.c.get(home.path("/scenes")))] == [scene_id, second]
    usable = [d["id"] for d in ok(home.c.get(home.path("/scene/devices")))]
    assert sorted(usable) == sorted([light, plug])
    ok(home.c.request("DELETE", home.path(f"/scenes/{scene_id}")))
    assert [s["scene_id"] for s in ok(home.c.get(home.path("/scenes")))] == [second]
    assert code(home.c.post(home.path(f"/scenes/{scene_id}/trigger"))) == 2503
    assert code(home.c.request("PUT", home.path(f"/scenes/{scene_id}"),
                               json={"name": "x", "actions": [dp_issue(plug, switch_1=False)]})) == 2503
    assert code(home.c.request("DELETE", home.path(f"/scenes/{scene_id}"))) == 2503
    # a scene of another home of the same project is not found through this home
    other_home = create_home(home.c, home.uid, "Cabin")
    assert code(home.c.post(f"/v1.0/homes/{other_home}/scenes/{second}/trigger")) == 2503
    # deleting the home takes its scenes and automations
    ok(home.c.request("DELETE", home.path()))
    assert code(home.c.get(home.path("/scenes"))) == 2501


def test_bad_actions_are_refused_and_nothing_is_written(cloud: CloudServer) -> None:
    home = Home(cloud, "bad-scenes@example.com", ("dj", "wsdcg"))
    light, sensor = home.devices
    elsewhere = add_home_device(cloud, home.sh.project["access_id"], home.uid, create_home(home.c, home.uid), "dj")
    good = dp_issue(light, switch_led=True)

    def refused(actions: Any, name: Any = "Bad") -> dict[str, Any]:
        response = home.c.post(home.path("/scenes"), {"name": name, "actions": actions})
        assert response["success"] is False, response
        return response

    unknown_code = refused([good, dp_issue(light, no_such_code=True)])
    assert unknown_code["code"] == 2008 and "no_such_code" in unknown_code["detail"], unknown_code
    bad_value = refused([dp_issue(light, bright_value_v2=5000)])
    assert bad_value["code"] == 2008 and "bright_value_v2" in bad_value["detail"], bad_value
    assert refused([dp_issue(sensor, va_temperature=200)])["code"] == 2008  # reported, not a function
    assert refused([dp_issue("vdevo00000000000000000", switch_led=True)])["code"] == 2010
    assert refused([dp_issue(elsewhere["id"], switch_led=True)])["code"] == 2514
    assert refused([])["code"] == 2512
    assert refused([{"entity_id": light, "action_executor": "sing"}])["code"] == 1109
    assert refused([good, delay()])["code"] == 1109  # a delay of nothing
    assert refused([delay(hours=6)])["code"] == 1109
    assert refused([{"action_executor": "delay", "executor_property": {"seconds": "-3"}}])["code"] == 1109
    assert refused([{"entity_id": "noSuchAutomation", "action_executor": "ruleEnable"}])["code"] == 1109
    assert refused([dp_issue(light)])["code"] == 1109
    assert refused([good], name="")["code"] == 1100
    assert refused("switch it on")["code"] == 1109
    assert ok(home.c.get(home.path("/scenes"))) == []
    # modify with a bad action leaves the scene as it was
    scene_id = ok(home.c.post(home.path("/scenes"), {"name": "Fine", "actions": [good]}))
    response = home.c.request("PUT", home.path(f"/scenes/{scene_id}"),
                              json={"name": "Broken", "actions": [dp_issue(light, switch_led="maybe")]})
    assert code(response) == 2008
    assert ok(home.c.get(home.path("/scenes")))[0]["name"] == "Fine"


def test_delays_follow_the_stepped_clock(frozen: CloudServer) -> None:
    home = Home(frozen, "delay@example.com", ("dj", "dj"))
    first, second = home.devices
    for device in home.devices:
        ok(home.c.post(f"/v1.0/devices/{device}/commands", {"commands": [{"code": "switch_led", "value": False}]}))
    scene_id = ok(home.c.post(home.path("/scenes"), {"name": "Staircase", "actions": [
        dp_issue(first, switch_led=True), delay(minutes=1), dp_issue(second, switch_led=True), delay(minutes=2),
        dp_issue(first, switch_led=False)]}))
    assert ok(home.c.post(home.path(f"/scenes/{scene_id}/trigger"))) is True
    assert status(home.c, first)["switch_led"] is True  # before the first delay: at once
    settle()
    assert status(home.c, second)["switch_led"] is False  # the clock is frozen: the run waits
    step(frozen, 59_000)
    settle()
    assert status(home.c, second)["switch_led"] is False
    step(frozen, 1_000)  # one minute after the trigger
    eventually(lambda: status(home.c, second)["switch_led"] is True)
    assert status(home.c, first)["switch_led"] is True
    step(frozen, 10 * 60_000)  # past the end of the timetable: the rest runs at once
    eventually(lambda: status(home.c, first)["switch_led"] is False)
    assert [(e["code"], e["value"]) for e in cloud_commands(home.c, first)] == \
        [("switch_led", "true"), ("switch_led", "false")]
    assert len(cloud_commands(home.c, second)) == 1


def test_rule_actions_and_a_failing_action(frozen: CloudServer) -> None:
    home = Home(frozen, "ruleactions@example.com", ("dj", "dj", "cz"))
    light, offline, plug = home.devices
    automation = ok(home.c.post(home.path("/automations"), {
        "name": "Light on, plug on", "conditions": [device_condition(light, "switch_led", "==", True)],
        "actions": [dp_issue(plug, switch_1=True)]}))
    frozen.control("POST", f"/devices/{offline}/online", {"online": False})
    off = ok(home.c.post(home.path("/scenes"), {"name": "Off", "actions": [
        {"entity_id": automation, "action_executor": "ruleDisable"}, dp_issue(offline, switch_led=True),
        dp_issue(light, switch_led=False)]}))
    ok(home.c.post(home.path(f"/scenes/{off}/trigger")))
    # the offline device's action failed; the run went on
    assert status(home.c, light)["switch_led"] is False
    assert ok(home.c.get(home.path(f"/automations/{automation}")))["enabled"] is False
    assert cloud_commands(home.c, offline) == []
    run = [r for r in frozen.control("GET", "/rules/runs") if r["id"] == off][-1]
    assert [(o["position"], o["ok"]) for o in run["outcomes"]] == [(1, True), (2, False), (3, True)]
    assert "DeviceOffline" in run["outcomes"][1]["detail"]
    ok(home.c.post(f"/v1.0/devices/{plug}/commands", {"commands": [{"code": "switch_1", "value": False}]}))
    ok(home.c.post(f"/v1.0/devices/{light}/commands", {"commands": [{"code": "switch_led", "value": True}]}))
    settle()
    assert status(home.c, plug)["switch_1"] is False  # disabled: never fires
    on = ok(home.c.post(home.path("/scenes"), {"name": "On", "actions": [
        {"entity_id": automation, "action_executor": "ruleEnable"}, dp_issue(light, switch_led=False)]}))
    ok(home.c.post(home.path(f"/scenes/{on}/trigger")))
    assert ok(home.c.get(home.path(f"/automations/{automation}")))["enabled"] is True
    ok(home.c.post(f"/v1.0/devices/{light}/commands", {"commands": [{"code": "switch_led", "value": True}]}))
    eventually(lambda: status(home.c, plug)["switch_1"] is True)


def test_one_users_token_cannot_reach_another_users_scenes(cloud: CloudServer) -> None:
    alice_home = Home(cloud, "alice-scenes@example.com", ("dj",))
    c = alice_home.c
    bob = sync_user(c, alice_home.sh.schema, "bob-scenes@example.com")
    bob_home = create_home(c, bob)
    bob_light = add_home_device(cloud, alice_home.sh.project["access_id"], bob, bob_home, "dj")["id"]
    ok(c.post(f"/v1.0/devices/{bob_light}/commands", {"commands": [{"code": "switch_led", "value": False}]}))
    bob_scene = ok(c.post(f"/v1.0/homes/{bob_home}/scenes", {"name": "Bob's",
                                                             "actions": [dp_issue(bob_light, switch_led=True)]}))
    bob_automation = ok(c.post(f"/v1.0/homes/{bob_home}/automations", {
        "name": "Bob's", "conditions": [{"entity_type": 15, "entity_id": "external"}],
        "actions": [dp_issue(bob_light, switch_led=True)]}))
    alice = user_login(c, alice_home.sh.schema, "alice-scenes@example.com")
    b = f"/v1.0/homes/{bob_home}"
    attempts = [
        alice.get(f"{b}/scenes"), alice.get(f"/v1.1/homes/{bob_home}/scenes"),
        alice.post(f"{b}/scenes/{bob_scene}/trigger"),
        alice.post(f"{b}/scenes", {"name": "mine", "actions": [dp_issue(bob_light, switch_led=True)]}),
        alice.request("PUT", f"{b}/scenes/{bob_scene}", json={"name": "x", "actions": []}),
        alice.request("DELETE", f"{b}/scenes/{bob_scene}"), alice.get(f"{b}/scene/devices"),
        alice.get(f"{b}/automations"), alice.get(f"{b}/automations/{bob_automation}"),
        alice.post(f"{b}/automations/{bob_automation}/conditions/trigger"),
        alice.request("PUT", f"{b}/automations/{bob_automation}/actions/disable"),
        alice.request("DELETE", f"{b}/automations/{bob_automation}"),
    ]
    for response in attempts:
        assert code(response) == 1106, response
    # her own home's scene cannot name his device either
    mine = alice.post(alice_home.path("/scenes"), {"name": "Sneaky", "actions": [dp_issue(bob_light, switch_led=True)]})
    assert code(mine) == 2514
    assert status(c, bob_light)["switch_led"] is False
    assert [s["scene_id"] for s in ok(c.get(f"{b}/scenes"))] == [bob_scene]
    # her own token works on her own home
    own = ok(alice.post(alice_home.path("/scenes"), {"name": "Mine",
                                                     "actions": [dp_issue(alice_home.devices[0], switch_led=True)]}))
    assert ok(alice.post(alice_home.path(f"/scenes/{own}/trigger"))) is True
    assert status(alice, alice_home.devices[0])["switch_led"] is True
