"""The infrared-remote and camera-stream queries, on the engine under test (SQLite, or PostgreSQL with
TUYACLOUD_TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from support.server import database_url_for_test
from tuyacloud.models import CameraStream, InfraredRemote
from tuyacloud.store.base import Store, Tx
from tuyacloud.store.engine import open_store


def with_store(test: Callable[[Store, str], Awaitable[None]]) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        url = database_url_for_test() or f"sqlite:///{tmp_path / 'store.db'}"

        async def main() -> None:
            store = await open_store(url)
            try:
                await test(store, url)
            finally:
                await store.close()

        asyncio.run(main())

    run.__name__ = test.__name__
    return run


def remote(remote_id: str, infrared_id: str = "ir1", region: str = "us", created: int = 1) -> InfraredRemote:
    return InfraredRemote(remote_id, infrared_id, "p1", region, 5, f"AC {remote_id}", 97, "Gree", 3327,
                          {"power": 0, "mode": 0, "temp": 26, "wind": 0}, created, created)


@with_store
async def test_remotes_round_trip_per_blaster_and_region(store: Store, url: str) -> None:
    async def add(tx: Tx) -> None:
        for r in (remote("r2", created=2), remote("r1", created=1), remote("r3", "ir2"), remote("r4", region="eu")):
            await tx.insert_remote(r)

    await store.transaction(add)
    assert [r.id for r in await store.remotes_of("ir1", "us")] == ["r1", "r2"]  # in the order they were added
    assert await store.get_remote("r4", "us") is None and await store.get_remote("r4", "eu") is not None
    got = await store.get_remote("r1", "us")
    assert got == remote("r1")

    async def change(tx: Tx) -> None:
        await tx.update_remote_state("r1", "us", {"power": 1, "mode": 4, "temp": 30, "wind": 3}, 9)
        await tx.rename_remote("r1", "us", "Bedroom", 10)
        assert (await tx.get_remote("r1", "us")).state["temp"] == 30  # type: ignore[union-attr]
        assert await tx.delete_remote("r2", "us") == 1

    await store.transaction(change)
    changed = await store.get_remote("r1", "us")
    assert changed is not None and changed.remote_name == "Bedroom" and changed.updated_ms == 10
    assert changed.state == {"power": 1, "mode": 4, "temp": 30, "wind": 3}
    assert [r.id for r in await store.remotes_of("ir1", "us")] == ["r1"]


@with_store
async def test_a_stream_opens_once_and_expired_ones_are_swept(store: Store, url: str) -> None:
    async def add(tx: Tx) -> None:
        await tx.insert_stream(CameraStream("t1", "cam", "p1", "us", "hls", 100, 0, 130))
        await tx.insert_stream(CameraStream("t2", "cam", "p1", "us", "hls", 100, 0, 50))

    await store.transaction(add)

    async def open_twice(tx: Tx) -> tuple[bool, bool]:
        return await tx.open_stream("t1", 110, 710), await tx.open_stream("t1", 120, 720)

    assert await store.transaction(open_twice) == (True, False)
    assert await store.get_stream("t1") == CameraStream("t1", "cam", "p1", "us", "hls", 100, 110, 710)

    async def sweep(tx: Tx) -> int:
        return await tx.delete_streams_expired_before(100)

    assert await store.transaction(sweep) == 1
    assert await store.get_stream("t2") is None and await store.get_stream("t1") is not None
