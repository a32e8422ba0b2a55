"""API usage counters (domain/projects/usage.py) in process on a real store: a flush returns only once every count
taken before it is committed, even when another flush (the periodic one) has taken them and is still writing."""

from __future__ import annotations

import asyncio

import pytest

from tuyacloud.domain.context import Context
from tuyacloud.domain.projects.usage import UsageCounter, day_of, report
from tuyacloud.models import Project

pytestmark = pytest.mark.anyio

API = "GET /v1.0/devices/{device_id}"


async def test_a_flush_waits_for_the_flush_already_writing(ctx: Context, custom_project: Project) -> None:
    counter = UsageCounter()
    now = ctx.clock.now_ms()
    for _ in range(3):
        counter.count(custom_project.access_id, API, now, failed=False)
    periodic = asyncio.ensure_future(counter.flush(ctx))  # the server's flush every usage_flush_s
    for _ in range(1000):  # until it has taken the counts and is writing them
        await asyncio.sleep(0)
        if not counter._pending or periodic.done():
            break
    # What the statistics page does: flush, then read. The counts were taken by the periodic flush: this one has
    # nothing of its own to write, but must not return before they are in the store.
    await counter.flush(ctx)
    rows = await report(ctx, custom_project.access_id, day_of(now), day_of(now))
    assert [(row.api, row.calls, row.failures) for row in rows] == [(API, 3, 0)]
    assert await periodic == 1
