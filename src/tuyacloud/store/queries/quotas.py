"""Quota queries (opt-in trial limits, domain/projects/quotas.py): each project's quota settings and its
counted calls and messages per quota month.

Mixed into ``Queries``; portable ``?`` SQL. A project without a settings row follows the server's default plan. The
counts are added in batches (the in-memory counters' flush), never one write per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tuyacloud.models import QuotaSettings
from tuyacloud.store.queries.primitives import Primitives
from tuyacloud.store.rows import Row

_COLS = "access_id, plan, monthly_calls, monthly_messages, devices, month_offset, updated_ms"


def _opt(value: Any) -> int | None:
    return None if value is None else int(value)


def _settings(r: Row) -> QuotaSettings:
    return QuotaSettings(r[0], r[1], _opt(r[2]), _opt(r[3]), _opt(r[4]), int(r[5]), int(r[6]))


class QuotaQueries(Primitives):
    async def quota_settings(self) -> list[QuotaSettings]:
        """Every project's own quota settings (a small table: one row per project that has any)."""
        return [_settings(r) for r in await self.fetch(f"SELECT {_COLS} FROM quota_settings ORDER BY access_id")]

    async def quota_settings_of(self, access_id: str) -> QuotaSettings | None:
        rows = await self.fetch(f"SELECT {_COLS} FROM quota_settings WHERE access_id = ?", (access_id,))
        return _settings(rows[0]) if rows else None

    async def put_quota_settings(self, s: QuotaSettings) -> None:
        await self.execute(
            f"INSERT INTO quota_settings ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (access_id) DO UPDATE SET "
            "plan = excluded.plan, monthly_calls = excluded.monthly_calls, "
            "monthly_messages = excluded.monthly_messages, devices = excluded.devices, "
            "month_offset = excluded.month_offset, updated_ms = excluded.updated_ms",
            (s.access_id, s.plan, s.monthly_calls, s.monthly_messages, s.devices, s.month_offset, s.updated_ms),
        )

    async def add_quota_usage(self, access_id: str, period: str, calls: int, messages: int) -> None:
        await self.execute(
            "INSERT INTO quota_usage (access_id, period, calls, messages) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (access_id, period) DO UPDATE SET calls = quota_usage.calls + excluded.calls, "
            "messages = quota_usage.messages + excluded.messages",
            (access_id, period, calls, messages),
        )

    async def quota_usage(self, access_ids: Sequence[str] | None) -> list[tuple[str, str, int, int]]:
        """(access_id, period, calls, messages) of these projects (None: of every project), every period kept."""
        if access_ids is None:
            rows = await self.fetch("SELECT access_id, period, calls, messages FROM quota_usage")
        elif not access_ids:
            return []
        else:
            marks = ", ".join("?" for _ in access_ids)
            rows = await self.fetch(
                f"SELECT access_id, period, calls, messages FROM quota_usage WHERE access_id IN ({marks})",
                tuple(access_ids),
            )
        return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    async def clear_quota_usage(self, access_id: str, period: str) -> None:
        await self.execute("DELETE FROM quota_usage WHERE access_id = ? AND period = ?", (access_id, period))
