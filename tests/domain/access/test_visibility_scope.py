"""Asset visibility in process against the store: a project user authorised on an asset sees the devices at that
asset, and at its descendants only when authorised with children; a revoked grant takes the view away; the
user's scope reaches the domain in the context (``Context.scoped``), not beside it."""

from __future__ import annotations

from hashlib import sha256

import pytest

from tuyacloud.domain.access import visibility
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices
from tuyacloud.domain.industry import assets, authorization, users
from tuyacloud.errors import PermissionDeny
from tuyacloud.models import Device, Project

pytestmark = pytest.mark.anyio


class Site:
    """Building > Floor > Room, and a Warehouse beside it, with a lamp at each."""

    def __init__(self, lamps: dict[str, Device], tree: dict[str, str]) -> None:
        self.lamps, self.tree = lamps, tree

    def ids(self, *names: str) -> set[str]:
        return {self.lamps[n].id for n in names}


async def site(ctx: Context, project: Project) -> Site:
    building = await assets.add(ctx, project, "Building")
    floor = await assets.add(ctx, project, "Floor", building.id)
    room = await assets.add(ctx, project, "Room", floor.id)
    warehouse = await assets.add(ctx, project, "Warehouse")
    tree = {"building": building.id, "floor": floor.id, "room": room.id, "warehouse": warehouse.id}
    lamps = {name: (await devices.create_virtual(ctx, project, category="dj", asset_id=asset_id))[0]
             for name, asset_id in tree.items()}
    return Site(lamps, tree)


async def user(ctx: Context, project: Project, name: str) -> str:
    made = await users.register(ctx, project, username=name, password=sha256(b"secret").hexdigest())
    return made.id


async def seen_by(ctx: Context, project: Project, uid: str) -> set[str]:
    """The devices a user token's requests list, and check one by one (both must agree)."""
    scoped = ctx.scoped(await visibility.for_user(ctx, project, uid))
    listed, more = await devices.page(scoped, project, "", 100)
    assert not more
    one_by_one: set[str] = set()
    for device_id in {d.id for d in (await devices.page(ctx, project, "", 100))[0]}:
        try:
            await devices.get_owned(scoped, project, device_id)
            one_by_one.add(device_id)
        except PermissionDeny:
            pass
    assert {d.id for d in listed} == one_by_one
    return one_by_one


async def test_a_grant_without_children_shows_that_asset_only(ctx: Context, custom_project: Project) -> None:
    s = await site(ctx, custom_project)
    uid = await user(ctx, custom_project, "floor_only")
    assert await seen_by(ctx, custom_project, uid) == set()  # no grant, nothing
    await authorization.authorize(ctx, custom_project, uid, [s.tree["floor"]], False)
    assert await seen_by(ctx, custom_project, uid) == s.ids("floor")
    scoped = ctx.scoped(await visibility.for_user(ctx, custom_project, uid))
    await assets.get_visible(scoped, custom_project, s.tree["floor"])
    for hidden in ("building", "room", "warehouse"):
        with pytest.raises(PermissionDeny):
            await assets.get_visible(scoped, custom_project, s.tree[hidden])


async def test_a_grant_with_children_shows_the_subtree_and_a_revoke_takes_it_away(
        ctx: Context, custom_project: Project) -> None:
    s = await site(ctx, custom_project)
    uid = await user(ctx, custom_project, "whole_building")
    await authorization.authorize(ctx, custom_project, uid, [s.tree["building"]], True)
    assert await seen_by(ctx, custom_project, uid) == s.ids("building", "floor", "room")
    scope = await visibility.for_user(ctx, custom_project, uid)
    assert scope.full == {s.tree["building"], s.tree["floor"], s.tree["room"]}
    # an asset added below later is in the view too (worked out per request, not stored)
    annex = await assets.add(ctx, custom_project, "Annex", s.tree["room"])
    assert annex.id in (await visibility.for_user(ctx, custom_project, uid)).asset_ids
    await authorization.revoke(ctx, custom_project, uid, [s.tree["building"]])
    assert await seen_by(ctx, custom_project, uid) == set()


async def test_a_user_scope_may_not_manage(ctx: Context, custom_project: Project) -> None:
    s = await site(ctx, custom_project)
    uid = await user(ctx, custom_project, "manager_wannabe")
    await authorization.authorize(ctx, custom_project, uid, [s.tree["building"]], True)
    scoped = ctx.scoped(await visibility.for_user(ctx, custom_project, uid))
    with pytest.raises(PermissionDeny):
        await assets.add(scoped, custom_project, "Sneaky", s.tree["building"])
    with pytest.raises(PermissionDeny):
        await authorization.authorize(scoped, custom_project, uid, [s.tree["warehouse"]], True)
    assert await seen_by(ctx, custom_project, uid) == s.ids("building", "floor", "room")
