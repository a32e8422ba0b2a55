"""Wall-clock schedules in a time zone: when does "07:30 on Mondays in Asia/Shanghai" next happen?

Timers, automation time conditions and time-window preconditions all describe instants the way a person does
(a local minute, a set of weekdays, a zone), while the cloud keeps time as epoch milliseconds. This module is
the one translation between the two, pure and without I/O so it can be property-tested and shared.

Conventions (Tuya's):
- ``time`` is ``"HH:mm"``; ``"H:m"`` is accepted too (the v1.0 docs show it).
- ``loops`` is seven characters of 0/1, the first Sunday, the last Saturday. ``"0000000"`` means no weekday
  repetition: a one-shot (on ``date`` if given, else the next time the clock shows ``time``).
- ``date`` is ``"yyyyMMdd"``; it only matters for a one-shot. A repeating ``loops`` wins over a date.
- The zone is an IANA ``timezone_id``; a ``time_zone`` offset such as ``"+08:00"`` is the fallback when no
  ``timezone_id`` is given.

DST: a local time that does not exist (the spring-forward gap) is moved forward by the length of the gap
(02:30 on the night clocks jump from 02:00 to 03:00 runs at 03:30); a local time that happens twice (the
fall-back overlap) runs at its first occurrence only.
"""

from __future__ import annotations

import re
from datetime import date as Date
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from tuyacloud.errors import ParamIllegal, TimerDateInvalid

NO_LOOPS = "0000000"
_TIME = re.compile(r"^(\d{1,2}):(\d{1,2})$")
_LOOPS = re.compile(r"^[01]{7}$")
_DATE = re.compile(r"^\d{8}$")
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$")


def parse_time(value: object) -> tuple[int, int]:
    """``"HH:mm"`` or ``"H:m"`` as (hour, minute); anything else is a 1109 naming the field."""
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        raise ParamIllegal(f"time {value!r} is not HH:mm")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ParamIllegal(f"time {value!r} is out of range")
    return hour, minute


def format_time(hour: int, minute: int) -> str:
    return f"{hour:02d}:{minute:02d}"


def normalise_time(value: object) -> str:
    """The canonical ``"HH:mm"`` spelling of an accepted time (``"7:5"`` → ``"07:05"``)."""
    return format_time(*parse_time(value))


def parse_loops(value: object) -> str:
    """Seven 0/1 characters, Sunday first; an empty or missing value means no repetition."""
    if value is None or value == "":
        return NO_LOOPS
    if not isinstance(value, str) or _LOOPS.match(value) is None:
        raise ParamIllegal(f"loops {value!r} must be 7 characters of 0 and 1, Sunday first")
    return value


def is_one_shot(loops: str) -> bool:
    return "1" not in loops


def parse_date(value: object) -> Date:
    """``"yyyyMMdd"`` as a date; anything else is Tuya's 2202 ``date format error``."""
    if not isinstance(value, str) or _DATE.match(value) is None:
        raise TimerDateInvalid(f"date {value!r} is not yyyyMMdd")
    try:
        return Date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise TimerDateInvalid(f"date {value!r} is not a calendar day") from None


def format_date(day: Date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


@lru_cache(maxsize=512)
def _zone(timezone_id: str) -> tzinfo:
    return ZoneInfo(timezone_id)


def _offset_zone(time_zone: str) -> tzinfo:
    match = _OFFSET.match(time_zone.strip())
    if match is None:
        raise ParamIllegal(f"time_zone {time_zone!r} is not an offset like +08:00")
    sign = -1 if match.group(1) == "-" else 1
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        raise ParamIllegal(f"time_zone {time_zone!r} is out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def resolve_zone(timezone_id: str | None, time_zone: str | None = None) -> tzinfo:
    """The zone a schedule runs in: the IANA ``timezone_id``, else the fixed ``time_zone`` offset."""
    if timezone_id:
        if not isinstance(timezone_id, str) or len(timezone_id) > 64 or ".." in timezone_id:
            raise ParamIllegal(f"timezone_id {timezone_id!r} is unknown")
        try:
            return _zone(timezone_id)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
            raise ParamIllegal(f"timezone_id {timezone_id!r} is unknown") from None
    if time_zone:
        if not isinstance(time_zone, str):
            raise ParamIllegal(f"time_zone {time_zone!r} is not an offset like +08:00")
        return _offset_zone(time_zone)
    raise ParamIllegal("timezone_id is required")


def _weekday_index(day: Date) -> int:
    """Position of ``day`` in a loops string: Sunday 0 ... Saturday 6."""
    return (day.weekday() + 1) % 7


def allowed(loops: str, day: Date) -> bool:
    """Whether ``loops`` runs on ``day``'s weekday."""
    return loops[_weekday_index(day)] == "1"


def local_instant_ms(day: Date, hour: int, minute: int, zone: tzinfo) -> int:
    """Epoch ms of a local wall time: fold 0, so overlaps take the first and gaps shift forward."""
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).timestamp()) * 1000


