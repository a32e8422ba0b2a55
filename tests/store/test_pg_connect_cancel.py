"""A pool connect cancelled half way (its caller gave up) leaves no failed future and no connection behind.

asyncpg opens a connection with ``sslmode=prefer`` (the default when nothing says otherwise) by first asking the
server for TLS; a server without TLS answers ``N`` and the connection goes on in the clear. A connect cancelled
while that exchange was under way closed the socket and left the negotiation's future failed ("unexpected
connection_lost() call") with nobody to read it: the event loop then reported "Future exception was never
retrieved", which failed a test in CI when a store closed while its pool was growing. The store now lets a connect
whose caller is cancelled run to its end (and closes what it opened), and its ``close()`` waits for such connects
(at most a few seconds).

The test clusters set ``PGSSLMODE=disable`` for every other test; this one removes it, so that every connect asks
for TLS and is refused, and cancels reads that make the pool grow at many points of their connects, then closes the
store: no error may reach the event loop, and no connection may be left open on the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from support.server import migrated_database_for_test
from tuyacloud.store.postgres import PostgresStore, asyncpg_dsn

pytestmark = pytest.mark.skipif(not os.environ.get("TUYACLOUD_TEST_DATABASE_URL"), reason="PostgreSQL only")

READS = 12  # concurrent reads: more than the store's kept readers and the pool's minimum, so the pool grows
TURNS = range(0, 48, 2)  # loop turns after which the reads are cancelled: every step of a connect's exchanges
DELAYS_MS = (0.5, 1, 2, 3, 5, 8, 12, 20)  # and wall-clock points, for a loaded machine's slower exchanges


async def _open_connections(dsn: str, database: str) -> int:
    conn = await asyncpg.connect(dsn, ssl="disable")
    try:
        return int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
                                       "AND pid <> pg_backend_pid()", database))
    finally:
        await conn.close()


async def _round(url: str, cancel_after: Any) -> None:
    """Open a store, make its pool grow with concurrent reads, cancel them at the given point, close the store."""
    store = PostgresStore(url, min_size=1, max_size=READS + 4)
    await store.start()
    try:
        reads = [asyncio.create_task(store.fetch("SELECT pg_sleep(0.002)")) for _ in range(READS)]
        await cancel_after()
        for read in reads:
            read.cancel()
        await asyncio.gather(*reads, return_exceptions=True)
    finally:
        await store.close()


def test_connects_cancelled_mid_handshake_leave_no_failed_future_and_no_connection(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv("PGSSLMODE", raising=False)  # libpq's default: ask for TLS first (the cluster says no)
    url = migrated_database_for_test(tmp_path)
    assert url is not None
    dsn = asyncpg_dsn(url)
    database = dsn.rsplit("/", 1)[1]

    async def main() -> list[dict[str, Any]]:
        reported: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        # The exchange this is about takes place: the connection asked for TLS, was refused and went on in clear.
        probe = await asyncpg.connect(dsn)
        try:
            assert await probe.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is False
        finally:
            await probe.close()

        for turns in TURNS:
            async def after_turns(n: int = turns) -> None:
                for _ in range(n):
                    await asyncio.sleep(0)
            await _round(url, after_turns)
        for delay in DELAYS_MS:
            async def after_delay(d: float = delay) -> None:
                await asyncio.sleep(d / 1000)
            await _round(url, after_delay)

        gc.collect()  # a failed future nobody read is reported when it is collected
        await asyncio.sleep(0.05)
        gc.collect()
        left = await _open_connections(dsn, database)
        for _ in range(100):  # a backend ends a moment after its client said goodbye
            if left == 0:
                break
            await asyncio.sleep(0.05)
            left = await _open_connections(dsn, database)
        assert left == 0, f"{left} connections left open on the server after every store was closed"
        return reported

    reported = asyncio.run(main())
    assert not reported, [str(c.get("message")) + ": " + repr(c.get("exception")) for c in reported]


class _StallingProxy:
    """A TCP proxy in front of the cluster that, once ``stalled``, accepts new connections and never answers them
    (a server that hangs mid-handshake); connections made before go on being forwarded."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.stalled = False
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            if self.stalled:
                while await reader.read(65536):
                    pass  # read and say nothing
                return
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self.tasks.discard(task)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def test_close_waits_at_most_five_seconds_for_connects_a_silent_server_never_answers(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Connects abandoned by their callers while the server says nothing: ``close()`` gives them 5 s, then cancels
    them, and still nothing is left for the event loop to report."""
    monkeypatch.delenv("PGSSLMODE", raising=False)
    url = migrated_database_for_test(tmp_path)
    assert url is not None
    parts = urlsplit(asyncpg_dsn(url))
    assert parts.hostname is not None and parts.port is not None

    async def main() -> tuple[float, list[dict[str, Any]]]:
        reported: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        proxy = _StallingProxy(parts.hostname or "", parts.port or 0)
        port = await proxy.start()
        store = PostgresStore(urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}")),
                              min_size=1, max_size=READS + 4)
        try:
            await store.start()
            proxy.stalled = True  # from here on, every new connection hangs before the server's first byte
            reads = [asyncio.create_task(store.fetch("SELECT 1")) for _ in range(READS)]
            await asyncio.sleep(0.3)
            for read in reads:
                read.cancel()
            await asyncio.gather(*reads, return_exceptions=True)
            began = time.monotonic()
            await store.close()
            took = time.monotonic() - began
        finally:
            with contextlib.suppress(Exception):
                await proxy.stop()
        gc.collect()
        await asyncio.sleep(0.05)
        gc.collect()
        return took, reported

    took, reported = asyncio.run(main())
    assert not reported, [str(c.get("message")) + ": " + repr(c.get("exception")) for c in reported]
    assert 4.0 < took < 8.0, f"close() took {took:.1f} s; the connects it waits for are bounded at 5 s"
