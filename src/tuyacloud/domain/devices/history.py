"""Device history: the operation log (online, offline, commands, reports) and the status report log."""

from __future__ import annotations

from collections.abc import Sequence

from tuyacloud.domain.context import Context
from tuyacloud.domain.devices.devices import get_owned
from tuyacloud.errors import ParamIllegal
from tuyacloud.models import DeviceLog, Project

EVENT_TYPES = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
REPORT = 7


def parse_event_types(raw: str) -> list[int]:
    try:
        types = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError as exc:
        raise ParamIllegal("type must be a comma-separated list of event types 1-10") from exc
    if not types or any(t not in EVENT_TYPES for t in types):
        raise ParamIllegal("type must be a comma-separated list of event types 1-10")
    return types


def parse_cursor(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise ParamIllegal("row key is not one this server issued") from exc
    if not 0 <= value < 2**63:  # row ids are 64-bit; a larger number would overflow the store's integers
        raise ParamIllegal("row key is not one this server issued")
    return value


async def page(
    ctx: Context,
    project: Project,
    device_id: str,
    event_ids: Sequence[int],
    start_ms: int | None,
    end_ms: int | None,
    size: int,
    codes: Sequence[str] = (),
    cursor: str | None = None,
) -> tuple[list[DeviceLog], bool]:
    """Newest first; the cursor is the row key of the last entry of the previous page."""
    device = await get_owned(ctx, project, device_id)
    now = ctx.clock.now_ms()
    start = start_ms if start_ms is not None else now - 7 * 86_400_000
    end = end_ms if end_ms is not None else now
    if start > end:
        raise ParamIllegal("start_time is after end_time")
    rows = await ctx.store.page_device_logs(device.id, event_ids, start, end, codes, parse_cursor(cursor), size + 1)
    return rows[:size], len(rows) > size
