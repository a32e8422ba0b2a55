"""Other processes are told of committed messages by a NOTIFY sent after the commit, not inside the batch.

A transaction that sends a NOTIFY holds a cluster-wide lock until its commit is done, the WAL flush included, so
a NOTIFY in every batch made the writer lanes' commits (and other processes') wait for each other's disk flush.
These tests check both halves: the batch's own statements notify nothing, and another process (a second store on
the same database) still hears of the commit and wakes its readers once the horizon has passed it.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from support.server import database_url_for_test
from tuyacloud.models import Message, Project
from tuyacloud.store.base import Store, Tx
from tuyacloud.store.engine import open_store
from tuyacloud.store.postgres import PostgresStore

pytestmark = pytest.mark.skipif(not os.environ.get("TUYACLOUD_TEST_DATABASE_URL"), reason="PostgreSQL only")


async def add_project(store: Store) -> None:
    async def work(tx: Tx) -> None:
        await tx.insert_project(Project("p1", "secret", "us", "P", "", "custom", "", "az1", 1, 1))

    await store.transaction(work)


async def alone_store(url: str) -> PostgresStore:
    """A store on ``url`` with project p1, the only process listening there."""
    store = await open_store(url)
    assert isinstance(store, PostgresStore)
    try:
        await add_project(store)
        assert store.alone
    except BaseException:
        await store.close()
        raise
    return store


async def append(tx: Tx) -> None:
    await tx.append_message(Message("p1", "us", 4, "dev-1", {"n": 1}, 1))


def test_another_process_is_woken_by_a_notify_sent_after_the_commit() -> None:
    async def main(url: str) -> None:
        a, b = await open_store(url), await open_store(url)
        try:
            assert isinstance(a, PostgresStore)
            await add_project(a)
            for _ in range(4):  # every writer lane of ``a`` has its connection
                await a.transaction(lambda tx: tx.get_project("p1"))
            sent: list[str] = []
            for conn in a._writer_conns:
                assert conn is not None
                conn.add_query_logger(lambda record: sent.append(record.query))
            woken = asyncio.Event()

            def heard(access_id: str) -> None:
                if access_id == "p1":
                    woken.set()

            # Only a NOTIFY makes ``b`` announce p1: its own polls settle the log but announce no project.
            b.message_listeners.append(heard)
            await a.transaction(append)
            async with asyncio.timeout(10):
                await woken.wait()
            assert [m.data for m in await b.messages_after("p1", 0)] == [{"n": 1}]
            assert sent and not [q for q in sent if "notify" in q.lower()], sent
        finally:
            await a.close()
            await b.close()

    url = database_url_for_test()
    assert url is not None
    asyncio.run(main(url))


async def _until(check: object, what: str, timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.05)


def test_a_process_alone_sends_no_notify_until_another_starts_listening() -> None:
    """With no other process listening, a commit's NOTIFY would only come back to this process's own LISTEN: it is
    not sent. A process that starts listening says so at once (``tuyacloud_hello``), so the first one notifies it
    from then on, and counts itself alone again once that one is gone."""

    async def main(url: str) -> None:
        a = await alone_store(url)
        try:
            await a.transaction(append)
            assert a._notifier is None  # nothing was sent, nor queued
            b = await open_store(url)
            try:
                woken = asyncio.Event()
                b.message_listeners.append(lambda access_id: woken.set() if access_id == "p1" else None)
                await _until(lambda: not a.alone, "a heard b's hello")
                await a.transaction(append)
                async with asyncio.timeout(10):
                    await woken.wait()
                assert a._notifier is not None
            finally:
                await b.close()
            await _until(lambda: a.alone, "a counted itself alone again")
        finally:
            await a.close()

    url = database_url_for_test()
    assert url is not None
    asyncio.run(main(url))


def test_a_count_of_none_asked_before_a_hello_does_not_make_the_process_alone() -> None:
    """The watcher's count of other listeners can be taken before a new process connects, and its answer reach the
    watcher after that process's hello was heard (the hello's callback can run first). The hello is the later news:
    the stale zero must not silence this process's NOTIFYs until the next count (a CI run lost a wake-up so)."""

    async def main(url: str) -> None:
        a = await alone_store(url)
        try:
            asked_at = a._hellos  # a count asked now, before b exists, answers none
            b = await open_store(url)
            try:
                await _until(lambda: a._hellos != asked_at, "a heard b's hello")
                assert a.listen_status.info["other_listeners"] == 1  # what health shows: b, told by its hello
                a._count_others(0, asked_at)  # that answer arrives after the hello
                assert not a.alone
                assert a.listen_status.info["other_listeners"] == 1
                woken = asyncio.Event()
                b.message_listeners.append(lambda access_id: woken.set() if access_id == "p1" else None)
                await a.transaction(append)
                async with asyncio.timeout(10):
                    await woken.wait()
                a._count_others(0, a._hellos)  # a count asked after every hello is believed
                assert a.alone
                assert a.listen_status.info["other_listeners"] == 0
            finally:
                await b.close()
        finally:
            await a.close()

    url = database_url_for_test()
    assert url is not None
    asyncio.run(main(url))
