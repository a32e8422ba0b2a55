"""Timer queries: the scheduled tasks of devices, and the scheduler's due list and run claims.

Mixed into ``Queries``; portable ``?`` SQL. Timers belong to a device (``device_id`` + ``region``); the domain has
checked that the caller may see the device before any of these run. ``next_run_ms`` carries the schedule: the due
list is one range scan of its index, and :meth:`claim_timer_run` moves it with a conditional UPDATE so that of
several server processes on one database exactly one runs each occurrence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from tuyacloud.models import Timer
from tuyacloud.store.queries.primitives import Primitives
from tuyacloud.store.rows import Row

_COLS = ("id, device_id, region, group_id, category, group_order, alias_name, run_time, run_date, loops, "
         "timezone_id, time_zone, functions, enabled, is_app_push, next_run_ms, last_run_ms, last_result, "
         "created_ms, updated_ms")
_ORDER = "ORDER BY created_ms, seq"  # creation order, also within one millisecond


def _timer(r: Row) -> Timer:
    return Timer(
        id=r[0], device_id=r[1], region=r[2], group_id=r[3], category=r[4], group_order=int(r[5]), alias_name=r[6],
        time=r[7], date=r[8], loops=r[9], timezone_id=r[10], time_zone=r[11], functions=orjson.loads(r[12]),
        enabled=bool(r[13]), is_app_push=bool(r[14]), next_run_ms=None if r[15] is None else int(r[15]),
        last_run_ms=None if r[16] is None else int(r[16]), last_result=r[17], created_ms=int(r[18]),
        updated_ms=int(r[19]),
    )


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class TimerQueries(Primitives):
    # --- reads ------------------------------------------------------------------------------------
    async def timers_of_device(self, device_id: str, region: str, *, category: str | None = None,
                               group_id: str | None = None, ids: Sequence[str] | None = None) -> list[Timer]:
        where, params = ["device_id = ?", "region = ?"], [device_id, region]
        if category is not None:
            where.append("category = ?")
            params.append(category)
        if group_id is not None:
            where.append("group_id = ?")
            params.append(group_id)
        if ids is not None:
            if not ids:
                return []
            where.append(f"id IN ({_marks(ids)})")
            params.extend(ids)
        rows = await self.fetch(f"SELECT {_COLS} FROM timers WHERE {' AND '.join(where)} {_ORDER}", params)
        return [_timer(r) for r in rows]

    async def count_device_timers(self, device_id: str, region: str) -> int:
        rows = await self.fetch("SELECT COUNT(*) FROM timers WHERE device_id = ? AND region = ?", (device_id, region))
        return int(rows[0][0])

    async def due_timers(self, now_ms: int, limit: int) -> list[Timer]:
        """The enabled timers whose run is due, earliest first (the ``ix_timers_next_run`` range)."""
        rows = await self.fetch(
            f"SELECT {_COLS} FROM timers WHERE next_run_ms IS NOT NULL AND next_run_ms <= ? AND enabled = 1 "
            "ORDER BY next_run_ms, id LIMIT ?", (now_ms, limit),
        )
        return [_timer(r) for r in rows]

    # --- writes -----------------------------------------------------------------------------------
    async def insert_timer(self, t: Timer) -> None:
        await self.execute(
            f"INSERT INTO timers ({_COLS}) VALUES ({_marks(range(20))})",
            (t.id, t.device_id, t.region, t.group_id, t.category, t.group_order, t.alias_name, t.time, t.date,
             t.loops, t.timezone_id, t.time_zone, orjson.dumps(t.functions).decode(), int(t.enabled),
             int(t.is_app_push), t.next_run_ms, t.last_run_ms, t.last_result, t.created_ms, t.updated_ms),
        )

    async def update_timer(self, t: Timer) -> None:
        """Everything a client may change (schedule, functions, names, state); run history stays."""
        await self.execute(
            "UPDATE timers SET category = ?, group_order = ?, alias_name = ?, run_time = ?, run_date = ?, loops = ?, "
            "timezone_id = ?, time_zone = ?, functions = ?, enabled = ?, next_run_ms = ?, updated_ms = ? "
            "WHERE id = ?",
            (t.category, t.group_order, t.alias_name, t.time, t.date, t.loops, t.timezone_id, t.time_zone,
             orjson.dumps(t.functions).decode(), int(t.enabled), t.next_run_ms, t.updated_ms, t.id),
        )

    async def delete_timers(self, device_id: str, region: str, ids: Sequence[str] | None = None) -> int:
        """The device's timers with these ids (all of them when ``ids`` is None)."""
        if ids is None:
            return await self.execute("DELETE FROM timers WHERE device_id = ? AND region = ?", (device_id, region))
        if not ids:
            return 0
        return await self.execute(f"DELETE FROM timers WHERE device_id = ? AND region = ? AND id IN ({_marks(ids)})",
                                  (device_id, region, *ids))

    async def claim_timer_run(self, timer_id: str, due_ms: int, next_run_ms: int | None, enabled: bool,
                              now_ms: int, result: str) -> bool:
        """Take the run due at ``due_ms``: True for the one caller whose UPDATE found it still due then."""
        changed = await self.execute(
            "UPDATE timers SET next_run_ms = ?, enabled = ?, last_run_ms = ?, last_result = ? "
            "WHERE id = ? AND next_run_ms = ? AND enabled = 1",
            (next_run_ms, int(enabled), now_ms, result, timer_id, due_ms),
        )
        return changed == 1

    async def set_timer_result(self, timer_id: str, result: str) -> None:
        await self.execute("UPDATE timers SET last_result = ? WHERE id = ?", (result, timer_id))
