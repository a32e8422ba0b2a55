"""Helpers of the in-process domain tests of homes and rules (tests/domain/): a home made through the domain
functions the routes call, and waiting for what the automation engine does in the background (for an event,
never for a fixed time)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from hashlib import md5
from typing import Any

from tuyacloud import bodies
from tuyacloud.domain.context import Context
from tuyacloud.domain.rules.engine import RuleEngine
from tuyacloud.domain.smarthome import apps, homes
from tuyacloud.domain.smarthome.requests import CreateHome, SyncAppUser
from tuyacloud.models import AppUser, Device, Home, Project

APP_SCHEMA = "domainapp"


async def app_user(ctx: Context, project: Project, username: str) -> AppUser:
    """An app user of the project's linked app (the app is made and linked on first use)."""
    if await ctx.store.get_app(APP_SCHEMA) is None:
        await apps.create(ctx, schema=APP_SCHEMA, name="Domain app")
        await apps.link(ctx, APP_SCHEMA, project.access_id)
    return await apps.sync_user(ctx, project, APP_SCHEMA, bodies.convert(SyncAppUser, {
        "username": username, "password": md5(b"secret").hexdigest(), "country_code": "1", "username_type": 2}))


async def home_of(ctx: Context, project: Project, username: str, *categories: str) -> tuple[Home, AppUser,
                                                                                           list[Device]]:
    """An app user, their home, and a virtual device of each category in it."""
    user = await app_user(ctx, project, username)
    home = await homes.create(ctx, project, bodies.convert(CreateHome, {
        "uid": user.id, "home": {"name": "Home", "geo_name": "Berlin", "lon": 13.4, "lat": 52.5}}))
    made = [await homes.add_device(ctx, project, uid=user.id, home_id=home.id, category=c) for c in categories]
    return home, user, made


async def until(check: Callable[[], Any], engine: RuleEngine, timeout: float = 10.0) -> None:
    """Wait for ``check()`` to hold; on time-out the failure shows the engine's run history."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"not reached in time; runs: {list(engine.history)}"
        await asyncio.sleep(0.01)


def runs(engine: RuleEngine, rule_id: str, fired: bool = True) -> list[dict[str, Any]]:
    """The engine's history entries of one automation or scene: the runs it started, or (``fired=False``) those a
    rule held back."""
    return [e for e in engine.history if e["id"] == rule_id and e["fired"] is fired]


def switched(lamp: Device, on: bool) -> dict[str, Any]:
    """A device condition: the lamp's switch becomes ``on``."""
    return {"entity_type": 1, "entity_id": lamp.id, "display": {"code": "switch_led", "operator": "==", "value": on}}


def switch(lamp: Device, on: bool) -> dict[str, Any]:
    """An action: switch the lamp ``on`` or off."""
    return {"entity_id": lamp.id, "action_executor": "dpIssue", "executor_property": {"switch_led": on}}
