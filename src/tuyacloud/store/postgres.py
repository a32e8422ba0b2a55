"""PostgreSQL engine (scale-out): asyncpg, a writer per process with group commit, reads that share round trips.

Why group commit here too: a transaction per unit of work costs every command its own BEGIN, COMMIT, WAL flush
and several round trips, and capped one project's messages near 1,000 a second. So, as on SQLite, units of work
queue up and the writer runs them back to back in one transaction, each in its own savepoint (a failing unit rolls
back alone; a batch of one unit needs none), then one COMMIT; only then is any caller answered. Device-log rows,
outbox messages and device statuses are not written unit by unit: the batch writes them all with one statement just
before the COMMIT, which is also where the messages' positions are drawn. A unit that names its device
(``transaction(work, devices=...)``, as a command does) has it locked for it by the batch's first statement,
together with every other named device, so such a unit costs no round trip of its own. The writer has two lanes
(``LANES``): one batch is prepared while the one before it waits for its COMMIT's fsync. Readers of the outbox read
only up to a visibility horizon (postgres_horizon.py), so commits of several lanes and processes need no lock to
keep every consumer from skipping a message.

Round trips are the cost to cut here (each costs the server more CPU in the driver than the query costs
PostgreSQL), so reads avoid them too: projects and tokens are kept in memory and forgotten when any process
changes them (postgres_cache.py); device reads of one loop turn share one query (postgres_reads.py). The portable
``?`` placeholders are rewritten to ``$n`` once per statement text.

Outages: the pool reconnects on its own (a closed connection is replaced when next acquired); while the server is
unreachable every call raises :class:`StoreUnavailable` (1111). The LISTEN connection that wakes message delivery
for other processes' commits and tells of changed projects and tokens is watched by a task of its own and
re-established after a restart; delivery never depends on it alone (this process's commits wake it directly, and it
polls), and the project and token cache is not used while it is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any, NoReturn, TypeVar

import asyncpg
import orjson

from tuyacloud.errors import StoreUnavailable
from tuyacloud.models import Device, DeviceLog, Message, Project, Token
from tuyacloud.store import postgres_cache
from tuyacloud.store.base import DeviceKey, Row, Store, Tx
from tuyacloud.store.postgres_cache import SharedCache, written_table
from tuyacloud.store.postgres_horizon import ROUND_SQL, Horizon
from tuyacloud.store.postgres_reads import DeviceReads
from tuyacloud.store.rows import DEVICE_COLS, device_from_row
from tuyacloud.supervision import Episode, TaskStatus

T = TypeVar("T")
log = logging.getLogger("tuyacloud.store")

LISTEN_CHECK_S = 2.0
CONNECT_TIMEOUT_S = 5.0
# Units per batch. Each unit's savepoint that writes gets a subtransaction id; past 64 in one transaction
# PostgreSQL's per-backend cache of them overflows and every other session's snapshot checks get slower.
MAX_BATCH = 64
RETRIES = 3  # a unit chosen as a deadlock's victim runs again in the next batch, at most this often
READ_WAIT_S = 1.0  # how long a read of the log waits for this process's own commits to be settled
READERS = 4  # pool connections kept checked out for committed reads
LANES = 2  # writer lanes: one batch is prepared while the one before it commits (see _writer)

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
    if isinstance(error, _UNAVAILABLE) or (isinstance(error, asyncpg.InterfaceError) and _LOST.search(str(error))):
        return StoreUnavailable(f"the database is unavailable: {type(error).__name__}")
    return None


# The driver's words for a connection that is gone: closed under it, or taken back by the pool on its own when its
# server died (every later call on the handle the store still holds says "released back to the pool").
_LOST = re.compile(r"closed|released back to the pool")


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
# Who else listens. Every process's LISTEN connection carries this application name, so one count tells a process
# whether any other one is there to hear its NOTIFYs (see ``PostgresStore._notify_others``), and a process that
# starts listening says so on ``HELLO_CHANNEL`` at once (the others count only every ``LISTEN_CHECK_S``).
LISTEN_APP = "tuyacloud-listen"
HELLO_CHANNEL = "tuyacloud_hello"
# Sessions of other roles show no application name to a role without pg_read_all_stats: they may be listeners.
_OTHER_LISTENERS = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND (application_name = $1 OR application_name IS NULL)")


# What a unit of work does not send at once but leaves to its batch's end (one statement for the whole batch):
# device-log rows, outbox messages, the status of a device the batch holds locked, and a consumer's acknowledgement
# mark. A statement that names one of those tables first writes what is deferred, so reads and other writes in the
# batch see it.
_DEFERRED = re.compile(r"\b(?:messages|device_logs|devices|subscriptions)\b")
_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _names_deferred(sql: str) -> bool:
    return _DEFERRED.search(sql) is not None


@lru_cache(maxsize=4096)
def _writes_devices(sql: str) -> bool:
    return _READ.match(sql) is None and re.search(r"\bdevices\b", sql) is not None


# The batch's deferred rows in one round trip: device statuses, device logs, subscriptions' acknowledgement marks
# (never moved back), then the outbox in the order its units appended it (positions are drawn here, in that order),
# returning each project's highest position. No NOTIFY here: see ``PostgresStore._notify_others``. The rows travel
# as one JSON document ([statuses, logs, messages, marks], each a list of rows; a status or a message's data as the
# JSON text to store): encoding it costs the server a fraction of what a parameter array per column costs the
# driver (about 30 against 250 µs for a batch of 15). ``jsonb``, parsed once, costs PostgreSQL what the arrays did;
# ``json`` would parse the document again at every field.
FLUSH_SQL = (
    "WITH b AS (SELECT $1::jsonb AS j), "
    "status AS (UPDATE devices SET status = u->>1, status_t = u->>2, updated_ms = (u->>3)::bigint "
    "FROM b, jsonb_array_elements(b.j->0) AS u WHERE devices.id = u->>0), "
    "logs AS (INSERT INTO device_logs (device_id, event_time, event_id, code, value, event_from) "
    "SELECT u->>0, (u->>1)::bigint, (u->>2)::int, u->>3, u->>4, u->>5 "
    "FROM b, jsonb_array_elements(b.j->1) WITH ORDINALITY AS x(u, o) ORDER BY o), "
    "marks AS (UPDATE subscriptions s SET mark_seq = GREATEST(s.mark_seq, (u->>3)::bigint), "
    "last_ack_ms = (u->>4)::bigint FROM b, jsonb_array_elements(b.j->3) AS u "
    "WHERE s.access_id = u->>0 AND s.env = u->>1 AND s.name = u->>2), "
    "outbox AS (INSERT INTO messages (access_id, region, protocol, device_id, data, created_ms) "
    "SELECT u->>0, u->>1, (u->>2)::int, u->>3, u->>4, (u->>5)::bigint "
    "FROM b, jsonb_array_elements(b.j->2) WITH ORDINALITY AS x(u, o) ORDER BY o RETURNING seq, access_id) "
    "SELECT access_id, MAX(seq) FROM outbox GROUP BY access_id"
)
# Other processes are told of committed messages after the commit, in a transaction of its own (see
# ``PostgresStore._notify_others``): every project committed since the last one, in one statement.
_NOTIFY = "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p"

# Transaction-scoped advisory locks on (class, hashtext(owner)): the two-key form, a key space apart from the
# start-up lock's single 64-bit key.
DEVICE_POOL_LOCK_CLASS = 0x7463_6470  # "tcdp"
_LOCK_POOL = "SELECT pg_advisory_xact_lock($1, hashtext($2))"
_FOR_UPDATE = f"SELECT {DEVICE_COLS} FROM devices WHERE id = $1 AND region = $2 FOR UPDATE"
# A batch's first statement when its units named their devices: the transaction id, and every named device locked
# in one ordered pass (id order, the same in every process, so two batches never wait on each other in a circle).
_LOCK_BATCH = ("SELECT pg_current_xact_id()::text::bigint, d.* FROM (SELECT 1) AS one LEFT JOIN LATERAL "
               f"(SELECT {DEVICE_COLS} FROM devices WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE) AS d ON true")
_XID = "SELECT pg_current_xact_id()::text::bigint"

def _with_status(device: Device, status: dict[str, Any], status_t: dict[str, int]) -> Device:
    """A copy of ``device`` with copies of the given status maps: what a unit gets, and what the batch keeps, so
    that neither changes the other. (``dataclasses.replace`` runs ``__init__`` over every field: ten times the
    cost, on every command.)"""
    copy = object.__new__(Device)
    copy.__dict__.update(device.__dict__)
    copy.status, copy.status_t = dict(status), dict(status_t)
    return copy


Status = tuple[str, dict[str, Any], dict[str, int], int]  # device id, status, status_t, updated_ms (copies)
Mark = tuple[int, int]  # a subscription's acknowledgement mark and the time of its last acknowledgement


class _Deferred:
    """Rows kept for the batch's end: of the units already released (``batch``) or of the running one."""

    __slots__ = ("status", "logs", "messages", "marks")

    def __init__(self) -> None:
        self.status: dict[str, Status] = {}
        self.logs: list[DeviceLog] = []
        self.messages: list[Message] = []
        self.marks: dict[tuple[str, str, str], Mark] = {}  # subscription -> mark (see _PgTx.advance)

    def __bool__(self) -> bool:
        return bool(self.status or self.logs or self.messages or self.marks)

    def mark(self, key: tuple[str, str, str], mark: int, now_ms: int) -> None:
        """Marks only move forward (the statement keeps the higher of the stored one and this), so two of one
        subscription in a batch are one: the higher mark, the later time."""
        held = self.marks.get(key)
        self.marks[key] = (mark, now_ms) if held is None else (max(held[0], mark), max(held[1], now_ms))

    def add(self, other: _Deferred) -> None:
        self.status.update(other.status)
        self.logs += other.logs
        self.messages += other.messages
        for key, (mark, now_ms) in other.marks.items():
            self.mark(key, mark, now_ms)

    def put_back(self, earlier: _Deferred) -> None:
        """``earlier`` was written inside a unit that then rolled back: keep it for the end again, first."""
        status = dict(earlier.status)
        status.update(self.status)
        self.status = status
        self.logs[:0] = earlier.logs
        self.messages[:0] = earlier.messages
        for key, (mark, now_ms) in earlier.marks.items():
            self.mark(key, mark, now_ms)


