"""SQLite's write-ahead log stays bounded under sustained writes (SQLite only: PostgreSQL manages its own WAL).

A checkpoint beside a writer that never pauses copies the log but never lets it start again from the top, so before
this the log file grew by megabytes a second for as long as the load lasted."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from support.server import database_url_for_test
from tuyacloud.models import Message, Project
from tuyacloud.store.base import Tx
from tuyacloud.store.engine import open_store
from tuyacloud.store.sqlite import SqliteStore

pytestmark = pytest.mark.skipif(database_url_for_test() is not None, reason="SQLite only")

LIMIT = 1024 * 1024
UNITS = 6000  # of about 3 KB each: 18 MB and more written to the log, with nothing in between to pause the writer


def test_the_log_starts_again_under_sustained_writes(tmp_path: Path) -> None:
    path = tmp_path / "store.db"

    async def main() -> tuple[int, int]:
        store = await open_store(f"sqlite:///{path}")
        assert isinstance(store, SqliteStore)
        store.wal_restart_bytes = LIMIT
        store.checkpoint_every_s = 0.05  # what the log gains between two looks is then small beside the limit
        try:
            project = Project("p1", "secret", "us", "P", "", "custom", "", "az1", 1, 1, services=["iot_core"])
            await store.transaction(lambda tx: tx.insert_project(project))
            left = UNITS
            largest = 0

            async def writer(n: int) -> None:
                nonlocal left, largest
                while left > 0:
                    left -= 1

                    async def work(tx: Tx) -> None:
                        await tx.append_message(Message("p1", "us", 4, f"d{n}", {"blob": os.urandom(1500).hex()}, 1))

                    await store.transaction(work)
                    largest = max(largest, os.path.getsize(f"{path}-wal"))

            await asyncio.gather(*(writer(n) for n in range(32)))
            assert len(await store.fetch("SELECT seq FROM messages")) == UNITS  # nothing lost on the way
            return largest, store.lane_checkpoints
        finally:
            await store.close()

    largest, lane_checkpoints = asyncio.run(main())
    # the limit, plus what the writer adds between two looks and while the checkpoint copies (1-6 MB; a faster
    # writer adds more); without the restart the log ends near 30 MB
    assert largest < 10 * LIMIT, largest
    assert lane_checkpoints >= 1
