"""Scenes and automations are checked when they are saved, in process on a real store: the stored form is the
checked one (delays spelt out, values as the device takes them), and a body with any problem is refused with the
problem's code and writes nothing, neither on add nor on modify."""

from __future__ import annotations

from typing import Any

import pytest

from support.home_domain import home_of, switch, switched
from tuyacloud import bodies
from tuyacloud.domain.context import Context
from tuyacloud.domain.rules import automations, scene_actions, scenes
from tuyacloud.domain.rules.requests import AutomationBody, SceneBody
from tuyacloud.domain.rules.rule_writes import RULES_VERSION
from tuyacloud.errors import (
    ActionEmpty,
    CommandNotSupported,
    DeviceNotExist,
    DeviceNotInHome,
    ParamEmpty,
    ParamIllegal,
    ParamRangeInvalid,
    TuyaError,
)
from tuyacloud.models import Device, Home, Project

pytestmark = pytest.mark.anyio


def delay(**parts: Any) -> dict[str, Any]:
    return {"entity_id": "delay", "action_executor": "delay", "executor_property": parts}


async def two_homes(ctx: Context, project: Project) -> tuple[Home, Device, Device, Home, Device]:
    """A home with a lamp and a temperature sensor, and a second home (another user's) with a lamp."""
    home, _, (lamp, sensor) = await home_of(ctx, project, "rules@example.com", "dj", "wsdcg")
    other, _, (elsewhere,) = await home_of(ctx, project, "other@example.com", "dj")
    return home, lamp, sensor, other, elsewhere


async def test_a_scene_is_stored_in_its_checked_form(ctx: Context, smart_home_project: Project) -> None:
    home, lamp, _, _, _ = await two_homes(ctx, smart_home_project)
    scene = await scenes.add(ctx, smart_home_project, home.id,
            bodies.convert(SceneBody, {"name": " Evening ", "actions": [
        switch(lamp, True), delay(minutes="1", seconds=30), delay(hours=1),
        {"entity_id": lamp.id, "action_executor": "dpIssue", "executor_property": {"bright_value_v2": 500}}]}))
    stored = await ctx.store.get_scene(scene.id)
    assert stored is not None and stored.name == "Evening" and stored.home_id == home.id
    assert [a["executor_property"] for a in stored.actions] == [
        {"switch_led": True}, {"hours": "0", "minutes": "1", "seconds": "30"},
        {"hours": "1", "minutes": "0", "seconds": "0"}, {"bright_value_v2": 500}]
    # the timetable of a run: each action at the start plus the delays before it
    plan = scene_actions.timetable(stored.actions, 1_000_000)
    assert [(due, position) for due, position, _ in plan] == [(1_000_000, 1), (1_000_000 + 90_000 + 3_600_000, 4)]


@pytest.mark.parametrize(("actions", "error", "detail"), [
    ([], ActionEmpty, "at least one action"),
    ("lamp on", ParamIllegal, "must be a list"),
    ([{"action_executor": "dance"}], ParamIllegal, "action_executor must be one of"),
    ([delay(seconds=0)], ParamIllegal, "from 1 second to 5 hours"),
    ([delay(hours=5, seconds=1)], ParamIllegal, "from 1 second to 5 hours"),
    ([delay(minutes=60)], ParamIllegal, "minutes must be a whole number from 0 to 59"),
    ([delay(seconds=1.5)], ParamIllegal, "seconds must be a whole number"),
    ([{"entity_id": "vdevo-none", "action_executor": "dpIssue", "executor_property": {"switch_led": True}}],
     DeviceNotExist, "does not exist"),
    ("elsewhere", DeviceNotInHome, "is not in home"),
    ("bad value", TuyaError, "switch_led"),
    ("unknown code", TuyaError, "dance_mode"),
    ("foreign automation", ParamIllegal, "is not an automation of home"),
    ("too many", ParamIllegal, f"at most {scene_actions.MAX_ACTIONS} actions"),
])
async def test_a_bad_action_is_refused_and_nothing_is_written(
        ctx: Context, smart_home_project: Project, actions: Any, error: type[TuyaError], detail: str) -> None:
    home, lamp, sensor, other, elsewhere = await two_homes(ctx, smart_home_project)
    foreign = await automations.add(ctx, smart_home_project, other.id, bodies.convert(AutomationBody, {
        "name": "Theirs", "conditions": [switched(elsewhere, True)], "actions": [switch(elsewhere, False)]}))
    actions = {
        "elsewhere": [switch(elsewhere, True)],
        "bad value": [{"entity_id": lamp.id, "action_executor": "dpIssue", "executor_property": {"switch_led": "yes"}}],
        "unknown code": [{"entity_id": lamp.id, "action_executor": "dpIssue",
                          "executor_property": {"dance_mode": True}}],
        "foreign automation": [{"entity_id": foreign.id, "action_executor": "ruleEnable"}],
        "too many": [switch(lamp, True)] * (scene_actions.MAX_ACTIONS + 1),
    }.get(actions, actions) if isinstance(actions, str) else actions
    with pytest.raises(error) as refused:
        await scenes.add(ctx, smart_home_project, home.id,
                bodies.convert(SceneBody, {"name": "Bad", "actions": actions}))
    assert detail in str(refused.value)
    assert await ctx.store.home_scenes(home.id) == []
    with pytest.raises(error):  # the same rules for an automation's actions
        await automations.add(ctx, smart_home_project, home.id,
                bodies.convert(AutomationBody, {"name": "Bad", "conditions": [switched(lamp, True)],
                                                                 "actions": actions}))
    assert await ctx.store.home_automations(home.id) == []


