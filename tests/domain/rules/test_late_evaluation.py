"""A status change the automation engine evaluates late, in process on a real store: the engine may fall behind
(under load; or its index was reloading when the change came, so the change waited in its queue), and a change is
then judged by the automations as they were when it was committed, not by one written after it.

This was the ping-pong test's flake (tests/domain/rules/test_loop_rule.py): the lamp's first switch-off, made
before the automations existed, reached a slow engine after "B: when the lamp goes off, turn it on" was added, and
fired B from the past."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from support.home_domain import home_of, runs, switch, switched, until
from tuyacloud import bodies
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import commands
from tuyacloud.domain.devices.requests import SendCommands
from tuyacloud.domain.rules import automations
from tuyacloud.domain.rules.engine import RuleEngine
from tuyacloud.domain.rules.requests import AutomationBody
from tuyacloud.models import Device, Project

pytestmark = pytest.mark.anyio


async def press(ctx: Context, project: Project, lamp: Device, on: bool) -> None:
    await commands.send_commands(ctx, project, lamp.id,
            bodies.convert(SendCommands, {"commands": [{"code": "switch_led", "value": on}]}))


async def test_a_change_committed_before_an_automation_was_added_never_fires_it(
        ctx: Context, smart_home_project: Project) -> None:
    home, _, (lamp, other) = await home_of(ctx, smart_home_project, "late@example.com", "dj", "dj")
    rules = RuleEngine(ctx)  # listening, but its loop not running yet: an engine that has fallen behind
    await press(ctx, smart_home_project, lamp, False)  # on -> off: waits in the engine's queue
    await press(ctx, smart_home_project, other, False)
    b = await automations.add(ctx, smart_home_project, home.id, bodies.convert(AutomationBody, {
        "name": "B", "conditions": [switched(lamp, False)], "actions": [switch(lamp, True)]}))
    # a sentinel: its run shows that the engine has evaluated every change queued before the one that fires it
    sentinel = await automations.add(ctx, smart_home_project, home.id, bodies.convert(AutomationBody, {
        "name": "Sentinel", "conditions": [switched(other, True)], "actions": [switch(other, False)]}))
    task = asyncio.create_task(rules.run())  # the engine catches up: its index first, then the queued changes
    try:
        await until(lambda: {lamp.id, other.id} <= rules.referenced, rules)
        await press(ctx, smart_home_project, other, True)
        await until(lambda: runs(rules, sentinel.id), rules)
        assert runs(rules, b.id) == [] and runs(rules, b.id, fired=False) == []  # nothing fired from the past
        # a change made after B was added fires it
        await press(ctx, smart_home_project, lamp, True)
        await press(ctx, smart_home_project, lamp, False)
        await until(lambda: runs(rules, b.id), rules)
        assert [r["chain"] for r in runs(rules, b.id)] == [[]]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
