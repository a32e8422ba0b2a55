"""The asset tree of a custom project, in process on a real store: levels and full names, the name rules, the
depth and children limits of the policy, moving a subtree (never under itself, never deeper than the limit) and
deleting only an empty node; every refusal leaves the tree as it was."""

from __future__ import annotations

import dataclasses

import pytest

from tuyacloud.domain.context import Context, Policy
from tuyacloud.domain.devices import devices
from tuyacloud.domain.industry import assets
from tuyacloud.domain.projects import projects
from tuyacloud.errors import AssetLimitExceeded, AssetNotEmpty, AssetNotExist, ParamIllegal, PermissionDeny
from tuyacloud.models import Asset, Project

pytestmark = pytest.mark.anyio


async def tree(ctx: Context, project: Project) -> dict[str, tuple[str, int]]:
    """Every node of the project's tree as (parent id, level), by id."""
    return {a.id: (a.parent_id, a.level) for a in await ctx.store.all_assets(project.access_id, project.region)}


async def chain(ctx: Context, project: Project, *names: str) -> list[Asset]:
    """Nested assets: each a child of the one before, the first at the top."""
    made: list[Asset] = []
    for name in names:
        made.append(await assets.add(ctx, project, name, made[-1].id if made else None))
    return made


def limited(ctx: Context, depth: int, children: int) -> Context:
    """The same store and clock with a policy of smaller limits (``serve --asset-max-depth`` and friends)."""
    return dataclasses.replace(ctx, policy=dataclasses.replace(ctx.policy, asset_max_depth=depth,
                                                               asset_max_children=children))


async def test_levels_and_full_names(ctx: Context, custom_project: Project) -> None:
    building, floor, room = await chain(ctx, custom_project, "Building", "Floor 1", "Room 101")
    assert [a.level for a in (building, floor, room)] == [0, 1, 2]
    assert (floor.parent_id, room.parent_id, building.parent_id) == (building.id, floor.id, assets.TOP)
    viewed = await assets.views(ctx, custom_project, [room, floor])
    assert [v.full_name for v in viewed] == ["Building/Floor 1/Room 101", "Building/Floor 1"]
    # the project's root is made with the first asset, at the top, and holds devices that have no node
    root = await ctx.store.get_asset(assets.root_id(custom_project), custom_project.region)
    assert root is not None and root.is_root and root.parent_id == assets.TOP
    (lamp,) = await devices.create_virtual(ctx, custom_project, category="dj")
    assert lamp.asset_id == root.id


@pytest.mark.parametrize("name", ["", "   ", "a/b", "x" * (assets.MAX_NAME + 1), "bell\x07", 42])
async def test_a_bad_name_is_refused_and_nothing_is_added(ctx: Context, custom_project: Project,
                                                          name: object) -> None:
    (building,) = await chain(ctx, custom_project, "Building")
    before = await tree(ctx, custom_project)
    with pytest.raises(ParamIllegal):
        await assets.add(ctx, custom_project, name, building.id)
    with pytest.raises(ParamIllegal):
        await assets.rename(ctx, custom_project, building.id, name)
    assert await tree(ctx, custom_project) == before
    stored = await ctx.store.get_asset(building.id, custom_project.region)
    assert stored is not None and stored.name == "Building"


async def test_the_policy_limits_depth_and_children(ctx: Context, custom_project: Project) -> None:
    small = limited(ctx, depth=3, children=2)
    top, middle, bottom = await chain(small, custom_project, "L0", "L1", "L2")
    with pytest.raises(AssetLimitExceeded, match="3 levels deep"):
        await assets.add(small, custom_project, "L3", bottom.id)
    await assets.add(small, custom_project, "Sibling", top.id)  # top now has two children
    with pytest.raises(AssetLimitExceeded, match="at most 2 sub-assets"):
        await assets.add(small, custom_project, "Third", top.id)
    assert len(await tree(ctx, custom_project)) == 1 + 4  # the root and the four that were allowed
    assert isinstance(ctx.policy, Policy) and ctx.policy.asset_max_depth == 10  # the shared context is untouched


