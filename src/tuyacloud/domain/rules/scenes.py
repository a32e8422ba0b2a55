"""Tap-to-run scenes of a home: list, add, modify, delete, trigger.

A scene belongs to one home; whoever may see the home may list and trigger its scenes, while adding, modifying and
deleting them takes the owner or an administrator (2508) with a user token, as managing the home does. Actions are
checked when saved (``domain/rules/scene_actions.py``); nothing is written when one is refused. At most
:data:`MAX_SCENES` scenes per home (the app's limit).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from msgspec import UNSET

from tuyacloud.domain.context import Context
from tuyacloud.domain.rules import scene_actions
from tuyacloud.domain.rules.requests import BACKGROUND_REFUSED, SceneBody
from tuyacloud.domain.smarthome import homes
from tuyacloud.errors import ParamIllegal, ParamRangeInvalid, SceneNotExist, SystemError_
from tuyacloud.models import Device, Home, Project, Scene
from tuyacloud.store.base import Tx

MAX_SCENES = 100


def background_of(value: str | None) -> str:
    if value is None:
        return ""
    if len(value) > 512 or not value.isprintable():
        raise ParamIllegal(BACKGROUND_REFUSED)
    return value.strip()


async def new_rule_id(ctx: Context, insert: Callable[[str], Awaitable[bool]]) -> str:
    """A 16-character id (Tuya's scene and automation ids look like ``53IYSXI3gEn2wXyz``)."""
    for _ in range(10):
        candidate = ctx.ids.alnum(16)
        if await insert(candidate):
            return candidate
    raise SystemError_("could not draw an unused id")


async def _scene(ctx: Context, project: Project, home_id: str, scene_id: str, manage: bool = False
                 ) -> tuple[Home, Scene]:
    home = await homes.get_home(ctx, project, home_id, manage=manage)
    scene = await ctx.store.get_scene(scene_id)
    if scene is None or scene.home_id != home.id:
        raise SceneNotExist(f"scene {scene_id!r} does not exist in home {home.id}")
    return home, scene


async def listing(ctx: Context, project: Project, home_id: str) -> list[Scene]:
    home = await homes.get_home(ctx, project, home_id)
    return await ctx.store.home_scenes(home.id)


async def add(ctx: Context, project: Project, home_id: str, body: SceneBody) -> Scene:
    home = await homes.get_home(ctx, project, home_id, manage=True)
    name = homes.check_name(body.name)
    background = background_of(None if body.background is UNSET else body.background)
    actions = await scene_actions.validate(ctx, home, body.actions)
    now = ctx.clock.now_ms()
    scene = Scene("", home.id, home.region, name, background, True, actions, now, now)

    async def work(tx: Tx) -> Scene:
        if await tx.count_scenes(home.id) >= MAX_SCENES:
            raise ParamRangeInvalid(f"a home has at most {MAX_SCENES} scenes")

        async def insert(candidate: str) -> bool:
            scene.id = candidate
            return await tx.insert_scene(scene)

        await new_rule_id(ctx, insert)
        return scene

    return await ctx.store.transaction(work)


async def modify(ctx: Context, project: Project, home_id: str, scene_id: str, body: SceneBody) -> None:
    home, scene = await _scene(ctx, project, home_id, scene_id, manage=True)
    scene.name = homes.check_name(body.name)
    if body.background is not UNSET:
        scene.background = background_of(body.background)
    scene.actions = await scene_actions.validate(ctx, home, body.actions)
    scene.updated_ms = ctx.clock.now_ms()

    async def work(tx: Tx) -> None:
        await tx.update_scene(scene)

    await ctx.store.transaction(work)


async def delete(ctx: Context, project: Project, home_id: str, scene_id: str) -> None:
    _, scene = await _scene(ctx, project, home_id, scene_id, manage=True)

    async def work(tx: Tx) -> None:
        await tx.delete_scene(scene.id)

    await ctx.store.transaction(work)


async def trigger(ctx: Context, project: Project, home_id: str, scene_id: str) -> None:
    """Run the scene: its actions up to the first delay before this returns, the rest in the background."""
    home, scene = await _scene(ctx, project, home_id, scene_id)
    if ctx.rules is None:
        raise SystemError_("the automation engine is not running")
    await ctx.rules.run_scene(scene.id, home.id, home.region, scene.actions, ctx.causation)


async def scene_devices(ctx: Context, project: Project, home_id: str) -> list[Device]:
    """Devices of the home a scene can command: those whose product has functions."""
    found = await homes.home_devices(ctx, project, home_id)
    usable = []
    for device in found:
        product = ctx.catalog.product(device.product_id)
        if product is not None and product.functions:
            usable.append(device)
    return usable
