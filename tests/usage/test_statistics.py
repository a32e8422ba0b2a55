"""Project statistics from the store (SQLite, or PostgreSQL with TUYACLOUD_TEST_DATABASE_URL): calls and failures
per day and per API, messages sent and acknowledged per day, devices and online devices, on days the test chose."""

from __future__ import annotations

import asyncio
from pathlib import Path

from support.server import database_url_for_test
from tuyacloud.clock import Clock
from tuyacloud.domain.context import Context, Policy
from tuyacloud.domain.projects.statistics import MAX_DAYS, parse_days, project_statistics
from tuyacloud.ids import IdSource
from tuyacloud.models import Device, DeviceLog, Message, Project
from tuyacloud.store.base import Tx
from tuyacloud.store.engine import open_store

DAY = 86_400_000
TODAY = 20_000  # a UTC day index: 2024-10-04
NOW = TODAY * DAY + 13 * 3_600_000


def _project(access_id: str) -> Project:
    return Project(access_id, "secret", "us", "P", "", "custom", "", "az1", 1, 1, services=["iot_core"])


def _device(device_id: str, access_id: str, created_ms: int, online: bool) -> Device:
    return Device(device_id, access_id, "us", "prod", "cz", device_id, "k", "uuid", "", "+00:00", "", "", online, "",
                  "", created_ms, created_ms, created_ms, {}, {})


def test_statistics_per_day_and_per_api(tmp_path: Path) -> None:
    url = database_url_for_test() or f"sqlite:///{tmp_path / 's.db'}"  # outside the loop: it may run one

    async def main() -> None:
        store = await open_store(url)
        ctx = Context(store=store, clock=Clock(frozen_at_ms=NOW), ids=IdSource(), policy=Policy())
        try:
            await _fill(store)
            stats = await project_statistics(ctx, _project("p1"), 7, retention_s=7 * 86_400)
        finally:
            await store.close()
        assert [d.day for d in stats.days] == ["2024-09-28", "2024-09-29", "2024-09-30", "2024-10-01", "2024-10-02",
                                               "2024-10-03", "2024-10-04"]
        by_day = {d.day: d for d in stats.days}
        assert (by_day["2024-10-04"].calls, by_day["2024-10-04"].failures) == (7, 1)
        assert (by_day["2024-10-02"].calls, by_day["2024-10-02"].failures) == (2, 0)
        assert stats.calls == 9 and stats.failures == 1  # the call 10 days ago is outside the period
        assert [(a.api, a.calls, a.failures) for a in stats.apis] == [
            ("GET /v1.0/devices/{device_id}", 6, 0), ("POST /v1.0/devices/{device_id}/commands", 2, 1),
            ("GET /v1.0/token", 1, 0)]
        assert by_day["2024-10-04"].messages == 3 and by_day["2024-10-03"].messages == 2
        assert stats.messages == 5  # the other project's message is not counted
        assert stats.subscriptions == ["event / p1-sub"]
        # acked: seqs 1-2 by the mark (both from yesterday), and today's third message by an ack above the mark
        assert by_day["2024-10-03"].acknowledged == {"event / p1-sub": 2}
        assert by_day["2024-10-04"].acknowledged == {"event / p1-sub": 1}
        assert (stats.devices, stats.online) == (3, 2)
        assert by_day["2024-10-04"].devices_added == 1 and by_day["2024-10-01"].devices_added == 1
        assert by_day["2024-09-28"].devices_total == 1  # created before the period
        assert by_day["2024-10-04"].devices_total == 3
        assert any("day the message was sent" in n for n in stats.notes)

    asyncio.run(main())