async def test_a_modify_with_a_bad_body_leaves_the_scene_as_it_was(ctx: Context, smart_home_project: Project) -> None:
    home, lamp, _, _, _ = await two_homes(ctx, smart_home_project)
    scene = await scenes.add(ctx, smart_home_project, home.id,
            bodies.convert(SceneBody, {"name": "Evening", "actions": [switch(lamp, True)]}))
    with pytest.raises(ParamIllegal):
        await scenes.modify(ctx, smart_home_project, home.id, scene.id,
                bodies.convert(SceneBody, {"name": "Night", "actions": [delay()]}))
    stored = await ctx.store.get_scene(scene.id)
    assert stored is not None and stored.name == "Evening" and stored.actions == scene.actions


def schedule(**display: Any) -> dict[str, Any]:
    return {"entity_type": 6, "display": {"time": "07:30", "loops": "1111111", "timezone_id": "Europe/Berlin",
                                          **display}}


@pytest.mark.parametrize(("condition", "error", "detail"), [
    ({"entity_type": 3}, ParamIllegal, "entity_type 3 is not supported"),
    ({"entity_type": 1, "entity_id": "vdevo-none", "display": {"code": "switch_led", "value": True}},
     DeviceNotExist, "does not exist"),
    ("unknown code", CommandNotSupported, "is not a data point"),
    ("boolean compared", ParamIllegal, "compares numbers"),
    ("no value", ParamEmpty, "display.value is required"),
    ("elsewhere", DeviceNotInHome, "is not in home"),
    (schedule(time="25:00"), ParamIllegal, "time"),
    (schedule(loops="11111"), ParamIllegal, "loops"),
    (schedule(timezone_id="Mars/Olympus"), ParamIllegal, "timezone_id"),
    (schedule(loops="0000000"), ParamIllegal, "needs a date"),
    (schedule(loops="0000000", date="20261341"), TuyaError, "date"),
])
async def test_a_bad_condition_is_refused_and_nothing_is_written(
        ctx: Context, smart_home_project: Project, condition: Any, error: type[TuyaError], detail: str) -> None:
    home, lamp, sensor, _, elsewhere = await two_homes(ctx, smart_home_project)
    condition = {
        "unknown code": {"entity_type": 1, "entity_id": lamp.id, "display": {"code": "dance_mode", "value": 1}},
        "boolean compared": {"entity_type": 1, "entity_id": lamp.id,
                             "display": {"code": "switch_led", "operator": ">", "value": 1}},
        "no value": {"entity_type": 1, "entity_id": sensor.id, "display": {"code": "va_temperature"}},
        "elsewhere": switched(elsewhere, True),
    }.get(condition, condition) if isinstance(condition, str) else condition
    version = await ctx.store.get_meta(RULES_VERSION)
    with pytest.raises(error) as refused:
        await automations.add(ctx, smart_home_project, home.id,
                bodies.convert(AutomationBody, {"name": "Bad", "conditions": [condition],
                                                                 "actions": [switch(lamp, True)]}))
    assert detail in str(refused.value)
    assert await ctx.store.home_automations(home.id) == []
    assert await ctx.store.get_meta(RULES_VERSION) == version  # other processes are not told of a change


async def test_an_automation_is_stored_in_its_checked_form_and_indexed(ctx: Context,
                                                                       smart_home_project: Project) -> None:
    home, lamp, sensor, _, _ = await two_homes(ctx, smart_home_project)
    version = await ctx.store.get_meta(RULES_VERSION)
    added = await automations.add(ctx, smart_home_project, home.id, bodies.convert(AutomationBody, {
        "name": "Warm", "match_type": "2", "conditions": [
            {"entity_type": "1", "entity_id": sensor.id,
             "display": {"code": "va_temperature", "operator": ">", "value": 250}},
            schedule(time="7:05")],
        "actions": [switch(lamp, True)]}))
    stored = await ctx.store.get_automation(added.id)
    assert stored is not None and stored.match_type == 2 and stored.enabled
    assert stored.conditions[0]["display"] == {"code": "va_temperature", "operator": ">", "value": 250}
    assert stored.conditions[1]["display"]["time"] == "7:05" and stored.conditions[1]["entity_type"] == 6
    # the engine's index: the devices automations read, and the automations with a schedule
    assert sensor.id in await ctx.store.automation_device_ids()
    assert [a.id for a in await ctx.store.scheduled_automations()] == [added.id]
    assert await ctx.store.get_meta(RULES_VERSION) != version


async def test_a_home_holds_at_most_its_number_of_scenes(ctx: Context, smart_home_project: Project) -> None:
    home, lamp, _, _, _ = await two_homes(ctx, smart_home_project)
    for i in range(scenes.MAX_SCENES):
        await scenes.add(ctx, smart_home_project, home.id,
                bodies.convert(SceneBody, {"name": f"Scene {i}", "actions": [switch(lamp, True)]}))
    with pytest.raises(ParamRangeInvalid):
        await scenes.add(ctx, smart_home_project, home.id,
                bodies.convert(SceneBody, {"name": "One more", "actions": [switch(lamp, True)]}))
    assert len(await ctx.store.home_scenes(home.id)) == scenes.MAX_SCENES
