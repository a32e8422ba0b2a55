"""Group commit on PostgreSQL (issue 16, point 1), against the real store on a real cluster.

Concurrent units of work share one transaction, each in its own savepoint; a unit that fails is rolled back alone
while the others of its batch commit; the batch ends with one COMMIT and its callers are answered only after it
(a COMMIT that fails fails every unit of its batch); the outbox rows are written in that same transaction; and a
device's units keep their order across batches and the writer's two lanes.

How a COMMIT is held open or made to fail without touching the store: a table of the test's own with a *deferred*
constraint trigger, which PostgreSQL runs inside COMMIT, before the commit record is written. The trigger takes a
transaction-level advisory lock the test holds on a connection of its own (the COMMIT then waits, in progress,
until the test lets go) or raises (the COMMIT fails). A unit that inserts a row there puts its whole batch's
COMMIT under the test's control.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from support.server import database_url_for_test
from tuyacloud.models import Device, Message, Project
from tuyacloud.store.base import Tx
from tuyacloud.store.engine import open_store
from tuyacloud.store.postgres import PostgresStore, asyncpg_dsn

pytestmark = pytest.mark.skipif(not os.environ.get("TUYACLOUD_TEST_DATABASE_URL"), reason="PostgreSQL only")

PROJECT = "gc1"
HOLD_LOCK = 1_600_016  # the advisory lock the probe's trigger waits for while the test holds it

PROBE_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS gc_probe (tag text PRIMARY KEY);
CREATE OR REPLACE FUNCTION gc_probe_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.tag LIKE 'fail%' THEN
    RAISE EXCEPTION 'gc_probe: this COMMIT fails';
  END IF;
  PERFORM pg_advisory_xact_lock_shared({HOLD_LOCK});
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS gc_probe_at_commit ON gc_probe;
CREATE CONSTRAINT TRIGGER gc_probe_at_commit AFTER INSERT ON gc_probe
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gc_probe_at_commit();
"""


def device(device_id: str) -> Device:
    return Device(device_id, PROJECT, "us", "prod", "cz", device_id, "key", device_id, "", "+00:00", "", "", True,
                  "", "", 1, 1, 1, status={"n": 0}, status_t={"n": 1})


def message(device_id: str, tag: str) -> Message:
    return Message(PROJECT, "us", 4, device_id, {"tag": tag}, 1)


