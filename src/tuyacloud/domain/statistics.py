"""A project's statistics over a period of days: API calls and failures per day and per API, messages sent and
acknowledged, devices and online devices.

Everything is derived from data the cloud already keeps (the usage counters, the message log, subscription marks
and acks, the devices), so the numbers match what the OpenAPI and the message service did, and there is nothing
extra to keep consistent. What that cannot tell is said with the numbers (``notes``): acknowledgements are
grouped by the day the message was sent (the log has no acknowledgement time), the message log keeps only the
retention period, and device history is the creation day of the devices that still exist.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tuyacloud.domain import apps
from tuyacloud.domain.context import Context
from tuyacloud.domain.usage import day_of
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
    try:
        days = int(raw or DEFAULT_DAYS)
    except ValueError:
        return DEFAULT_DAYS
    return min(max(days, 1), MAX_DAYS)


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

    owners = await apps.device_owners(ctx, project)
    total, online = await store.device_counts(owners, project.region)
    running = await store.devices_created_before(owners, project.region, start_ms)
    added = dict(await store.devices_created_per_day(owners, project.region, start_ms, end_ms))
    for index in sorted(by_index):
        by_index[index].devices_added = added.get(index, 0)
        running += by_index[index].devices_added
        by_index[index].devices_total = running

    notes = [
        "Days are UTC. Calls are counted when the server answers, including the API Explorer's; the counters "
        "reach the store about once a second.",
        "Acknowledged messages are counted on the day the message was sent: the message log keeps no time of "
        "acknowledgement.",
        "Devices per day count the devices that exist now by the day they were created; deleted devices and past "
        "online states are not kept, so online devices are shown for now only.",
    ]
    if retention_s:
        notes.append(f"Messages are kept {retention_s // 86_400} days (acknowledged or not); earlier days show "
                     "only what is left.")
    if not labels:
        notes.append("No consumer has subscribed to the project's topics yet, so nothing was acknowledged.")
    ranked = sorted(apis.values(), key=lambda a: (-a.calls, a.api))
    return ProjectStatistics(project.access_id, [by_index[i] for i in sorted(by_index)], ranked, labels, total,
                             online, notes)
