"""The timer scheduler: runs each enabled timer once at its minute, following the cloud's clock.

Why polling: the clock can be stepped or frozen through the control API, so sleeping until a wall-clock instant
would miss moves of the cloud's time. Every ``POLL_S`` the scheduler asks for the due timers (one range scan of the
``next_run_ms`` index), so a stepped clock is followed within a fraction of a second.

Exactly once, also with several server processes on one PostgreSQL database: a run is one unit of work that locks
the device, claims the run with a conditional UPDATE of the timer's ``next_run_ms`` (only the process whose UPDATE
changes the row goes on) and writes the command, its device log and its message. The claim and the command commit
together, so a crash never leaves a claimed run unexecuted or an executed run unclaimed.

Missed runs (downtime, or a clock stepped far ahead): a run found at most ``GRACE_MS`` late still fires, once; an
older one is skipped (recorded on the timer) and the timer moves to its next occurrence after now. A repeating
timer never fires more than once to catch up. A one-shot is switched off after its run (or its skip), as the Tuya
apps show a "once" timer that has run.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from tuyacloud.catalog.validation import validate_commands
from tuyacloud.domain.context import Context, StatusChange
from tuyacloud.domain.devices import commands
from tuyacloud.domain.rules import schedule
from tuyacloud.domain.rules.timers import next_run_after
from tuyacloud.errors import DeviceOffline, StoreUnavailable, TuyaError
from tuyacloud.models import Timer
from tuyacloud.store.base import Tx
from tuyacloud.supervision import Episode, TaskStatus, describe

log = logging.getLogger("tuyacloud.timers")

POLL_S = 0.2
GRACE_MS = 5 * 60_000
BATCH = 100

RAN, FAILED, SKIPPED, LOST = "ok", "failed", "skipped", "lost"


@dataclass(frozen=True)
class RunOutcome:
    timer_id: str
    result: str  # RAN, FAILED, SKIPPED, or LOST (another process claimed it, or it changed meanwhile)
    change: StatusChange | None = None


def _after_run(timer: Timer, now: int) -> tuple[int | None, bool]:
    """Where the timer goes after this occurrence: its next run strictly after now, and whether it stays on."""
    if schedule.is_one_shot(timer.loops):
        return None, False
    return next_run_after(timer, max(now, timer.next_run_ms or now)), True


async def run_one(ctx: Context, timer: Timer, now: int) -> RunOutcome:
    """Claim and execute (or skip) the occurrence of ``timer`` due at its ``next_run_ms``."""
    due = timer.next_run_ms
    assert due is not None
    late_ms = now - due
    next_run, stays_on = _after_run(timer, now)

    async def work(tx: Tx) -> RunOutcome:
        device = await tx.get_device_for_update(timer.device_id, timer.region)  # device before timer: no deadlock
        if device is None:  # the device is gone; its timers go with it
            await tx.delete_timers(timer.device_id, timer.region, [timer.id])
            return RunOutcome(timer.id, LOST)
        if late_ms > GRACE_MS:
            result = f"{SKIPPED}: missed by {late_ms // 60_000} min"
            claimed = await tx.claim_timer_run(timer.id, due, next_run, stays_on, now, result)
            return RunOutcome(timer.id, SKIPPED if claimed else LOST)
        if not await tx.claim_timer_run(timer.id, due, next_run, stays_on, now, RAN):
            return RunOutcome(timer.id, LOST)
        try:
            product = commands.product_of(ctx, device)
            checked = validate_commands(product, timer.functions)
            change = await commands.command_in_unit(ctx, tx, device, product, checked, commands.FROM_CLOUD)
        except DeviceOffline:
            await tx.set_timer_result(timer.id, f"{FAILED}: device is offline")
            return RunOutcome(timer.id, FAILED)
        except TuyaError as error:  # the catalog changed under a saved timer: the run fails, the timer moves on
            await tx.set_timer_result(timer.id, f"{FAILED}: {error.detail or type(error).__name__}"[:200])
            return RunOutcome(timer.id, FAILED)
        return RunOutcome(timer.id, RAN, change)

    outcome: RunOutcome = await ctx.store.transaction(work)
    if outcome.result == RAN:
        ctx.command_committed(commands.FROM_CLOUD)
        ctx.notify(timer.device_id, timer.region)
        ctx.status_changed(outcome.change)
    if outcome.result in (FAILED, SKIPPED):
        log.warning("timer %s of device %s: %s run due at %d", timer.id, timer.device_id, outcome.result, due)
    return outcome


async def run_due(ctx: Context, failing: set[str] | None = None) -> list[RunOutcome]:
    """One pass: every timer due by the cloud's now, earliest first.

    A store outage ends the pass (raised: the caller backs off); one timer's own trouble does not stop the others
    and is logged once while it lasts (its id is kept in ``failing``)."""
    now = ctx.clock.now_ms()
    failing = set() if failing is None else failing
    outcomes: list[RunOutcome] = []
    for timer in await ctx.store.due_timers(now, BATCH):
        try:
            outcomes.append(await run_one(ctx, timer, now))
        except StoreUnavailable:
            raise
        except Exception as error:  # it stays due and is tried again next pass
            if timer.id not in failing:
                failing.add(timer.id)
                log.exception("timer %s of device %s could not run (%s)", timer.id, timer.device_id, describe(error))
        else:
            failing.discard(timer.id)
    return outcomes


class TimerRunner:
    """The background task of one server process (started by ``app.py``)."""

    def __init__(self, ctx: Context, poll_s: float = POLL_S, status: TaskStatus | None = None) -> None:
        self.ctx = ctx
        self.poll_s = poll_s
        self._episode = Episode(log, "the timer scheduler", status)
        self._failing: set[str] = set()

    async def run(self) -> None:
        while True:
            try:
                outcomes = await run_due(self.ctx, self._failing)
            except Exception as error:  # the store being unavailable must not end the scheduler: back off
                await asyncio.sleep(self._episode.failed(error))
                continue
            self._episode.ok()
            if len(outcomes) < BATCH:  # a full batch means more are due: go again at once
                await asyncio.sleep(self.poll_s)