class Probe:
    """The test's own connection: it holds the probe's lock, and reads what is committed (read committed)."""

    def __init__(self, conn: asyncpg.Connection, dsn: str) -> None:
        self.conn = conn
        self.dsn = dsn
        self.holding = False

    async def hold(self) -> None:
        await self.conn.execute("BEGIN")
        await self.conn.execute("SELECT pg_advisory_xact_lock($1)", HOLD_LOCK)
        self.holding = True

    async def let_go(self) -> None:
        if self.holding:
            self.holding = False
            await self.conn.execute("COMMIT")

    async def committed_tags(self) -> list[str]:
        """Tags of the project's committed outbox rows, in position order (read on another connection than the
        one holding the lock, whose transaction's snapshot would not move)."""
        conn = await asyncpg.connect(self.dsn)
        try:
            rows = await conn.fetch("SELECT data FROM messages WHERE access_id = $1 ORDER BY seq", PROJECT)
        finally:
            await conn.close()
        return [r[0].split('"tag":"')[1].split('"')[0] for r in rows]

    async def committing_backends(self) -> int:
        """Backends of the store waiting for the probe's lock: a batch's COMMIT in progress."""
        return int(await self.read("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                                   "AND objid = $1", HOLD_LOCK % (1 << 32)))

    async def status(self, device_id: str) -> dict[str, Any]:
        return dict(json.loads(await self.read("SELECT status FROM devices WHERE id = $1", device_id)))

    async def read(self, sql: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()


async def setup(url: str) -> tuple[PostgresStore, Probe]:
    dsn = asyncpg_dsn(url)
    conn = await asyncpg.connect(dsn)
    await conn.execute(PROBE_SCHEMA)
    store = await open_store(url)
    assert isinstance(store, PostgresStore)

    async def work(tx: Tx) -> None:
        await tx.insert_project(Project(PROJECT, "secret", "us", "P", "", "custom", "", "az1", 1, 1))
        for i in range(4):
            await tx.insert_device(device(f"gcdev-{i}"))

    await store.transaction(work)
    return store, Probe(conn, dsn)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def run(test: Callable[[PostgresStore, Probe], Awaitable[None]]) -> None:
    url = database_url_for_test()
    assert url is not None

    async def main() -> None:
        store, probe = await setup(url)
        try:
            await test(store, probe)
        finally:
            await probe.let_go()  # a failed assertion must not leave a COMMIT (and the store's close) waiting
            await store.close()
            await probe.conn.close()

    asyncio.run(main())


async def xid(tx: Tx) -> str:
    return str((await tx.fetch("SELECT pg_current_xact_id()::text"))[0][0])


async def queued_behind_a_blocker(store: PostgresStore, units: list[Callable[[Tx], Awaitable[Any]]],
                                  ) -> list[asyncio.Task[Any]]:
    """Start ``units`` so that they land in one batch: a first unit keeps the writer's turn (its units are still
    running) until all of them are queued, so the next batch takes them all (fewer than the batch limit)."""
    blocking, queued = asyncio.Event(), asyncio.Event()

    async def blocker(tx: Tx) -> None:
        blocking.set()
        await queued.wait()

    first = asyncio.create_task(store.transaction(blocker))
    await blocking.wait()
    tasks = [asyncio.create_task(store.transaction(unit)) for unit in units]
    await until(lambda: _true(store.queued_units() == len(units)))
    queued.set()
    await first
    return tasks


async def _true(value: bool) -> bool:
    return value


def test_concurrent_units_share_one_transaction_and_one_commit() -> None:
    """Twelve units queued together run in one transaction (one xid for all), each writing its device's status and
    its outbox message; the store counts one batch for them, and their status rows and their outbox rows all carry
    one creator (xmin), written by the batch's one write at its end: state and message committed together."""

    async def test(store: PostgresStore, probe: Probe) -> None:
        batches: list[int] = []
        store.commit_observer = lambda units, seconds, messages: batches.append(units)
        xids: list[str] = []

        def unit(i: int) -> Callable[[Tx], Awaitable[None]]:
            async def work(tx: Tx) -> None:
                d = f"gcdev-{i % 4}"
                assert await tx.get_device_for_update(d, "us") is not None
                await tx.update_device_status(d, {"n": i}, {"n": 2}, 2)
                await tx.append_message(message(d, f"u{i}"))
                xids.append(await xid(tx))
            return work

        tasks = await queued_behind_a_blocker(store, [unit(i) for i in range(12)])
        await asyncio.gather(*tasks)
        assert len(xids) == 12 and len(set(xids)) == 1, f"units ran in {len(set(xids))} transactions"
        assert 12 in batches, f"batch sizes {batches}"
        shared = xids[0]
        assert await probe.read("SELECT pg_xact_status($1::text::xid8)", shared) == "committed"
        msg_xmins = await probe.read("SELECT array_agg(DISTINCT xmin::text) FROM messages WHERE access_id = $1",
                                     PROJECT)
        dev_xmins = await probe.read("SELECT array_agg(DISTINCT xmin::text) FROM devices WHERE access_id = $1 "
                                     "AND id LIKE 'gcdev-%'", PROJECT)
        # The batch writes every unit's kept rows (status, message) with one statement at its end: one creator for
        # all of them (a subtransaction of the batch's when the last unit's savepoint is still open; a row's xmin
        # then names it, and it commits with its parent or not at all).
        assert len(msg_xmins) == 1 and msg_xmins == dev_xmins, (msg_xmins, dev_xmins)
        assert int(msg_xmins[0]) >= int(shared) & 0xFFFFFFFF  # the batch's transaction or one of its savepoints
        assert sorted(await probe.committed_tags()) == sorted(f"u{i}" for i in range(12))

    run(test)


def test_a_failing_unit_is_rolled_back_alone() -> None:
    """In one batch: a unit that raises after writing, and a unit whose statement PostgreSQL refuses (a duplicate
    key, which would abort a transaction without its savepoint), between units that succeed. The two failing
    callers get their errors and nothing of theirs is committed (their outbox messages, their status change, their
    rows); every other unit of the same transaction is committed."""

    async def test(store: PostgresStore, probe: Probe) -> None:
        xids: list[str] = []

        def ok(i: int) -> Callable[[Tx], Awaitable[None]]:
            async def work(tx: Tx) -> None:
                await tx.execute("INSERT INTO gc_probe (tag) VALUES (?)", (f"ok-{i}",))
                await tx.append_message(message("gcdev-0", f"ok{i}"))
                xids.append(await xid(tx))
            return work

        async def raises(tx: Tx) -> None:
            await tx.execute("INSERT INTO gc_probe (tag) VALUES (?)", ("raised",))
            assert await tx.get_device_for_update("gcdev-1", "us") is not None
            await tx.update_device_status("gcdev-1", {"n": 99}, {"n": 9}, 9)
            await tx.append_message(message("gcdev-1", "raised"))
            xids.append(await xid(tx))
            raise LookupError("this unit fails")

        async def refused(tx: Tx) -> None:
            await tx.append_message(message("gcdev-2", "refused"))
            xids.append(await xid(tx))
            await tx.insert_project(Project(PROJECT, "dup", "us", "P", "", "custom", "", "az1", 1, 1))

        units = [ok(0), raises, ok(1), refused, ok(2)]
        tasks = await queued_behind_a_blocker(store, units)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert results[0] is None and results[2] is None and results[4] is None
        assert isinstance(results[1], LookupError)
        assert isinstance(results[3], Exception) and "duplicate" in str(results[3]).lower()
        assert len(set(xids)) == 1, "the failing units did not share the batch's transaction"
        assert await probe.committed_tags() == ["ok0", "ok1", "ok2"]
        assert await probe.read("SELECT string_agg(tag, ',' ORDER BY tag) FROM gc_probe") == "ok-0,ok-1,ok-2"
        assert await probe.status("gcdev-1") == {"n": 0}

    run(test)


def test_callers_are_answered_only_after_the_commit() -> None:
    """The batch's COMMIT is held open (its deferred trigger waits for the test's lock): the units' work is done
    and the batch is inside COMMIT, yet no caller has been answered and none of their rows is visible. When the
    COMMIT completes, every caller is answered and everything is there."""

    async def test(store: PostgresStore, probe: Probe) -> None:
        await probe.hold()

        def unit(i: int) -> Callable[[Tx], Awaitable[None]]:
            async def work(tx: Tx) -> None:
                if i == 0:
                    await tx.execute("INSERT INTO gc_probe (tag) VALUES (?)", ("held",))
                await tx.append_message(message(f"gcdev-{i % 4}", f"h{i}"))
            return work

        tasks = await queued_behind_a_blocker(store, [unit(i) for i in range(6)])

        async def in_commit() -> bool:
            return await probe.committing_backends() == 1

        await until(in_commit)
        await asyncio.sleep(0.3)  # time a premature answer would have taken to arrive
        assert [t.done() for t in tasks] == [False] * 6, "a caller was answered before its COMMIT completed"
        assert await probe.committed_tags() == []
        await probe.let_go()
        await asyncio.gather(*tasks)
        assert sorted(await probe.committed_tags()) == [f"h{i}" for i in range(6)]

    run(test)


def test_a_failed_commit_fails_every_unit_of_its_batch() -> None:
    """A COMMIT that fails (its deferred check raises) after every unit's work succeeded: each caller of that batch
    gets an error, none is told it committed, and nothing of the batch is in the database. The next batch commits
    as usual."""

    async def test(store: PostgresStore, probe: Probe) -> None:
        def unit(i: int) -> Callable[[Tx], Awaitable[None]]:
            async def work(tx: Tx) -> None:
                if i == 2:
                    await tx.execute("INSERT INTO gc_probe (tag) VALUES (?)", ("fail-at-commit",))
                await tx.append_message(message(f"gcdev-{i % 4}", f"f{i}"))
            return work

        tasks = await queued_behind_a_blocker(store, [unit(i) for i in range(5)])
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, Exception) and "this COMMIT fails" in str(r) for r in results), results
        assert await probe.committed_tags() == []
        assert await probe.read("SELECT count(*) FROM gc_probe") == 0

        async def after(tx: Tx) -> None:
            await tx.append_message(message("gcdev-0", "after"))

        await store.transaction(after)
        assert await probe.committed_tags() == ["after"]

    run(test)


def test_each_devices_units_keep_their_order_across_batches_and_lanes() -> None:
    """Units on four devices, queued in waves while earlier batches are still committing (so the two lanes
    overlap and a device's later units wait for its earlier batch): each device's outbox messages are in the
    order its units were queued, and its stored status is its last unit's."""

    async def test(store: PostgresStore, probe: Probe) -> None:
        batches: list[int] = []
        store.commit_observer = lambda units, seconds, messages: batches.append(units)
        per_device = 40
        tasks: list[asyncio.Task[None]] = []

        def unit(d: str, n: int) -> Callable[[Tx], Awaitable[None]]:
            async def work(tx: Tx) -> None:
                current = await tx.get_device_for_update(d, "us")
                assert current is not None
                assert current.status["n"] == n - 1, f"{d}: unit {n} ran after {current.status['n']}"
                await tx.update_device_status(d, {"n": n}, {"n": n}, n)
                await tx.append_message(message(d, f"{d}:{n}"))
            return work

        for n in range(1, per_device + 1):
            for i in range(4):
                d = f"gcdev-{i}"
                tasks.append(asyncio.create_task(store.transaction(unit(d, n), devices=[(d, "us")])))
            if n % 5 == 0:
                await asyncio.sleep(0.003)  # the next wave is queued while earlier batches commit
        await asyncio.gather(*tasks)
        assert len(batches) >= 4, f"only {len(batches)} batches: the order across batches was not exercised"
        tags = await probe.committed_tags()
        for i in range(4):
            d = f"gcdev-{i}"
            assert [t for t in tags if t.startswith(d + ":")] == [f"{d}:{n}" for n in range(1, per_device + 1)]
            assert await probe.status(d) == {"n": per_device}

    run(test)
