"""The store contract, run against the engine under test (SQLite, or PostgreSQL with TUYACLOUD_TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from support.server import database_url_for_test
from tuyacloud.models import Device, DeviceLog, Message, Project, Token
from tuyacloud.store.base import Store, Tx
from tuyacloud.store.engine import open_store


def _url(tmp_path: Path) -> str:
    return database_url_for_test() or f"sqlite:///{tmp_path / 'store.db'}"


def with_store(test: Callable[[Store, str], Awaitable[None]]) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        url = _url(tmp_path)

        async def main() -> None:
            store = await open_store(url)
            try:
                await test(store, url)
            finally:
                await store.close()

        asyncio.run(main())

    run.__name__ = test.__name__
    return run


def project(access_id: str = "p1", region: str = "us") -> Project:
    return Project(access_id, "secret", region, "P", "", "custom", "", "az1", 1, 1, services=["iot_core"])


def device(device_id: str, access_id: str = "p1", region: str = "us", category: str = "cz",
           owner: str = "u1") -> Device:
    return Device(device_id, access_id, region, "prod", category, device_id, "k", "uuid", "", "+00:00", "", "",
                  True, owner, "", 1, 1, 1, {"switch_1": False}, {"switch_1": 1})


async def _insert(store: Store, *items: Any) -> None:
    async def work(tx: Tx) -> None:
        for item in items:
            if isinstance(item, Project):
                await tx.insert_project(item)
            elif isinstance(item, Device):
                await tx.insert_device(item)
            elif isinstance(item, Token):
                await tx.insert_token(item)

    await store.transaction(work)


@with_store
async def test_project_round_trip_and_update(store: Store, url: str) -> None:
    await _insert(store, project())
    p = await store.get_project("p1")
    assert p is not None and p.services == ["iot_core"] and p.allowlist_enabled is False
    p.allowlist, p.allowlist_enabled, p.access_secret = ["10.0.0.0/8"], True, "new"

    async def work(tx: Tx) -> None:
        await tx.update_project(p)

    await store.transaction(work)
    again = await store.get_project("p1")
    assert again is not None and again.allowlist == ["10.0.0.0/8"]
    assert again.allowlist_enabled and again.access_secret == "new"
    assert await store.get_project("nope") is None


@with_store
async def test_a_failing_unit_rolls_back_alone(store: Store, url: str) -> None:
    await _insert(store, project())

    async def good(tx: Tx) -> str:
        await tx.insert_device(device("d-good"))
        return "ok"

    async def bad(tx: Tx) -> None:
        await tx.insert_device(device("d-bad"))
        raise RuntimeError("boom")

    results = await asyncio.gather(store.transaction(good), store.transaction(bad), store.transaction(good),
                                   return_exceptions=True)
    assert results[0] == "ok" and isinstance(results[1], RuntimeError)
    assert isinstance(results[2], Exception)  # same primary key again: refused, nothing else affected
    assert await store.get_device("d-good", "us") is not None
    assert await store.get_device("d-bad", "us") is None


@with_store
async def test_many_concurrent_units_all_commit(store: Store, url: str) -> None:
    await _insert(store, project())

    async def add(i: int) -> None:
        async def work(tx: Tx) -> None:
            await tx.insert_device(device(f"d{i:04d}"))
            await tx.append_message(Message("p1", "us", 4, f"d{i:04d}", {"i": i}, 1))

        await store.transaction(work)

    await asyncio.gather(*(add(i) for i in range(300)))
    assert await store.count_devices("p1", "us") == 300
    messages = await store.messages_after("p1", 0, 1000)
    assert sorted(m.data["i"] for m in messages) == list(range(300))


@with_store
async def test_refresh_token_is_single_use(store: Store, url: str) -> None:
    await _insert(store, project(), Token("a1", "r1", "p1", "us", "az1", "project", 1, 10_000))

    async def use(tx: Tx) -> bool:
        return await tx.use_refresh_token("r1", 5)

    assert await store.transaction(use) is True
    assert await store.transaction(use) is False
    token = await store.get_token("a1")
    assert token is not None and token.refresh_used and token.revoked_ms == 5


@with_store
async def test_paging_filters_and_scoping(store: Store, url: str) -> None:
    await _insert(store, project(), project("p2", "eu"),
                  *(device(f"a{i:02d}", category="cz" if i % 2 else "dj", owner="u1" if i < 5 else "u2")
                    for i in range(10)),
                  device("b00", "p2", "eu"))
    page1 = await store.page_devices("p1", "us", "", 4)
    page2 = await store.page_devices("p1", "us", page1[-1].id, 4)
    page3 = await store.page_devices("p1", "us", page2[-1].id, 4)
    ids = [d.id for d in page1 + page2 + page3]
    assert ids == [f"a{i:02d}" for i in range(10)]
    lights = await store.page_devices("p1", "us", "", 100, category="dj")
    assert [d.id for d in lights] == [f"a{i:02d}" for i in range(0, 10, 2)]
    assert len(await store.page_devices("p1", "us", "", 100, owner_uid="u2")) == 5
    assert [d.id for d in await store.page_devices("p1", "us", "", 3, offset=3)] == ["a03", "a04", "a05"]
    assert await store.get_devices("p1", "us", ["a01", "b00"]) == [await store.get_device("a01", "us")]
    assert await store.get_device("b00", "us") is None  # another region
    assert await store.count_devices("p2", "eu") == 1


@with_store
async def test_frozen_and_gateway_link_filters(store: Store, url: str) -> None:
    """The console's list filters: frozen or not, linked to a gateway or not (on both engines)."""
    await _insert(store, project(), device("g1", category="wg2"), device("s1", category="dj"),
                  device("s2", category="dj"), device("x1"))

    async def work(tx: Tx) -> None:
        for sub in ("s1", "s2"):
            await tx.update_device_fields(sub, gateway_id="g1", node_id=f"{sub:0>16}")
        await tx.update_device_fields("s2", frozen=True)
        await tx.update_device_fields("x1", frozen=True)

    await store.transaction(work)

    async def ids(**filters: Any) -> list[str]:
        return [d.id for d in await store.page_devices("p1", "us", "", 100, **filters)]

    assert await ids(sub_device=True) == ["s1", "s2"]
    assert await ids(sub_device=False) == ["g1", "x1"]
    assert await ids(frozen=True) == ["s2", "x1"]
    assert await ids(frozen=False) == ["g1", "s1"]
    assert await ids(frozen=True, sub_device=True) == ["s2"]


