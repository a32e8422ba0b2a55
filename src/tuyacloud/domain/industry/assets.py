"""The asset tree of a custom project: nodes, their children, their devices.

A custom project gets a root asset named after it (created with the project, or lazily for projects made before
assets existed); devices created without a node go there. Top assets have ``parent_asset_id`` ``"-1"`` and level
0. Depth (levels) and breadth (children of one node) are limited by the policy. Lookups of another project's
asset answer 1106 (as devices do), unknown ids 1000. With a user token, reads show only the user's nodes
(``domain/access/visibility.py``) and writes are refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from tuyacloud.domain.access import visibility
from tuyacloud.domain.context import Context
from tuyacloud.errors import AssetLimitExceeded, AssetNotEmpty, AssetNotExist, ParamIllegal, PermissionDeny
from tuyacloud.models import Asset, Device, Project
from tuyacloud.store.base import Tx

TOP = "-1"
ASSET_TYPES = ("park", "building", "floor", "room")
MAX_NAME = 50


@dataclass
class AssetView:
    asset: Asset
    full_name: str


def check_name(name: str | None) -> str:
    """1 to 50 characters, no ``/`` (it separates the levels of a full name), no control characters."""
    if not isinstance(name, str):
        raise ParamIllegal("name must be a string")
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ParamIllegal(f"asset name must be 1 to {MAX_NAME} characters")
    if "/" in name or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ParamIllegal("asset name must not contain '/' or control characters")
    return name


def root_id(project: Project) -> str:
    """Derived from the project, so that creating it twice (two servers, lazily) makes one root."""
    return "0" + hashlib.sha256(f"{project.access_id}/{project.region}".encode()).hexdigest()[:19]


async def ensure_root(ctx: Context, project: Project) -> str:
    """The project's root asset id (custom projects only; "" otherwise), created with unplaced devices moved in."""
    if project.method != "custom":
        return ""
    asset_id = root_id(project)
    if await ctx.store.get_asset(asset_id, project.region) is not None:
        return asset_id
    root = Asset(asset_id, project.access_id, project.region, TOP, project.name[:MAX_NAME].replace("/", "-"),
                 "", "", 0, ctx.clock.now_ms(), True)

    async def work(tx: Tx) -> None:
        if await tx.insert_root_asset(root):
            await tx.place_unplaced_devices(project.access_id, project.region, asset_id)

    await ctx.store.transaction(work)
    return asset_id


async def get_owned(ctx: Context, project: Project, asset_id: str) -> Asset:
    asset = await ctx.store.get_asset(asset_id, project.region) if asset_id and asset_id != TOP else None
    if asset is None:
        raise AssetNotExist(f"asset {asset_id!r} does not exist")
    if asset.access_id != project.access_id:
        raise PermissionDeny("the asset belongs to another project")
    return asset


async def get_visible(ctx: Context, project: Project, asset_id: str) -> Asset:
    asset = await get_owned(ctx, project, asset_id)
    scope = ctx.scope
    if scope is not None and asset.id not in scope.asset_ids:
        raise PermissionDeny("the user is not authorised on this asset")
    return asset


async def _tree(ctx: Context, project: Project) -> dict[str, Asset]:
    await ensure_root(ctx, project)
    return {a.id: a for a in await ctx.store.all_assets(project.access_id, project.region)}


def full_name(tree: dict[str, Asset], asset: Asset) -> str:
    parts = [asset.name]
    node = asset
    while node.parent_id != TOP and node.parent_id in tree and len(parts) < 1000:
        node = tree[node.parent_id]
        parts.append(node.name)
    return "/".join(reversed(parts))


async def views(ctx: Context, project: Project, found: Sequence[Asset]) -> list[AssetView]:
    """Assets with their full names (one read of the tree, not one per ancestor)."""
    if all(a.parent_id == TOP for a in found):
        return [AssetView(a, a.name) for a in found]
    tree = {a.id: a for a in await ctx.store.all_assets(project.access_id, project.region)}
    return [AssetView(a, full_name(tree, a)) for a in found]


