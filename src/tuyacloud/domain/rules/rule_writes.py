"""Every write to automations goes through :func:`commit`: the change and a new ``rules_version`` in one unit.

The version tells the automation engines of all processes that their index of referenced devices and scheduled
automations is stale; the local engine is told at once, with the automation written (a status change committed
before the write is not judged by it), the others notice within a poll interval.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tuyacloud.domain.context import Context
from tuyacloud.store.base import Tx

T = TypeVar("T")

# The store meta key the version is kept under.
RULES_VERSION = "rules_version"


async def commit(ctx: Context, work: Callable[[Tx], Awaitable[T]], written: Callable[[], str]) -> T:
    """``work`` and the new version in one unit; ``written()`` is the id of the automation it wrote, read after the
    commit (a new automation's id is drawn inside the unit)."""

    async def unit(tx: Tx) -> T:
        result = await work(tx)
        await tx.set_meta(RULES_VERSION, ctx.ids.hex(16))
        return result

    result = await ctx.store.transaction(unit)
    if ctx.rules is not None:
        ctx.rules.invalidate(written())
    return result


async def set_enabled(ctx: Context, home_id: str, automation_id: str, enabled: bool) -> bool:
    """Enable or disable an automation of ``home_id``; False when it is not (or no longer) there."""

    async def work(tx: Tx) -> bool:
        return await _set_enabled(ctx, tx, home_id, automation_id, enabled)

    return await commit(ctx, work, lambda: automation_id)


async def set_enabled_in_unit(ctx: Context, tx: Tx, home_id: str, automation_id: str, enabled: bool) -> bool:
    """:func:`set_enabled` inside the caller's unit of work (a delayed action commits with its own claim), the
    version bumped with it; after the commit the caller tells the local engine
    (``ctx.rules.invalidate(automation_id)``)."""
    if not await _set_enabled(ctx, tx, home_id, automation_id, enabled):
        return False
    await tx.set_meta(RULES_VERSION, ctx.ids.hex(16))
    return True


async def _set_enabled(ctx: Context, tx: Tx, home_id: str, automation_id: str, enabled: bool) -> bool:
    found = await tx.get_automation(automation_id)
    if found is None or found.home_id != home_id:
        return False
    await tx.set_automation_enabled(automation_id, enabled, ctx.clock.now_ms())
    return True
