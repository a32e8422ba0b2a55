"""PostgreSQL engine (scale-out): asyncpg pool, one transaction per unit of work.

PostgreSQL batches the fsyncs of concurrent commits itself, so each unit simply gets its own connection and
transaction. The portable ``?`` placeholders are rewritten to ``$n`` once per statement text.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

import asyncpg

from tuyacloud.models import Device, Message
from tuyacloud.store.base import DEVICE_COLS, Row, Store, Tx, device_from_row

T = TypeVar("T")


@lru_cache(maxsize=4096)
def to_pg(sql: str) -> str:
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _args(params: Sequence[Any]) -> list[Any]:
    return [int(p) if isinstance(p, bool) else p for p in params]


def _rowcount(status: str) -> int:
    # asyncpg returns the command tag, e.g. "UPDATE 3", "INSERT 0 1", "DELETE 0"
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


NOTIFY_CHANNEL = "tuyacloud_messages"


class _PgTx(Tx):
    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__()
        self._conn = conn

    async def get_device_for_update(self, device_id: str, region: str) -> Device | None:
        """Concurrent commands on one device serialise here, so none overwrites another's status change."""
        rows = await self.fetch(
            f"SELECT {DEVICE_COLS} FROM devices WHERE id = ? AND region = ? FOR UPDATE", (device_id, region)
        )
        return device_from_row(rows[0]) if rows else None

    async def append_message(self, m: Message) -> None:
        """Messages of one project commit in sequence order, so a reader's cursor never skips a late commit.

        A transaction-scoped advisory lock per project is taken just before the insert and held to the commit;
        the NOTIFY is delivered to every listening process at commit.
        """
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", m.access_id)
        await super().append_message(m)
        await self._conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, m.access_id)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [tuple(r) for r in await self._conn.fetch(to_pg(sql), *_args(params))]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return _rowcount(await self._conn.execute(to_pg(sql), *_args(params)))


def asyncpg_dsn(database_url: str) -> str:
    """Accept SQLAlchemy-style URLs (``postgresql+asyncpg://``) as well as plain ones."""
    scheme, rest = database_url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else database_url


class PostgresStore(Store):
    def __init__(self, database_url: str, min_size: int = 2, max_size: int = 20) -> None:
        super().__init__()
        self.dsn = asyncpg_dsn(database_url)
        self._min, self._max = min_size, max_size
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None

    async def start(self) -> None:
        self._pool = await asyncpg.create_pool(self.dsn, min_size=self._min, max_size=self._max)
        self._listener = await asyncpg.connect(self.dsn)
        await self._listener.add_listener(NOTIFY_CHANNEL, self._on_notify)

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self._announce({payload})

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._pool is not None, "store not started"
        return [tuple(r) for r in await self._pool.fetch(to_pg(sql), *_args(params))]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        assert self._pool is not None, "store not started"
        return _rowcount(await self._pool.execute(to_pg(sql), *_args(params)))

    async def transaction(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        assert self._pool is not None, "store not started"
        began = time.perf_counter()
        async with self._pool.acquire() as conn:
            tx = _PgTx(conn)
            async with conn.transaction():
                result = await work(tx)
        if self.commit_observer is not None:  # PostgreSQL groups concurrent commits itself: one unit each
            self.commit_observer(1, time.perf_counter() - began, tx.appended_messages)
        return result