async def add(ctx: Context, project: Project, name: str | None, parent_id: str | None = None, *,
              asset_type: str = "", image: str = "") -> Asset:
    visibility.require_project_token(ctx)
    name = check_name(name)
    if asset_type and asset_type not in ASSET_TYPES:
        raise ParamIllegal(f"asset_type must be one of {', '.join(ASSET_TYPES)}")
    if len(image) > 1024:
        raise ParamIllegal("asset_image must be at most 1024 characters")
    await ensure_root(ctx, project)
    level = 0
    parent = TOP
    if parent_id and parent_id != TOP:
        parent_asset = await get_owned(ctx, project, parent_id)
        parent, level = parent_asset.id, parent_asset.level + 1
    if level >= ctx.policy.asset_max_depth:
        raise AssetLimitExceeded(f"the asset tree is at most {ctx.policy.asset_max_depth} levels deep")
    asset = Asset(ctx.ids.hex(20), project.access_id, project.region, parent, name, asset_type, image, level,
                  ctx.clock.now_ms())

    async def work(tx: Tx) -> None:
        siblings = await tx.count_assets(project.access_id, project.region, parent_id=parent)
        if siblings >= ctx.policy.asset_max_children:
            raise AssetLimitExceeded(f"an asset has at most {ctx.policy.asset_max_children} sub-assets")
        await tx.insert_asset(asset)

    await ctx.store.transaction(work)
    return asset


async def rename(ctx: Context, project: Project, asset_id: str, name: str | None) -> None:
    visibility.require_project_token(ctx)
    checked = check_name(name)
    asset = await get_owned(ctx, project, asset_id)

    async def work(tx: Tx) -> None:
        await tx.rename_asset(project.access_id, project.region, asset.id, checked)

    await ctx.store.transaction(work)


def subtree(tree: dict[str, Asset], asset_id: str) -> list[Asset]:
    """The node and all its descendants (breadth first)."""
    children: dict[str, list[Asset]] = {}
    for a in tree.values():
        children.setdefault(a.parent_id, []).append(a)
    out, frontier = [tree[asset_id]], [asset_id]
    while frontier:
        frontier = [c.id for parent in frontier for c in children.get(parent, [])]
        out += [tree[i] for i in frontier]
    return out


async def move(ctx: Context, project: Project, asset_id: str, parent_id: str) -> Asset:
    """Move a node (with its subtree, devices and grants) under another parent, or to the top with ``-1``.

    Refused, with nothing changed: the project's root (it stays at the top), a parent inside the node's own
    subtree (a cycle), a move that would make the tree deeper than ``asset_max_depth`` or give the new parent
    more than ``asset_max_children`` sub-assets.
    """
    visibility.require_project_token(ctx)
    asset = await get_owned(ctx, project, asset_id)
    if asset.is_root:
        raise ParamIllegal("the project's root asset stays at the top")
    new_parent = TOP if parent_id in ("", TOP) else (await get_owned(ctx, project, parent_id)).id

    async def work(tx: Tx) -> Asset:
        tree = {a.id: a for a in await tx.all_assets(project.access_id, project.region)}
        moved = subtree(tree, asset.id)
        if new_parent in {a.id for a in moved}:
            raise ParamIllegal("an asset cannot move under itself or one of its own sub-assets")
        level = 0 if new_parent == TOP else tree[new_parent].level + 1
        shift = level - tree[asset.id].level
        if max(a.level for a in moved) + shift >= ctx.policy.asset_max_depth:
            raise AssetLimitExceeded(f"the asset tree is at most {ctx.policy.asset_max_depth} levels deep")
        if new_parent != tree[asset.id].parent_id:
            siblings = await tx.count_assets(project.access_id, project.region, parent_id=new_parent)
            if siblings >= ctx.policy.asset_max_children:
                raise AssetLimitExceeded(f"an asset has at most {ctx.policy.asset_max_children} sub-assets")
        for node in moved:
            parent = new_parent if node.id == asset.id else node.parent_id
            await tx.place_asset(project.access_id, project.region, node.id, parent, node.level + shift)
        return dataclasses.replace(tree[asset.id], parent_id=new_parent, level=level)

    return await ctx.store.transaction(work)


async def delete(ctx: Context, project: Project, asset_id: str) -> None:
    """Only an empty asset (no sub-assets, no devices) goes; the project's root stays. Its grants go with it."""
    visibility.require_project_token(ctx)
    asset = await get_owned(ctx, project, asset_id)
    if asset.is_root:
        raise AssetNotEmpty("the project's root asset cannot be deleted")

    async def work(tx: Tx) -> None:
        if await tx.count_assets(project.access_id, project.region, parent_id=asset.id):
            raise AssetNotEmpty("the asset has sub-assets")
        if await tx.count_devices_at(project.access_id, project.region, [asset.id]):
            raise AssetNotEmpty("the asset has devices")
        await tx.delete_asset(project.access_id, project.region, asset.id)

    await ctx.store.transaction(work)


