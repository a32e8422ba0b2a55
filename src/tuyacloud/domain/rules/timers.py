"""Timers (scheduled tasks): the v1.0 timer groups and the v2.0 timers of a device, one model behind both APIs.

A timer is a device, a local time, a weekday ``loops`` mask or a one-shot ``date``, a time zone, the functions to
send and an on/off state. A v1.0 group is the timers sharing a ``group_id`` under a free ``category`` label; a v2.0
timer is a group of one. Keeping one model means the 30-per-device limit, validation and execution hold whichever
API made a timer, and each API lists the other's timers too.

Every save is validated before anything is written and covers the whole request: the schedule by
``rules/schedule.py`` (bad time or loops 1109, unknown zone 1109, bad date 2202, a one-shot in the past 2209), the
functions against the device's instruction set exactly like commands (the 2008 error names the code). The limit is
counted inside the unit of work with the device row locked, so two concurrent adds cannot pass it together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from msgspec import UNSET

from tuyacloud.catalog.loader import Product
from tuyacloud.catalog.validation import check_commands
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices.commands import product_of
from tuyacloud.domain.devices.devices import get_owned
from tuyacloud.domain.devices.requests import Command
from tuyacloud.domain.rules import schedule
from tuyacloud.domain.rules.timer_requests import (
    MAX_TEXT,
    GroupStatus,
    ModifyTimer,
    TimerBody,
    TimerGroup,
    TimerState,
    functions_of,
)
from tuyacloud.errors import (
    DataNotExist,
    DeviceNotExist,
    ParamEmpty,
    ParamIllegal,
    TimerExpired,
    TimerLimitExceeded,
    TimerTimeOverlap,
)
from tuyacloud.models import Device, Project, Timer
from tuyacloud.store.base import Tx

MAX_PER_DEVICE = 30
NO_DATE = ("", "00000000")  # the v2.0 list shows "00000000" for a timer without a date; accept it back


@dataclass(frozen=True)
class Schedule:
    """A validated, normalised schedule: ``HH:mm`` time, ``yyyyMMdd`` or empty date, loops, zone."""

    time: str
    date: str
    loops: str
    timezone_id: str
    time_zone: str


# --- parsing and validation (pure) ---------------------------------------------------------------------------------
def text(value: str | None, key: str, *, required: bool = False, default: str = "") -> str:
    if value is None or value == "":
        if required:
            raise ParamEmpty(f"{key} is required")
        return default
    if len(value) > MAX_TEXT:
        raise ParamIllegal(f"{key} must be a string of at most {MAX_TEXT} characters")
    return value


def parse_schedule(time: str | None, loops: str | None, date: str | None, timezone_id: str | None,
                   time_zone: str | None) -> Schedule:
    """Check and normalise every part of a schedule (first error wins: time, loops, zone, date)."""
    if time is None or time == "":
        raise ParamEmpty("time is required")
    normal = schedule.normalise_time(time)
    mask = schedule.parse_loops(loops)
    schedule.resolve_zone(timezone_id or None, time_zone or None)
    day = "" if date is None or date in NO_DATE else schedule.format_date(schedule.parse_date(date))
    return Schedule(normal, day, mask, timezone_id or "", time_zone or "")


def first_run(s: Schedule, now_ms: int) -> tuple[Schedule, int]:
    """The first run after ``now_ms``; a one-shot without a date gets the day it will run on, one in the past
    is refused (2209)."""
    at = schedule.next_occurrence(s.time, s.loops, s.timezone_id or None, now_ms,
                                  s.date if schedule.is_one_shot(s.loops) else None, time_zone=s.time_zone or None)
    if at is None:
        raise TimerExpired(f"{s.date} {s.time} has already passed")
    if schedule.is_one_shot(s.loops) and not s.date:
        zone = schedule.resolve_zone(s.timezone_id or None, s.time_zone or None)
        s = replace(s, date=schedule.format_date(schedule.local_date(at, zone)))
    return s, at


def next_run_after(t: Timer, after_ms: int) -> int | None:
    """The run of an enabled timer after ``after_ms`` (None: a one-shot that is over)."""
    return schedule.next_occurrence(t.time, t.loops, t.timezone_id or None, after_ms,
                                    t.date if schedule.is_one_shot(t.loops) else None, time_zone=t.time_zone or None)


def parse_functions(product: Product, functions: list[Command] | None) -> list[dict[str, Any]]:
    """``[{code, value}]`` checked like commands against the device's functions; values normalised."""
    return [{"code": code, "value": value} for code, value in check_commands(product, functions_of(functions))]


