"""Do concurrent PostgreSQL commits share WAL flushes when each transaction sends a NOTIFY?

    eval "$(PGTEST_FSYNC=on scripts/pg-test-cluster start)"
    python bench/pg_notify_commits.py "$TUYACLOUD_TEST_DATABASE_URL" [--rounds 4]
    scripts/pg-test-cluster stop "$PGTEST_DIR"

1, 2 and 4 connections commit tiny transactions (one insert each) as fast as they can for a second, with and
without a ``pg_notify`` in the transaction, alternating, ``--rounds`` times; a connection LISTENs meanwhile. A
notifying transaction takes a cluster-wide lock before its commit and keeps it until the commit, WAL flush
included, is done, so notifying commits cannot share a flush: with more than one connection they commit fewer
per second. Why tuyacloud's writer sends its NOTIFY after the commit (docs/messages.md, docs/scaling.md).
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg


async def committer(dsn: str, table: str, notify: bool, until: float) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (x int)")
        done = 0
        while time.monotonic() < until:
            await conn.execute("BEGIN")
            await conn.execute(f"INSERT INTO {table} VALUES (1)")
            if notify:
                await conn.execute("SELECT pg_notify('bench_channel', 'p')")
            await conn.execute("COMMIT")
            done += 1
        return done
    finally:
        await conn.close()


async def main(dsn: str, rounds: int) -> None:
    listener = await asyncpg.connect(dsn)
    await listener.add_listener("bench_channel", lambda *_: None)
    results: dict[tuple[int, bool], list[int]] = {}
    for _ in range(rounds):
        for connections in (1, 2, 4):
            for notify in (False, True):
                until = time.monotonic() + 1.0
                counts = await asyncio.gather(*(committer(dsn, f"bench_notify_{i}", notify, until)
                                                for i in range(connections)))
                results.setdefault((connections, notify), []).append(sum(counts))
    await listener.close()
    for (connections, notify), per_second in sorted(results.items()):
        print(f"connections={connections} NOTIFY in the transaction={notify!s:5}: commits/s {per_second}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dsn")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.dsn, args.rounds))