async def get_many(ctx: Context, project: Project, ids: Sequence[str]) -> list[Asset]:
    """This project's assets among ``ids`` (others' and unknown ones left out, as batch calls do)."""
    await ensure_root(ctx, project)
    found = await ctx.store.get_assets(project.access_id, project.region, list(dict.fromkeys(ids)))
    scope = ctx.scope
    return [a for a in found if scope is None or a.id in scope.asset_ids]


def _slice(items: list[Asset], after_id: str, size: int, offset: int = 0) -> tuple[list[Asset], bool]:
    rest = [a for a in items if a.id > after_id][offset:]
    return rest[:size], len(rest) > size


async def search(ctx: Context, project: Project, after_id: str, size: int, *, name: str | None = None,
                 ids: Sequence[str] = (), offset: int = 0) -> tuple[list[Asset], bool, int]:
    """Assets in id order after the cursor: (page, has more, total)."""
    scope = ctx.scope
    if scope is not None:
        tree = await _tree(ctx, project)
        items = sorted((tree[i] for i in scope.asset_ids if i in tree), key=lambda a: a.id)
        items = [a for a in items if (not ids or a.id in ids) and (not name or name in a.name)]
        page, more = _slice(items, after_id, size, offset)
        return page, more, len(items)
    await ensure_root(ctx, project)
    rows = await ctx.store.page_assets(project.access_id, project.region, after_id, size + 1, ids=list(ids),
                                       name=name, offset=offset)
    if ids:
        total = len([a for a in await ctx.store.get_assets(project.access_id, project.region, list(ids))
                     if not name or name in a.name])
    else:
        total = await ctx.store.count_assets(project.access_id, project.region, name=name)
    return rows[:size], len(rows) > size, total


async def children(ctx: Context, project: Project, parent_id: str, after_id: str, size: int
                   ) -> tuple[list[Asset], bool]:
    """Sub-assets of a node (``-1``: the top). A user sees their top-most nodes under ``-1``, and visible ones."""
    scope = ctx.scope
    if scope is not None:
        tree = await _tree(ctx, project)
        if parent_id in ("", TOP):
            items = [tree[i] for i in scope.asset_ids if i in tree and tree[i].parent_id not in scope.asset_ids]
        else:
            await get_visible(ctx, project, parent_id)
            items = [tree[i] for i in scope.asset_ids if i in tree and tree[i].parent_id == parent_id]
        return _slice(sorted(items, key=lambda a: a.id), after_id, size)
    await ensure_root(ctx, project)
    parent = TOP if parent_id in ("", TOP) else (await get_owned(ctx, project, parent_id)).id
    rows = await ctx.store.page_assets(project.access_id, project.region, after_id, size + 1, parent_id=parent)
    return rows[:size], len(rows) > size


async def descendants(ctx: Context, project: Project, asset_id: str, after_id: str, size: int, *,
                      name: str | None = None, depth: int | None = None) -> tuple[list[Asset], bool, int]:
    """Every asset below a node (at most ``depth`` levels below it when given), in id order after the cursor."""
    tree = await _tree(ctx, project)
    top = await get_visible(ctx, project, asset_id)
    below = [tree[i] for i in visibility.descendants(visibility.children_map(tree.values()), top.id)]
    scope = ctx.scope
    items = sorted((a for a in below
                    if (scope is None or a.id in scope.asset_ids) and (not name or name in a.name)
                    and (depth is None or a.level - top.level <= depth)), key=lambda a: a.id)
    page, more = _slice(items, after_id, size)
    return page, more, len(items)


async def devices_at(ctx: Context, project: Project, asset_id: str, after_id: str, size: int
                     ) -> tuple[Asset, list[Device], bool, int]:
    """The devices bound to one asset (not its descendants), in id order after the cursor."""
    await ensure_root(ctx, project)
    asset = await get_visible(ctx, project, asset_id)
    rows = await ctx.store.page_devices(project.access_id, project.region, after_id, size + 1, asset_id=asset.id)
    total = await ctx.store.count_devices_at(project.access_id, project.region, [asset.id])
    return asset, rows[:size], len(rows) > size, total


async def tree_with_counts(ctx: Context, project: Project) -> tuple[list[Asset], dict[str, int]]:
    """Every asset of the project and the number of devices at each (for the CLI's tree)."""
    tree = await _tree(ctx, project)
    counts = await ctx.store.device_counts_by_asset(project.access_id, project.region)
    return sorted(tree.values(), key=lambda a: (a.level, a.created_ms, a.id)), counts