def _new_timer(ctx: Context, device: Device, s: Schedule, at: int, functions: list[dict[str, Any]], *, group_id: str,
               category: str, order: int, alias: str, enabled: bool, now: int) -> Timer:
    return Timer(
        id=ctx.ids.numeric(10), device_id=device.id, region=device.region, group_id=group_id, category=category,
        group_order=order, alias_name=alias, time=s.time, date=s.date, loops=s.loops, timezone_id=s.timezone_id,
        time_zone=s.time_zone, functions=functions, enabled=enabled, is_app_push=False,
        next_run_ms=at if enabled else None, last_run_ms=None, last_result="", created_ms=now, updated_ms=now,
    )


def _group_timers(ctx: Context, device: Device, product: Product, body: TimerGroup, group_id: str,
                  now: int) -> list[Timer]:
    """The timers a v1.0 add/modify body describes: one per ``instruct`` entry, sharing loops and zone."""
    category = text(body.category, "category", required=True)
    if "/" in category:
        raise ParamIllegal("category must not contain '/'")
    alias = text(body.alias_name, "alias_name")
    instruct = body.instruct
    if not instruct:
        raise ParamEmpty("instruct is empty")
    if len(instruct) > MAX_PER_DEVICE:
        raise TimerLimitExceeded(f"a group of {len(instruct)} timers; a device has at most {MAX_PER_DEVICE}")
    made: list[Timer] = []
    seen: set[tuple[str, str]] = set()
    for order, entry in enumerate(instruct):
        s = parse_schedule(entry.time, body.loops, entry.date, body.timezone_id, body.time_zone)
        functions = parse_functions(product, entry.functions)
        s, at = first_run(s, now)
        if (s.time, s.date) in seen:
            raise TimerTimeOverlap(f"two timers of the group run at {s.time}")
        seen.add((s.time, s.date))
        made.append(_new_timer(ctx, device, s, at, functions, group_id=group_id, category=category, order=order,
                               alias=alias, enabled=True, now=now))
    return made


def _single_timer(ctx: Context, device: Device, product: Product, body: TimerBody, now: int, *,
                  timer_id: str | None = None) -> Timer:
    """The timer a v2.0 add/modify body describes (a group of its own)."""
    alias = text(body.alias_name, "alias_name")
    category = text(None if body.category is UNSET else body.category, "category")
    s = parse_schedule(body.time, body.loops, body.date, body.timezone_id, body.time_zone)
    functions = parse_functions(product, body.functions)
    s, at = first_run(s, now)
    timer = _new_timer(ctx, device, s, at, functions, group_id=ctx.ids.hex(12), category=category, order=0,
                       alias=alias, enabled=True, now=now)
    return timer if timer_id is None else replace(timer, id=timer_id)


# --- units of work --------------------------------------------------------------------------------------------------
async def _device(ctx: Context, project: Project, device_id: str) -> tuple[Device, Product]:
    device = await get_owned(ctx, project, device_id)
    return device, product_of(ctx, device)


async def _locked(tx: Tx, device: Device) -> None:
    """Lock the device row: timer writes of one device serialise (the 30 limit, group replacement)."""
    if await tx.get_device_for_update(device.id, device.region) is None:
        raise DeviceNotExist(f"device {device.id!r} does not exist")


async def _in_unit(ctx: Context, device: Device, work: Callable[[Tx], Awaitable[Any]]) -> Any:
    async def unit(tx: Tx) -> Any:
        await _locked(tx, device)
        return await work(tx)

    return await ctx.store.transaction(unit)


async def _add(ctx: Context, device: Device, timers: list[Timer]) -> None:
    async def work(tx: Tx) -> None:
        count = await tx.count_device_timers(device.id, device.region)
        if count + len(timers) > MAX_PER_DEVICE:
            raise TimerLimitExceeded(f"device {device.id} has {count} timers; {len(timers)} more would pass "
                                     f"{MAX_PER_DEVICE}")
        for timer in timers:
            await tx.insert_timer(timer)

    await _in_unit(ctx, device, work)