@with_store
async def test_logs_page_newest_first(store: Store, url: str) -> None:
    await _insert(store, project(), device("d1"))

    async def work(tx: Tx) -> None:
        await tx.insert_device_logs([DeviceLog("d1", 100 + i, 7 if i % 2 else 5, "switch_1", str(i), "1")
                                     for i in range(10)])

    await store.transaction(work)
    first = await store.page_device_logs("d1", [5, 7], 0, 10_000, limit=4)
    assert [log.value for log in first] == ["9", "8", "7", "6"]
    rest = await store.page_device_logs("d1", [7], 0, 10_000, before_row=first[-1].row_id, limit=10)
    assert [log.value for log in rest] == ["5", "3", "1"]


@with_store
async def test_usage_accumulates(store: Store, url: str) -> None:
    for calls, failures in ((3, 1), (2, 0)):

        async def work(tx: Tx, calls: int = calls, failures: int = failures) -> None:
            await tx.add_usage("p1", "20261126", "GET /v1.0/token", calls, failures)

        await store.transaction(work)
    assert await store.usage_rows("p1", "20261126", "20261126") == [("20261126", "GET /v1.0/token", 5, 1)]


def test_data_survives_reopen(tmp_path: Path) -> None:
    url = _url(tmp_path)

    async def first() -> None:
        store = await open_store(url)
        await _insert(store, project(), device("d1"))
        await store.close()

    async def second() -> None:
        store = await open_store(url)  # migrations are idempotent
        try:
            found = await store.get_device("d1", "us")
            assert found is not None and found.status == {"switch_1": False}
        finally:
            await store.close()

    asyncio.run(first())
    asyncio.run(second())


