"""A project's statistics over a period of days: API calls and failures per day and per API, messages sent and
acknowledged, devices and online devices.

Everything is derived from data the cloud already keeps (the usage counters, the message log, subscription marks
and acks, the devices), so the numbers match what the OpenAPI and the message service did, and there is nothing
extra to keep consistent. What that cannot tell is said with the numbers (``notes``): acknowledgements are
grouped by the day the message was sent (the log has no acknowledgement time), the message log keeps only the
retention period, and device history is that of the devices that still exist (created when, online when).
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import owners
from tuyacloud.domain.projects.usage import day_of
from tuyacloud.limits import parse_int
from tuyacloud.models import Project

DAY_MS = 86_400_000
DEFAULT_DAYS = 7
MAX_DAYS = 90
PERIODS = (1, 7, 14, 30, 90)


@dataclass
class DayStats:
    day: str  # YYYY-MM-DD (UTC)
    calls: int = 0
    failures: int = 0
    messages: int = 0
    acknowledged: dict[str, int] = field(default_factory=dict)  # subscription label -> count
    devices_added: int = 0
    devices_total: int = 0  # devices (that still exist) created up to the end of this day
    devices_online: int = 0  # of those, the ones online at some moment of this day (from their online log)

    @property
    def label(self) -> str:
        return self.day[5:]  # MM-DD, for chart axes


@dataclass
class ApiStats:
    api: str  # "GET /v1.0/devices/{device_id}"
    calls: int = 0
    failures: int = 0

    @property
    def failure_rate(self) -> float:
        return self.failures / self.calls if self.calls else 0.0


@dataclass
class ProjectStatistics:
    access_id: str
    days: list[DayStats]
    apis: list[ApiStats]  # most called first
    subscriptions: list[str]  # labels of the subscriptions with acknowledgement counts, "env / name"
    devices: int
    online: int
    notes: list[str]

    @property
    def first_day(self) -> str:
        return self.days[0].day

    @property
    def last_day(self) -> str:
        return self.days[-1].day

    @property
    def calls(self) -> int:
        return sum(d.calls for d in self.days)

    @property
    def failures(self) -> int:
        return sum(d.failures for d in self.days)

    @property
    def messages(self) -> int:
        return sum(d.messages for d in self.days)

    def acknowledged(self, subscription: str) -> int:
        return sum(d.acknowledged.get(subscription, 0) for d in self.days)


def parse_days(raw: str | None) -> int:
    """The period a person asked for, in days: a number from 1 to ``MAX_DAYS``; anything else is the default."""
    days = parse_int(raw) if raw else DEFAULT_DAYS
    if days is None:
        return DEFAULT_DAYS
    return min(max(days, 1), MAX_DAYS)


ONLINE_EVENT = 1  # device log event ids: 1 online, 2 offline


def online_per_day(devices: Sequence[tuple[str, int, bool]], events: Sequence[tuple[str, int, int]],
                   first: int, last: int) -> dict[int, int]:
    """For each UTC day index in ``[first, last]``: how many of ``devices`` (id, created_ms, online now) were
    online at some moment of that day, from their online/offline ``events`` (device_id, time, 1|2, oldest first).

    A device's state before its first event is the opposite of that event (it went offline, so it was online);
    a device without events has been as it is now since it was created. Those are most devices, so they are
    counted with one running sum; only devices that changed state are walked day by day."""
    timeline: dict[str, tuple[list[int], list[int]]] = {}
    for device_id, at, event in events:
        times, kinds = timeline.setdefault(device_id, ([], []))
        times.append(at)
        kinds.append(event)
    counts = dict.fromkeys(range(first, last + 1), 0)
    starts = dict.fromkeys(range(first, last + 1), 0)
    for device_id, created_ms, online_now in devices:
        created_day = max(created_ms // DAY_MS, first)
        if created_day > last:
            continue
        if device_id not in timeline:
            if online_now:
                starts[created_day] += 1
            continue
        times, kinds = timeline[device_id]
        before_first = kinds[0] != ONLINE_EVENT
        for day in range(created_day, last + 1):
            begin, end = max(day * DAY_MS, created_ms), (day + 1) * DAY_MS
            at_begin = bisect_right(times, begin)
            state = kinds[at_begin - 1] == ONLINE_EVENT if at_begin else before_first
            comes_online = any(kind == ONLINE_EVENT for kind in kinds[at_begin:bisect_right(times, end - 1)])
            counts[day] += state or comes_online
    running = 0
    for day in range(first, last + 1):
        running += starts[day]
        counts[day] += running
    return counts


def _iso(day_index: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day_index * 86_400))


async def project_statistics(ctx: Context, project: Project, days: int = DEFAULT_DAYS,
                             retention_s: int | None = None) -> ProjectStatistics:
    """The ``days`` UTC days ending today (the clock's today), oldest first."""
    days = min(max(days, 1), MAX_DAYS)
    store = ctx.store
    today = ctx.clock.now_ms() // DAY_MS
    first = today - days + 1
    start_ms, end_ms = first * DAY_MS, (today + 1) * DAY_MS
    by_index = {i: DayStats(_iso(i)) for i in range(first, today + 1)}
    by_compact = {day_of(i * DAY_MS): by_index[i] for i in by_index}

    apis: dict[str, ApiStats] = {}
    for day, api, calls, failures in await store.usage_rows(project.access_id, day_of(start_ms),
                                                            day_of(end_ms - 1)):
        row = by_compact.get(day)
        if row is not None:
            row.calls += calls
            row.failures += failures
        stats = apis.setdefault(api, ApiStats(api))
        stats.calls += calls
        stats.failures += failures

    for index, count in await store.messages_per_day(project.access_id, start_ms, end_ms):
        if index in by_index:
            by_index[index].messages = count

    labels: list[str] = []
    for sub in await store.get_subscriptions(project.access_id):
        label = f"{sub.env} / {sub.name}"
        labels.append(label)
        for day_stats in by_index.values():
            day_stats.acknowledged[label] = 0
        for index, count in await store.acknowledged_per_day(project.access_id, sub.env, sub.name, sub.mark_seq,
                                                             start_ms, end_ms):
            if index in by_index:
                by_index[index].acknowledged[label] = count

    owner_ids = await owners.device_owners(ctx, project)
    total, online = await store.device_counts(owner_ids, project.region)
    running = await store.devices_created_before(owner_ids, project.region, start_ms)
    added = dict(await store.devices_created_per_day(owner_ids, project.region, start_ms, end_ms))
    devices, online_events = await store.device_online_history(owner_ids, project.region, end_ms)
    online_days = online_per_day(devices, online_events, first, today)
    for index in sorted(by_index):
        by_index[index].devices_added = added.get(index, 0)
        running += by_index[index].devices_added
        by_index[index].devices_total = running
        by_index[index].devices_online = online_days[index]

    notes = [
        "Days are UTC. Calls are counted when the server answers, including the API Explorer's; the counters "
        "reach the store about once a second.",
        "Acknowledged messages are counted on the day the message was sent: the message log keeps no time of "
        "acknowledgement.",
        "Devices per day count the devices that exist now by the day they were created (deleted devices are not "
        "kept); online devices per day are those online at some moment of the day, from their online/offline log.",
    ]
    if retention_s:
        notes.append(f"Messages are kept {retention_s // 86_400} days (acknowledged or not); earlier days show "
                     "only what is left.")
    if not labels:
        notes.append("No consumer has subscribed to the project's topics yet, so nothing was acknowledged.")
    ranked = sorted(apis.values(), key=lambda a: (-a.calls, a.api))
    return ProjectStatistics(project.access_id, [by_index[i] for i in sorted(by_index)], ranked, labels, total,
                             online, notes)
