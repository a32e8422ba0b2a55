"""Timer queries on the engine under test: the due list and the run claim that makes a run happen once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from support.server import database_url_for_test
from tuyacloud.models import Timer
from tuyacloud.store.base import Tx
from tuyacloud.store.engine import open_store


def timer(timer_id: str, next_run_ms: int | None, device_id: str = "d1", enabled: bool = True) -> Timer:
    return Timer(timer_id, device_id, "us", "g1", "timer", 0, "", "07:30", "", "1111111", "UTC", "", [{"code": "a",
                 "value": True}], enabled, False, next_run_ms, None, "", 1, 1)


def test_due_timers_and_a_claim_that_only_one_of_many_wins(tmp_path: Path) -> None:
    url = database_url_for_test() or f"sqlite:///{tmp_path / 'store.db'}"

    async def main() -> None:
        first, second = await open_store(url), await open_store(url)  # two "processes" on one database
        try:
            async def insert(tx: Tx) -> None:
                for t in (timer("t1", 1000), timer("t2", 500), timer("t3", 5000), timer("t4", None, enabled=False),
                          timer("t5", 800, device_id="d2")):
                    await tx.insert_timer(t)

            await first.transaction(insert)
            assert [t.id for t in await first.due_timers(1000, 10)] == ["t2", "t5", "t1"]
            assert [t.id for t in await first.due_timers(1000, 2)] == ["t2", "t5"]
            assert await second.count_device_timers("d1", "us") == 4

            async def claim(tx: Tx) -> bool:
                return await tx.claim_timer_run("t1", 1000, 87_400_000, True, 1000, "ok")

            won = await asyncio.gather(*(store.transaction(claim) for store in (first, second) for _ in range(5)))
            assert sorted(won) == [False] * 9 + [True]
            (t1,) = await second.timers_of_device("d1", "us", ids=["t1"])
            assert (t1.next_run_ms, t1.last_run_ms, t1.last_result, t1.enabled) == (87_400_000, 1000, "ok", True)
            # a disabled timer is never due, and cannot be claimed
            await first.transaction(lambda tx: tx.update_timer(replace(t1, enabled=False, next_run_ms=None)))
            assert [t.id for t in await second.due_timers(10**12, 10)] == ["t2", "t5", "t3"]
            assert not await first.transaction(lambda tx: tx.claim_timer_run("t1", 87_400_000, None, False, 1, ""))
            assert await first.transaction(lambda tx: tx.delete_timers("d1", "us", ["t2", "t3"])) == 2
            await first.transaction(lambda tx: tx.delete_device("d2"))  # a device's timers go with it
            assert [t.id for t in await second.timers_of_device("d1", "us")] == ["t1", "t4"]
            assert await second.timers_of_device("d2", "us") == []
        finally:
            await second.close()
            await first.close()

    asyncio.run(main())
