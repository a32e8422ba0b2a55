"""Device reads by id on PostgreSQL: the reads that arrive in one turn of the event loop share one query.

Why: every signed device request (a status read, a command's check before its unit of work) reads its device, and
on PostgreSQL each read is a round trip whose driver work (encode, send, wake, decode) costs the server more CPU
than the query costs PostgreSQL. Under load many requests reach that read in the same loop turn; one
``WHERE id = ANY($1)`` answers them all with one round trip. Alone, a read waits one loop turn more than before.

A read is still a committed read made after it was asked for (the query is sent after every caller of the turn
asked), so it sees every commit that was answered before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tuyacloud.models import Device
from tuyacloud.store.rows import DEVICE_COLS, Row, device_from_row

SQL = f"SELECT {DEVICE_COLS} FROM devices WHERE id = ANY(?::text[])"

Fetch = Callable[[str, Sequence[Any]], Awaitable[list[Row]]]


class DeviceReads:
    """Collects ``get`` calls until the loop turn ends, then reads them with one ``fetch``."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._waiting: dict[str, list[tuple[str, asyncio.Future[Device | None]]]] = {}
        self._scheduled = False
        self._running: set[asyncio.Task[None]] = set()
        self.queries = 0  # for benchmarks: reads per query = calls / queries
        self.calls = 0

    async def get(self, device_id: str, region: str) -> Device | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Device | None] = loop.create_future()
        self._waiting.setdefault(device_id, []).append((region, future))
        self.calls += 1
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._send)
        return await future

    def _send(self) -> None:
        self._scheduled = False
        waiting, self._waiting = self._waiting, {}
        if waiting:
            task = asyncio.get_running_loop().create_task(self._read(waiting), name="pg-device-reads")
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _read(self, waiting: dict[str, list[tuple[str, asyncio.Future[Device | None]]]]) -> None:
        self.queries += 1
        try:
            rows = await self._fetch(SQL, (list(waiting),))
        except BaseException as exc:
            for callers in waiting.values():
                for _, future in callers:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            if not isinstance(exc, Exception):
                raise
            return
        found = {row[0]: row for row in rows}
        for device_id, callers in waiting.items():
            row = found.get(device_id)
            for region, future in callers:
                if not future.done():  # each caller its own object: callers may change what they get
                    future.set_result(device_from_row(row) if row is not None and row[2] == region else None)
