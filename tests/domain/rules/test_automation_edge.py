"""The automation engine's edge rule, in process on a real store: a device condition fires when a change makes it
true (false before, true after); a change that keeps it true does not fire again, and only a new crossing does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from hashlib import md5
from typing import Any

import pytest

from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import commands
from tuyacloud.domain.rules import automations
from tuyacloud.domain.rules.engine import RuleEngine
from tuyacloud.domain.rules.requests import AutomationBody
from tuyacloud.domain.smarthome import apps, homes
from tuyacloud.domain.smarthome.requests import CreateHome, HomeSpec, SyncAppUser
from tuyacloud.models import Device, Project

pytestmark = pytest.mark.anyio


async def home_with(ctx: Context, project: Project, *categories: str) -> tuple[str, list[Device]]:
    """An app linked to the project, an app user, their home, and a virtual device of each category in it."""
    await apps.create(ctx, schema="domainapp", name="Domain app")
    await apps.link(ctx, "domainapp", project.access_id)
    user = await apps.sync_user(ctx, project, "domainapp", SyncAppUser(
        username="edge@example.com", password=md5(b"secret").hexdigest(), country_code="1", username_type=2))
    home = await homes.create(ctx, project, CreateHome(uid=user.id, home=HomeSpec(name="Home", geo_name="Berlin",
                                                                                  lon=13.4, lat=52.5)))
    made = [await homes.add_device(ctx, project, uid=user.id, home_id=home.id, category=c) for c in categories]
    return home.id, made


async def until(check: Callable[[], Any], engine: RuleEngine, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"not reached in time; runs: {list(engine.history)}"
        await asyncio.sleep(0.01)


def fired(rules: RuleEngine, automation_id: str) -> list[dict[str, Any]]:
    return [e for e in rules.history if e["id"] == automation_id and e["fired"]]


def above(device: Device, code: str, value: int) -> dict[str, Any]:
    return {"entity_type": 1, "entity_id": device.id, "order_num": 1,
            "display": {"code": code, "operator": ">", "value": value}}


def lamp_off(lamp: Device) -> dict[str, Any]:
    return {"entity_id": lamp.id, "action_executor": "dpIssue", "executor_property": {"switch_led": False}}


class Sentinel:
    """An automation on the sensor's humidity: the engine evaluates changes in the order they were committed, so
    once a humidity crossing made after some changes has fired, every one of those changes was evaluated. That
    is how a test knows something did *not* fire, without sleeping."""

    def __init__(self, ctx: Context, engine: RuleEngine, sensor: Device, automation_id: str) -> None:
        self.ctx, self.engine, self.sensor, self.id = ctx, engine, sensor, automation_id

    async def drain(self) -> None:
        seen = len(fired(self.engine, self.id))
        self.ctx.clock.step(1000)  # a cloud second each: the frozen clock would not refill the runs-per-second budget
        await commands.report(self.ctx, self.sensor, {"va_humidity": 90})
        await commands.report(self.ctx, self.sensor, {"va_humidity": 10})
        await until(lambda: len(fired(self.engine, self.id)) > seen, self.engine)


async def sentinel(ctx: Context, project: Project, engine: RuleEngine, home_id: str, sensor: Device,
                   lamp: Device) -> Sentinel:
    await commands.report(ctx, sensor, {"va_temperature": 200, "va_humidity": 10})
    added = await automations.add(ctx, project, home_id, AutomationBody(name="Sentinel", conditions=[
        above(sensor, "va_humidity", 80)], actions=[lamp_off(lamp)]))
    return Sentinel(ctx, engine, sensor, added.id)


async def test_a_crossing_fires_once_and_staying_true_does_not_fire_again(
        ctx: Context, smart_home_project: Project, engine: RuleEngine) -> None:
    home_id, (sensor, lamp) = await home_with(ctx, smart_home_project, "wsdcg", "dj")
    drained = await sentinel(ctx, smart_home_project, engine, home_id, sensor, lamp)
    hot = await automations.add(ctx, smart_home_project, home_id, AutomationBody(
        name="Hot", conditions=[above(sensor, "va_temperature", 250)], actions=[lamp_off(lamp)]))
    await until(lambda: sensor.id in engine.referenced, engine)  # the engine has loaded the automations
    for value, runs in [(300, 1), (310, 1), (260, 1), (200, 1), (240, 1), (300, 2)]:
        await commands.report(ctx, sensor, {"va_temperature": value})
        await drained.drain()
        assert len(fired(engine, hot.id)) == runs, value
    assert {e["reason"] for e in fired(engine, hot.id)} == {"device"}
    stored = await ctx.store.get_device(lamp.id, lamp.region)  # the runs' command reached the lamp
    assert stored is not None and stored.status["switch_led"] is False


async def test_a_disabled_automation_never_fires(ctx: Context, smart_home_project: Project,
                                                 engine: RuleEngine) -> None:
    home_id, (sensor, lamp) = await home_with(ctx, smart_home_project, "wsdcg", "dj")
    drained = await sentinel(ctx, smart_home_project, engine, home_id, sensor, lamp)
    off = await automations.add(ctx, smart_home_project, home_id, AutomationBody(
        name="Off", conditions=[above(sensor, "va_temperature", 250)], actions=[lamp_off(lamp)]))
    await automations.set_enabled(ctx, smart_home_project, home_id, off.id, False)
    await until(lambda: sensor.id in engine.referenced, engine)
    await commands.report(ctx, sensor, {"va_temperature": 300})
    await drained.drain()
    assert fired(engine, off.id) == []
    # enabled again, it fires on the next crossing only (not on the value that is already above)
    await automations.set_enabled(ctx, smart_home_project, home_id, off.id, True)
    await commands.report(ctx, sensor, {"va_temperature": 310})
    await drained.drain()
    assert fired(engine, off.id) == []
    await commands.report(ctx, sensor, {"va_temperature": 200})
    await commands.report(ctx, sensor, {"va_temperature": 300})
    await drained.drain()
    assert len(fired(engine, off.id)) == 1
