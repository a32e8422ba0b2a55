"""PostgreSQL engine (scale-out): asyncpg pool, one transaction per unit of work.

PostgreSQL batches the fsyncs of concurrent commits itself, so each unit simply gets its own connection and
transaction. The portable ``?`` placeholders are rewritten to ``$n`` once per statement text.

Outages: the pool reconnects on its own (a closed connection is replaced when next acquired); while the server is
unreachable every call raises :class:`StoreUnavailable` (1111). The LISTEN connection that wakes message delivery
for other processes' commits is watched by a task of its own and re-established after a restart; delivery never
depends on it alone (this process's commits wake it directly, and it polls).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any, NoReturn, TypeVar

import asyncpg

from tuyacloud.errors import StoreUnavailable
from tuyacloud.models import Device, Message
from tuyacloud.store.base import Row, Store, Tx
from tuyacloud.store.rows import DEVICE_COLS, device_from_row
from tuyacloud.supervision import Episode, TaskStatus

T = TypeVar("T")
log = logging.getLogger("tuyacloud.store")

LISTEN_CHECK_S = 2.0
CONNECT_TIMEOUT_S = 5.0

# Errors that mean the server cannot be reached or cannot serve now: connection failures (class 08), shutdown and
# start-up (57), resources such as a full disk or too many connections (53), serialisation/deadlock aborts (40), and
# the driver's internal state errors that a connection lost in the middle of an operation leaves behind.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.TransactionRollbackError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)


def unavailable(error: BaseException) -> StoreUnavailable | None:
    """The typed error for a driver failure that is the server's state rather than a bad statement."""
    if isinstance(error, StoreUnavailable):
        return error
    if isinstance(error, _UNAVAILABLE) or (isinstance(error, asyncpg.InterfaceError) and "closed" in str(error)):
        return StoreUnavailable(f"the database is unavailable: {type(error).__name__}")
    return None


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
        self._listen_task: asyncio.Task[None] | None = None
        self.listening = False  # whether NOTIFYs from other processes currently arrive
        self.listen_reconnects = 0
        self.listen_status = TaskStatus()  # shown by health as the task "pg-listen"

    async def start(self) -> None:
        self._pool = await asyncpg.create_pool(self.dsn, min_size=self._min, max_size=self._max)
        await self._listen()
        self._listen_task = asyncio.create_task(self._keep_listening(), name="pg-listen")

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT_S)
        try:
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        except BaseException:
            conn.terminate()
            raise
        self._listener = conn
        self.listening = True

    async def _keep_listening(self) -> None:
        """Watch the LISTEN connection (closed by the server, or silently dead: a cheap query every few seconds
        tells) and open a new one, with back-off, when it is lost."""
        episode = Episode(log, "the PostgreSQL LISTEN connection", self.listen_status)
        while True:
            conn = self._listener
            if conn is None:
                try:
                    await self._listen()
                except Exception as exc:
                    await asyncio.sleep(episode.failed(unavailable(exc) or exc))
                    continue
                self.listen_reconnects += 1
                self.listen_status.info["reconnects"] = self.listen_reconnects
                episode.ok()
                continue
            lost = conn.is_closed()
            if not lost:
                await asyncio.sleep(LISTEN_CHECK_S)
                try:
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), LISTEN_CHECK_S)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    lost = True
                    episode.failed(unavailable(exc) or exc)
                else:
                    episode.ok()
            if lost:
                self.listening = False
                self._listener = None
                conn.terminate()

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self._announce({payload})

    async def close(self) -> None:
        if self._listen_task is not None:
            self._listen_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listen_task
            self._listen_task = None
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._listener.close(), CONNECT_TIMEOUT_S)
            self._listener = None
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), CONNECT_TIMEOUT_S)
            except Exception:  # the server is gone: drop the connections without their goodbyes
                self._pool.terminate()
            self._pool = None

    def _driver_failed(self, exc: Exception) -> NoReturn:
        """Called from an ``except``: a driver error that means the database cannot be reached or cannot write
        becomes :class:`StoreUnavailable` (the outage logged once); any other error goes on as it was."""
        error = unavailable(exc)
        if error is None:
            raise exc
        self._unavailable(error, exc)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._pool is not None, "store not started"
        try:
            rows = await self._pool.fetch(to_pg(sql), *_args(params))
        except Exception as exc:
            self._driver_failed(exc)
        return [tuple(r) for r in rows]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        assert self._pool is not None, "store not started"
        try:
            status = await self._pool.execute(to_pg(sql), *_args(params))
        except Exception as exc:
            self._driver_failed(exc)
        if self.outage.failing:
            self.outage.ok()
        return _rowcount(status)

    async def transaction(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        assert self._pool is not None, "store not started"
        tx: _PgTx | None = None
        began = time.perf_counter()
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                tx = _PgTx(conn)
                result = await work(tx)
        except Exception as exc:
            self._driver_failed(exc)
        if self.outage.failing:
            self.outage.ok()
        if self.commit_observer is not None:  # PostgreSQL groups concurrent commits itself: one unit each
            self.commit_observer(1, time.perf_counter() - began, tx.appended_messages)
        # This process's consumers are woken at once, whatever becomes of the LISTEN connection.
        self._announce(tx.touched_projects)
        return result