def local_date(at_ms: int, zone: tzinfo) -> Date:
    return datetime.fromtimestamp(at_ms / 1000, zone).date()


def next_occurrence(
    time_hhmm: str,
    loops: str,
    timezone_id: str | None,
    after_ms: int,
    date: str | None = None,
    *,
    time_zone: str | None = None,
) -> int | None:
    """Epoch ms of the first run strictly after ``after_ms``, or None for a one-shot that is over.

    A repeating schedule (any ``1`` in ``loops``) runs on its weekdays; a one-shot with a ``date`` runs once on
    that day; a one-shot without a date runs the next time the local clock shows ``time_hhmm``.
    """
    hour, minute = parse_time(time_hhmm)
    loops = parse_loops(loops)
    zone = resolve_zone(timezone_id, time_zone)
    if is_one_shot(loops) and date:
        at = local_instant_ms(parse_date(date), hour, minute, zone)
        return at if at > after_ms else None
    # Start a day early: the local date of ``after_ms`` may be ahead of the day whose run is still to come
    # (a gap-shifted time), and the answer is the first candidate after ``after_ms`` in date order.
    day = local_date(after_ms, zone) - timedelta(days=1)
    for _ in range(10):
        if is_one_shot(loops) or allowed(loops, day):
            at = local_instant_ms(day, hour, minute, zone)
            if at > after_ms:
                return at
        day += timedelta(days=1)
    raise AssertionError("a weekly schedule always has a run within ten days")  # pragma: no cover


def in_window(
    start_hhmm: str,
    end_hhmm: str,
    loops: str,
    timezone_id: str | None,
    at_ms: int,
    *,
    time_zone: str | None = None,
    zone: tzinfo | None = None,
) -> bool:
    """Whether ``at_ms`` lies in the local window ``start``–``end`` (both minutes included) on an allowed day.

    A window whose end is before its start crosses midnight; it belongs to the weekday it starts on, so a
    Friday 22:00–06:00 window covers Saturday 03:00. ``"0000000"`` (or empty) loops allow every day. ``zone``,
    when given, is used instead of resolving ``timezone_id``/``time_zone`` (callers that validated it already).
    """
    start_h, start_m = parse_time(start_hhmm)
    end_h, end_m = parse_time(end_hhmm)
    loops = parse_loops(loops)
    if is_one_shot(loops):
        loops = "1111111"
    zone = zone or resolve_zone(timezone_id, time_zone)
    local = datetime.fromtimestamp(at_ms / 1000, zone)
    now = local.hour * 60 + local.minute
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    today = local.date()
    if start <= end:
        return start <= now <= end and allowed(loops, today)
    if now >= start:
        return allowed(loops, today)
    if now <= end:
        return allowed(loops, today - timedelta(days=1))
    return False


def validate_schedule(
    time_hhmm: object,
    loops: object,
    timezone_id: str | None,
    date: object = None,
    *,
    time_zone: str | None = None,
) -> None:
    """Check every part of a schedule at once, raising the first typed error (time, loops, zone, date)."""
    parse_time(time_hhmm)
    parse_loops(loops)
    resolve_zone(timezone_id, time_zone)
    if date not in (None, ""):
        parse_date(date)
