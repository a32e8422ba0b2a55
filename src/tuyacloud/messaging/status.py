"""What the CLI, the control API and the console show about a project's subscriptions."""

from __future__ import annotations

from typing import Any

from tuyacloud.clock import wall_ms
from tuyacloud.domain.context import Context
from tuyacloud.messaging import ENVS
from tuyacloud.store.base import Tx

CONSUMER_SEEN_MS = 15_000


async def subscription_status(ctx: Context, access_id: str) -> list[dict[str, Any]]:
    """Per subscription: backlog, oldest unacknowledged message, consumers (active first), last ack.

    The default subscription ``{access_id}-sub`` of both topics is listed even before anyone connected, since
    its backlog is already accumulating.
    """
    store = ctx.store
    now = ctx.clock.now_ms()
    subs = {(s.env, s.name): s for s in await store.get_subscriptions(access_id)}
    keys = set(subs) | {(env, f"{access_id}-sub") for env in ENVS}
    consumers = await store.list_consumers(access_id, now - CONSUMER_SEEN_MS)
    out = []
    for env, name in sorted(keys):
        sub = subs.get((env, name))
        mark = sub.mark_seq if sub else 0
        backlog, oldest = await store.backlog(access_id, env, name, mark)
        active_owner = sub.owner if sub and sub.lease_until_ms >= wall_ms() else None  # leases: wall-clock
        listed = []
        for c in consumers:
            if (c.env, c.name) == (env, name):
                is_active = active_owner is not None and active_owner.endswith(":" + c.id)
                listed.append({"id": c.id, "address": c.address, "connected_ms": c.connected_ms,
                               "active": is_active})
        listed.sort(key=lambda c: not c["active"])
        out.append({
            "topic": f"persistent://{access_id}/out/{env}",
            "subscription": name,
            "env": env,
            "backlog": backlog,
            "oldest_unacked_ms": oldest,
            "last_ack_ms": sub.last_ack_ms if sub else None,
            "consumers": listed,
        })
    return out


async def apply_retention(ctx: Context, retention_s: int) -> int:
    async def work(tx: Tx) -> int:
        await tx.delete_stale_consumers(ctx.clock.now_ms() - 10 * CONSUMER_SEEN_MS)
        return int(await tx.delete_messages_before(ctx.clock.now_ms() - retention_s * 1000))

    return await ctx.store.transaction(work)
