"""Project users authorised on asset nodes: grant, revoke, and the lists either side.

A grant names one asset and whether its descendants come with it. Granting again updates the children flag.
Users and assets must both belong to the project (another project's asset answers 1106, an unknown one 1000).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tuyacloud.domain.access import visibility
from tuyacloud.domain.context import Context
from tuyacloud.domain.industry import assets, users
from tuyacloud.errors import ParamIllegal
from tuyacloud.models import Asset, AssetGrant, Project, ProjectUser
from tuyacloud.store.base import Tx

MAX_BATCH = 100


def _ids(asset_ids: Sequence[str]) -> list[str]:
    ids = list(dict.fromkeys(i.strip() for i in asset_ids if i.strip()))
    if not ids:
        raise ParamIllegal("give at least one asset id")
    if len(ids) > MAX_BATCH:
        raise ParamIllegal(f"at most {MAX_BATCH} asset ids at once")
    return ids


async def authorize(ctx: Context, project: Project, uid: str, asset_ids: Sequence[str], with_children: bool) -> None:
    visibility.require_project_token(ctx)
    ids = _ids(asset_ids)
    user = await users.get(ctx, project, uid)
    for asset_id in ids:  # all must be ours before any grant is written
        await assets.get_owned(ctx, project, asset_id)
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> None:
        for asset_id in ids:
            await tx.upsert_grant(AssetGrant(project.access_id, project.region, user.id, asset_id, with_children, now))

    await ctx.store.transaction(work)


async def revoke(ctx: Context, project: Project, uid: str, asset_ids: Sequence[str]) -> None:
    visibility.require_project_token(ctx)
    ids = _ids(asset_ids)
    user = await users.get(ctx, project, uid)
    for asset_id in ids:
        await assets.get_owned(ctx, project, asset_id)

    async def work(tx: Tx) -> None:
        await tx.delete_grants(project.access_id, project.region, user.id, ids)

    await ctx.store.transaction(work)


async def user_assets(ctx: Context, project: Project, uid: str, page_no: int, size: int
                      ) -> tuple[list[Asset], bool, int]:
    """The assets a user is authorised on (the grants themselves), by page number."""
    visibility.require_project_token(ctx)
    user = await users.get(ctx, project, uid)
    grants = await ctx.store.grants_of_user(project.access_id, project.region, user.id)
    found = await ctx.store.get_assets(project.access_id, project.region, [g.asset_id for g in grants])
    start = (page_no - 1) * size
    return found[start:start + size], len(found) > start + size, len(found)


async def asset_users(ctx: Context, project: Project, asset_id: str, page_no: int, size: int
                      ) -> tuple[list[ProjectUser], int]:
    visibility.require_project_token(ctx)
    asset = await assets.get_owned(ctx, project, asset_id)
    found = await ctx.store.page_asset_users(project.access_id, project.region, asset.id, (page_no - 1) * size, size)
    return found, await ctx.store.count_asset_users(project.access_id, project.region, asset.id)


@dataclass
class UserView:
    """A project user with the assets they are authorised on, each with its full name (the console's users page,
    the CLI's ``user`` commands)."""

    user: ProjectUser
    grants: list[tuple[AssetGrant, str]]  # (grant, the asset's full name)


async def project_users(ctx: Context, project: Project, size: int, offset: int = 0) -> tuple[list[UserView], int]:
    """A custom project's users (in id order, from ``offset``) with the assets they are authorised on, and the
    number of users in all."""
    found, _, total = await users.page(ctx, project, "", size, offset=offset)
    tree = {a.id: a for a in await ctx.store.all_assets(project.access_id, project.region)}
    return [await _user_view(ctx, project, user, tree) for user in found], total


async def user_view(ctx: Context, project: Project, user: ProjectUser) -> UserView:
    """One user with the assets they are authorised on (what the CLI prints after a grant or a revoke)."""
    tree = {a.id: a for a in await ctx.store.all_assets(project.access_id, project.region)}
    return await _user_view(ctx, project, user, tree)


async def _user_view(ctx: Context, project: Project, user: ProjectUser, tree: dict[str, Asset]) -> UserView:
    grants = await ctx.store.grants_of_user(project.access_id, project.region, user.id)
    return UserView(user, [(g, assets.full_name(tree, tree[g.asset_id]) if g.asset_id in tree else g.asset_id)
                           for g in grants])


@dataclass
class MyAsset:
    asset: Asset
    permission: str  # "all" (with its children) | "read" (this node only)
    device_count: int


async def my_assets(ctx: Context, project: Project, parent_id: str | None, page_no: int, size: int
                    ) -> tuple[list[MyAsset], bool]:
    """The calling user's assets one level at a time: their top-most nodes, or the visible children of one."""
    scope = ctx.scope
    tree = {a.id: a for a in (await assets.tree_with_counts(ctx, project))[0]}
    counts = await ctx.store.device_counts_by_asset(project.access_id, project.region)
    visible = scope.asset_ids if scope is not None else frozenset(tree)
    full = scope.full if scope is not None else frozenset(tree)
    if parent_id in (None, "", assets.TOP):
        level = [tree[i] for i in visible if i in tree and tree[i].parent_id not in visible]
    else:
        parent = await assets.get_visible(ctx, project, parent_id)
        level = [tree[i] for i in visible if i in tree and tree[i].parent_id == parent.id]
    level.sort(key=lambda a: a.id)
    start = (page_no - 1) * size
    chosen = level[start:start + size]
    return [MyAsset(a, "all" if a.id in full else "read", counts.get(a.id, 0)) for a in chosen], \
        len(level) > start + size