async def test_moving_a_subtree_shifts_its_levels(ctx: Context, custom_project: Project) -> None:
    building, floor, room = await chain(ctx, custom_project, "Building", "Floor", "Room")
    (annex,) = await chain(ctx, custom_project, "Annex")
    moved = await assets.move(ctx, custom_project, floor.id, annex.id)
    assert (moved.parent_id, moved.level) == (annex.id, 1)
    now = await tree(ctx, custom_project)
    assert now[floor.id] == (annex.id, 1) and now[room.id] == (floor.id, 2)
    await assets.move(ctx, custom_project, floor.id, assets.TOP)
    now = await tree(ctx, custom_project)
    assert now[floor.id] == (assets.TOP, 0) and now[room.id] == (floor.id, 1)


async def test_a_move_that_breaks_a_rule_changes_nothing(ctx: Context, custom_project: Project) -> None:
    small = limited(ctx, depth=3, children=5)
    building, floor, room = await chain(small, custom_project, "Building", "Floor", "Room")
    _, deep_child = await chain(small, custom_project, "Deep", "Deeper")
    before = await tree(ctx, custom_project)
    with pytest.raises(ParamIllegal, match="under itself"):
        await assets.move(small, custom_project, building.id, room.id)
    with pytest.raises(ParamIllegal, match="under itself"):
        await assets.move(small, custom_project, floor.id, floor.id)
    with pytest.raises(AssetLimitExceeded, match="levels deep"):  # Floor/Room under Deeper: levels 2 and 3
        await assets.move(small, custom_project, floor.id, deep_child.id)
    with pytest.raises(ParamIllegal, match="root"):
        await assets.move(small, custom_project, assets.root_id(custom_project), building.id)
    assert await tree(ctx, custom_project) == before
    await assets.move(small, custom_project, room.id, deep_child.id)  # Room alone fits at level 2
    assert (await tree(ctx, custom_project))[room.id] == (deep_child.id, 2)


async def test_only_an_empty_asset_is_deleted(ctx: Context, custom_project: Project) -> None:
    building, floor = await chain(ctx, custom_project, "Building", "Floor")
    (lamp,) = await devices.create_virtual(ctx, custom_project, category="dj", asset_id=floor.id)
    with pytest.raises(AssetNotEmpty, match="sub-assets"):
        await assets.delete(ctx, custom_project, building.id)
    with pytest.raises(AssetNotEmpty, match="devices"):
        await assets.delete(ctx, custom_project, floor.id)
    with pytest.raises(AssetNotEmpty, match="root"):
        await assets.delete(ctx, custom_project, assets.root_id(custom_project))
    assert floor.id in await tree(ctx, custom_project)
    await devices.delete(ctx, custom_project, lamp.id)
    await assets.delete(ctx, custom_project, floor.id)
    await assets.delete(ctx, custom_project, building.id)
    assert set(await tree(ctx, custom_project)) == {assets.root_id(custom_project)}
    with pytest.raises(AssetNotExist):
        await assets.get_owned(ctx, custom_project, floor.id)


async def test_another_projects_asset_is_not_ours(ctx: Context, custom_project: Project) -> None:
    other = await projects.create(ctx, name="Other", region="us", method="custom")
    (theirs,) = await chain(ctx, other, "Theirs")
    with pytest.raises(PermissionDeny):
        await assets.add(ctx, custom_project, "Intruder", theirs.id)
    with pytest.raises(PermissionDeny):
        await assets.rename(ctx, custom_project, theirs.id, "Mine")
    with pytest.raises(PermissionDeny):
        await assets.delete(ctx, custom_project, theirs.id)
    assert [a.name for a in await ctx.store.all_assets(other.access_id, other.region) if not a.is_root] == ["Theirs"]
