"""Time in automations: schedule conditions, ``timeCheck`` precondition windows, and which scheduled minute a
step of the cloud clock crossed.

The meaning of ``HH:mm``, ``loops`` (seven ``0``/``1``, Sunday first), dates and zones is ``rules/schedule.py``'s,
shared with timers; this module adds what automations need on top: validation messages that name the condition
being checked, strict loops (a precondition must say its weekdays) and the look-back ``occurrence_in``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta, tzinfo
from typing import TypeVar

from tuyacloud.domain.rules import schedule
from tuyacloud.errors import ParamIllegal, TuyaError

MINUTE_MS = 60_000
# A schedule looks back at most this far when the clock jumps (a step of days fires each schedule once, not once
# per day skipped).
MAX_CATCH_UP_MS = 86_400_000

T = TypeVar("T")


def _named(field: str, check: Callable[[], T]) -> T:
    """Run one of schedule's checks, answering 1109 with the field's place in the automation."""
    try:
        return check()
    except TuyaError as exc:
        raise ParamIllegal(f"{field}: {exc.detail or exc}") from None


def parse_time(value: object, field: str) -> tuple[int, int]:
    return _named(field, lambda: schedule.parse_time(value.strip() if isinstance(value, str) else value))


def check_loops(value: object, field: str = "loops") -> str:
    if not isinstance(value, str) or len(value) != 7:
        raise ParamIllegal(f"{field} must be seven 0/1 characters, Sunday first (\"1111111\" every day), "
                           f"got {value!r}")
    return _named(field, lambda: schedule.parse_loops(value))


def zone(name: object, field: str = "timezone_id") -> tzinfo:
    if not isinstance(name, str) or not name.strip():
        raise ParamIllegal(f"{field} must be an IANA time zone such as Europe/Berlin, got {name!r}")
    return _named(field, lambda: schedule.resolve_zone(name.strip()))


def check_date(value: object, field: str = "date") -> str:
    _named(field, lambda: schedule.parse_date(value))
    return str(value)


def in_window(now_ms: int, start: str, end: str, loops: str, tz: tzinfo) -> bool:
    """Whether ``now`` is inside a ``timeCheck`` window, end minute included; a window ending before it starts
    crosses midnight and belongs to the day it started (Friday 22:00-06:00 covers Saturday 03:00). A window
    with no weekday chosen (``0000000``) never holds: unlike a timer, a precondition has no one-shot form."""
    if schedule.is_one_shot(loops):
        return False
    return schedule.in_window(start, end, loops, None, now_ms, zone=tz)


def occurrence_in(after_ms: int, upto_ms: int, time: str, loops: str, tz: tzinfo, on_date: str = "") -> int | None:
    """The latest start of a scheduled minute in ``(after_ms, upto_ms]``, as epoch ms, or None.

    ``loops`` of all zeros with ``on_date`` is a one-shot on that day; otherwise ``loops`` picks the weekdays."""
    if upto_ms <= after_ms:
        return None
    after_ms = max(after_ms, upto_ms - MAX_CATCH_UP_MS)
    hour, minute = schedule.parse_time(time)
    if schedule.is_one_shot(loops):
        if not on_date:
            return None
        at = schedule.local_instant_ms(schedule.parse_date(on_date), hour, minute, tz)
        return at if after_ms < at <= upto_ms else None
    day, last = schedule.local_date(after_ms, tz), schedule.local_date(upto_ms, tz)
    found = None
    while day <= last:
        if schedule.allowed(loops, day):
            at = schedule.local_instant_ms(day, hour, minute, tz)
            if after_ms < at <= upto_ms:
                found = at
        day += timedelta(days=1)
    return found
