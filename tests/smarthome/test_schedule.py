"""Properties of the pure schedule module: next runs and time windows, checked against a brute-force oracle."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuyacloud.domain.rules import schedule
from tuyacloud.errors import ParamIllegal, TimerDateInvalid

ZONES = [
    "UTC",
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Kathmandu",  # +05:45
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Sao_Paulo",
]
MINUTE = 60_000
START_2000 = 946_684_800_000
END_2060 = 2_871_763_200_000

times = st.tuples(st.integers(0, 23), st.integers(0, 59))
repeating_loops = st.text(alphabet="01", min_size=7, max_size=7).filter(lambda s: "1" in s)
instants = st.integers(START_2000, END_2060)


def _allowed(loops: str, day: object) -> bool:
    return loops[(day.weekday() + 1) % 7] == "1"  # type: ignore[attr-defined]


def _wall_time_exists(day: object, hour: int, minute: int, zone: ZoneInfo) -> bool:
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)  # type: ignore[attr-defined]
    back = datetime.fromtimestamp(local.timestamp(), zone)
    return (back.hour, back.minute) == (hour, minute)


@settings(max_examples=150, deadline=None)
@given(times, repeating_loops, st.sampled_from(ZONES), instants)
def test_next_occurrence_is_the_first_allowed_local_minute_after(hm, loops, zone_id, after_ms) -> None:
    hour, minute = hm
    zone = ZoneInfo(zone_id)
    result = schedule.next_occurrence(f"{hour:02d}:{minute:02d}", loops, zone_id, after_ms)
    assert result is not None
    assert result > after_ms
    assert result % MINUTE == 0
    assert result - after_ms <= 8 * 24 * 3600 * 1000
    local = datetime.fromtimestamp(result / 1000, zone)
    if (local.hour, local.minute) == (hour, minute):
        assert _allowed(loops, local.date())
        assert local.fold == 0, "an ambiguous local time runs at its first occurrence"
    else:
        # Only a time in a spring-forward gap may run at another local minute: shifted forward on its day.
        day = local.date()
        if not _wall_time_exists(day, hour, minute, zone):
            assert _allowed(loops, day)
        else:
            day -= timedelta(days=1)
            assert not _wall_time_exists(day, hour, minute, zone) and _allowed(loops, day)
    # Oracle: no minute strictly between shows the wanted wall time (first occurrence) on an allowed day.
    t = (after_ms // MINUTE + 1) * MINUTE
    while t < result:
        seen = datetime.fromtimestamp(t / 1000, zone)
        assert not (
            (seen.hour, seen.minute) == (hour, minute) and seen.fold == 0 and _allowed(loops, seen.date())
        ), f"earlier run at {seen.isoformat()}"
        t += MINUTE


@settings(max_examples=100, deadline=None)
@given(times, st.sampled_from(ZONES), instants, st.integers(-3, 3))
def test_one_shot_with_a_date_runs_on_that_day_or_never(hm, zone_id, now_ms, day_shift) -> None:
    hour, minute = hm
    zone = ZoneInfo(zone_id)
    day = datetime.fromtimestamp(now_ms / 1000, zone).date() + timedelta(days=day_shift)
    date = day.strftime("%Y%m%d")
    result = schedule.next_occurrence(f"{hour}:{minute}", "0000000", zone_id, now_ms, date)
    expected = int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).timestamp() * 1000)
    assert result == (expected if expected > now_ms else None)


@settings(max_examples=100, deadline=None)
@given(times, st.sampled_from(ZONES), instants)
def test_one_shot_without_a_date_is_the_next_time_the_clock_shows_it(hm, zone_id, now_ms) -> None:
    hour, minute = hm
    daily = schedule.next_occurrence(f"{hour:02d}:{minute:02d}", "1111111", zone_id, now_ms)
    assert schedule.next_occurrence(f"{hour:02d}:{minute:02d}", "", zone_id, now_ms) == daily


def test_dst_gap_shifts_forward_and_overlap_takes_the_first() -> None:
    ny = "America/New_York"
    spring = int(datetime(2021, 3, 14, 5, 0, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
    at = schedule.next_occurrence("02:30", "1111111", ny, spring)
    assert datetime.fromtimestamp(at / 1000, ZoneInfo(ny)).strftime("%H:%M") == "03:30"
    fall = int(datetime(2021, 11, 7, 4, 0, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
    first = schedule.next_occurrence("01:30", "1111111", ny, fall)
    assert first == int(datetime(2021, 11, 7, 5, 30, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
    # Just after the first 01:30, the repeat an hour later is not a second run: the next is on the 8th.
    second = schedule.next_occurrence("01:30", "1111111", ny, first)
    assert second == int(datetime(2021, 11, 8, 6, 30, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)


def test_fixed_offset_fallback_and_weekday_order() -> None:
    now = int(datetime(2026, 11, 26, 0, 0, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)  # a Thursday
    # "0100000" is Monday only: Monday 2026-11-30 07:05 at +08:00 is Sunday 23:05 UTC.
    at = schedule.next_occurrence("7:5", "0100000", None, now, time_zone="+08:00")
    assert at == int(datetime(2026, 11, 29, 23, 5, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
    assert schedule.next_occurrence("7:5", "0100000", "Asia/Shanghai", now) == at


@settings(max_examples=200, deadline=None)
@given(times, times, repeating_loops, st.sampled_from(ZONES), instants)
def test_in_window_matches_a_direct_reading(start, end, loops, zone_id, at_ms) -> None:
    zone = ZoneInfo(zone_id)
    local = datetime.fromtimestamp(at_ms / 1000, zone)
    now = local.hour * 60 + local.minute
    s, e = start[0] * 60 + start[1], end[0] * 60 + end[1]
    if s <= e:
        expected = s <= now <= e and _allowed(loops, local.date())
    else:  # crosses midnight: the evening part is today's window, the morning part yesterday's
        expected = (now >= s and _allowed(loops, local.date())) or (
            now <= e and _allowed(loops, local.date() - timedelta(days=1))
        )
    got = schedule.in_window(f"{start[0]}:{start[1]}", f"{end[0]:02d}:{end[1]:02d}", loops, zone_id, at_ms)
    assert got == expected


def test_window_crossing_midnight_belongs_to_its_start_day() -> None:
    saturday_3am = int(datetime(2026, 11, 28, 3, 0, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
    friday_only = "0000010"
    assert schedule.in_window("22:00", "06:00", friday_only, "UTC", saturday_3am)
    assert not schedule.in_window("22:00", "06:00", "0000001", "UTC", saturday_3am)
    assert schedule.in_window("00:00", "23:59", "0000000", "UTC", saturday_3am)


@pytest.mark.parametrize("bad", ["24:00", "12:60", "1200", "", "ab:cd", "1:2:3", None, 12])
def test_bad_times_are_refused(bad) -> None:
    with pytest.raises(ParamIllegal):
        schedule.parse_time(bad)


@pytest.mark.parametrize("bad", ["111111", "11111111", "1111112", "abcdefg", 1111111])
def test_bad_loops_are_refused(bad) -> None:
    with pytest.raises(ParamIllegal):
        schedule.parse_loops(bad)


@pytest.mark.parametrize("bad", ["Mars/Olympus", "../../etc/passwd", "Asia/", "x" * 100])
def test_unknown_zones_are_refused(bad) -> None:
    with pytest.raises(ParamIllegal):
        schedule.resolve_zone(bad)


@pytest.mark.parametrize("bad", ["+25:00", "08:00", "+8:75", "east"])
def test_bad_offsets_are_refused(bad) -> None:
    with pytest.raises(ParamIllegal):
        schedule.resolve_zone(None, bad)


def test_a_zone_is_required() -> None:
    with pytest.raises(ParamIllegal):
        schedule.resolve_zone(None, None)


@pytest.mark.parametrize("bad", ["20260230", "2026-11-26", "2026112", "abcdefgh", "20261301", 20261126])
def test_bad_dates_are_2202(bad) -> None:
    with pytest.raises(TimerDateInvalid):
        schedule.parse_date(bad)


@given(st.text(max_size=12), st.text(max_size=9), st.text(max_size=40), st.text(max_size=10))
def test_any_input_is_a_result_or_a_typed_error(time_hhmm, loops, zone, date) -> None:
    with contextlib.suppress(ParamIllegal, TimerDateInvalid):
        schedule.next_occurrence(time_hhmm, loops, zone, START_2000, date)
