"""SQLite engine (the embedded default): WAL, one writer with group commit, reads on the event loop.

Why this shape: one fsync per request caps a disk at a few hundred commands per second and
stalls the event loop, so units of work queue up and run back to back inside one transaction, each in its own
savepoint (one failing unit rolls back alone); the batch commits with one fsync in a worker thread, and only then
is every unit's caller answered. Primary-key reads are microseconds on the page cache, so they run inline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from tuyacloud.errors import StoreLost, StoreUnavailable
from tuyacloud.models import Device, Project, Token
from tuyacloud.store.base import DeviceKey, Row, Store, Tx
from tuyacloud.store.rows import copy_device

T = TypeVar("T")
log = logging.getLogger("tuyacloud.store")

MAX_BATCH = 512
CHECKPOINT_EVERY_S = 0.5
# Past this size the write-ahead log is brought back to its start: see SqliteStore._checkpointer.
WAL_RESTART_BYTES = 64 * 1024 * 1024
CACHE_LIMIT = 50_000
EXTERNAL_CHECK_S = 0.0005
BUSY_TIMEOUT_MS = 10_000


LOST_REMIND_S = 60.0
# What a refused write answers (the log names the file; a client needs no server path).
LOST = ("the data directory was removed or replaced under the running server; writes are refused until it is "
        "restarted")


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # The busy timeout first: switching a new file to WAL needs a moment's exclusive access, which several
    # processes starting together on one data directory contend for.
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


# SQLite's primary result codes that mean "the database cannot serve this now", not "this statement is wrong".
_UNAVAILABLE = {
    5: "the database is locked by another process",  # SQLITE_BUSY
    6: "the database is locked",  # SQLITE_LOCKED
    7: "out of memory",  # SQLITE_NOMEM
    8: "the database cannot be written (read-only)",  # SQLITE_READONLY
    10: "disk I/O error",  # SQLITE_IOERR
    11: "the database file is damaged",  # SQLITE_CORRUPT
    13: "the disk is full",  # SQLITE_FULL
    14: "the database file cannot be opened",  # SQLITE_CANTOPEN
    15: "the database lock protocol failed",  # SQLITE_PROTOCOL
    26: "the database file is not a database",  # SQLITE_NOTADB
}


def unavailable(error: BaseException) -> StoreUnavailable | None:
    """The typed error for a SQLite failure that is the database's state rather than a bad statement."""
    if isinstance(error, StoreUnavailable):
        return error
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(error, sqlite3.Error) and isinstance(code, int) and (code & 0xFF) in _UNAVAILABLE:
        return StoreUnavailable(f"the database is unavailable: {_UNAVAILABLE[code & 0xFF]}")
    return None


def file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the database file, or None when it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


# The table a writing statement changes: what the read cache must forget after the commit.
_WRITE_TARGET = re.compile(r"\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+(\w+)",
                           re.IGNORECASE)
CACHED_TABLES = frozenset({"projects", "tokens", "devices"})


