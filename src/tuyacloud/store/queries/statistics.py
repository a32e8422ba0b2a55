"""The console statistics' queries: messages sent and acknowledged per day, devices and online devices.

All computed from the tables that already exist (the message log, subscription marks and acks, devices), so
statistics need no counters of their own. Days are UTC day indexes (``created_ms / 86400000``), which integer
division gives alike on SQLite and PostgreSQL. Mixed into ``Queries``.
"""

from __future__ import annotations

from collections.abc import Sequence

from tuyacloud.store.queries.primitives import Primitives, owner_clause

DAY_MS = 86_400_000


class StatisticsQueries(Primitives):
    async def messages_per_day(self, access_id: str, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """(UTC day index, messages appended to the project's topic) for days with any, in [start, end)."""
        rows = await self.fetch(
            f"SELECT created_ms / {DAY_MS}, COUNT(*) FROM messages "
            "WHERE access_id = ? AND created_ms >= ? AND created_ms < ? GROUP BY created_ms / " + str(DAY_MS),
            (access_id, start_ms, end_ms),
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    async def acknowledged_per_day(self, access_id: str, env: str, name: str, mark_seq: int, start_ms: int,
                                   end_ms: int) -> list[tuple[int, int]]:
        """(UTC day the message was sent, how many of that day's messages the subscription acknowledged).

        A message is acknowledged when its seq is at or below the subscription's mark, or listed in its acks.
        """
        rows = await self.fetch(
            f"SELECT m.created_ms / {DAY_MS}, COUNT(*) FROM messages m "
            "WHERE m.access_id = ? AND m.created_ms >= ? AND m.created_ms < ? AND (m.seq <= ? OR EXISTS ("
            "SELECT 1 FROM subscription_acks a WHERE a.access_id = m.access_id AND a.env = ? AND a.name = ? "
            f"AND a.seq = m.seq)) GROUP BY m.created_ms / {DAY_MS}",
            (access_id, start_ms, end_ms, mark_seq, env, name),
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    async def device_counts(self, access_id: str | Sequence[str], region: str) -> tuple[int, int]:
        """(devices, online devices) of a project (and the apps linked to it)."""
        owner, owners = owner_clause(access_id)
        rows = await self.fetch(
            f"SELECT COUNT(*), SUM(CASE WHEN online = 1 THEN 1 ELSE 0 END) FROM devices WHERE {owner} AND region = ?",
            (*owners, region),
        )
        total, online = rows[0] if rows else (0, 0)
        return int(total or 0), int(online or 0)

    async def devices_created_per_day(self, access_id: str | Sequence[str], region: str, start_ms: int,
                                      end_ms: int) -> list[tuple[int, int]]:
        """(UTC day index, devices created that day that still exist)."""
        owner, owners = owner_clause(access_id)
        rows = await self.fetch(
            f"SELECT created_ms / {DAY_MS}, COUNT(*) FROM devices WHERE {owner} AND region = ? "
            f"AND created_ms >= ? AND created_ms < ? GROUP BY created_ms / {DAY_MS}",
            (*owners, region, start_ms, end_ms),
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    async def devices_created_before(self, access_id: str | Sequence[str], region: str, before_ms: int) -> int:
        owner, owners = owner_clause(access_id)
        rows = await self.fetch(
            f"SELECT COUNT(*) FROM devices WHERE {owner} AND region = ? AND created_ms < ?",
            (*owners, region, before_ms),
        )
        return int(rows[0][0]) if rows else 0

    async def device_online_history(self, access_id: str | Sequence[str], region: str, before_ms: int
                                     ) -> tuple[list[tuple[str, int, bool]], list[tuple[str, int, int]]]:
        """The devices of a project as (id, created_ms, online now), and their online (1) / offline (2) log events
        before ``before_ms`` as (device_id, event_time, event_id), oldest first (partial index
        ``ix_device_logs_online``)."""
        owner, owners = owner_clause(access_id)
        devices = await self.fetch(f"SELECT id, created_ms, online FROM devices WHERE {owner} AND region = ?",
                                   (*owners, region))
        owner_d, _ = owner_clause(access_id, "d.access_id")
        events = await self.fetch(
            "SELECT l.device_id, l.event_time, l.event_id FROM device_logs l JOIN devices d ON d.id = l.device_id "
            f"WHERE {owner_d} AND d.region = ? AND l.event_id IN (1, 2) AND l.event_time < ? "
            "ORDER BY l.device_id, l.event_time",
            (*owners, region, before_ms),
        )
        return ([(str(r[0]), int(r[1]), bool(r[2])) for r in devices],
                [(str(r[0]), int(r[1]), int(r[2])) for r in events])

