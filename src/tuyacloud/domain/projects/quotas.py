"""Quotas and limits, opt-in: the trial edition's monthly call and message quotas, its device cap and the per-API
frequency limits, answered as the platform answers them, so a client's back-off code can be tested.

Off unless the server runs with ``--quotas trial`` or a project is given a plan (control API, CLI). Why the shape:

- The hot path is one dict look-up when quotas are off, and a few integer operations when on: every count is kept
  in memory (``QuotaBook``) and written to the store in batches by the usage flush (domain/projects/usage.py), like the
  usage statistics. A flush also reloads the settings and the month's persisted totals, so a restart keeps the
  month's count and several server processes on one database see each other's calls within a flush interval.
- A month's counts live under its period (``YYYYMM`` of the cloud clock, plus the project's ``month_offset``): a
  new month starts from zero by itself, and a test moves a project to its next month without moving the clock.
- Frequency limits count per project and API in one-second windows of the cloud clock (``ctx.clock``): a test
  that freezes the clock gets a deterministic burst, and stepping it by a second lets the next call through.
"""

from __future__ import annotations

import enum
import functools
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import owners
from tuyacloud.errors import DevicePoolInsufficient, FrequencyLimited, ParamIllegal, QuotaUsedUp
from tuyacloud.models import Project, QuotaSettings
from tuyacloud.store.base import Queries, Tx

log = logging.getLogger("tuyacloud.quotas")

PLANS = ("off", "trial")
UNLIMITED = 1 << 62

# The trial edition of IoT Core: 50 controllable devices; its monthly resource pack, priced at 0.2 USD at the
# published 3.71 USD per million calls, is 53,909 calls (the figure users see on the usage page when it runs out);
# messages: the pack's message figure as users report it.
TRIAL_MONTHLY_CALLS = 53_909
TRIAL_MONTHLY_MESSAGES = 140_000
TRIAL_DEVICES = 50

# Calls per second per project, from Tuya's "Limits on API Request Frequency" page (APIs it does not list have no
# published limit and are not limited here). Keys are route keys; routes this server does not serve never match.
FREQUENCY_PER_S: dict[str, int] = {
    # device control (thing model and shadow)
    "GET /v2.0/cloud/thing/{device_id}/model": 10,
    "POST /v2.0/cloud/thing/{device_id}/shadow/actions": 4,
    "POST /v2.0/cloud/thing/{device_id}/shadow/properties/issue": 4,
    "GET /v2.0/cloud/thing/{device_id}/shadow/properties": 50,
    "POST /v2.0/cloud/thing/{device_id}/shadow/properties/desired": 4,
    "GET /v2.0/cloud/thing/{device_id}/shadow/properties/desired": 10,
    "POST /v2.0/cloud/thing/{device_id}/shadow/properties": 4,
    # spaces
    "POST /v2.0/cloud/space/creation": 10,
    "DELETE /v2.0/cloud/space/{space_id}": 10,
    "GET /v2.0/cloud/space/{space_id}": 20,
    "GET /v2.0/cloud/space/child": 20,
    "GET /v2.0/cloud/space/{space_id}/resource": 20,
    "PUT /v2.0/cloud/space/{space_id}": 10,
    "GET /v2.0/cloud/space/relation": 20,
    # device groups
    "POST /v2.0/cloud/thing/group": 2,
    "DELETE /v2.0/cloud/thing/group/{group_id}": 2,
    "GET /v2.0/cloud/thing/group/{group_id}": 4,
    "PUT /v2.0/cloud/thing/group/{group_id}/{name}": 4,
    "GET /v2.0/cloud/thing/group": 4,
    "PUT /v2.0/cloud/thing/group/{group_id}/devices": 4,
    "DELETE /v2.0/cloud/thing/group/{group_id}/devices": 2,
    "GET /v2.0/cloud/thing/group/device/{device_id}": 4,
}


@dataclass(frozen=True)
class Limits:
    """A project's effective limits (its plan's figures, or its own where it set them)."""

    plan: str
    monthly_calls: int
    monthly_messages: int
    devices: int


def trial_limits(monthly_calls: int | None = None) -> Limits:
    return Limits("trial", monthly_calls if monthly_calls is not None else TRIAL_MONTHLY_CALLS,
                  TRIAL_MONTHLY_MESSAGES, TRIAL_DEVICES)


