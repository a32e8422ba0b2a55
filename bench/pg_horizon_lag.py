"""How long a message committed by one process waits before a reader in another may read it (the outbox horizon).

    eval "$(PGTEST_FSYNC=on scripts/pg-test-cluster start)"
    PYTHONPATH=src python bench/pg_horizon_lag.py "$TUYACLOUD_TEST_DATABASE_URL" [--writers 32] [--seconds 5]
    scripts/pg-test-cluster stop "$PGTEST_DIR"

Two stores on one database stand for two server processes (in one Python process here, so they share a core):
``--writers`` concurrent units of work on store A each append one message of one project, for ``--seconds``,
while a reader polls that project's log as a consumer does (after its cursor, up to the horizon) on store A itself
(its own commits: no NOTIFY needed) and on store B (another process's commits: B learns of them by NOTIFY and
must see every transaction that could hold a lower position end before it may pass them). For each message, the
time from its writer's answer (after the COMMIT) to each reader's first sight of it; and the messages per second
committed and read. Why: one project's messages are read in position order, so what a reader in another process
waits for bounds how soon that project's messages reach its consumers (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from tuyacloud.models import Message, Project
from tuyacloud.store.base import Store, Tx
from tuyacloud.store.engine import open_store

PROJECT = f"lag{time.time_ns() % 10**9}"  # a project of its own per run: runs may share a database
SUB = (PROJECT, "event", "lag-sub")


async def reader(store: Store, seen: dict[str, float]) -> None:
    """Until it has seen every message (their number is known once the writers have stopped)."""
    cursor = 0
    while len(seen) < READ_ALL[0]:
        for m in await store.unacked_messages(*SUB, cursor, 500):
            seen.setdefault(m.data["tag"], time.perf_counter())
            cursor = m.seq
        await asyncio.sleep(0.001)


READ_ALL = [1 << 62]  # messages to read: every one committed, known at the end


async def main(url: str, writers: int, seconds: float) -> None:
    a, b = await open_store(url), await open_store(url)
    try:
        async def setup(tx: Tx) -> None:
            await tx.insert_project(Project(PROJECT, "secret", "us", "P", "", "custom", "", "az1", 1, 1))
            await tx.ensure_subscription(*SUB)

        await a.transaction(setup)
        committed: dict[str, float] = {}
        stop = asyncio.Event()

        async def writer(i: int) -> None:
            n = 0
            while not stop.is_set():
                tag, n = f"{i}-{n}", n + 1

                async def work(tx: Tx, tag: str = tag, device: str = f"dev-{i}") -> None:
                    await tx.append_message(Message(PROJECT, "us", 4, device, {"tag": tag}, 1))

                await a.transaction(work, devices=[(f"dev-{i}", "us")])
                committed[tag] = time.perf_counter()

        own: dict[str, float] = {}
        other: dict[str, float] = {}
        readers = [asyncio.create_task(reader(a, own)), asyncio.create_task(reader(b, other))]
        began = time.perf_counter()
        tasks = [asyncio.create_task(writer(i)) for i in range(writers)]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
        READ_ALL[0] = len(committed)
        await asyncio.wait_for(asyncio.gather(*readers), 30)
        print(f"{writers} writers, {seconds:g} s: {len(committed)} messages committed "
              f"({len(committed) / elapsed:.0f}/s)")
        for name, seen in (("same process (A)", own), ("other process (B)", other)):
            lags = sorted(max(0.0, seen[t] - committed[t]) * 1000 for t in committed if t in seen)
            missing = len(committed) - len(lags)
            print(f"  reader in the {name:<18} p50 {statistics.median(lags):6.2f} ms  "
                  f"p90 {lags[int(len(lags) * 0.9)]:6.2f} ms  p99 {lags[int(len(lags) * 0.99)]:6.2f} ms  "
                  f"max {lags[-1]:7.2f} ms  ({missing} not seen)")
    finally:
        await a.close()
        await b.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.writers, args.seconds))
