"""The MQTT open-hub's queries: issued credentials, their delivery position and connection state. Mixed into
``Queries``; portable SQL like the rest of the store."""

from __future__ import annotations

from tuyacloud.models import HubCredential
from tuyacloud.store.queries.primitives import Primitives
from tuyacloud.store.rows import Row

_COLS = (
    "username, access_id, region, link_id, client_id, uid, token_kind, password_hash, message_key, topic, version, "
    "created_ms, expires_ms, start_seq, delivered_seq, revoked_ms, connected_ms, last_seen_ms, last_message_ms, "
    "messages, node"
)


def _credential(r: Row) -> HubCredential:
    return HubCredential(
        username=r[0], access_id=r[1], region=r[2], link_id=r[3], client_id=r[4], uid=r[5], token_kind=r[6],
        password_hash=r[7], message_key=r[8], topic=r[9], version=r[10], created_ms=int(r[11]),
        expires_ms=int(r[12]), start_seq=int(r[13]), delivered_seq=int(r[14]), revoked_ms=r[15],
        connected_ms=r[16], last_seen_ms=r[17], last_message_ms=r[18], messages=int(r[19]), node=r[20],
    )


class OpenHubQueries(Primitives):
    async def insert_credential(self, c: HubCredential) -> None:
        await self.execute(
            f"INSERT INTO mqtt_credentials ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?)",
            (c.username, c.access_id, c.region, c.link_id, c.client_id, c.uid, c.token_kind, c.password_hash,
             c.message_key, c.topic, c.version, c.created_ms, c.expires_ms, c.start_seq, c.delivered_seq,
             c.revoked_ms, c.connected_ms, c.last_seen_ms, c.last_message_ms, c.messages, c.node),
        )

    async def get_credential(self, username: str) -> HubCredential | None:
        rows = await self.fetch(f"SELECT {_COLS} FROM mqtt_credentials WHERE username = ?", (username,))
        return _credential(rows[0]) if rows else None

    async def credentials_of_project(self, access_id: str, seen_after_ms: int) -> list[HubCredential]:
        """Credentials still valid at ``seen_after_ms`` or connected since then, newest first."""
        rows = await self.fetch(
            f"SELECT {_COLS} FROM mqtt_credentials WHERE access_id = ? AND "
            "(expires_ms >= ? OR last_seen_ms >= ?) ORDER BY created_ms DESC",
            (access_id, seen_after_ms, seen_after_ms),
        )
        return [_credential(r) for r in rows]

    async def last_message_seq(self, access_id: str) -> int:
        rows = await self.fetch("SELECT MAX(seq) FROM messages WHERE access_id = ?", (access_id,))
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    async def credential_connected(self, username: str, node: str, now_ms: int) -> None:
        await self.execute(
            "UPDATE mqtt_credentials SET connected_ms = ?, last_seen_ms = ?, node = ? WHERE username = ?",
            (now_ms, now_ms, node, username),
        )

    async def credential_progress(self, username: str, delivered_seq: int, sent: int, last_message_ms: int | None,
                                  now_ms: int, connected: bool) -> None:
        """Delivery position (never moved back), messages sent since the last call, and whether it is still
        connected (a disconnected credential keeps its position for a reconnect within its lifetime)."""
        await self.execute(
            "UPDATE mqtt_credentials SET delivered_seq = CASE WHEN delivered_seq < ? THEN ? ELSE delivered_seq END, "
            "messages = messages + ?, last_message_ms = COALESCE(?, last_message_ms), last_seen_ms = ?, "
            "connected_ms = CASE WHEN ? = 1 THEN connected_ms ELSE NULL END, "
            "node = CASE WHEN ? = 1 THEN node ELSE NULL END WHERE username = ?",
            (delivered_seq, delivered_seq, sent, last_message_ms, now_ms, int(connected), int(connected), username),
        )

    async def revoke_user_credentials(self, access_id: str, region: str, uid: str, now_ms: int) -> int:
        return await self.execute(
            "UPDATE mqtt_credentials SET revoked_ms = ? WHERE access_id = ? AND region = ? AND uid = ? "
            "AND revoked_ms IS NULL",
            (now_ms, access_id, region, uid),
        )

    async def revoke_project_credentials(self, access_id: str, now_ms: int) -> int:
        return await self.execute(
            "UPDATE mqtt_credentials SET revoked_ms = ? WHERE access_id = ? AND revoked_ms IS NULL",
            (now_ms, access_id),
        )

    async def dead_credentials(self, now_ms: int, expired_after_ms: int) -> list[HubCredential]:
        """Credentials expired (since ``expired_after_ms``) or revoked: an external broker's clients to delete."""
        rows = await self.fetch(
            f"SELECT {_COLS} FROM mqtt_credentials WHERE expires_ms > ? AND "
            "(expires_ms <= ? OR (revoked_ms IS NOT NULL AND revoked_ms <= ?))",
            (expired_after_ms, now_ms, now_ms),
        )
        return [_credential(r) for r in rows]

    async def orphan_credentials(self, now_ms: int, stale_before_ms: int) -> list[HubCredential]:
        """Valid credentials no server process delivers to (none claimed them, or it went quiet)."""
        rows = await self.fetch(
            f"SELECT {_COLS} FROM mqtt_credentials WHERE expires_ms > ? AND revoked_ms IS NULL AND "
            "(node IS NULL OR last_seen_ms IS NULL OR last_seen_ms < ?)",
            (now_ms, stale_before_ms),
        )
        return [_credential(r) for r in rows]

    async def claim_credential(self, username: str, node: str, now_ms: int, stale_before_ms: int) -> bool:
        changed = await self.execute(
            "UPDATE mqtt_credentials SET node = ?, connected_ms = ?, last_seen_ms = ? WHERE username = ? AND "
            "(node IS NULL OR last_seen_ms IS NULL OR last_seen_ms < ?)",
            (node, now_ms, now_ms, username, stale_before_ms),
        )
        return changed == 1

    async def delete_credentials_expired_before(self, cutoff_ms: int) -> int:
        return await self.execute("DELETE FROM mqtt_credentials WHERE expires_ms < ?", (cutoff_ms,))