def _not_found(what: str) -> DataNotExist:
    return DataNotExist(f"{what} does not exist on this device")


# --- v1.0: timer groups ---------------------------------------------------------------------------------------------
async def of_device(ctx: Context, device: Device) -> list[Timer]:
    """Every timer of a device, whoever owns it: for the control API, which shows what the scheduler will do
    (``next_run_ms``) and what it last did (``last_run_ms``, ``last_result``), which no Tuya API reports."""
    return await ctx.store.timers_of_device(device.id, device.region)


async def add_group(ctx: Context, project: Project, device_id: str, body: TimerGroup) -> str:
    """``POST /v1.0/devices/{id}/timers``: a group of timers (one per ``instruct`` entry) → its group id."""
    device, product = await _device(ctx, project, device_id)
    group_id = ctx.ids.hex(12)
    await _add(ctx, device, _group_timers(ctx, device, product, body, group_id, ctx.clock.now_ms()))
    return group_id


async def list_timers(ctx: Context, project: Project, device_id: str, category: str | None = None) -> list[Timer]:
    device = await get_owned(ctx, project, device_id)
    return await ctx.store.timers_of_device(device.id, device.region, category=category)


async def modify_group(ctx: Context, project: Project, device_id: str, group_id: str, body: TimerGroup) -> None:
    """Replace a group's timers with those of the body; the group keeps its id and its on/off state."""
    device, product = await _device(ctx, project, device_id)
    fresh = _group_timers(ctx, device, product, body, group_id, ctx.clock.now_ms())

    async def work(tx: Tx) -> None:
        old = await tx.timers_of_device(device.id, device.region, group_id=group_id)
        if not old:
            raise _not_found(f"timer group {group_id!r}")
        enabled = any(t.enabled for t in old)
        count = await tx.count_device_timers(device.id, device.region)
        if count - len(old) + len(fresh) > MAX_PER_DEVICE:
            raise TimerLimitExceeded(f"the group would bring device {device.id} past {MAX_PER_DEVICE} timers")
        await tx.delete_timers(device.id, device.region, [t.id for t in old])
        for t in fresh:  # the group keeps its place in the lists (its creation time)
            t = replace(t, created_ms=old[0].created_ms)
            await tx.insert_timer(t if enabled else replace(t, enabled=False, next_run_ms=None))

    await _in_unit(ctx, device, work)


def _switched(t: Timer, enabled: bool, now: int) -> Timer:
    """The timer switched on (its next run computed from now; a one-shot in the past is 2209) or off."""
    if not enabled:
        return replace(t, enabled=False, next_run_ms=None, updated_ms=now)
    at = next_run_after(t, now)
    if at is None:
        raise TimerExpired(f"the one-shot timer {t.id} at {t.date} {t.time} has already passed")
    return replace(t, enabled=True, next_run_ms=at, updated_ms=now)


async def _set_enabled(ctx: Context, device: Device, enabled: bool, select: Callable[[Tx], Awaitable[list[Timer]]],
                       what: str) -> None:
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> None:
        found = await select(tx)
        if not found:
            raise _not_found(what)
        for t in [_switched(t, enabled, now) for t in found]:  # all checked before any is written
            await tx.update_timer(t)

    await _in_unit(ctx, device, work)


def _group_status(value: str | int | None) -> int:
    """The v1.0 status ``value``: "0" off, "1" on, "2" delete (the docs send strings; numbers are accepted)."""
    if str(value) not in ("0", "1", "2"):
        raise ParamIllegal("value must be 0 (disable), 1 (enable) or 2 (delete)")
    return int(str(value))


async def set_group_status(ctx: Context, project: Project, device_id: str, category: str, group_id: str,
                           body: GroupStatus) -> None:
    status = _group_status(body.value)
    device = await get_owned(ctx, project, device_id)
    what = f"timer group {group_id!r} in category {category!r}"

    async def select(tx: Tx) -> list[Timer]:
        return await tx.timers_of_device(device.id, device.region, category=category, group_id=group_id)

    if status == 2:
        await _delete(ctx, device, select, what)
    else:
        await _set_enabled(ctx, device, status == 1, select, what)