class _PgTx(Tx):
    """The writer's handle on its batch transaction.

    Round trips are what a unit costs here, so a unit sends as few statements as it can: device logs, outbox
    messages and the status of a device this batch already holds locked are kept until the batch ends (or a
    statement names their table) and then written together; a device read for update a second time in the batch is
    answered from memory (the row lock is the batch's until its commit, so nobody else can have changed it); and
    a unit's savepoint is opened only before its first statement, so a unit that sends none costs none. What a
    unit that rolled back had kept is dropped with it."""

    def __init__(self, store: PostgresStore, conn: asyncpg.Connection) -> None:
        super().__init__()
        self._store = store
        self._conn = conn
        self.xid = 0
        self.batch = _Deferred()
        self.unit = _Deferred()
        self.restore = _Deferred()  # earlier units' rows written during this unit (kept again if it rolls back)
        self.locked: dict[str, Device] = {}  # devices locked by released units, as the batch has them now
        self.unit_locked: dict[str, Device] = {}
        self.committed: dict[str, int] = {}  # project -> highest position written in this batch
        self.unit_committed: dict[str, int] = {}
        self.savepoint_open = False  # a unit's savepoint that has not been released yet
        self.in_savepoint = False  # the running unit opened its savepoint (or, alone in its batch, sent a statement)
        self.savepoints = True  # False for a batch of one unit: its failure rolls the whole transaction back
        self.abort = False  # that unit failed after sending a statement: roll back instead of committing
        self.cached_tables: set[str] = set()  # cached tables (projects, tokens) a statement of the batch wrote

    # --- units ------------------------------------------------------------------------------------------------
    def unit_started(self) -> None:
        # Fresh containers only where the last unit left something (it runs twice per unit, on every command):
        # what a released unit kept has been copied into the batch's by then, so an empty one is as good as new.
        if self.unit:
            self.unit = _Deferred()
        if self.restore:
            self.restore = _Deferred()
        if self.unit_locked:
            self.unit_locked = {}
        if self.unit_committed:
            self.unit_committed = {}
        self.in_savepoint = False

    def unit_released(self) -> None:
        self.batch.add(self.unit)
        self.locked.update(self.unit_locked)
        for project, seq in self.unit_committed.items():
            self.committed[project] = max(seq, self.committed.get(project, 0))
        self.unit_started()

    async def unit_failed(self) -> None:
        if self.in_savepoint:
            if self.savepoints:
                await self._conn.execute("ROLLBACK TO SAVEPOINT unit; RELEASE SAVEPOINT unit")
                self.savepoint_open = False
            else:
                self.abort = True
        self.batch.put_back(self.restore)
        self.unit_started()

    async def _send_savepoint(self) -> None:
        if not self.in_savepoint:
            if self.savepoints:
                await self._conn.execute("RELEASE SAVEPOINT unit; SAVEPOINT unit" if self.savepoint_open
                                         else "SAVEPOINT unit")
                self.savepoint_open = True
            self.in_savepoint = True

    async def lock_device_pool(self, owners: Sequence[str]) -> None:
        """One advisory lock per owner, taken in a fixed order (two creations never wait on each other crosswise),
        held until the batch commits; the count read after it, in its own statement, sees every creation that
        held the lock before (read committed takes a fresh snapshot per statement)."""
        await self._send_savepoint()
        for owner in sorted(set(owners)):
            await self._conn.execute(_LOCK_POOL, DEVICE_POOL_LOCK_CLASS, owner)

    async def last_message_seq(self, access_id: str) -> int:
        """Capped at the horizon, as the store's committed read is (see ``PostgresStore.last_message_seq``)."""
        return min(await super().last_message_seq(access_id), self._store.horizon.settled)

    # --- deferred writes --------------------------------------------------------------------------------------
    async def get_device_for_update(self, device_id: str, region: str) -> Device | None:
        """Concurrent commands on one device serialise here, so none overwrites another's status change (within a
        batch the units run one after another; across processes the row lock orders them)."""
        held = self.unit_locked.get(device_id) or self.locked.get(device_id)
        if held is not None and held.region == region:
            return _with_status(held, held.status, held.status_t)
        # Nothing kept can change this row (a device with a kept status is held, answered above): no flush.
        await self._send_savepoint()
        row = await self._conn.fetchrow(_FOR_UPDATE, device_id, region)
        if row is None:
            return None
        device = device_from_row(tuple(row))
        self.unit_locked[device_id] = _with_status(device, device.status, device.status_t)
        return device

    async def update_device_status(self, device_id: str, status: dict[str, Any], status_t: dict[str, int],
                                   updated_ms: int) -> None:
        held = self.unit_locked.get(device_id) or self.locked.get(device_id)
        if held is None:
            await super().update_device_status(device_id, status, status_t, updated_ms)
            return
        held = self.unit_locked[device_id] = _with_status(held, status, status_t)
        held.updated_ms = updated_ms
        self.unit.status[device_id] = (device_id, held.status, held.status_t, updated_ms)

    async def append_message(self, m: Message) -> None:
        """Kept until the batch ends: its position is drawn then, by the batch's one insert (see
        postgres_horizon.py for why no lock is needed)."""
        self.unit.messages.append(m)
        self.touched_projects.add(m.access_id)
        self.appended_messages += 1

    async def insert_device_logs(self, logs: Sequence[DeviceLog]) -> None:
        self.unit.logs.extend(logs)

    async def advance(self, access_id: str, env: str, name: str, mark: int, stray_seqs: Sequence[int],
                      now_ms: int) -> None:
        """A consumer's acknowledgements: the mark is kept until the batch ends and written by its one statement,
        so recording acknowledgements (a unit of work beside delivery, every few milliseconds per consumer) adds
        no round trip and no savepoint to the batch it joins, and does not lengthen the writer's turn that the
        commands of the same batch wait for. Acks above the mark (rare: out of order, or of an earlier
        connection's messages) are written at once, as before, after the kept marks."""
        self.unit.mark((access_id, env, name), mark, now_ms)
        if stray_seqs:  # its statements name the deferred tables: the mark is written first
            await self.acknowledge(access_id, env, name, stray_seqs, now_ms)

    async def flush(self, in_unit: bool = True) -> None:
        """Write what is kept, in one statement."""
        if not self.batch and not self.unit:
            return
        if in_unit:
            await self._send_savepoint()
            self.restore.add(self.batch)
        rows = _Deferred()
        rows.add(self.batch)
        rows.add(self.unit)
        self.batch, self.unit = _Deferred(), _Deferred()
        status, logs, messages = list(rows.status.values()), rows.logs, rows.messages
        if messages:
            self._store.horizon.batch_drawing(self.xid)
        dumps = orjson.dumps
        document = dumps([
            [(d, dumps(st).decode(), dumps(st_t).decode(), ms) for d, st, st_t, ms in status],
            [(g.device_id, g.event_time, g.event_id, g.code, g.value, g.event_from) for g in logs],
            [(m.access_id, m.region, m.protocol, m.device_id, dumps(m.data).decode(), m.created_ms) for m in messages],
            [(*key, mark, now_ms) for key, (mark, now_ms) in rows.marks.items()],
        ]).decode()
        result = await self._conn.fetch(FLUSH_SQL, document)
        if messages:
            self._store.horizon.batch_drawn(self.xid)
        into = self.unit_committed if in_unit else self.committed
        for project, seq in result:
            into[project] = max(int(seq), into.get(project, 0))

    # --- statements -------------------------------------------------------------------------------------------
    async def _before(self, sql: str) -> None:
        if _names_deferred(sql):
            await self.flush()
            if _writes_devices(sql):  # it may change a device held in memory: read it again when needed
                self.locked.clear()
                self.unit_locked.clear()
        await self._send_savepoint()

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        await self._before(sql)
        return [tuple(r) for r in await self._conn.fetch(to_pg(sql), *_args(params))]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        await self._before(sql)
        table = written_table(sql)
        if table is not None:
            self.cached_tables.add(table)
        return _rowcount(await self._conn.execute(to_pg(sql), *_args(params)))

    def hold(self, devices: Sequence[Device]) -> None:
        """Devices the batch locked before its units ran (``_LOCK_BATCH``): their reads for update need no query."""
        for device in devices:
            self.locked[device.id] = device


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
        self.horizon = Horizon(self._horizon_round, self._announce)
        self._round_sql = ""
        self._queue: list[_Unit] = []
        self._wake: asyncio.Event | None = None
        self._writer_tasks: list[asyncio.Task[None]] = []
        self._turn = asyncio.Lock()  # held by the lane that takes and prepares the next batch
        self._busy = 0  # batches taken and not finished
        self._committing: dict[int, set[str]] = {}  # lane -> the devices its batch locked, while it commits
        self.batches = 0  # for benchmarks: units per batch = committed units / batches
        self.units = 0
        self._readers: list[asyncpg.Connection] = []  # idle read connections kept out of the pool
        self._reading = 0  # read connections kept out of the pool, idle or busy
        self._writer_pids: set[int] = set()  # server processes of the connections this process NOTIFYs from
        self._to_notify: set[str] = set()  # projects with commits other processes have not been told of yet
        self.alone = False  # no other process listens (last counted, or since told): commits notify nobody
        self._hellos = 0  # hellos heard so far: a count asked before the last one cannot make this process alone
        self._notifier: asyncio.Task[None] | None = None
        self._notify_conn: asyncpg.Connection | None = None  # kept out of the pool for the NOTIFYs
        self._writer_conns: list[asyncpg.Connection | None] = [None] * LANES  # kept by each lane
        self.cache = SharedCache(self.listen_status.info)  # projects and tokens (postgres_cache.py)
        self.device_reads = DeviceReads(self.fetch)  # device reads of one loop turn share a query
        self._cache_triggers = False  # migration 0018's triggers exist: the cache may be used
        self._connects: set[asyncio.Task[Any]] = set()  # connects under way, and closes of abandoned ones

    async def start(self) -> None:
        self._pool = await asyncpg.create_pool(self.dsn, min_size=self._min, max_size=self._max, reset=_keep_session,
                                               connect=self._connect)
        sequence = await self._pool.fetchval("SELECT pg_get_serial_sequence('messages', 'seq')")
        self._round_sql = ROUND_SQL.format(sequence=sequence)
        triggers = await self._pool.fetchval(postgres_cache.TRIGGER_CHECK, list(postgres_cache.TABLES))
        self._cache_triggers = triggers == len(postgres_cache.TABLES)
        self._wake = asyncio.Event()
        self._writer_tasks = [asyncio.create_task(self._writer(lane), name=f"pg-writer-{lane}") for lane in
                              range(LANES)]
        self.horizon.start()
        await self.horizon.prime(READ_WAIT_S)
        await self._listen()
        self._listen_task = asyncio.create_task(self._keep_listening(), name="pg-listen")

    async def _horizon_round(self) -> tuple[int, list[int], int]:
        """One round of the horizon, on a kept read connection (a pool checkout costs more than the query)."""
        row = (await self.fetch(self._round_sql))[0]
        return int(row[0]), list(row[1]), int(row[2])

    async def _connect(self, *args: Any, **kwargs: Any) -> asyncpg.Connection:
        """``asyncpg.connect`` (the pool's and the LISTEN connection's), run to its end even when its caller is
        cancelled.

        Why: asyncpg asks the server for TLS first (``sslmode=prefer``, libpq's default). A connect cancelled during
        that exchange closes its socket, and the negotiation's future then fails ("unexpected connection_lost()
        call") with nobody left to read it: the event loop reports "Future exception was never retrieved" (it
        failed a test in CI when a store closed while its pool grew). So the connect runs in a task of its own that
        the caller only waits for; a caller that gives up leaves it to finish, and what it opened is then closed.
        ``close()`` waits for these, at most ``CONNECT_TIMEOUT_S``."""
        task: asyncio.Task[asyncpg.Connection] = asyncio.get_running_loop().create_task(
            asyncpg.connect(*args, **kwargs), name="pg-connect")
        self._track(task)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(self._abandoned)
            raise

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._connects.add(task)
        task.add_done_callback(self._connects.discard)

    def _abandoned(self, task: asyncio.Task[asyncpg.Connection]) -> None:
        """A connect whose caller was cancelled has ended: read its outcome, close the connection it opened."""
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.debug("a connect whose caller gave up failed: %r", error)
            return
        conn = task.result()
        self._track(asyncio.get_running_loop().create_task(_close_quietly(conn), name="pg-connect-close"))

    async def _settle_connects(self, deadline: float) -> None:
        """Wait for connects under way (and the closes of abandoned ones) until ``deadline`` (the loop's clock);
        what is still running then is cancelled (a server that does not answer within the bound)."""
        while self._connects:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                for task in list(self._connects):
                    task.cancel()
                await asyncio.gather(*self._connects, return_exceptions=True)
                return
            await asyncio.wait(list(self._connects), timeout=left)

    async def _listen(self) -> None:
        conn = await self._connect(self.dsn, timeout=CONNECT_TIMEOUT_S,
                                   server_settings={"application_name": LISTEN_APP})
        try:
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
            await conn.add_listener(postgres_cache.CHANNEL, self._on_cache_notify)
            await conn.add_listener(HELLO_CHANNEL, self._on_hello)
            conn.add_termination_listener(self._on_listener_lost)
            # Listening from here on: tell the processes that counted themselves alone, then count the others.
            await conn.execute(f"NOTIFY {HELLO_CHANNEL}")
            hellos = self._hellos
            self._count_others(await conn.fetchval(_OTHER_LISTENERS, LISTEN_APP), hellos)
        except BaseException:
            conn.terminate()
            raise
        self._listener = conn
        self.listening = True
        # Changes made while nobody listened were not heard: start from nothing (reads in flight do not fill it).
        self.cache.forget_all()
        self.cache.live = self._cache_triggers

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
                hellos = self._hellos
                try:  # the cheap query that tells a dead connection also counts who else listens
                    others = await asyncio.wait_for(conn.fetchval(_OTHER_LISTENERS, LISTEN_APP), LISTEN_CHECK_S)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    lost = True
                    episode.failed(unavailable(exc) or exc)
                else:
                    self._count_others(others, hellos)
                    episode.ok()
            if lost:
                self.listening = False
                self.alone = False  # not known any more: notify
                self.cache.live = False  # changes are not heard any more: read from the database
                self.cache.forget_all()
                self._listener = None
                conn.terminate()

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        # Another process committed messages for a project: they are announced to its readers once the horizon
        # has passed them. This process's own commits are known to the horizon already.
        if pid not in self._writer_pids:
            self.horizon.foreign_commit(payload)

    def _count_others(self, others: int, hellos_before: int) -> None:
        """The count of other processes' LISTEN connections came back; ``hellos_before`` is how many hellos had been
        heard when it was asked. A hello heard since is later news than a count of none, whichever order the two
        callbacks run in: the count may have been taken before that process connected, and the loop can run the
        hello's callback before the code awaiting the count resumes (``wait_for`` adds turns of the loop). Trusting
        the zero then would leave this process alone, its commits unannounced, until the next count. Health's
        ``other_listeners`` then says at least the one that said hello, until the next count says exactly."""
        if others == 0 and self._hellos != hellos_before:
            others = 1
        self.listen_status.info["other_listeners"] = others
        self.alone = others == 0

    def _on_hello(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        """Another process started listening: it hears commits from now on (and health counts it until the next
        count of listeners says exactly how many there are)."""
        if pid != connection.get_server_pid():
            self._hellos += 1
            self.alone = False
            info = self.listen_status.info
            info["other_listeners"] = max(int(info.get("other_listeners") or 0), 1)

    def _notify_others(self, projects: Sequence[str]) -> None:
        """Tell other processes (their LISTEN) that ``projects`` have new committed messages: after the commit, in a
        transaction of its own, one at a time, every project committed meanwhile in the next one.

        Why not ``pg_notify`` inside the batch, delivered at its commit: a transaction that sends a NOTIFY takes a
        lock that every other notifying transaction of the cluster waits for, and holds it until its commit is
        done, the WAL flush included (PostgreSQL keeps notifications in commit order that way). Every batch with
        messages notified, so the commits of every process on the cluster took turns at the disk, each waiting
        for the last one's flush before making its own, where PostgreSQL writes the commit records that arrive
        together with one flush. A transaction that only notifies writes no WAL of its own and does not wait for
        the disk, so it holds that lock for a moment.

        Nothing depends on the NOTIFY arriving (other processes' readers wait for the horizon, which does not trust
        it, and poll); sending it a round trip after the commit only tells them that much later. A process that
        dies between its commit and the NOTIFY leaves the others to find its messages at their next poll.

        No other process listening (``alone``: the LISTEN watcher counts them every few seconds, and a process
        that starts listening says so at once): no NOTIFY at all. It would cost a round trip and a transaction per
        batch, and come back to this process's own LISTEN to be ignored there."""
        if self.alone:
            return
        self._to_notify.update(projects)
        if self._notifier is None or self._notifier.done():
            self._notifier = asyncio.get_running_loop().create_task(self._send_notifies(), name="pg-notify")

    async def _send_notifies(self) -> None:
        while self._to_notify and self._pool is not None:
            projects, self._to_notify = sorted(self._to_notify), set()
            conn = self._notify_conn
            try:
                if conn is None or not _usable(conn):
                    self._notify_conn = None
                    conn = self._notify_conn = await self._pool.acquire()
                self._writer_pids.add(conn.get_server_pid())  # its NOTIFYs come back to our LISTEN: not news
                await conn.execute(_NOTIFY, NOTIFY_CHANNEL, projects)
            except Exception as exc:  # the others find these messages at their next poll
                log.debug("could not notify other processes: %r", exc)
                if conn is not None and self._pool is not None:
                    self._notify_conn = None
                    with contextlib.suppress(Exception):
                        await self._pool.release(conn)
                return

    def _on_cache_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.cache.forget(payload)

    def _on_listener_lost(self, connection: Any) -> None:
        """The LISTEN connection closed (the server went away, or restarts): changes are not heard any more, so the
        cache is not used from this moment (the watcher opens a new connection and turns it on again), and commits
        notify until the new connection has counted the other listeners."""
        if connection is self._listener:
            self.cache.live = False
            self.cache.forget_all()
            self.alone = False  # a process that starts now would not be heard saying so: notify

    # --- projects and tokens, kept (postgres_cache.py) --------------------------------------------------------
    async def _cached(self, table: str, key: str, load: Callable[[str], Awaitable[Any]]) -> Any:
        """The kept record, else ``load(key)`` kept under the table's generation read before it (a NOTIFY that
        arrives meanwhile makes the put a no-op)."""
        found = self.cache.get(table, key)
        if found is None:
            generation = self.cache.generation(table)
            found = await load(key)
            self.cache.put(table, key, found, generation)
        return found

    async def get_project(self, access_id: str) -> Project | None:
        project: Project | None = await self._cached("projects", access_id, super().get_project)
        return project

    async def get_device(self, device_id: str, region: str) -> Device | None:
        return await self.device_reads.get(device_id, region)

    async def get_token(self, access_token: str) -> Token | None:
        token: Token | None = await self._cached("tokens", access_token, super().get_token)
        return token

    async def close(self) -> None:
        self.cache.live = False
        if self._writer_tasks:
            while self._queue or self._busy:  # let queued work finish: nothing accepted is dropped
                await asyncio.sleep(0.005)
            for task in self._writer_tasks:
                task.cancel()
            for task in self._writer_tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._writer_tasks = []
        if self._notifier is not None:  # the last commits' NOTIFYs: sent, or given up on with the pool
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._notifier), CONNECT_TIMEOUT_S)
            self._notifier.cancel()
            with contextlib.suppress(BaseException):
                await self._notifier
            self._notifier = None
        await self.horizon.stop()
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
            readers, self._readers, self._reading = self._readers, [], 0
            readers += [conn for conn in self._writer_conns if conn is not None]
            self._writer_conns = [None] * LANES
            if self._notify_conn is not None:
                readers.append(self._notify_conn)
                self._notify_conn = None
            for conn in readers:
                with contextlib.suppress(Exception):
                    await self._pool.release(conn)
            # Connects whose callers were cancelled end first (their connection is then closed, or kept by the
            # pool and closed with it): none is left with a failed future nobody reads. At most
            # CONNECT_TIMEOUT_S for them in all, here and after the pool's close.
            connects_deadline = asyncio.get_running_loop().time() + CONNECT_TIMEOUT_S
            await self._settle_connects(connects_deadline)
            try:
                await asyncio.wait_for(self._pool.close(), CONNECT_TIMEOUT_S)
            except Exception:  # the server is gone: drop the connections without their goodbyes
                self._pool.terminate()
            self._pool = None
            await self._settle_connects(connects_deadline)

    def _write_failed_if_unavailable(self, exc: Exception) -> None:
        error = unavailable(exc)
        if error is not None:
            self._write_failed(error)

    def _driver_failed(self, exc: Exception) -> NoReturn:
        """Called from an ``except``: a driver error that means the database cannot be reached or cannot write
        becomes :class:`StoreUnavailable` (the outage logged once); any other error goes on as it was."""
        error = unavailable(exc)
        if error is None:
            raise exc
        self._unavailable(error, exc)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """A committed read. Reads are every request's first cost (token, project, device), and going through
        ``pool.fetch`` costs about three times the query itself in acquire/release machinery; so a few pool
        connections are kept checked out for reads and used directly, with the pool itself when all are busy."""
        assert self._pool is not None, "store not started"
        conn = self._readers.pop() if self._readers else None
        if conn is None:
            return await self._pool_fetch(sql, params)
        try:
            rows = await conn.fetch(to_pg(sql), *_args(params))
        except asyncpg.InterfaceError:
            # Its connection was lost while idle (the pool took it back then) or cannot be used: let it go and
            # read through the pool, which reconnects or says the database is unavailable.
            await self._drop_reader(conn)
            return await self._pool_fetch(sql, params)
        except BaseException as exc:
            if isinstance(exc, Exception) and unavailable(exc) is None:
                self._readers.append(conn)  # a bad statement: the connection is fine
            else:  # lost, or interrupted mid-query: the pool replaces or cleans it up
                await self._drop_reader(conn)
            if isinstance(exc, Exception):
                self._driver_failed(exc)
            raise
        self._readers.append(conn)
        return [tuple(r) for r in rows]

    async def _drop_reader(self, conn: asyncpg.Connection) -> None:
        self._reading -= 1
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.release(conn)

    async def _pool_fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        assert self._pool is not None
        if self._reading < READERS:  # (re)fill the readers: this connection stays checked out afterwards
            self._reading += 1
            try:
                conn = await self._pool.acquire()
            except Exception as exc:
                self._reading -= 1
                self._driver_failed(exc)
            try:
                rows = await conn.fetch(to_pg(sql), *_args(params))
            except BaseException as exc:
                await self._drop_reader(conn)
                if isinstance(exc, Exception):
                    self._driver_failed(exc)
                raise
            self._readers.append(conn)
            return [tuple(r) for r in rows]
        try:
            rows = await self._pool.fetch(to_pg(sql), *_args(params))
        except Exception as exc:
            self._driver_failed(exc)
        return [tuple(r) for r in rows]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        assert self._pool is not None, "store not started"
        table = written_table(sql)
        try:
            status = await self._pool.execute(to_pg(sql), *_args(params))
        except Exception as exc:
            self._write_failed_if_unavailable(exc)
            self._driver_failed(exc)
        finally:
            if table is not None:
                self.cache.forget(table)
        self.write_failure = None
        if self.outage.failing:
            self.outage.ok()
        return _rowcount(status)

    def queued_units(self) -> int:
        return len(self._queue)

    # --- the outbox, read up to the horizon -------------------------------------------------------------------
    async def messages_after(self, access_id: str, after_seq: int, limit: int = 100) -> list[Message]:
        """The log as far as it is settled, after waiting (briefly) for what this process committed before the
        call to be settled: a caller that just committed a message reads it."""
        horizon = await self.horizon.reach(self.horizon.committed, READ_WAIT_S)
        return [m for m in await super().messages_after(access_id, after_seq, limit) if m.seq <= horizon]

    async def last_message_seq(self, access_id: str) -> int:
        """Where a new reader of the log starts (an open-hub credential): the project's newest message, but never
        above the horizon, since a position above it may still be passed by one drawn earlier that commits later,
        and a reader starting past that one would never see it. It waits (briefly) for this process's own commits
        to be settled first, so a caller that just committed messages is not sent them again."""
        horizon = await self.horizon.reach(self.horizon.committed, READ_WAIT_S)
        return min(await super().last_message_seq(access_id), horizon)

    async def unacked_messages(self, access_id: str, env: str, name: str, after_seq: int,
                               limit: int) -> list[Message]:
        """What a consumer may be sent: nothing above the horizon, so its cursor never passes a position that
        could still commit (the horizon's move wakes it)."""
        horizon = self.horizon.settled
        if after_seq >= horizon:
            return []
        return [m for m in await super().unacked_messages(access_id, env, name, after_seq, limit)
                if m.seq <= horizon]

    # --- units of work: group commit --------------------------------------------------------------------------
    async def transaction(self, work: Callable[[Tx], Awaitable[T]], *, devices: Sequence[DeviceKey] = ()) -> T:
        assert self._wake is not None, "store not started"
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append(_Unit(work, future, devices))
        self._wake.set()
        try:
            result = await future
        except Exception as exc:
            self._write_failed_if_unavailable(exc)
            self._driver_failed(exc)
        self.write_failure = None
        if self.outage.failing:
            self.outage.ok()
        return result

    async def _writer(self, lane: int) -> None:
        """One lane of the writer: commit queued units in batches, for ever. Whatever goes wrong fails that batch's
        callers, never the lane (a dead writer would leave every later caller waiting).

        Why lanes: a batch spends most of its time in its COMMIT (the WAL's fsync). The lanes take turns to take
        and prepare a batch (run its units), but a lane whose units have run hands the turn on,
        so the next batch is prepared while the last one is made durable. The order of a device's changes holds:
        a batch locks its devices, and a device of a batch still committing is locked until that commit is done.
        """
        assert self._wake is not None
        while True:
            await self._turn.acquire()
            turn = _Turn(self._turn)
            try:
                while not self._queue:
                    self._wake.clear()
                    await self._wake.wait()
                batch = self._take()
                self._busy += 1
            except BaseException:
                turn.release()
                raise
            try:
                again = await self._commit_batch(lane, batch, turn)
            except Exception as exc:
                for unit in batch:
                    if not unit.future.done():
                        unit.future.set_exception(exc)
                again = []
            finally:
                turn.release()
                self._busy -= 1
            if again:
                self._queue[:0] = again
                self._wake.set()

    def _take(self) -> list[_Unit]:
        """The next batch: the queue's first units, but none that names a device of a batch still committing (its
        lock would hold this batch, and the turn, until that commit is done; such a unit waits for the next turn,
        and so does every later unit naming the same device, so a device's units keep their order). When every
        queued unit waits on such a device they are taken all the same."""
        busy = set().union(*self._committing.values()) if self._committing else None
        if busy:
            batch: list[_Unit] = []
            later: list[_Unit] = []
            for unit in self._queue:
                if len(batch) < MAX_BATCH and not any(device in busy for device, _ in unit.devices):
                    batch.append(unit)
                else:
                    later.append(unit)
            if batch:
                self._queue = later
                return batch
        batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        return batch

    @contextlib.asynccontextmanager
    async def _writer_connection(self, lane: int) -> AsyncIterator[asyncpg.Connection]:
        """Each lane keeps one connection out of the pool: its statements stay prepared (a pool connection taken
        per batch prepared them again on each of the pool's connections) and no batch pays for acquire and release.
        A batch that fails as a whole gives it back to the pool, which replaces it if it was lost."""
        assert self._pool is not None
        conn = self._writer_conns[lane]
        if conn is None or not _usable(conn):
            self._writer_conns[lane] = None
            if conn is not None:
                with contextlib.suppress(Exception):
                    await self._pool.release(conn)
            conn = self._writer_conns[lane] = await self._pool.acquire()
        try:
            yield conn
        except BaseException:
            self._writer_conns[lane] = None
            with contextlib.suppress(Exception):
                await self._pool.release(conn)
            raise

    async def _begin(self, conn: asyncpg.Connection, tx: _PgTx, batch: list[_Unit]) -> None:
        """BEGIN, then the transaction id (first: positions drawn later in this transaction are then covered by the
        horizon's reasoning, and the horizon knows this xid for this process's own), in the same statement as the
        lock of every device the batch's units named, when they named any."""
        await conn.execute("BEGIN")
        ids = sorted({device_id for unit in batch for device_id, _ in unit.devices})
        if ids:
            try:
                rows = await conn.fetch(_LOCK_BATCH, ids)
            except asyncpg.DeadlockDetectedError:
                # Another process's unit holds one of them and waits for one of ours: start again without the
                # batch lock (the units lock what they need one by one, each retried if it loses a deadlock).
                await conn.execute("ROLLBACK; BEGIN")
            else:
                tx.xid = int(rows[0][0])
                tx.hold([device_from_row(tuple(row)[1:]) for row in rows if row[1] is not None])
                return
        tx.xid = int(await conn.fetchval(_XID))

    async def _commit_batch(self, lane: int, batch: list[_Unit], turn: _Turn) -> list[_Unit]:
        """One transaction for the batch; returns the units to run again in the next one (deadlock victims). The
        turn is handed on once the batch's units have run, before its rows are written and its COMMIT."""
        assert self._pool is not None
        began = time.perf_counter()
        outcomes: list[tuple[_Unit, Any, BaseException | None]] = []
        again: list[_Unit] = []
        async with self._writer_connection(lane) as conn:
            self._writer_pids.add(conn.get_server_pid())
            tx = _PgTx(self, conn)
            tx.savepoints = len(batch) > 1
            ended = committed = False
            try:
                await self._begin(conn, tx, batch)
                self.horizon.batch_began(tx.xid)
                for unit in batch:
                    tx.unit_started()
                    appended = tx.appended_messages
                    try:
                        result = await unit.work(tx)
                    except Exception as exc:  # the unit fails alone
                        await tx.unit_failed()
                        tx.appended_messages = appended  # its messages were rolled back with it
                        if isinstance(exc, asyncpg.DeadlockDetectedError) and unit.attempts < RETRIES:
                            unit.attempts += 1  # another process's batch holds what it needs: after ours commits
                            again.append(unit)
                        else:
                            outcomes.append((unit, None, exc))
                    else:
                        tx.unit_released()
                        outcomes.append((unit, result, None))
                if tx.abort:  # the batch's only unit failed: nothing to keep
                    turn.release()
                    await conn.execute("ROLLBACK")
                else:
                    # The turn is handed on before the batch's rows are written: the next batch runs its units
                    # while PostgreSQL writes these (the two lanes' statements run on two backends at once). Its
                    # units never name a device of this batch (_take); a statement of theirs that touches a row
                    # this batch holds waits for this COMMIT, and this batch's write waits on nothing of theirs
                    # (it changes only rows this batch holds locked, and inserts).
                    self._committing[lane] = {device_id for unit in batch for device_id, _ in unit.devices}
                    turn.release()
                    await tx.flush(in_unit=False)
                    await conn.execute("COMMIT")
                    committed = True
                ended = True
            finally:
                self._committing.pop(lane, None)
                if not ended:
                    with contextlib.suppress(Exception):
                        await conn.execute("ROLLBACK")
                self.horizon.batch_ended(tx.xid, tx.committed if committed else None, finished=ended)
                if committed and tx.committed:
                    self._notify_others(list(tx.committed))
                for table in tx.cached_tables:  # before any caller hears of the commit: read-your-writes
                    self.cache.forget(table)
        self.batches += 1
        self.units += len(outcomes)
        if self.commit_observer is not None:
            self.commit_observer(len(outcomes), time.perf_counter() - began, tx.appended_messages)
        for unit, result, error in outcomes:
            if unit.future.done():
                continue
            if error is not None:
                unit.future.set_exception(error)
            else:
                unit.future.set_result(result)
        return again