@pytest.mark.parametrize("bad", ["mysql://x", "nonsense"])
def test_unsupported_database_urls_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        asyncio.run(open_store(bad))


@with_store
async def test_reads_follow_own_and_other_processes_writes(store: Store, url: str) -> None:
    """The read cache never serves stale data: our own commits are visible to the next read (a command's
    device, a project's secret), and so are commits made by a second store on the same database (another
    process, such as the CLI), whether this store is idle or busy writing."""
    await _insert(store, project(), device("d1"), device("d2"))
    for _ in range(2):  # warm whatever is cached
        assert (await store.get_device("d1", "us")).status == {"switch_1": False}  # type: ignore[union-attr]
        assert (await store.get_project("p1")).access_secret == "secret"  # type: ignore[union-attr]
        assert await store.get_device("d3", "us") is None

    async def switch(device_id: str, on: bool) -> None:
        async def work(tx: Tx) -> None:
            await tx.update_device_status(device_id, {"switch_1": on}, {"switch_1": 2}, 2)

        await store.transaction(work)

    await switch("d1", True)
    assert (await store.get_device("d1", "us")).status == {"switch_1": True}  # type: ignore[union-attr]
    assert (await store.get_device("d2", "us")).status == {"switch_1": False}  # type: ignore[union-attr]

    other = await open_store(url)
    try:
        async def rotate(secret: str) -> None:
            p = project()
            p.access_secret = secret

            async def work(tx: Tx) -> None:
                await tx.update_project(p)

            await other.transaction(work)

        await rotate("rotated-while-idle")
        await _insert(other, device("d3"))
        await asyncio.sleep(0.01)
        assert (await store.get_project("p1")).access_secret == "rotated-while-idle"  # type: ignore[union-attr]
        assert await store.get_device("d3", "us") is not None

        # Busy: this store commits back to back while the other one writes.
        stop = asyncio.Event()

        async def churn() -> None:
            on = False
            while not stop.is_set():
                on = not on
                await switch("d2", on)

        churner = asyncio.create_task(churn())
        await asyncio.sleep(0.05)
        await rotate("rotated-while-busy")
        seen = ""
        for _ in range(200):
            seen = (await store.get_project("p1")).access_secret  # type: ignore[union-attr]
            if seen == "rotated-while-busy":
                break
            await asyncio.sleep(0.005)
        stop.set()
        await churner
        assert seen == "rotated-while-busy"
    finally:
        await other.close()


@with_store
async def test_a_rolled_back_unit_leaves_no_trace_in_reads(store: Store, url: str) -> None:
    """A unit that changes a device's status the way a command does and then fails: its batch neighbours commit,
    and reads show their changes and not the failed one's, on the device read for update and on the others."""
    await _insert(store, project(), device("d1"), device("d2"))
    assert (await store.get_device("d1", "us")).status == {"switch_1": False}  # type: ignore[union-attr]

    def command(device_id: str, on: bool, fail: bool = False) -> Callable[[Tx], Awaitable[None]]:
        async def work(tx: Tx) -> None:
            current = await tx.get_device_for_update(device_id, "us")
            assert current is not None
            current.status["switch_1"] = on
            current.status_t["switch_1"] = 5
            await tx.update_device_status(device_id, current.status, current.status_t, 5)
            if fail:
                raise RuntimeError("refused after the write")

        return work

    results = await asyncio.gather(store.transaction(command("d1", True)), store.transaction(command("d2", True)),
                                   store.transaction(command("d1", False, fail=True)), return_exceptions=True)
    assert results[:2] == [None, None] and isinstance(results[2], RuntimeError)
    for device_id in ("d1", "d2"):
        read = await store.get_device(device_id, "us")
        assert read is not None and read.status == {"switch_1": True} and read.updated_ms == 5
    await store.transaction(command("d1", False))
    read = await store.get_device("d1", "us")
    assert read is not None and read.status == {"switch_1": False}