async def _delete(ctx: Context, device: Device, select: Callable[[Tx], Awaitable[list[Timer]]],
                  what: str | None) -> None:
    """Delete the selected timers; ``what`` names them when finding none is an error (None: it is not)."""

    async def work(tx: Tx) -> None:
        found = await select(tx)
        if not found and what is not None:
            raise _not_found(what)
        await tx.delete_timers(device.id, device.region, [t.id for t in found])

    await _in_unit(ctx, device, work)


async def delete_timers(ctx: Context, project: Project, device_id: str, category: str | None = None,
                        group_id: str | None = None) -> None:
    """Delete all of a device's timers, a category's (both succeed when there are none), or one group's (1000
    when it does not exist)."""
    device = await get_owned(ctx, project, device_id)

    async def select(tx: Tx) -> list[Timer]:
        return await tx.timers_of_device(device.id, device.region, category=category, group_id=group_id)

    await _delete(ctx, device, select, None if group_id is None else f"timer group {group_id!r}")


# --- v2.0: single timers --------------------------------------------------------------------------------------------
def parse_ids(raw: Any) -> list[str]:
    """``timer_ids``: comma-separated ids (a JSON list is accepted too)."""
    items = raw if isinstance(raw, list) else str(raw or "").split(",")
    ids = [str(i).strip() for i in items if str(i).strip()]
    if not ids:
        raise ParamEmpty("timer_ids is empty")
    if len(ids) > 100:
        raise ParamIllegal("at most 100 timer_ids")
    return list(dict.fromkeys(ids))


async def add_timer(ctx: Context, project: Project, device_id: str, body: TimerBody) -> str:
    """``POST /v2.0/cloud/timer/device/{id}``: one timer → its timer id."""
    device, product = await _device(ctx, project, device_id)
    timer = _single_timer(ctx, device, product, body, ctx.clock.now_ms())
    await _add(ctx, device, [timer])
    return timer.id


async def query_timers(ctx: Context, project: Project, device_id: str, timer_ids: str | None = None,
                       category: str | None = None) -> list[Timer]:
    device = await get_owned(ctx, project, device_id)
    ids = parse_ids(timer_ids) if timer_ids else None
    return await ctx.store.timers_of_device(device.id, device.region, ids=ids, category=category)


def _timer_id(value: str | int | None) -> str:
    if value is None or value == "":
        raise ParamEmpty("timer_id is required")
    return str(value)


async def modify_timer(ctx: Context, project: Project, device_id: str, body: ModifyTimer) -> None:
    """Replace one timer's schedule and functions; it keeps its id, group and on/off state."""
    timer_id = _timer_id(body.timer_id)
    device, product = await _device(ctx, project, device_id)
    fresh = _single_timer(ctx, device, product, body, ctx.clock.now_ms(), timer_id=timer_id)

    async def work(tx: Tx) -> None:
        found = await tx.timers_of_device(device.id, device.region, ids=[timer_id])
        if not found:
            raise _not_found(f"timer {timer_id!r}")
        old = found[0]
        category = old.category if body.category is UNSET else fresh.category
        await tx.update_timer(replace(fresh, group_id=old.group_id, group_order=old.group_order, category=category,
                                      enabled=old.enabled, next_run_ms=fresh.next_run_ms if old.enabled else None))

    await _in_unit(ctx, device, work)


async def set_timer_state(ctx: Context, project: Project, device_id: str, body: TimerState) -> None:
    timer_id = _timer_id(body.timer_id)
    enable = body.enable
    if not isinstance(enable, bool):
        raise ParamIllegal("enable must be true or false")
    device = await get_owned(ctx, project, device_id)

    async def select(tx: Tx) -> list[Timer]:
        return await tx.timers_of_device(device.id, device.region, ids=[timer_id])

    await _set_enabled(ctx, device, enable, select, f"timer {timer_id!r}")


async def delete_by_ids(ctx: Context, project: Project, device_id: str, timer_ids: str | None) -> None:
    """Batch delete: all named timers or none (an id that is not this device's timer is 1000)."""
    ids = parse_ids(timer_ids)
    device = await get_owned(ctx, project, device_id)

    async def select(tx: Tx) -> list[Timer]:
        found = await tx.timers_of_device(device.id, device.region, ids=ids)
        missing = sorted(set(ids) - {t.id for t in found})
        if missing:
            raise _not_found(f"timer {', '.join(missing)}")
        return found

    await _delete(ctx, device, select, None)