def _usable(conn: asyncpg.Connection) -> bool:
    """Whether a connection kept out of the pool can still be used. When its server connection dies the pool takes
    it back on its own, and every call on it raises ``InterfaceError`` from then on."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False


async def _close_quietly(conn: asyncpg.Connection) -> None:
    """Close a connection nobody will use, with its goodbye when the server answers, else at once."""
    try:
        await conn.close(timeout=CONNECT_TIMEOUT_S)
    except Exception:
        conn.terminate()


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset between uses: nothing to do. asyncpg's default sends a query (advisory unlocks, CLOSE ALL,
    UNLISTEN, RESET ALL) at every release, one more round trip per read; the store leaves no session state on a pool
    connection (its locks are transaction-scoped, LISTEN has its own connection) and asyncpg still rolls back a
    transaction left open."""


class _Turn:
    """A lane's hold on the writer's turn, released once (before its rows are written, or when the batch fails)."""

    __slots__ = ("_lock",)

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock: asyncio.Lock | None = lock

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


class _Unit:
    __slots__ = ("work", "future", "devices", "attempts")

    def __init__(self, work: Callable[[Tx], Awaitable[Any]], future: asyncio.Future[Any],
                 devices: Sequence[DeviceKey] = ()) -> None:
        self.work = work
        self.future = future
        self.devices = devices
        self.attempts = 0