async def _fill(store: object) -> None:
    async def work(tx: Tx) -> None:
        for p in ("p1", "p2"):
            await tx.insert_project(_project(p))
        await tx.add_usage("p1", "20241004", "GET /v1.0/devices/{device_id}", 5, 0)
        await tx.add_usage("p1", "20241004", "POST /v1.0/devices/{device_id}/commands", 2, 1)
        await tx.add_usage("p1", "20241002", "GET /v1.0/devices/{device_id}", 1, 0)
        await tx.add_usage("p1", "20241002", "GET /v1.0/token", 1, 0)
        await tx.add_usage("p1", "20240924", "GET /v1.0/token", 4, 0)
        await tx.add_usage("p2", "20241004", "GET /v1.0/token", 9, 9)
        yesterday, today = (TODAY - 1) * DAY, TODAY * DAY
        for created in (yesterday + 5, yesterday + 6, today + 1, today + 2, today + 3):
            await tx.append_message(Message("p1", "us", 4, "d1", {"x": 1}, created))
        await tx.append_message(Message("p2", "us", 4, "d9", {"x": 1}, today + 4))
        await tx.insert_device(_device("d1", "p1", (TODAY - 20) * DAY, True))
        await tx.insert_device(_device("d2", "p1", (TODAY - 3) * DAY + 10, False))
        await tx.insert_device(_device("d3", "p1", TODAY * DAY + 10, True))
        await tx.insert_device(_device("d9", "p2", TODAY * DAY + 10, True))
        await tx.ensure_subscription("p1", "event", "p1-sub")

    async def acks(tx: Tx) -> None:
        mine = [m.seq for m in await tx.messages_after("p1", 0, 100)]
        await tx.acknowledge("p1", "event", "p1-sub", [mine[0], mine[1], mine[3]], NOW)

    await store.transaction(work)  # type: ignore[attr-defined]
    await store.transaction(acks)  # type: ignore[attr-defined]


def test_parse_days() -> None:
    assert parse_days(None) == 7 and parse_days("") == 7 and parse_days("abc") == 7
    assert parse_days("30") == 30 and parse_days("0") == 1 and parse_days("1000") == MAX_DAYS


def test_online_devices_per_day_follow_the_online_log(tmp_path: Path) -> None:
    """Online devices per day: online at some moment of the day, from each device's online/offline log; a
    device without such events has been as it is now since it was created; other projects do not count."""
    url = database_url_for_test() or f"sqlite:///{tmp_path / 'o.db'}"
    hour = 3_600_000

    def day(offset: int, at_ms: int = 0) -> int:
        return (TODAY + offset) * DAY + at_ms

    async def fill(tx: Tx) -> None:
        for p in ("p1", "p2"):
            await tx.insert_project(_project(p))
        await tx.insert_device(_device("dA", "p1", day(-20), True))
        await tx.insert_device(_device("dB", "p1", day(-10), False))
        await tx.insert_device(_device("dC", "p1", day(-1, 10), True))
        await tx.insert_device(_device("dD", "p1", day(-3), False))
        await tx.insert_device(_device("dE", "p2", day(-20), True))
        await tx.insert_device_logs([
            DeviceLog("dA", day(-4, hour), 2, "", "", "1"), DeviceLog("dA", day(-2, 5 * hour), 1, "", "", "1"),
            DeviceLog("dB", day(-5), 2, "", "", "1"),  # offline from the first instant of that day
            DeviceLog("dA", day(-2, 6 * hour), 5, "switch_1", "true", "2"),  # not an online event
            DeviceLog("dE", day(-3), 2, "", "", "1"),
        ])

    async def main() -> list[tuple[str, int, int]]:
        store = await open_store(url)
        ctx = Context(store=store, clock=Clock(frozen_at_ms=NOW), ids=IdSource(), policy=Policy())
        try:
            await store.transaction(fill)
            stats = await project_statistics(ctx, _project("p1"), 7)
        finally:
            await store.close()
        return [(d.day[5:], d.devices_total, d.devices_online) for d in stats.days]

    assert asyncio.run(main()) == [("09-28", 2, 2), ("09-29", 2, 1), ("09-30", 2, 1), ("10-01", 3, 0),
                                   ("10-02", 3, 1), ("10-03", 4, 2), ("10-04", 4, 2)]

