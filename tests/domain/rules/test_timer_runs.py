"""Device timers in process on a real store: where the schedule maths puts a timer's runs (a local minute in its
zone, across a daylight-saving change), and what one pass of the timer runner does with a due timer: runs it once
as a cloud command, skips a run missed by more than the grace time, fails on an offline device, and in each case
moves the timer on to its next run (or, for a one-shot, turns it off)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tuyacloud import bodies
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices
from tuyacloud.domain.rules import timer_runner, timers
from tuyacloud.domain.rules.timer_requests import TimerBody
from tuyacloud.errors import TimerExpired
from tuyacloud.models import Device, Project, Timer

pytestmark = pytest.mark.anyio

MINUTE = 60_000


def utc(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


async def lamp(ctx: Context, project: Project) -> Device:
    (made,) = await devices.create_virtual(ctx, project, category="dj")
    return made


async def timer_of(ctx: Context, device: Device, timer_id: str) -> Timer:
    (found,) = await ctx.store.timers_of_device(device.id, device.region, ids=[timer_id])
    return found


async def brightness(ctx: Context, device: Device) -> Any:
    stored = await ctx.store.get_device(device.id, device.region)
    assert stored is not None
    return stored.status["bright_value_v2"]


def body(time: str, loops: str = "1111111", value: int = 300, **extra: Any) -> TimerBody:
    return bodies.convert(TimerBody, {"time": time, "loops": loops, "timezone_id": "Europe/Berlin",
                                      "functions": [{"code": "bright_value_v2", "value": value}], **extra})


async def test_a_daily_timer_runs_once_at_its_local_minute_and_moves_to_the_next_day(
        ctx: Context, custom_project: Project) -> None:
    device = await lamp(ctx, custom_project)
    before = await brightness(ctx, device)
    # now: Monday 2026-03-02 12:00 UTC = 13:00 in Berlin, so 12:30 Berlin (11:30 UTC) is next on Tuesday
    timer_id = await timers.add_timer(ctx, custom_project, device.id, body("12:30", value=before - 1))
    assert (await timer_of(ctx, device, timer_id)).next_run_ms == utc(2026, 3, 3, 11, 30)

    ctx.clock.freeze(utc(2026, 3, 3, 11, 29))  # a minute early: nothing is due
    assert await timer_runner.run_due(ctx) == []
    ctx.clock.freeze(utc(2026, 3, 3, 11, 30, 10))
    (outcome,) = await timer_runner.run_due(ctx)
    assert outcome.result == timer_runner.RAN and outcome.change is not None
    assert await brightness(ctx, device) == before - 1
    ran = await timer_of(ctx, device, timer_id)
    assert ran.next_run_ms == utc(2026, 3, 4, 11, 30) and ran.enabled and ran.last_result == timer_runner.RAN
    assert await timer_runner.run_due(ctx) == []  # the occurrence is claimed: a second pass does not run it again


async def test_a_one_shot_gets_its_day_runs_once_and_turns_off(ctx: Context, custom_project: Project) -> None:
    device = await lamp(ctx, custom_project)
    timer_id = await timers.add_timer(ctx, custom_project, device.id, body("14:00", loops="0000000"))
    added = await timer_of(ctx, device, timer_id)
    assert added.date == "20260302" and added.next_run_ms == utc(2026, 3, 2, 13, 0)
    ctx.clock.step(60 * MINUTE)
    (outcome,) = await timer_runner.run_due(ctx)
    assert outcome.result == timer_runner.RAN
    done = await timer_of(ctx, device, timer_id)
    assert done.enabled is False and done.next_run_ms is None
    ctx.clock.step(24 * 60 * MINUTE)
    assert await timer_runner.run_due(ctx) == []


async def test_a_one_shot_in_the_past_is_refused_and_not_stored(ctx: Context, custom_project: Project) -> None:
    device = await lamp(ctx, custom_project)
    with pytest.raises(TimerExpired):
        await timers.add_timer(ctx, custom_project, device.id, body("09:00", loops="0000000", date="20260301"))
    assert await ctx.store.timers_of_device(device.id, device.region) == []


async def test_a_run_missed_by_more_than_the_grace_is_skipped_and_the_timer_moves_on(
        ctx: Context, custom_project: Project) -> None:
    device = await lamp(ctx, custom_project)
    before = await brightness(ctx, device)
    timer_id = await timers.add_timer(ctx, custom_project, device.id, body("13:30", value=before - 1))
    due = (await timer_of(ctx, device, timer_id)).next_run_ms
    assert due == utc(2026, 3, 2, 12, 30)
    ctx.clock.freeze(due + timer_runner.GRACE_MS + 5 * MINUTE)  # the server was busy, or down
    (outcome,) = await timer_runner.run_due(ctx)
    assert outcome.result == timer_runner.SKIPPED
    assert await brightness(ctx, device) == before
    skipped = await timer_of(ctx, device, timer_id)
    assert skipped.last_result == "skipped: missed by 10 min" and skipped.next_run_ms == utc(2026, 3, 3, 12, 30)


async def test_an_offline_device_fails_the_run_and_the_timer_moves_on(ctx: Context, custom_project: Project) -> None:
    device = await lamp(ctx, custom_project)
    timer_id = await timers.add_timer(ctx, custom_project, device.id, body("13:30"))
    await devices.set_online(ctx, device, False)
    ctx.clock.freeze(utc(2026, 3, 2, 12, 30))
    (outcome,) = await timer_runner.run_due(ctx)
    assert outcome.result == timer_runner.FAILED
    failed = await timer_of(ctx, device, timer_id)
    assert failed.last_result == "failed: device is offline" and failed.next_run_ms == utc(2026, 3, 3, 12, 30)


async def test_runs_follow_the_local_minute_across_a_daylight_saving_change(ctx: Context,
                                                                           custom_project: Project) -> None:
    """Berlin springs forward on 2026-03-29 (02:00 CET becomes 03:00 CEST): 02:30 does not exist that night and
    runs at 03:30 CEST, the same instant 02:30 CET would have been; the next night's 02:30 CEST is an hour
    earlier in UTC."""
    ctx.clock.freeze(utc(2026, 3, 28, 12, 0))
    device = await lamp(ctx, custom_project)
    timer_id = await timers.add_timer(ctx, custom_project, device.id, body("02:30"))
    assert (await timer_of(ctx, device, timer_id)).next_run_ms == utc(2026, 3, 29, 1, 30)
    ctx.clock.freeze(utc(2026, 3, 29, 1, 30))
    (outcome,) = await timer_runner.run_due(ctx)
    assert outcome.result == timer_runner.RAN
    assert (await timer_of(ctx, device, timer_id)).next_run_ms == utc(2026, 3, 30, 0, 30)
