"""Device queries: a project's devices (read, page, count, write) and their history log.

Mixed into ``Queries``; portable ``?`` SQL, every read scoped by region and by project (or a project with its
linked apps, see ``owner_clause``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tuyacloud.models import Device, DeviceLog
from tuyacloud.store.queries.primitives import Primitives, dumps, owner_clause
from tuyacloud.store.rows import DEVICE_COLS, device_from_row


def _device_params(d: Device) -> tuple[Any, ...]:
    return (
        d.id, d.access_id, d.region, d.product_id, d.category, d.name, d.local_key, d.uuid, d.ip, d.time_zone,
        d.lat, d.lon, int(d.online), d.owner_uid, d.asset_id, d.created_ms, d.active_ms, d.updated_ms,
        dumps(d.status), dumps(d.status_t), d.custom_name, d.sn, d.mac, int(d.virtual), d.gateway_id, d.node_id,
        int(d.frozen), int(d.gateway_held),
    )


class DeviceQueries(Primitives):
    # --- devices ----------------------------------------------------------------------------------
    async def get_device(self, device_id: str, region: str) -> Device | None:
        row = await self.fetchone(
            f"SELECT {DEVICE_COLS} FROM devices WHERE id = ? AND region = ?", (device_id, region)
        )
        return device_from_row(row) if row else None

    async def get_device_for_update(self, device_id: str, region: str) -> Device | None:
        """Inside a unit of work: the device, locked until commit where the engine has row locks (SQLite's single
        writer already serialises units)."""
        return await self.get_device(device_id, region)

    async def get_devices(self, access_id: str | Sequence[str], region: str, ids: Sequence[str]) -> list[Device]:
        """``access_id`` is one owner or several (a project and the apps linked to it)."""
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        owner, owners = owner_clause(access_id)
        rows = await self.fetch(
            f"SELECT {DEVICE_COLS} FROM devices WHERE {owner} AND region = ? AND id IN ({marks}) ORDER BY id",
            (*owners, region, *ids),
        )
        return [device_from_row(r) for r in rows]

    async def page_devices(
        self,
        access_id: str | Sequence[str],
        region: str,
        after_id: str = "",
        limit: int = 20,
        *,
        category: str | None = None,
        categories: Sequence[str] = (),
        product_ids: Sequence[str] = (),
        name: str | None = None,
        owner_uid: str | None = None,
        asset_id: str | None = None,
        asset_ids: Sequence[str] | None = None,
        or_owner_uid: str | None = None,
        offset: int = 0,
        online: bool | None = None,
        frozen: bool | None = None,
        sub_device: bool | None = None,
    ) -> list[Device]:
        """Devices of a project in id order after ``after_id``: the basis of every list endpoint's cursor.

        ``or_owner_uid`` widens ``asset_ids`` to also take the devices that user owns (an app user's view)."""
        owner, owners = owner_clause(access_id)
        where = [owner, "region = ?", "id > ?"]
        params: list[Any] = [*owners, region, after_id]
        if category:
            where.append("category = ?")
            params.append(category)
        if categories:
            where.append(f"category IN ({', '.join('?' for _ in categories)})")
            params.extend(categories)
        if product_ids:
            where.append(f"product_id IN ({', '.join('?' for _ in product_ids)})")
            params.extend(product_ids)
        if name:
            where.append("name LIKE ?")
            params.append(f"%{name}%")
        if owner_uid is not None:
            where.append("owner_uid = ?")
            params.append(owner_uid)
        if online is not None:  # the console's online/offline filter
            where.append("online = ?")
            params.append(int(online))
        if frozen is not None:  # the console's frozen filter
            where.append("frozen = ?")
            params.append(int(frozen))
        if sub_device is not None:  # the console's sub-device filter: linked to a gateway, or not
            where.append("gateway_id <> ''" if sub_device else "gateway_id = ''")
        if asset_id is not None:
            where.append("asset_id = ?")
            params.append(asset_id)
        if asset_ids is not None:  # a user token's visible nodes (never empty here: the domain answers none)
            visible = f"asset_id IN ({', '.join('?' for _ in asset_ids)})"
            params.extend(asset_ids)
            if or_owner_uid is not None:
                visible = f"({visible} OR owner_uid = ?)"
                params.append(or_owner_uid)
            where.append(visible)
        params += [limit, offset]
        rows = await self.fetch(
            f"SELECT {DEVICE_COLS} FROM devices WHERE {' AND '.join(where)} ORDER BY id LIMIT ? OFFSET ?", params
        )
        return [device_from_row(r) for r in rows]

    async def count_devices(self, access_id: str | Sequence[str], region: str, owner_uid: str | None = None) -> int:
        owner, owners = owner_clause(access_id)
        if owner_uid is None:
            row = await self.fetchone(
                f"SELECT COUNT(*) FROM devices WHERE {owner} AND region = ?", (*owners, region)
            )
        else:
            row = await self.fetchone(
                f"SELECT COUNT(*) FROM devices WHERE {owner} AND region = ? AND owner_uid = ?",
                (*owners, region, owner_uid),
            )
        return int(row[0]) if row else 0

    async def all_device_ids(self, created_after_ms: int = -1) -> list[tuple[str, str, int]]:
        """(id, region, created_ms) of every device created after a mark: lets the simulator pick up new ones."""
        rows = await self.fetch(
            "SELECT id, region, created_ms FROM devices WHERE created_ms > ? ORDER BY created_ms", (created_after_ms,)
        )
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def insert_device(self, d: Device) -> None:
        await self.execute(
            f"INSERT INTO devices ({DEVICE_COLS}) VALUES ({', '.join('?' for _ in range(28))})", _device_params(d)
        )

    async def update_device_status(
        self, device_id: str, status: dict[str, Any], status_t: dict[str, int], updated_ms: int
    ) -> None:
        await self.execute(
            "UPDATE devices SET status = ?, status_t = ?, updated_ms = ? WHERE id = ?",
            (dumps(status), dumps(status_t), updated_ms, device_id),
        )

    async def update_device_fields(self, device_id: str, **fields: Any) -> None:
        allowed = {
            "name", "online", "updated_ms", "active_ms", "custom_name", "lat", "lon", "ip", "asset_id", "owner_uid",
            "gateway_id", "node_id", "frozen", "gateway_held",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        assignments = ", ".join(f"{k} = ?" for k in fields)
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        await self.execute(f"UPDATE devices SET {assignments} WHERE id = ?", (*values, device_id))

    async def delete_device(self, device_id: str) -> None:
        await self.execute("DELETE FROM devices WHERE id = ?", (device_id,))
        await self.execute("DELETE FROM timers WHERE device_id = ?", (device_id,))  # a device's timers go with it
        # an IR blaster's remotes too (a remote belongs to one blaster and is reached only through it)
        await self.execute("DELETE FROM infrared_remotes WHERE infrared_id = ?", (device_id,))

    # --- device logs ------------------------------------------------------------------------------
    async def insert_device_logs(self, logs: Sequence[DeviceLog]) -> None:
        """One statement for the rows of one change (a command logs its command and the report it caused)."""
        for first in range(0, len(logs), 100):
            chunk = logs[first:first + 100]
            await self.execute(
                "INSERT INTO device_logs (device_id, event_time, event_id, code, value, event_from) VALUES "
                + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk)),
                [v for log in chunk
                 for v in (log.device_id, log.event_time, log.event_id, log.code, log.value, log.event_from)],
            )

    async def page_device_logs(
        self,
        device_id: str,
        event_ids: Sequence[int],
        start_ms: int,
        end_ms: int,
        codes: Sequence[str] = (),
        before_row: int | None = None,
        limit: int = 20,
    ) -> list[DeviceLog]:
        """Newest first, below the ``before_row`` cursor."""
        where = ["device_id = ?", "event_time >= ?", "event_time <= ?"]
        params: list[Any] = [device_id, start_ms, end_ms]
        if event_ids:
            where.append(f"event_id IN ({', '.join('?' for _ in event_ids)})")
            params.extend(event_ids)
        if codes:
            where.append(f"code IN ({', '.join('?' for _ in codes)})")
            params.extend(codes)
        if before_row is not None:
            where.append("row_id < ?")
            params.append(before_row)
        params.append(limit)
        rows = await self.fetch(
            "SELECT device_id, event_time, event_id, code, value, event_from, row_id FROM device_logs "
            f"WHERE {' AND '.join(where)} ORDER BY row_id DESC LIMIT ?",
            params,
        )
        return [DeviceLog(r[0], int(r[1]), int(r[2]), r[3], r[4], r[5], int(r[6])) for r in rows]

    async def delete_device_logs(self, device_id: str) -> None:
        await self.execute("DELETE FROM device_logs WHERE device_id = ?", (device_id,))
