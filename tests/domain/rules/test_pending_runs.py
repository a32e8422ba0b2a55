"""Runs' waiting actions, in process on a real store: a delayed action runs with its run's causation chain as
recorded in the store (the loop rule holds across a delay), a delayed action that fails is noted and its run goes
on, and what is left of a run waits in the store until it is due (nothing of it in the process's memory)."""

from __future__ import annotations

from typing import Any

import pytest

from support.home_domain import home_of, until
from tuyacloud import bodies
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import commands, devices
from tuyacloud.domain.rules import automations, scenes
from tuyacloud.domain.rules.engine import RuleEngine
from tuyacloud.domain.rules.requests import AutomationBody, SceneBody
from tuyacloud.models import Device, Project

pytestmark = pytest.mark.anyio

MINUTE = 60_000


async def home_with(ctx: Context, project: Project, *categories: str) -> tuple[str, list[Device]]:
    home, _, made = await home_of(ctx, project, "delays@example.com", *categories)
    return home.id, made


def above(device: Device, code: str, value: int) -> dict[str, Any]:
    return {"entity_type": 1, "entity_id": device.id, "order_num": 1,
            "display": {"code": code, "operator": ">", "value": value}}


def fired(rules: RuleEngine, rule_id: str) -> list[dict[str, Any]]:
    return [e for e in rules.history if e["id"] == rule_id and e["fired"]]


def brightness(device: Device, value: int) -> dict[str, Any]:
    return {"entity_id": device.id, "action_executor": "dpIssue", "executor_property": {"bright_value_v2": value}}


def delay(minutes: int) -> dict[str, Any]:
    return {"entity_id": "delay", "action_executor": "delay", "executor_property": {"minutes": minutes}}


def outcomes(rules: RuleEngine, rule_id: str) -> list[tuple[int, bool]]:
    return [(o["position"], o["ok"]) for e in rules.history if e["id"] == rule_id and e["fired"]
            for o in e["outcomes"]]


async def test_the_loop_rule_holds_across_a_delay(ctx: Context, smart_home_project: Project,
                                                  engine: RuleEngine) -> None:
    home_id, (dimmer,) = await home_with(ctx, smart_home_project, "dj")
    await commands.report(ctx, dimmer, {"bright_value_v2": 100})
    bright = await automations.add(ctx, smart_home_project, home_id, bodies.convert(AutomationBody, {
        "name": "Self after a minute", "conditions": [above(dimmer, "bright_value_v2", 500)],
        "actions": [brightness(dimmer, 100), delay(1), brightness(dimmer, 900)]}))
    await until(lambda: dimmer.id in engine.referenced, engine)
    await commands.report(ctx, dimmer, {"bright_value_v2": 900})
    await until(lambda: outcomes(engine, bright.id) == [(1, True)], engine)
    assert await ctx.store.count_pending_actions() == 1  # the rest of the run waits in the store
    ctx.clock.step(MINUTE)
    await until(lambda: outcomes(engine, bright.id) == [(1, True), (3, True)], engine)
    # its own delayed command made the condition true again: held back by the chain the row carried
    await until(lambda: any(not e["fired"] and e["id"] == bright.id for e in engine.history), engine)
    held = [e for e in engine.history if e["id"] == bright.id and not e["fired"]]
    assert "already in the causation chain" in held[-1]["refused"], held
    assert len(fired(engine, bright.id)) == 1
    assert await ctx.store.count_pending_actions() == 0


async def test_a_delayed_action_that_fails_is_noted_and_its_run_goes_on(ctx: Context, smart_home_project: Project,
                                                                       engine: RuleEngine) -> None:
    home_id, (lamp, offline) = await home_with(ctx, smart_home_project, "dj", "dj")
    await devices.set_online(ctx, offline, False)
    scene = await scenes.add(ctx, smart_home_project, home_id, bodies.convert(SceneBody, {"name": "Steps", "actions": [
        brightness(lamp, 100), delay(1), brightness(offline, 200), delay(1), brightness(lamp, 300)]}))
    await scenes.trigger(ctx, smart_home_project, home_id, scene.id)
    assert outcomes(engine, scene.id) == [(1, True)]  # before the first delay: done when trigger returns
    ctx.clock.step(30 * MINUTE)  # past the end: the rest at once, in order
    await until(lambda: len(outcomes(engine, scene.id)) == 3, engine)
    assert outcomes(engine, scene.id) == [(1, True), (3, False), (5, True)]
    failure = [o for e in engine.history if e["id"] == scene.id for o in e["outcomes"]][1]
    assert "DeviceOffline" in failure["detail"]
    stored = await ctx.store.get_device(lamp.id, lamp.region)
    assert stored is not None and stored.status["bright_value_v2"] == 300
    assert await ctx.store.count_pending_actions() == 0
