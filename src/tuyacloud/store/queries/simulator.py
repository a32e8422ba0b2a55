"""Leases: the simulator's shard leases and pokes, and the leases of named background tasks (mixed into
``Queries``; portable ``?`` SQL).

A lease is taken with one conditional upsert: it changes the row only when the shard is free, expired or already
ours, so of several processes exactly one holds a shard at a time. Times here are wall-clock milliseconds (process
liveness), never the cloud clock a test may step or freeze.
"""

from __future__ import annotations

from collections.abc import Sequence

from tuyacloud.store.queries.primitives import Primitives


class SimulatorQueries(Primitives):
    async def take_sim_lease(self, shard: int, owner: str, now_ms: int, expires_ms: int) -> bool:
        """Take or renew ``shard`` for ``owner`` unless another owner's lease is still running."""
        changed = await self.execute(
            "INSERT INTO sim_leases (shard, owner, expires_ms) VALUES (?, ?, ?) ON CONFLICT (shard) DO UPDATE "
            "SET owner = excluded.owner, expires_ms = excluded.expires_ms "
            "WHERE sim_leases.owner = excluded.owner OR sim_leases.expires_ms < ?",
            (shard, owner, expires_ms, now_ms),
        )
        return changed > 0

    async def release_sim_leases(self, owner: str) -> None:
        await self.execute("DELETE FROM sim_leases WHERE owner = ?", (owner,))

    async def poke_sim_devices(self, devices: Sequence[tuple[str, str]], at_ms: int) -> None:
        """Tell the holder of these devices' shards that they changed (upsert: one row per device)."""
        for device_id, region in devices:
            await self.execute(
                "INSERT INTO sim_pokes (device_id, region, at_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (device_id, region) DO UPDATE SET at_ms = excluded.at_ms",
                (device_id, region, at_ms),
            )

    async def sim_pokes(self) -> list[tuple[str, str, int]]:
        rows = await self.fetch("SELECT device_id, region, at_ms FROM sim_pokes")
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def clear_sim_pokes(self, devices: Sequence[tuple[str, str, int]]) -> None:
        """Remove pokes that were acted on (unless poked again since)."""
        for device_id, region, at_ms in devices:
            await self.execute("DELETE FROM sim_pokes WHERE device_id = ? AND region = ? AND at_ms <= ?",
                               (device_id, region, at_ms))

    async def take_task_lease(self, name: str, owner: str, now_ms: int, expires_ms: int) -> bool:
        """Take or renew the named task's lease for ``owner`` unless another owner's lease is still running (the
        same conditional upsert as a shard's)."""
        changed = await self.execute(
            "INSERT INTO task_leases (name, owner, expires_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
            "SET owner = excluded.owner, expires_ms = excluded.expires_ms "
            "WHERE task_leases.owner = excluded.owner OR task_leases.expires_ms < ?",
            (name, owner, expires_ms, now_ms),
        )
        return changed > 0

    async def release_task_leases(self, owner: str) -> None:
        await self.execute("DELETE FROM task_leases WHERE owner = ?", (owner,))