class _SqliteTx(Tx):
    """The writer's unit of work. It notes what its statements change so that, after the commit, the read cache
    is exactly as fresh as the database: a device whose status a unit changed through the object it read for
    update is written through (the next command on it needs no read); any other write to a cached table makes
    the cache forget that table. Noting too much only costs a re-read; noting too little would serve stale data,
    so every statement is classified, not only the known hot ones. What a unit that rolled back did is not
    noted at all (the database does not have it either)."""

    def __init__(self, conn: sqlite3.Connection,
                 committed: Callable[[], dict[str, tuple[str, Device | None]]] | None = None) -> None:
        super().__init__()
        self._conn = conn
        self._committed = committed  # the store's device cache, as it stands between batches
        self.stale_tables: set[str] = set()
        self.stale_devices: set[str] = set()
        self.fresh_devices: dict[str, Device] = {}
        self._keyed = False
        self._read_for_update: dict[str, Device] = {}
        self._unit_fresh: dict[str, Device] = {}
        self._unit_stale: set[str] = set()

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if not self._keyed:
            target = _WRITE_TARGET.match(sql)
            if target is not None and target.group(1).lower() in CACHED_TABLES:
                self.stale_tables.add(target.group(1).lower())
        return self._conn.execute(sql, params).rowcount

    async def lock_device_pool(self, owners: Sequence[str]) -> None:
        """Nothing to take: the writer holds the database's write lock (BEGIN IMMEDIATE) for its whole batch and
        runs the batch's units one after another, so no other unit, of this process or another, runs meanwhile."""

    def unit_started(self) -> None:
        self._read_for_update.clear()
        self._unit_fresh.clear()
        self._unit_stale.clear()

    def unit_committed(self) -> None:
        """The unit's savepoint was released: what it changed is part of the batch."""
        for device_id in self._unit_stale:
            self.fresh_devices.pop(device_id, None)
            self.stale_devices.add(device_id)
        for device_id, device in self._unit_fresh.items():
            self.stale_devices.discard(device_id)
            self.fresh_devices[device_id] = device
        self.unit_started()

    async def get_device_for_update(self, device_id: str, region: str) -> Device | None:
        device = self._known(device_id, region)
        if device is None:
            device = await super().get_device_for_update(device_id, region)
        if device is not None:
            self._read_for_update[device_id] = device
        return device

    def _known(self, device_id: str, region: str) -> Device | None:
        """A copy of the device as this batch stands, without a read, when that is known exactly: written through
        by an earlier unit of this batch, or in the store's cache and not written by this batch at all. The
        writer looked for other processes' commits when it took the write lock, so the cache is the database;
        anything this batch wrote some other way (``stale_tables``, ``stale_devices``) is read again."""
        if "devices" in self.stale_tables or device_id in self._unit_stale or device_id in self.stale_devices:
            return None
        known = self._unit_fresh.get(device_id) or self.fresh_devices.get(device_id)
        if known is None and self._committed is not None:
            entry = self._committed().get(device_id)
            known = entry[1] if entry is not None else None
        if known is None or known.region != region:
            return None
        return copy_device(known)

    async def update_device_status(self, device_id: str, status: dict[str, Any], status_t: dict[str, int],
                                   updated_ms: int) -> None:
        # The hot write of every command. When it writes the state of the object this unit read for update
        # (the command path), that object, copied at this instant, is the row as committed.
        read = self._read_for_update.get(device_id)
        if read is not None and read.status is status and read.status_t is status_t:
            fresh = copy_device(read)
            fresh.updated_ms = updated_ms
            self._unit_fresh[device_id] = fresh
            self._unit_stale.discard(device_id)
        else:
            self._unit_fresh.pop(device_id, None)
            self._unit_stale.add(device_id)
        self._keyed = True
        try:
            await super().update_device_status(device_id, status, status_t, updated_ms)
        finally:
            self._keyed = False


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
        self._finish_checkpoint = False  # set by the checkpointer, done by the writer between two batches
        self.wal_restart_bytes = WAL_RESTART_BYTES
        self.checkpoint_every_s = CHECKPOINT_EVERY_S
        self.lane_checkpoints = 0  # checkpoints finished in the writer's lane (benchmarks and tests read it)
        self._busy = False
        self._projects: dict[str, Project | None] = {}
        self._tokens: dict[str, Token | None] = {}
        self._devices: dict[str, tuple[str, Device | None]] = {}  # device id -> (region, device)
        self._write_version = -1
        self._checked_at = 0.0
        self._identity: tuple[int, int] | None = None
        self._refused = 0
        self._lost_reminded = 0.0
        self.batches = 0  # for benchmarks: units per batch = committed units / batches
        self.units = 0

    async def start(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._read = _connect(self.path)
        self._write = _connect(self.path)
        self._identity = file_identity(self.path)
        # Checkpoints run beside the writer (PASSIVE blocks neither writers nor readers) instead of inside
        # whichever commit crosses the auto-checkpoint threshold, which stalled every command queued behind it.
        self._write.execute("PRAGMA wal_autocheckpoint=0")
        self._page_size = self._write.execute("PRAGMA page_size").fetchone()[0]
        self._checkpoint_conn = _connect(self.path)
        self._wake = asyncio.Event()
        self._writer_task = asyncio.create_task(self._writer(), name="sqlite-writer")
        self._checkpoint_task = asyncio.create_task(self._checkpointer(), name="sqlite-checkpoint")

    async def _checkpointer(self) -> None:
        """Copy the log back into the database file beside the writer, and keep the log from growing for ever.

        SQLite writes the log from its start again only when a write transaction begins with all of the log copied;
        under sustained writes a checkpoint beside the writer never gets there (commits land while it copies), so
        the log grew by megabytes a second for as long as the load lasted (disk, start-up recovery and every read's
        log index with it). So when the log is past ``wal_restart_bytes``, the writer finishes the copy between two
        batches (the frames since this checkpoint, and the database file's fsync: 10-30 ms on a slow disk, once
        per 64 MB written), the next batch's first write starts the log again, and ``journal_size_limit`` gives
        the disk back."""
        loop = asyncio.get_running_loop()
        assert self._checkpoint_conn is not None
        conn = self._checkpoint_conn
        while True:
            await asyncio.sleep(self.checkpoint_every_s)
            # busy with another process's checkpoint: try again next time
            with contextlib.suppress(sqlite3.Error):
                busy, logged, copied = await loop.run_in_executor(self._checkpoint_executor, _checkpoint, conn)
                # "logged" counts the frames when the checkpoint began: the writer has added more since
                if not busy and logged * self._page_size > self.wal_restart_bytes:
                    self._finish_checkpoint = True

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

    def queued_units(self) -> int:
        return len(self._queue)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._read is not None, "store not started"
        try:
            rows = self._read.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            error = unavailable(exc)
            if error is None:
                raise
            self._unavailable(error, exc)
        return rows

    # --- the data file's identity -----------------------------------------------------------------
    # Removing (or replacing) the data directory under a running server leaves its connections writing to files
    # that no longer have a name: every commit "succeeds" and is gone at the next start. So the commit path
    # compares the file's (device, inode) with the one opened (one stat, microseconds per batch) and, once it
    # differs, refuses every write for good and says so loudly.

    def check_writable(self) -> str | None:
        """Health looks too, so that a data directory removed under a server that writes nothing is told at once
        (a refused write is counted only by the commit path)."""
        if self.refusing_writes is None and self._identity is not None and file_identity(self.path) != self._identity:
            self._check_identity(refusing=False)
        return self.refusing_writes

    def _check_identity(self, refusing: bool = True) -> str | None:
        """Why writes are refused for good (said loudly the first time), else None; ``refusing``: a write is being
        refused (counted)."""
        if self.refusing_writes is None:
            now = file_identity(self.path)
            if now == self._identity:
                return None
            how = "removed" if now is None else "replaced by another file"
            self.refusing_writes = (f"the database file was {how} under the running server; every write is "
                                    "refused until the server is restarted")  # health shows it: no path
            log.critical("The database file %s was %s under the running server: every write is refused until the "
                         "server is restarted, as it would be lost. Restore the data directory and restart "
                         "tuyacloud.", self.path, how)
            self._lost_reminded = time.monotonic()
        if not refusing:
            return self.refusing_writes
        self._refused += 1
        if time.monotonic() - self._lost_reminded >= LOST_REMIND_S:
            self._lost_reminded = time.monotonic()
            log.critical("%s: %s (%d writes refused so far)", self.path, self.refusing_writes, self._refused)
        return self.refusing_writes

    # --- read cache -------------------------------------------------------------------------------
    # Projects, tokens and devices are read on every signed request, so they are cached here. Our own commits
    # drop what they changed (see _SqliteTx): a command forgets its device, not the project and token that
    # every other request needs. Commits by another process (the CLI) are seen through ``PRAGMA data_version``
    # on the WRITE connection, which moves only for other connections' commits: checked by the writer at the
    # start of every batch, and otherwise, while the writer is idle, at most every ``EXTERNAL_CHECK_S``; either
    # drops the whole cache. Cached objects are shared: callers must not mutate what they read (the domain
    # copies before changing a record).

    def _forget_all(self) -> None:
        self._projects, self._tokens, self._devices = {}, {}, {}

    def _check_external(self) -> None:
        """Drop the cache if another connection committed since we last looked (write connection idle only)."""
        assert self._write is not None, "store not started"
        version = self._write.execute("PRAGMA data_version").fetchone()[0]
        if version != self._write_version:
            self._write_version = version
            self._forget_all()

    def _fresh(self) -> None:
        if not self._busy:
            now = time.monotonic()
            if now - self._checked_at > EXTERNAL_CHECK_S:
                self._checked_at = now
                self._check_external()

    def _forget(self, tx: _SqliteTx) -> None:
        if "projects" in tx.stale_tables:
            self._projects = {}
        if "tokens" in tx.stale_tables:
            self._tokens = {}
        if "devices" in tx.stale_tables:
            self._devices = {}
        else:
            for device_id in tx.stale_devices:
                self._devices.pop(device_id, None)
            if len(self._devices) + len(tx.fresh_devices) >= CACHE_LIMIT:
                self._devices = {}
            for device_id, device in tx.fresh_devices.items():
                self._devices[device_id] = (device.region, device)
        tx.stale_tables.clear()
        tx.stale_devices.clear()
        tx.fresh_devices.clear()

    async def get_project(self, access_id: str) -> Project | None:
        self._fresh()
        if access_id in self._projects:
            return self._projects[access_id]
        project = await super().get_project(access_id)
        if len(self._projects) >= CACHE_LIMIT:
            self._projects = {}
        self._projects[access_id] = project
        return project

    async def get_token(self, access_token: str) -> Token | None:
        self._fresh()
        if access_token in self._tokens:
            return self._tokens[access_token]
        token = await super().get_token(access_token)
        if len(self._tokens) >= CACHE_LIMIT:
            self._tokens = {}
        self._tokens[access_token] = token
        return token

    async def get_device(self, device_id: str, region: str) -> Device | None:
        self._fresh()
        entry = self._devices.get(device_id)
        if entry is not None and entry[0] == region:
            return entry[1]
        device = await super().get_device(device_id, region)
        if len(self._devices) >= CACHE_LIMIT:
            self._devices = {}
        self._devices[device_id] = (region, device)
        return device

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """A single statement outside any unit of work still goes through the writer."""

        async def one(tx: Tx) -> int:
            return await tx.execute(sql, params)

        return await self.transaction(one)

    async def transaction(self, work: Callable[[Tx], Awaitable[T]], *, devices: Sequence[DeviceKey] = ()) -> T:
        """``devices`` is not needed here: one writer per file, and a device read for update is a read."""
        assert self._wake is not None, "store not started"
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        self._wake.set()
        try:
            result = await future
        except sqlite3.Error as exc:
            error = unavailable(exc)
            if error is None:
                raise
            self._write_failed(error)
            self._unavailable(error, exc)
        self.write_failure = None
        if self.outage.failing:
            self.outage.ok()
        return result

    async def _begin(self, loop: asyncio.AbstractEventLoop, conn: sqlite3.Connection) -> None:
        """Take the write lock. Uncontended (the usual case: this process is the only writer) it is immediate,
        so it runs on the loop without a thread hop; when another process holds the lock, the wait (up to the
        busy timeout) happens in the commit thread, never on the event loop."""
        try:
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await loop.run_in_executor(self._executor, conn.execute, "BEGIN IMMEDIATE")

    async def _writer(self) -> None:
        """Commit queued units in batches, for ever: whatever goes wrong fails that batch's callers, never the
        writer (a dead writer would leave every later caller waiting)."""
        assert self._wake is not None and self._write is not None
        loop = asyncio.get_running_loop()
        conn = self._write
        tx = _SqliteTx(conn, lambda: self._devices)
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._busy = True
            try:
                while self._queue:
                    batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                    try:
                        await self._commit_batch(loop, conn, tx, batch)
                    except Exception as exc:
                        if conn.in_transaction:
                            with contextlib.suppress(sqlite3.Error):
                                conn.execute("ROLLBACK")
                        for _, future in batch:
                            if not future.done():
                                future.set_exception(exc)
                        tx.touched_projects.clear()
                        tx.unit_started()
                        tx.stale_tables.clear()
                        tx.stale_devices.clear()
                        tx.fresh_devices.clear()
                        self._forget_all()
            finally:
                self._busy = False

    async def _commit_batch(self, loop: asyncio.AbstractEventLoop, conn: sqlite3.Connection, tx: _SqliteTx,
                            batch: list[tuple[Callable[[Tx], Awaitable[Any]], asyncio.Future[Any]]]) -> None:
        if self.refusing_writes is not None and self._check_identity():
            raise StoreLost(LOST)
        if self._finish_checkpoint:
            self._finish_checkpoint = False
            with contextlib.suppress(sqlite3.Error):  # busy with another process's: the checkpointer asks again
                conn.execute(f"PRAGMA journal_size_limit={self.wal_restart_bytes}")  # what the restart keeps
                busy, logged, copied = await loop.run_in_executor(self._executor, _checkpoint, conn)
                if not busy and copied == logged:
                    self.lane_checkpoints += 1
        began = time.perf_counter()
        try:
            await self._begin(loop, conn)
        except sqlite3.Error as exc:  # locked by another process beyond busy_timeout: fail this batch
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        # Holding the write lock, the connection sees every other process's commit: one look per batch
        # keeps the cache honest while the writer is too busy for the idle-time check.
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._write_version:
            self._write_version = version
            self._forget_all()
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        tx.appended_messages = 0
        for work, future in batch:
            conn.execute("SAVEPOINT unit")
            tx.unit_started()
            appended = tx.appended_messages
            try:
                result = await work(tx)
            except Exception as exc:  # the unit fails alone
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
                tx.appended_messages = appended  # its messages were rolled back with it
                outcomes.append((future, None, exc))
            else:
                conn.execute("RELEASE unit")
                tx.unit_committed()
                outcomes.append((future, result, None))
        lost = self._check_identity()
        # The batch is finished (callers answered, channels woken) in the callback that carries the COMMIT's
        # outcome back to the loop, not after the writer task is resumed by it: one loop turn sooner for every
        # caller and every message of the batch. The writer goes on to the next batch after that.
        finished: asyncio.Future[None] = loop.create_future()

        def finish(error: Exception | None) -> None:
            try:
                if error is None:
                    self._committed(tx, outcomes, began)
                else:
                    self._not_committed(conn, tx, outcomes, error)
            except BaseException as exc:  # the writer's own handler fails the batch's callers
                if not finished.done():
                    finished.set_exception(exc)
                return
            if not finished.done():
                finished.set_result(None)

        if lost is not None:
            finish(StoreLost(LOST))
        else:
            self._executor.submit(_commit, conn, loop, finish)
        await finished

    def _committed(self, tx: _SqliteTx, outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]],
                   began: float) -> None:
        self.batches += 1
        self.units += len(outcomes)
        if self.commit_observer is not None:
            self.commit_observer(len(outcomes), time.perf_counter() - began, tx.appended_messages)
        self._forget(tx)  # before any caller hears of its commit: read-your-writes holds
        touched, tx.touched_projects = tx.touched_projects, set()
        self._announce(touched)
        for future, result, error in outcomes:
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    def _not_committed(self, conn: sqlite3.Connection, tx: _SqliteTx,
                       outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]], exc: Exception) -> None:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        for future, _, _ in outcomes:
            if not future.done():
                future.set_exception(exc)
        tx.touched_projects.clear()
        tx.stale_devices.update(tx.fresh_devices)  # nothing of this batch is in the database
        tx.fresh_devices.clear()
        self._forget(tx)


def _checkpoint(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """A passive checkpoint: (busy, frames in the log, frames copied into the database file)."""
    busy, logged, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return busy, logged, copied


def _commit(conn: sqlite3.Connection, loop: asyncio.AbstractEventLoop,
            finish: Callable[[Exception | None], None]) -> None:
    """In the commit thread: COMMIT (its fsync), then its outcome to the loop in one callback."""
    error: Exception | None = None
    try:
        conn.execute("COMMIT")
    except Exception as exc:
        error = exc
    loop.call_soon_threadsafe(finish, error)
