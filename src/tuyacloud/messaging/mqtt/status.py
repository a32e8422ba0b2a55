"""What the CLI, the control API and the console show about a project's MQTT open-hub links: read from the store,
so it is the same from any process (the broker's server, another server on the same database, the CLI)."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.access import openhub
from tuyacloud.domain.context import Context

SEEN_MS = 15_000  # a connected link's row is refreshed every few seconds by the process holding it
SHOWN_AFTER_MS = 3_600_000  # expired credentials stay listed for an hour


async def link_status(ctx: Context, access_id: str) -> list[dict[str, Any]]:
    """Per credential (newest first): link, user, connection, last message, messages sent, expiry."""
    now = ctx.clock.now_ms()
    out = []
    for c in await ctx.store.credentials_of_project(access_id, now - SHOWN_AFTER_MS):
        connected = c.connected_ms is not None and (c.last_seen_ms or 0) >= now - SEEN_MS
        out.append({
            "link_id": c.link_id,
            "client_id": c.client_id,
            "username": c.username,
            "uid": c.uid,
            "sees": {"project": "the whole project", "user": "the user's assets",
                     "app_user": "the user's homes and devices"}.get(c.token_kind, c.token_kind),
            "version": c.version,
            "topic": c.topic,
            "connected": connected,
            "connected_ms": c.connected_ms if connected else None,
            "node": c.node if connected else None,
            "last_message_ms": c.last_message_ms,
            "messages": c.messages,
            "created_ms": c.created_ms,
            "expires_ms": c.expires_ms,
            "valid": openhub.is_valid(c, now),
            "revoked": c.revoked_ms is not None and c.revoked_ms <= now,
        })
    return out