def effective(settings: QuotaSettings | None, default: Limits | None) -> Limits | None:
    """The limits a project lives under: none when off; its own figures over its plan's (or the server's)."""
    plan = settings.plan if settings is not None and settings.plan else (default.plan if default else "off")
    if plan == "off":
        return None
    base = default if default is not None else trial_limits()
    if settings is None:
        return base
    return Limits(plan,
                  settings.monthly_calls if settings.monthly_calls is not None else base.monthly_calls,
                  settings.monthly_messages if settings.monthly_messages is not None else base.monthly_messages,
                  settings.devices if settings.devices is not None else base.devices)


@functools.lru_cache(maxsize=256)
def period_of_day(day_index: int, offset: int) -> str:
    """The quota month (``YYYYMM``) of a UTC day, moved by ``offset`` months."""
    tm = time.gmtime(day_index * 86_400)
    months = tm.tm_year * 12 + tm.tm_mon - 1 + offset
    return f"{months // 12:04d}{months % 12 + 1:02d}"


def period_of(ms: int, offset: int = 0) -> str:
    return period_of_day(ms // 86_400_000, offset)


class _Month:
    """One project's counts in its current quota month: ``calls``/``messages`` are the month's totals as this
    process knows them (persisted plus not yet flushed); ``pending_*`` the part not yet flushed."""

    __slots__ = ("period", "calls", "messages", "pending_calls", "pending_messages")

    def __init__(self, period: str, calls: int = 0, messages: int = 0) -> None:
        self.period = period
        self.calls = calls
        self.messages = messages
        self.pending_calls = 0
        self.pending_messages = 0


class QuotaBook:
    """The in-memory side of quotas for one server process (``ctx.quotas`` while the app runs)."""

    def __init__(self, default_plan: str = "off", monthly_calls: int | None = None) -> None:
        if default_plan not in PLANS:
            raise ValueError(f"unknown quota plan {default_plan!r}; known: {', '.join(PLANS)}")
        self.default: Limits | None = trial_limits(monthly_calls) if default_plan == "trial" else None
        self._settings: dict[str, QuotaSettings] = {}
        # Effective limits of projects with settings of their own; every other project has ``self.default``.
        self._limits: dict[str, Limits | None] = {}
        self._months: dict[str, _Month] = {}
        self._windows: dict[tuple[str, str], list[int]] = {}  # (project, api) -> [second, calls in it]
        self._unflushed: list[tuple[str, str, int, int]] = []  # counts of months left before their flush
        # Refusals since this process started, per project: (monthly quota, frequency limit, device cap).
        self.refused: dict[str, list[int]] = {}

    async def device_cap(self, ctx: Context, project: Project, app_owner: str = "") -> DeviceCap | None:
        """The device cap, reached through ``ctx.quotas`` by device creation (domain/devices sits below this
        package, so it calls the book it is handed rather than importing it); None when the project has none."""
        return await device_cap(ctx, project, app_owner)

    # --- the hot path ---------------------------------------------------------------------------------------
    def admit(self, access_id: str, api: str, now_ms: int) -> None:
        """Count one call of ``api`` by a project, or refuse it (28841004, 1110). Refused calls are not counted."""
        limits = self._limits.get(access_id, self.default)
        if limits is None:
            return
        month = self._month(access_id, now_ms)
        if month.calls >= limits.monthly_calls or month.messages >= limits.monthly_messages:
            self._refused(access_id, 0)
            raise QuotaUsedUp(self._used_up(limits, month))
        rate = FREQUENCY_PER_S.get(api)
        if rate is not None:
            second = now_ms // 1000
            key = (access_id, api)
            window = self._windows.get(key)
            if window is None or window[0] != second:
                self._windows[key] = [second, 1]
            elif window[1] >= rate:
                self._refused(access_id, 1)
                raise FrequencyLimited(f"{api} allows {rate} calls per second per project")
            else:
                window[1] += 1
        month.calls += 1
        month.pending_calls += 1

    def message_sent(self, access_id: str, now_ms: int) -> None:
        """Count a message the message service delivered to a subscription (first deliveries only)."""
        if self._limits.get(access_id, self.default) is None:
            return
        month = self._month(access_id, now_ms)
        month.messages += 1
        month.pending_messages += 1

    def messages_left(self, access_id: str, now_ms: int) -> int:
        """New messages the message service may still deliver to the project this month: none while its service
        is suspended (a monthly quota used up), so they wait in its subscription until a reset or the next month."""
        limits = self._limits.get(access_id, self.default)
        if limits is None:
            return UNLIMITED
        month = self._month(access_id, now_ms)
        if month.calls >= limits.monthly_calls:
            return 0
        return max(0, limits.monthly_messages - month.messages)

    def limits_of(self, access_id: str) -> Limits | None:
        return self._limits.get(access_id, self.default)

    def offset_of(self, access_id: str) -> int:
        settings = self._settings.get(access_id)
        return settings.month_offset if settings is not None else 0

    def _month(self, access_id: str, now_ms: int) -> _Month:
        settings = self._settings.get(access_id)
        period = period_of(now_ms, settings.month_offset if settings is not None else 0)
        month = self._months.get(access_id)
        if month is None or month.period != period:
            if month is not None and (month.pending_calls or month.pending_messages):
                self._unflushed.append((access_id, month.period, month.pending_calls, month.pending_messages))
            month = self._months[access_id] = _Month(period)
        return month

    def _refused(self, access_id: str, kind: int) -> None:
        counts = self.refused.get(access_id)
        if counts is None:
            counts = self.refused[access_id] = [0, 0, 0]
        counts[kind] += 1

    @staticmethod
    def _used_up(limits: Limits, month: _Month) -> str:
        if month.calls >= limits.monthly_calls:
            return (f"the project's {limits.monthly_calls} API calls of quota month {month.period} are used up; "
                    "calls are refused until the next month or until the quota is reset")
        return (f"the project's {limits.monthly_messages} messages of quota month {month.period} are used up; "
                "the service is suspended until the next month or until the quota is reset")

    # --- flush and reload (with the usage flush) -----------------------------------------------------------
    def _take_pending(self) -> list[tuple[str, str, int, int]]:
        batch, self._unflushed = self._unflushed, []
        for access_id, month in self._months.items():
            if month.pending_calls or month.pending_messages:
                batch.append((access_id, month.period, month.pending_calls, month.pending_messages))
                month.pending_calls = month.pending_messages = 0
        return batch

    def _restore(self, batch: list[tuple[str, str, int, int]]) -> None:
        """A failed flush: its counts go back to pending (the totals in memory never lost them)."""
        for access_id, period, calls, messages in batch:
            month = self._months.get(access_id)
            if month is not None and month.period == period:
                month.pending_calls += calls
                month.pending_messages += messages
            else:
                self._unflushed.append((access_id, period, calls, messages))

    async def flush(self, ctx: Context) -> None:
        """Write the counts not yet written, then reload settings and this month's totals from the store."""
        batch = self._take_pending()
        if batch:
            async def work(tx: Tx) -> None:
                for access_id, period, calls, messages in batch:
                    await tx.add_quota_usage(access_id, period, calls, messages)

            try:
                await ctx.store.transaction(work)
            except BaseException:
                self._restore(batch)
                raise
        await self.reload(ctx)

    async def reload(self, ctx: Context, everything: bool = False) -> None:
        """The settings of every project, and the persisted month totals of the projects counted here (with
        ``everything``, at start: of every project that has any, so a restart goes on from the month's count)."""
        self.apply_all(await ctx.store.quota_settings())
        now = ctx.clock.now_ms()
        if everything:
            rows = await ctx.store.quota_usage(None)
            for access_id in {r[0] for r in rows}:
                self._month(access_id, now)
        if not self._months:
            return
        for access_id in list(self._months):
            self._month(access_id, now)  # a project moved to another month by a reload starts that month
        if not everything:
            rows = await ctx.store.quota_usage(list(self._months))
        totals = {(a, p): (c, m) for a, p, c, m in rows}
        for access_id, month in self._months.items():
            calls, messages = totals.get((access_id, month.period), (0, 0))
            month.calls = calls + month.pending_calls
            month.messages = messages + month.pending_messages

    def apply_all(self, rows: list[QuotaSettings]) -> None:
        self._settings = {s.access_id: s for s in rows}
        self._limits = {s.access_id: effective(s, self.default) for s in rows}

    def apply(self, settings: QuotaSettings) -> None:
        self._settings[settings.access_id] = settings
        self._limits[settings.access_id] = effective(settings, self.default)

    def forget_month(self, access_id: str) -> None:
        """After a reset: the month starts again from zero here (other processes reload it at their flush)."""
        self._months.pop(access_id, None)
        self._unflushed = [u for u in self._unflushed if u[0] != access_id]
        for key in [k for k in self._windows if k[0] == access_id]:
            del self._windows[key]

    def month_counts(self, access_id: str, now_ms: int) -> tuple[str, int, int]:
        month = self._month(access_id, now_ms)
        return month.period, month.calls, month.messages


# --- operations (control API, CLI, console) -------------------------------------------------------------------
def _book(ctx: Context) -> QuotaBook | None:
    return ctx.quotas if isinstance(ctx.quotas, QuotaBook) else None


def _wake_messages(ctx: Context, access_id: str) -> None:
    """Held messages may flow again: wake the project's consumers now rather than at their next round."""
    for listener in ctx.store.message_listeners:
        listener(access_id)


@dataclass(frozen=True)
class DeviceCap:
    """A project's device cap and whose devices count against it: its own and its linked apps' users', as on the
    platform's device pool. Device creation checks it twice: before creating anything (the early answer, so a
    request over the cap creates none), and again inside each unit of work that inserts devices, with the pool
    locked, so two creations that both saw room cannot both insert."""

    book: QuotaBook
    project: Project
    owners: tuple[str, ...]
    limit: int

    async def check(self, reader: Queries, adding: int) -> None:
        """Refuse (60001001) when ``adding`` devices would take the pool over the cap, as ``reader`` sees it."""
        existing = await reader.count_devices(self.owners, self.project.region)
        if existing + adding > self.limit:
            self.book._refused(self.project.access_id, 2)
            raise DevicePoolInsufficient(
                f"the project has {existing} of its {self.limit} devices; adding {adding} would exceed the cap")

    async def check_locked(self, tx: Tx, adding: int) -> None:
        """The check in the unit of work that inserts: the pool is locked first, so the count cannot go stale."""
        await tx.lock_device_pool(self.owners)
        await self.check(tx, adding)


async def device_cap(ctx: Context, project: Project, app_owner: str = "") -> DeviceCap | None:
    """The project's device cap, or None when it has none (quotas off)."""
    book = _book(ctx)
    limits = book.limits_of(project.access_id) if book is not None else None
    if limits is None or book is None:
        return None
    mine = await owners.device_owners(ctx, project)  # its own devices and its linked apps' users'
    pool = [mine] if isinstance(mine, str) else list(mine)
    if app_owner and app_owner not in pool:
        pool.append(app_owner)
    return DeviceCap(book, project, tuple(pool), limits.devices)


async def status(ctx: Context, project: Project) -> dict[str, Any]:
    """What the control API, the CLI and the console show: the plan, the month's use against each limit."""
    book = _book(ctx)
    now = ctx.clock.now_ms()
    own = await ctx.store.quota_settings_of(project.access_id)
    if book is not None:
        book.month_counts(project.access_id, now)  # known here from now on, so the flush loads its month's total
        await book.flush(ctx)
        limits = book.limits_of(project.access_id)
        period, calls, messages = book.month_counts(project.access_id, now)
        refused = book.refused.get(project.access_id, [0, 0, 0])
        default_plan: str | None = book.default.plan if book.default else "off"
    else:  # the CLI, without a running server: what the store holds (the server's --quotas is not known here)
        default_plan = None
        limits = effective(own, None)
        period = period_of(now, own.month_offset if own else 0)
        totals = {p: (c, m) for _, p, c, m in await ctx.store.quota_usage([project.access_id])}
        calls, messages = totals.get(period, (0, 0))
        refused = [0, 0, 0]
    devices = await ctx.store.count_devices(await owners.device_owners(ctx, project), project.region)

    def use(used: int, limit: int | None) -> dict[str, Any]:
        return {"used": used, "limit": limit, "remaining": None if limit is None else max(0, limit - used)}

    return {
        "access_id": project.access_id,
        "enabled": limits is not None,
        "plan": limits.plan if limits else "off",
        "project_plan": own.plan if own and own.plan else None,  # None: the server's default
        "server_plan": default_plan,
        "period": f"{period[:4]}-{period[4:]}",
        "month_offset": own.month_offset if own else 0,
        "calls": use(calls, limits.monthly_calls if limits else None),
        "messages": use(messages, limits.monthly_messages if limits else None),
        "devices": use(devices, limits.devices if limits else None),
        "suspended": bool(limits and (calls >= limits.monthly_calls or messages >= limits.monthly_messages)),
        "refused": {"quota": refused[0], "frequency": refused[1], "devices": refused[2]},
        "frequency_limits": dict(FREQUENCY_PER_S) if limits else {},
    }


class Unset(enum.Enum):
    """The value of a setting left out of a change (``None`` means "the plan's figure", so it cannot say that)."""

    UNSET = "unset"


UNSET = Unset.UNSET
Plan = str | None | Unset
Figure = int | None | Unset
FIGURES = ("monthly_calls", "monthly_messages", "devices")


def figure_rule(name: str) -> str:
    """What a figure must be: said by the domain when one is negative and by the faces when one is not an integer."""
    return f"{name} must be an integer >= 0 (or null: the plan's figure)"


def month_rule() -> str:
    return f"months must be an integer between -{MAX_MONTH_MOVE} and {MAX_MONTH_MOVE}"


def _limit(name: str, value: int | None) -> int | None:
    if value is not None and value < 0:
        raise ParamIllegal(figure_rule(name))
    return value


async def configure(ctx: Context, project: Project, *, plan: Plan = UNSET, monthly_calls: Figure = UNSET,
                    monthly_messages: Figure = UNSET, devices: Figure = UNSET) -> QuotaSettings:
    """Set a project's own plan (``trial``, ``off``, or ``default``/None: the server's) and figures (None: the
    plan's). What is not given (``UNSET``) stays as it was."""
    current = await ctx.store.quota_settings_of(project.access_id) or QuotaSettings(project.access_id)
    changes: dict[str, Any] = {"updated_ms": ctx.clock.now_ms()}
    if plan is not UNSET:
        if plan not in (*PLANS, "default", None):
            raise ParamIllegal(f"plan must be one of {', '.join(PLANS)} or default")
        changes["plan"] = None if plan in ("default", None) else plan
    for name, value in (("monthly_calls", monthly_calls), ("monthly_messages", monthly_messages),
                        ("devices", devices)):
        if value is not UNSET:
            changes[name] = _limit(name, value)
    settings = replace(current, **changes)
    await _save(ctx, settings)
    return settings


async def _save(ctx: Context, settings: QuotaSettings) -> None:
    async def work(tx: Tx) -> None:
        await tx.put_quota_settings(settings)

    await ctx.store.transaction(work)
    book = _book(ctx)
    if book is not None:
        book.apply(settings)
    _wake_messages(ctx, settings.access_id)


async def reset(ctx: Context, project: Project) -> None:
    """The project's current quota month starts again from zero calls and messages; frequency windows too."""
    book = _book(ctx)
    if book is not None:
        await book.flush(ctx)  # what is pending belongs to the month being reset
    own = await ctx.store.quota_settings_of(project.access_id)
    period = period_of(ctx.clock.now_ms(), own.month_offset if own else 0)

    async def work(tx: Tx) -> None:
        await tx.clear_quota_usage(project.access_id, period)

    await ctx.store.transaction(work)
    if book is not None:
        book.forget_month(project.access_id)
    _wake_messages(ctx, project.access_id)


MAX_MONTH_MOVE = 1200


async def move_month(ctx: Context, project: Project, months: int = 1) -> QuotaSettings:
    """Move the project's quota month by ``months`` (1: the next month, with fresh counts), without moving the
    cloud's clock."""
    if abs(months) > MAX_MONTH_MOVE:
        raise ParamIllegal(month_rule())
    book = _book(ctx)
    if book is not None:
        await book.flush(ctx)
    current = await ctx.store.quota_settings_of(project.access_id) or QuotaSettings(project.access_id)
    settings = replace(current, month_offset=current.month_offset + months, updated_ms=ctx.clock.now_ms())
    await _save(ctx, settings)
    return settings
