"""What a request may see: everything for the project's own token, the authorised asset nodes for a user token,
the homes (and own devices) of a smart-home app user's token.

The rule: a project user authorised on an asset sees and controls the
devices at that asset, and at its descendants only when authorised with children. The gateway works out the
request's :class:`~tuyacloud.domain.context.Scope` once, after authentication, and hands the request's handler a
context that carries it (``Context.scoped``); the device lookups and lists of ``domain/devices/devices.py``, the
asset reads of ``domain/industry/assets.py`` and the few other reads that differ read ``ctx.scope``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tuyacloud.domain.context import Context, Scope
from tuyacloud.errors import PermissionDeny
from tuyacloud.models import Asset, AssetGrant, Project, Token


def require_project_token(ctx: Context) -> None:
    """Management calls (assets, users, authorisations) are the project's, not its users'."""
    if ctx.scope is not None:
        raise PermissionDeny("this call needs the project's token, not a user's")


def children_map(assets: Iterable[Asset]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for a in assets:
        children.setdefault(a.parent_id, []).append(a.id)
    return children


def descendants(children: dict[str, list[str]], asset_id: str) -> list[str]:
    """Every asset below ``asset_id`` (not itself); iterative, as trees can be deep."""
    found: list[str] = []
    stack = list(children.get(asset_id, ()))
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(children.get(node, ()))
    return found


@dataclass(frozen=True)
class AssetTree:
    """A project's asset ids and each one's children, worked out once when many users' scopes are (the open hub
    reads a thousand links' scopes again every few seconds: one map, not one per user)."""

    ids: frozenset[str]
    children: dict[str, list[str]]

    @classmethod
    def of(cls, assets: Iterable[Asset]) -> AssetTree:
        assets = list(assets)
        return cls(frozenset(a.id for a in assets), children_map(assets))


def scope_of(uid: str, grants: list[AssetGrant], assets: list[Asset], tree: AssetTree | None = None) -> Scope:
    tree = tree or AssetTree.of(assets)
    existing, children = tree.ids, tree.children
    visible: set[str] = set()
    full: set[str] = set()
    for g in grants:
        if g.asset_id not in existing:
            continue
        visible.add(g.asset_id)
        if g.with_children:
            below = descendants(children, g.asset_id)
            visible.update(below)
            full.add(g.asset_id)
            full.update(below)
    return Scope(uid, frozenset(visible), frozenset(full))


async def for_user(ctx: Context, project: Project, uid: str) -> Scope:
    grants = await ctx.store.grants_of_user(project.access_id, project.region, uid)
    if not grants:
        return Scope(uid, frozenset(), frozenset())
    assets = await ctx.store.all_assets(project.access_id, project.region)
    return scope_of(uid, grants, assets)


async def for_app_user(ctx: Context, uid: str) -> Scope:
    homes = await ctx.store.homes_of_user(uid)
    return Scope(uid, frozenset(h.id for h, _ in homes), frozenset(), app_user=True)


async def for_token(ctx: Context, project: Project, token: Token | None) -> Scope | None:
    if token is None or token.kind == "project":
        return None
    if token.kind == "app_user":
        return await for_app_user(ctx, token.uid)
    return await for_user(ctx, project, token.uid)
