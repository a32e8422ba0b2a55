"""SQLite engine (the embedded default): WAL, one writer with group commit, reads on the event loop.

Why this shape (DESIGN section 3): one fsync per request caps a disk at a few hundred commands per second and
stalls the event loop, so units of work queue up and run back to back inside one transaction, each in its own
savepoint (one failing unit rolls back alone); the batch commits with one fsync in a worker thread, and only then
is every unit's caller answered. Primary-key reads are microseconds on the page cache, so they run inline.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from tuyacloud.models import Device, Project, Token
from tuyacloud.store.base import Row, Store, Tx

T = TypeVar("T")

MAX_BATCH = 512
CHECKPOINT_EVERY_S = 0.5
CACHE_LIMIT = 50_000
EXTERNAL_CHECK_S = 0.0005


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class _SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self._conn = conn

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, params).rowcount


class SqliteStore(Store):
    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        self._read: sqlite3.Connection | None = None
        self._write: sqlite3.Connection | None = None
        self._queue: list[tuple[Callable[[Tx], Awaitable[Any]], asyncio.Future[Any]]] = []
        self._wake: asyncio.Event | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-commit")
        self._checkpoint_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._busy = False
        self._cache: dict[str, Any] = {}
        self._cache_version = -1
        self._cache_commits = -1
        self._checked_at = 0.0
        self.batches = 0  # for benchmarks: units per batch = committed units / batches
        self.units = 0

    async def start(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._read = _connect(self.path)
        self._write = _connect(self.path)
        # Checkpoints run beside the writer (PASSIVE blocks neither writers nor readers) instead of inside
        # whichever commit crosses the auto-checkpoint threshold, which stalled every command queued behind it.
        self._write.execute("PRAGMA wal_autocheckpoint=0")
        self._checkpoint_conn = _connect(self.path)
        self._wake = asyncio.Event()
        self._writer_task = asyncio.create_task(self._writer(), name="sqlite-writer")
        self._checkpoint_task = asyncio.create_task(self._checkpointer(), name="sqlite-checkpoint")

    async def _checkpointer(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._checkpoint_conn is not None
        conn = self._checkpoint_conn
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY_S)
            # busy with another process's checkpoint: try again next time
            with contextlib.suppress(sqlite3.Error):
                await loop.run_in_executor(self._checkpoint_executor, conn.execute, "PRAGMA wal_checkpoint(PASSIVE)")

    async def close(self) -> None:
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoint_task
            self._checkpoint_task = None
        if self._writer_task is not None:
            while self._queue or self._busy:  # let queued work finish: nothing accepted is dropped
                await asyncio.sleep(0.005)
            self._writer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer_task
            self._writer_task = None
        self._checkpoint_executor.shutdown(wait=True)
        for conn in (self._read, self._write, self._checkpoint_conn):
            if conn is not None:
                conn.close()
        self._read = self._write = self._checkpoint_conn = None
        self._executor.shutdown(wait=True)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._read is not None, "store not started"
        return self._read.execute(sql, params).fetchall()

    # --- read cache -------------------------------------------------------------------------------
    # Projects, tokens and devices are read on every signed request, so they are cached here, and the whole
    # cache is dropped whenever the database changed: at once after each of our own commits, and, for commits
    # made by another process (the CLI), when ``PRAGMA data_version`` on the read connection has moved, checked
    # at most every ``EXTERNAL_CHECK_S``. Cached objects are shared: callers must not mutate what they read
    # (the domain copies before changing a record).

    def _current(self) -> dict[str, Any]:
        assert self._read is not None, "store not started"
        now = time.monotonic()
        if self._cache_commits != self.batches or now - self._checked_at > EXTERNAL_CHECK_S:
            self._checked_at = now
            version = self._read.execute("PRAGMA data_version").fetchone()[0]
            stale = version != self._cache_version or self._cache_commits != self.batches
            if stale or len(self._cache) > CACHE_LIMIT:
                self._cache_version, self._cache_commits = version, self.batches
                self._cache = {}
        return self._cache

    async def get_project(self, access_id: str) -> Project | None:
        cache = self._current()
        key = "p:" + access_id
        if key not in cache:
            cache[key] = await super().get_project(access_id)
        return cache[key]  # type: ignore[no-any-return]

    async def get_token(self, access_token: str) -> Token | None:
        cache = self._current()
        key = "t:" + access_token
        if key not in cache:
            cache[key] = await super().get_token(access_token)
        return cache[key]  # type: ignore[no-any-return]

    async def get_device(self, device_id: str, region: str) -> Device | None:
        cache = self._current()
        key = f"d:{region}:{device_id}"
        if key not in cache:
            cache[key] = await super().get_device(device_id, region)
        return cache[key]  # type: ignore[no-any-return]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """A single statement outside any unit of work still goes through the writer."""

        async def one(tx: Tx) -> int:
            return await tx.execute(sql, params)

        return await self.transaction(one)

    async def transaction(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        assert self._wake is not None, "store not started"
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        self._wake.set()
        return await future

    async def _writer(self) -> None:
        assert self._wake is not None and self._write is not None
        loop = asyncio.get_running_loop()
        conn = self._write
        tx = _SqliteTx(conn)
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._busy = True
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                # Taking the write lock may wait for another process (the CLI): not on the event loop.
                try:
                    await loop.run_in_executor(self._executor, conn.execute, "BEGIN IMMEDIATE")
                except sqlite3.Error as exc:  # locked by another process beyond busy_timeout: fail this batch
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
                for work, future in batch:
                    conn.execute("SAVEPOINT unit")
                    try:
                        result = await work(tx)
                    except Exception as exc:  # the unit fails alone
                        conn.execute("ROLLBACK TO unit")
                        conn.execute("RELEASE unit")
                        outcomes.append((future, None, exc))
                    else:
                        conn.execute("RELEASE unit")
                        outcomes.append((future, result, None))
                try:
                    await loop.run_in_executor(self._executor, conn.execute, "COMMIT")
                except Exception as exc:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    for future, _, _ in outcomes:
                        if not future.done():
                            future.set_exception(exc)
                    tx.touched_projects.clear()
                    continue
                self.batches += 1
                self.units += len(outcomes)
                touched, tx.touched_projects = tx.touched_projects, set()
                self._announce(touched)
                for future, result, error in outcomes:
                    if future.done():
                        continue
                    if error is not None:
                        future.set_exception(error)
                    else:
                        future.set_result(result)
            self._busy = False
