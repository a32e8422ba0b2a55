"""Acknowledgement marks on PostgreSQL are written by the batch's one statement, not by statements of their own.

A consumer records its acknowledgements as a unit of work beside delivery (messaging/hub.py), every few
milliseconds while messages flow; on PostgreSQL that unit joins a batch of commands. Sent as its own statements
(a savepoint and an ``UPDATE subscriptions``) it lengthened the writer's turn that those commands wait for. The
mark is now kept until the batch ends, like device logs and outbox messages. These tests check what that must not
change: the mark is durable once the unit's commit returns, a read in the same transaction sees it, a unit that
fails takes its mark with it, a mark never moves back, and acks above the mark are still recorded.
"""

from __future__ import annotations

import asyncio
import os

import asyncpg
import pytest

from support.server import database_url_for_test
from tuyacloud.models import Message, Project
from tuyacloud.store.base import Store, Tx
from tuyacloud.store.engine import open_store
from tuyacloud.store.postgres import PostgresStore

pytestmark = pytest.mark.skipif(not os.environ.get("TUYACLOUD_TEST_DATABASE_URL"), reason="PostgreSQL only")

SUB = ("p1", "event", "p1-sub")


async def setup(store: Store, messages: int = 0) -> list[int]:
    async def work(tx: Tx) -> None:
        await tx.insert_project(Project("p1", "secret", "us", "P", "", "custom", "", "az1", 1, 1))
        await tx.ensure_subscription(*SUB)
        for i in range(messages):
            await tx.append_message(Message("p1", "us", 4, f"dev-{i}", {"i": i}, 1))

    await store.transaction(work)
    return [m.seq for m in await store.messages_after("p1", 0, 100)]  # waits for its own commit to settle


async def mark_of(store: Store) -> tuple[int, int | None]:
    sub = await store.get_subscription(*SUB)
    assert sub is not None
    return sub.mark_seq, sub.last_ack_ms


def run(test: object) -> None:
    url = database_url_for_test()
    assert url is not None

    async def main() -> None:
        store = await open_store(url)
        try:
            await test(store)  # type: ignore[operator]
        finally:
            await store.close()

    asyncio.run(main())


def test_an_ack_unit_sends_no_statement_of_its_own() -> None:
    """Every statement the writer sends while committing an ack unit with a command's unit: no savepoint and no
    ``UPDATE subscriptions`` of its own; the mark is written all the same."""

    async def test(store: Store) -> None:
        assert isinstance(store, PostgresStore)
        seqs = await setup(store, messages=3)
        for _ in range(4):  # every writer lane has its connection
            await store.transaction(lambda tx: tx.get_project("p1"))
        sent: list[str] = []
        for conn in store._writer_conns:
            assert conn is not None
            conn.add_query_logger(lambda record: sent.append(record.query))

        async def command(tx: Tx) -> None:
            await tx.append_message(Message("p1", "us", 4, "dev-x", {"x": 1}, 2))

        async def ack(tx: Tx) -> None:
            await tx.advance(*SUB, seqs[1], [], 1234)

        await asyncio.gather(store.transaction(command), store.transaction(ack))
        assert await mark_of(store) == (seqs[1], 1234)
        assert not [q for q in sent if "SAVEPOINT" in q], sent
        assert not [q for q in sent if q.lstrip().upper().startswith("UPDATE SUBSCRIPTIONS")], sent

    run(test)


def test_a_kept_mark_is_seen_in_its_transaction_and_dropped_with_a_failed_unit() -> None:
    async def test(store: Store) -> None:
        seqs = await setup(store, messages=4)

        async def read_back(tx: Tx) -> int:
            await tx.advance(*SUB, seqs[0], [], 10)
            sub = await tx.get_subscription(*SUB)  # names the table: the kept mark is written first
            assert sub is not None
            return sub.mark_seq

        assert await store.transaction(read_back) == seqs[0]

        async def failing(tx: Tx) -> None:
            await tx.advance(*SUB, seqs[3], [], 30)
            raise RuntimeError("the unit fails after acknowledging")

        async def good(tx: Tx) -> None:
            await tx.advance(*SUB, seqs[1], [], 20)

        outcomes = await asyncio.gather(store.transaction(failing), store.transaction(good), return_exceptions=True)
        assert isinstance(outcomes[0], RuntimeError) and outcomes[1] is None
        assert await mark_of(store) == (seqs[1], 20)

        async def back(tx: Tx) -> None:  # a late write of an older mark (a consumer whose lease ran out)
            await tx.advance(*SUB, seqs[0], [], 40)

        await store.transaction(back)
        assert await mark_of(store) == (seqs[1], 40)

    run(test)


def test_acks_above_the_mark_are_recorded_with_it() -> None:
    """The mark kept, then the acks above it written at once: the stored mark passes every acknowledged prefix."""

    async def test(store: Store) -> None:
        seqs = await setup(store, messages=5)

        async def ack(tx: Tx) -> None:
            await tx.advance(*SUB, seqs[1], [seqs[2], seqs[4]], 50)

        await store.transaction(ack)
        mark = (await mark_of(store))[0]
        assert mark == seqs[2]
        assert [m.seq for m in await store.unacked_messages(*SUB, mark, 100)] == [seqs[3]]
        assert isinstance(store, PostgresStore)
        conn = await asyncpg.connect(store.dsn)
        try:
            left = await conn.fetch("SELECT seq FROM subscription_acks WHERE access_id = 'p1' ORDER BY seq")
        finally:
            await conn.close()
        assert [r[0] for r in left] == [seqs[4]]

    run(test)
