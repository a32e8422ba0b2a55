"""Opt-in quotas (domain/projects/quotas.py) in process on a real store: the device cap refuses before anything is
created, a monthly call quota counts what it admits and survives a restart through the store, a quota month follows
the cloud clock (or the project's month offset), frequency limits count per cloud second, and a reset starts the
month again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices
from tuyacloud.domain.projects import quotas
from tuyacloud.errors import DevicePoolInsufficient, FrequencyLimited, QuotaUsedUp
from tuyacloud.models import Project

pytestmark = pytest.mark.anyio

API = "GET /v1.0/devices/{device_id}"  # no frequency limit of its own
LIMITED = "POST /v2.0/cloud/thing/{device_id}/shadow/actions"


def utc(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def book(ctx: Context) -> quotas.QuotaBook:
    """The book the app puts on its context (``serve`` without ``--quotas``: off unless a project has a plan)."""
    ctx.quotas = quotas.QuotaBook()
    return ctx.quotas


def admitted(book: quotas.QuotaBook, project: Project, api: str, now_ms: int, tries: int) -> int:
    """How many of ``tries`` calls the book admits (a refused call ends the burst)."""
    for n in range(tries):
        try:
            book.admit(project.access_id, api, now_ms)
        except (QuotaUsedUp, FrequencyLimited):
            return n
    return tries


async def test_quotas_are_off_unless_the_project_has_a_plan(ctx: Context, custom_project: Project,
                                                            book: quotas.QuotaBook) -> None:
    assert admitted(book, custom_project, LIMITED, ctx.clock.now_ms(), 500) == 500
    assert (await quotas.status(ctx, custom_project))["enabled"] is False


async def test_the_device_cap_refuses_before_anything_is_created(ctx: Context, custom_project: Project,
                                                                 book: quotas.QuotaBook) -> None:
    await quotas.configure(ctx, custom_project, plan="trial", devices=3)
    await devices.create_virtual(ctx, custom_project, category="dj", count=2)
    with pytest.raises(DevicePoolInsufficient, match="2 of its 3 devices; adding 2"):
        await devices.create_virtual(ctx, custom_project, category="dj", count=2)
    state = await quotas.status(ctx, custom_project)
    assert state["devices"] == {"used": 2, "limit": 3, "remaining": 1}
    assert state["refused"]["devices"] == 1
    await devices.create_virtual(ctx, custom_project, category="dj")  # the last one fits


async def test_a_monthly_quota_counts_admitted_calls_and_survives_a_restart(
        ctx: Context, custom_project: Project, book: quotas.QuotaBook) -> None:
    await quotas.configure(ctx, custom_project, plan="trial", monthly_calls=5)
    now = ctx.clock.now_ms()
    assert admitted(book, custom_project, API, now, 8) == 5
    with pytest.raises(QuotaUsedUp, match="5 API calls of quota month 202603 are used up"):
        book.admit(custom_project.access_id, API, now)
    assert book.messages_left(custom_project.access_id, now) == 0  # the project's service is suspended
    await book.flush(ctx)

    restarted = quotas.QuotaBook()  # another process, or this one after a restart, on the same store
    await restarted.reload(ctx, everything=True)
    assert restarted.month_counts(custom_project.access_id, now) == ("202603", 5, 0)
    assert admitted(restarted, custom_project, API, now, 1) == 0

    await quotas.reset(ctx, custom_project)
    assert admitted(book, custom_project, API, now, 8) == 5


async def test_a_quota_month_follows_the_cloud_clock_and_the_projects_offset(
        ctx: Context, custom_project: Project, book: quotas.QuotaBook) -> None:
    await quotas.configure(ctx, custom_project, plan="trial", monthly_calls=2)
    last_second = utc(2026, 3, 31, 23, 59, 59)
    assert admitted(book, custom_project, API, last_second, 3) == 2
    assert admitted(book, custom_project, API, last_second + 1000, 3) == 2  # April: a new month
    assert book.month_counts(custom_project.access_id, last_second + 1000) == ("202604", 2, 0)
    moved = await quotas.move_month(ctx, custom_project, 1)  # the next month without moving the clock
    assert moved.month_offset == 1
    assert admitted(book, custom_project, API, last_second + 1000, 3) == 2
    assert book.month_counts(custom_project.access_id, last_second + 1000)[0] == "202605"


async def test_frequency_limits_count_per_cloud_second_and_refusals_are_not_counted(
        ctx: Context, custom_project: Project, book: quotas.QuotaBook) -> None:
    await quotas.configure(ctx, custom_project, plan="trial")
    rate = quotas.FREQUENCY_PER_S[LIMITED]
    now = ctx.clock.now_ms()
    assert admitted(book, custom_project, LIMITED, now, rate + 3) == rate
    assert admitted(book, custom_project, API, now, 3) == 3  # another API has its own window
    assert admitted(book, custom_project, LIMITED, now + 1000, rate + 3) == rate
    assert book.month_counts(custom_project.access_id, now)[1] == 2 * rate + 3
    assert (await quotas.status(ctx, custom_project))["refused"]["frequency"] == 2
