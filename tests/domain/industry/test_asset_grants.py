"""Project users' grants on assets, in process on a real store: a batch is checked whole before any grant is
written, granting again changes the children flag, the lists either side agree, and grants follow their asset
(moved with it, gone with it)."""

from __future__ import annotations

from hashlib import sha256

import pytest

from tuyacloud.domain.access import visibility
from tuyacloud.domain.context import Context
from tuyacloud.domain.industry import assets, authorization, users
from tuyacloud.domain.projects import projects
from tuyacloud.errors import AssetNotExist, ParamIllegal, PermissionDeny, UserNotExist
from tuyacloud.models import Project

pytestmark = pytest.mark.anyio


async def user(ctx: Context, project: Project, name: str) -> str:
    return (await users.register(ctx, project, username=name, password=sha256(b"secret").hexdigest())).id


async def grants(ctx: Context, project: Project, uid: str) -> dict[str, bool]:
    """The user's grants: asset id -> with children."""
    return {g.asset_id: g.with_children for g in await ctx.store.grants_of_user(project.access_id, project.region,
                                                                               uid)}


async def test_a_batch_with_one_bad_asset_grants_nothing(ctx: Context, custom_project: Project) -> None:
    uid = await user(ctx, custom_project, "ada")
    mine = await assets.add(ctx, custom_project, "Mine")
    other = await projects.create(ctx, name="Other", region="us", method="custom")
    theirs = await assets.add(ctx, other, "Theirs")
    with pytest.raises(PermissionDeny):
        await authorization.authorize(ctx, custom_project, uid, [mine.id, theirs.id], with_children=True)
    with pytest.raises(AssetNotExist):
        await authorization.authorize(ctx, custom_project, uid, [mine.id, "no-such-asset"], with_children=True)
    with pytest.raises(ParamIllegal, match="at least one"):
        await authorization.authorize(ctx, custom_project, uid, [" ", ""], with_children=True)
    with pytest.raises(ParamIllegal, match=f"at most {authorization.MAX_BATCH}"):
        await authorization.authorize(ctx, custom_project, uid, [f"a{i}" for i in range(authorization.MAX_BATCH + 1)],
                                      with_children=True)
    with pytest.raises(UserNotExist):
        await authorization.authorize(ctx, custom_project, "no-such-user", [mine.id], with_children=True)
    assert await grants(ctx, custom_project, uid) == {}


async def test_granting_again_changes_the_children_flag_and_revoking_removes_it(
        ctx: Context, custom_project: Project) -> None:
    uid = await user(ctx, custom_project, "ada")
    building = await assets.add(ctx, custom_project, "Building")
    floor = await assets.add(ctx, custom_project, "Floor", building.id)
    await authorization.authorize(ctx, custom_project, uid, [building.id, building.id], with_children=False)
    assert await grants(ctx, custom_project, uid) == {building.id: False}
    assert (await visibility.for_user(ctx, custom_project, uid)).asset_ids == {building.id}
    await authorization.authorize(ctx, custom_project, uid, [building.id], with_children=True)
    assert await grants(ctx, custom_project, uid) == {building.id: True}
    assert (await visibility.for_user(ctx, custom_project, uid)).asset_ids == {building.id, floor.id}
    await authorization.revoke(ctx, custom_project, uid, [building.id])
    assert await grants(ctx, custom_project, uid) == {}
    assert (await visibility.for_user(ctx, custom_project, uid)).asset_ids == frozenset()


async def test_the_lists_either_side_agree(ctx: Context, custom_project: Project) -> None:
    ada, bob, cy = [await user(ctx, custom_project, n) for n in ("ada", "bob", "cy")]
    hall = await assets.add(ctx, custom_project, "Hall")
    rooms = [await assets.add(ctx, custom_project, f"Room {i}", hall.id) for i in range(3)]
    await authorization.authorize(ctx, custom_project, ada, [hall.id, *(r.id for r in rooms)], with_children=False)
    await authorization.authorize(ctx, custom_project, bob, [hall.id], with_children=True)
    first, more, total = await authorization.user_assets(ctx, custom_project, ada, 1, 3)
    second, no_more, _ = await authorization.user_assets(ctx, custom_project, ada, 2, 3)
    assert total == 4 and more and not no_more
    assert {a.id for a in first + second} == {hall.id, *(r.id for r in rooms)}
    listed, count = await authorization.asset_users(ctx, custom_project, hall.id, 1, 10)
    assert count == 2 and {u.id for u in listed} == {ada, bob}
    assert cy not in {u.id for u in listed}


async def test_grants_follow_their_asset(ctx: Context, custom_project: Project) -> None:
    uid = await user(ctx, custom_project, "ada")
    east, west = await assets.add(ctx, custom_project, "East"), await assets.add(ctx, custom_project, "West")
    wing = await assets.add(ctx, custom_project, "Wing", west.id)
    await authorization.authorize(ctx, custom_project, uid, [east.id], with_children=True)
    assert wing.id not in (await visibility.for_user(ctx, custom_project, uid)).asset_ids
    await assets.move(ctx, custom_project, wing.id, east.id)  # into the granted subtree: seen from now on
    assert wing.id in (await visibility.for_user(ctx, custom_project, uid)).asset_ids
    await authorization.authorize(ctx, custom_project, uid, [west.id], with_children=False)
    await assets.delete(ctx, custom_project, west.id)  # an asset's grants go with it
    assert await grants(ctx, custom_project, uid) == {east.id: True}


async def test_a_user_token_may_not_grant(ctx: Context, custom_project: Project) -> None:
    uid = await user(ctx, custom_project, "ada")
    hall = await assets.add(ctx, custom_project, "Hall")
    await authorization.authorize(ctx, custom_project, uid, [hall.id], with_children=True)
    as_user = ctx.scoped(await visibility.for_user(ctx, custom_project, uid))
    with pytest.raises(PermissionDeny):
        await authorization.authorize(as_user, custom_project, uid, [hall.id], with_children=False)
    with pytest.raises(PermissionDeny):
        await authorization.revoke(as_user, custom_project, uid, [hall.id])
    assert await grants(ctx, custom_project, uid) == {hall.id: True}
