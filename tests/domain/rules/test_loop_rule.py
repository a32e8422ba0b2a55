"""The loop rule (domain/rules/causation.py), in process on a real store with the automation engine running: a
run calls the domain with its causation chain (``Context.caused_by``), the status changes it commits carry that
chain back to the engine, and an automation never fires from a change its own run caused, directly or through
others; chains stop at ``MAX_DEPTH``. A person's command starts a fresh chain, whatever ran before it."""

from __future__ import annotations

import pytest

from support.home_domain import home_of, runs, switch, switched, until
from tuyacloud import bodies
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import commands
from tuyacloud.domain.devices.requests import SendCommands
from tuyacloud.domain.rules import automations, causation, scenes
from tuyacloud.domain.rules.engine import RuleEngine
from tuyacloud.domain.rules.requests import AutomationBody, SceneBody
from tuyacloud.models import Device, Project

pytestmark = pytest.mark.anyio


async def press(ctx: Context, project: Project, lamp: Device, on: bool) -> None:
    """A person's command, as the OpenAPI route sends it (the project's own context: no causation)."""
    await commands.send_commands(ctx, project, lamp.id,
            bodies.convert(SendCommands, {"commands": [{"code": "switch_led", "value": on}]}))


async def switch_of(ctx: Context, lamp: Device) -> bool:
    stored = await ctx.store.get_device(lamp.id, lamp.region)
    assert stored is not None
    return bool(stored.status["switch_led"])


def test_the_rule_on_chains() -> None:
    assert causation.loop_refusal("a", ()) == ""
    assert causation.loop_refusal("c", ("a", "b")) == ""
    assert "already in the causation chain a>b" in causation.loop_refusal("a", ("a", "b"))
    deep = tuple(f"r{i}" for i in range(causation.MAX_DEPTH))
    assert "deeper than" in causation.loop_refusal("new", deep)
    assert causation.loop_refusal("new", deep[:-1]) == ""
    assert causation.extended(("a",), "b") == ("a", "b")


async def test_caused_by_copies_the_context_and_leaves_the_shared_one_alone(ctx: Context) -> None:
    run = ctx.caused_by(("a",))
    assert run.causation == ("a",) and ctx.causation == ()
    assert run.store is ctx.store and run.clock is ctx.clock and run.status_listeners is ctx.status_listeners
    assert ctx.caused_by(()) is ctx


async def test_ping_pong_runs_each_automation_once_then_the_chain_stops(
        ctx: Context, smart_home_project: Project, engine: RuleEngine) -> None:
    home, _, (lamp,) = await home_of(ctx, smart_home_project, "loops@example.com", "dj")
    await press(ctx, smart_home_project, lamp, False)
    # A turns the lamp off when it comes on, B turns it on when it goes off
    a = await automations.add(ctx, smart_home_project, home.id,
            bodies.convert(AutomationBody, {"name": "A", "conditions": [switched(lamp, True)],
                                                                 "actions": [switch(lamp, False)]}))
    b = await automations.add(ctx, smart_home_project, home.id,
            bodies.convert(AutomationBody, {"name": "B", "conditions": [switched(lamp, False)],
                                                                 "actions": [switch(lamp, True)]}))
    await until(lambda: lamp.id in engine.referenced, engine)
    await press(ctx, smart_home_project, lamp, True)
    await until(lambda: runs(engine, a.id, fired=False), engine)  # A, held back: B's run turned the lamp on
    assert [r["chain"] for r in runs(engine, a.id)] == [[]]  # fired by the person's command
    assert [r["chain"] for r in runs(engine, b.id)] == [[a.id]]  # fired by A's run
    assert runs(engine, a.id, fired=False)[0]["refused"] == f"loop: already in the causation chain {a.id}>{b.id}"
    assert await switch_of(ctx, lamp) is True

    # the person's next command starts a fresh chain: B fires again, then A, and B is held back this time
    await press(ctx, smart_home_project, lamp, False)
    await until(lambda: runs(engine, b.id, fired=False), engine)
    assert [r["chain"] for r in runs(engine, b.id)] == [[a.id], []]
    assert [r["chain"] for r in runs(engine, a.id)] == [[], [b.id]]
    assert await switch_of(ctx, lamp) is False


async def test_a_chain_stops_at_its_maximum_depth(ctx: Context, smart_home_project: Project,
                                                  engine: RuleEngine) -> None:
    """Lamp i coming on turns lamp i+1 on: the automation that would make the chain longer than MAX_DEPTH is held
    back, so the lamp after it stays off."""
    length = causation.MAX_DEPTH + 1
    home, _, lamps = await home_of(ctx, smart_home_project, "chain@example.com", *["dj"] * (length + 1))
    for lamp in lamps:
        await press(ctx, smart_home_project, lamp, False)
    chain = [await automations.add(ctx, smart_home_project, home.id, bodies.convert(AutomationBody, {
        "name": f"Step {i}", "conditions": [switched(lamps[i], True)], "actions": [switch(lamps[i + 1], True)]}))
        for i in range(length)]
    await until(lambda: all(lamp.id in engine.referenced for lamp in lamps[:-1]), engine)
    await press(ctx, smart_home_project, lamps[0], True)
    last = chain[-1]
    await until(lambda: runs(engine, last.id, fired=False), engine)
    assert runs(engine, last.id, fired=False)[0]["refused"] == (
        f"loop: causation chain deeper than {causation.MAX_DEPTH}")
    assert [len(runs(engine, step.id)) for step in chain] == [1] * causation.MAX_DEPTH + [0]
    assert runs(engine, chain[-2].id)[0]["chain"] == [step.id for step in chain[:-2]]
    assert [await switch_of(ctx, lamp) for lamp in lamps] == [True] * length + [False]


async def test_a_scene_a_person_runs_starts_an_empty_chain(ctx: Context, smart_home_project: Project,
                                                          engine: RuleEngine) -> None:
    home, _, (lamp, other) = await home_of(ctx, smart_home_project, "scene@example.com", "dj", "dj")
    await press(ctx, smart_home_project, lamp, False)
    follow = await automations.add(ctx, smart_home_project, home.id, bodies.convert(AutomationBody, {
        "name": "Follow", "conditions": [switched(lamp, True)], "actions": [switch(other, True)]}))
    scene = await scenes.add(ctx, smart_home_project, home.id,
            bodies.convert(SceneBody, {"name": "Evening", "actions": [switch(lamp, True)]}))
    await until(lambda: lamp.id in engine.referenced, engine)
    await scenes.trigger(ctx, smart_home_project, home.id, scene.id)
    await until(lambda: runs(engine, follow.id), engine)
    assert runs(engine, follow.id)[0]["chain"] == []  # a scene is not an automation: it adds nothing to the chain
    assert await switch_of(ctx, other) is True
