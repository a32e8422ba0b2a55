"""Gateway queries: a gateway's sub-devices and its sub-device discovery window.

Mixed into ``Queries``; portable ``?`` SQL. Sub-devices are found by their ``gateway_id`` within the region (a
gateway and its sub-devices always share project and region: the domain links them only then).
"""

from __future__ import annotations

from tuyacloud.models import Device
from tuyacloud.store.queries.primitives import Primitives
from tuyacloud.store.rows import DEVICE_COLS, device_from_row


class GatewayQueries(Primitives):
    async def sub_devices(self, gateway_id: str, region: str, *, activated_from_ms: int = 0) -> list[Device]:
        """A gateway's sub-devices in id order; with ``activated_from_ms``, those that joined since then."""
        rows = await self.fetch(
            f"SELECT {DEVICE_COLS} FROM devices WHERE gateway_id = ? AND region = ? AND active_ms >= ? ORDER BY id",
            (gateway_id, region, activated_from_ms),
        )
        return [device_from_row(r) for r in rows]

    async def clear_device_timers(self, device_id: str) -> None:
        await self.execute("DELETE FROM timers WHERE device_id = ?", (device_id,))

    async def leave_rooms(self, device_id: str) -> None:
        await self.execute("DELETE FROM room_devices WHERE device_id = ?", (device_id,))

    async def set_discovery(self, gateway_id: str, region: str, started_ms: int, until_ms: int) -> None:
        await self.execute(
            "INSERT INTO gateway_discovery (gateway_id, region, started_ms, until_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (gateway_id) DO UPDATE SET region = excluded.region, started_ms = excluded.started_ms, "
            "until_ms = excluded.until_ms",
            (gateway_id, region, started_ms, until_ms),
        )

    async def discovery_until(self, gateway_id: str, region: str) -> int | None:
        """When the gateway's search for sub-devices ends (epoch ms), or None if it never searched."""
        rows = await self.fetch(
            "SELECT until_ms FROM gateway_discovery WHERE gateway_id = ? AND region = ?", (gateway_id, region)
        )
        return int(rows[0][0]) if rows else None

    async def delete_discovery(self, gateway_id: str) -> None:
        await self.execute("DELETE FROM gateway_discovery WHERE gateway_id = ?", (gateway_id,))
