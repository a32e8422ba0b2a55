"""API usage counters per project, API and day, for the console's statistics.

Counting happens in memory on the request path (a dict increment) and is flushed to the store in one unit of
work every ``usage_flush_s``: a durable write per request would cost more than the request itself. A crash can
lose at most the last interval's counts, which statistics tolerate.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import defaultdict
from dataclasses import dataclass

from tuyacloud.domain.context import Context
from tuyacloud.store.base import Tx


@functools.lru_cache(maxsize=64)
def _day_of_index(day_index: int) -> str:
    return time.strftime("%Y%m%d", time.gmtime(day_index * 86_400))


def day_of(ms: int) -> str:
    """The UTC day of an instant (computed once per day, not per request)."""
    return _day_of_index(ms // 86_400_000)


@dataclass
class UsageRow:
    day: str
    api: str
    calls: int
    failures: int


class UsageCounter:
    def __init__(self) -> None:
        self._pending: defaultdict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        # One flush at a time: a flush that finds nothing pending while another is still writing what it took
        # must not return before that write is committed (the statistics page flushes, then reads; it read the
        # store while the periodic flush was writing the counts, and missed them).
        self._flushing = asyncio.Lock()
        self._day, self._day_start, self._day_end = "", 0, 0  # the UTC day counted last, and its bounds

    def count(self, access_id: str, api: str, now_ms: int, failed: bool) -> None:
        if not self._day_start <= now_ms < self._day_end:  # once a day (or when the clock is moved back)
            index = now_ms // 86_400_000
            self._day, self._day_start, self._day_end = _day_of_index(index), index * 86_400_000, \
                (index + 1) * 86_400_000
        cell = self._pending[(access_id, self._day, api)]
        cell[0] += 1
        if failed:
            cell[1] += 1

    async def flush(self, ctx: Context) -> int:
        async with self._flushing:
            return await self._flush(ctx)

    async def _flush(self, ctx: Context) -> int:
        if ctx.quotas is not None:
            await ctx.quotas.flush(ctx)  # the quota counters (domain/projects/quotas.py) are written with these
        if not self._pending:
            return 0
        pending, self._pending = self._pending, defaultdict(lambda: [0, 0])

        async def work(tx: Tx) -> None:
            for (access_id, day, api), (calls, failures) in pending.items():
                await tx.add_usage(access_id, day, api, calls, failures)

        try:
            await ctx.store.transaction(work)
        except BaseException:  # the store is unavailable: keep the counts for the next flush
            for key, (calls, failures) in pending.items():
                counts = self._pending[key]
                counts[0] += calls
                counts[1] += failures
            raise
        return len(pending)


async def report(ctx: Context, access_id: str, first_day: str, last_day: str) -> list[UsageRow]:
    rows = await ctx.store.usage_rows(access_id, first_day, last_day)
    return [UsageRow(*r) for r in rows]
