"""The lease of a named background task (domain/task_lease.py): one holder at a time, renewed by its owner, taken
over once it expires, handed over at once on release. Runs on the engine under test."""

from __future__ import annotations

import asyncio
from pathlib import Path

from support.server import CloudServer
from tuyacloud.store.engine import open_store


def test_a_task_lease_is_exclusive_until_it_expires_or_is_released(tmp_path: Path) -> None:
    url = CloudServer(tmp_path / "probe", create_demo=False, simulator=False).settings.effective_database_url

    async def scenario() -> None:
        store = await open_store(url)
        try:
            async def take(owner: str, now: int, until: int, name: str = "housekeeping") -> bool:
                return bool(await store.transaction(lambda tx: tx.take_task_lease(name, owner, now, until)))

            assert await take("alive", 1000, 11_000)
            assert not await take("other", 2000, 12_000)  # held
            assert await take("other", 2000, 12_000, name="another task")  # leases are per task
            assert await take("alive", 3000, 13_000)  # renewed by its owner
            assert not await take("other", 12_999, 22_999)
            assert await take("other", 13_001, 23_001)  # expired: taken over
            assert not await take("alive", 13_002, 23_002)
            await store.transaction(lambda tx: tx.release_task_leases("other"))
            assert await take("alive", 13_003, 23_003)  # released: free at once
        finally:
            await store.close()

    asyncio.run(scenario())
