"""The actions of scene and automation runs that wait for their time: kept in the store, run once, on time.

Why in the store: a run's actions after a delay used to wait in a task of the process that started the run, so a
restart, a crash or a redeploy lost them without a word. Now a run's actions that have not run yet are written
(``pending_actions``, one row per action, due at the run's start plus the delays before it, on the cloud clock) in
one unit of work when the run starts (:func:`record`), and the :class:`PendingRunner` of every server process runs
them when they are due.

Exactly once, and in order: an action is performed in one unit of work that first claims its row (deletes it, only
when no earlier action of the same run is still waiting) and then writes the action's effect: the command with its
device log and message, or the automation's new state. They commit together, so a crash never leaves an action
done but still waiting, or gone but not done; of several processes only the one whose delete removed the row goes
on. An action that fails (device offline, removed) commits its claim: it was done, and failed, as before.

Who runs it: the process that started the run (the row's ``owner``), at its time; any other process once it is
:data:`TAKEOVER_MS` overdue (its owner died or hangs). A process that stops cleanly hands its runs over at once
(:meth:`PendingRunner.release`), so after a restart they run on time. Actions that fell due while no process ran
(downtime) run at once when one starts, in order, however late: they are what someone started, unlike a timer's
next occurrence.

The cloud clock, as the timetable of ``domain/rules/scene_actions.py`` says: stepping it forward runs at once every
action whose time has come, in order; frozen, runs wait at their next delay; stepped back, what waits is postponed.
The runner reads the due rows every :data:`POLL_S` (one range scan of the ``due_ms`` index), and at once when its
own process has recorded a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tuyacloud.domain.context import Context
from tuyacloud.domain.rules.scene_actions import Effect, Outcome, announce, failed, perform_in_unit, timetable
from tuyacloud.errors import StoreUnavailable, TuyaError
from tuyacloud.models import PendingAction
from tuyacloud.store.base import Tx
from tuyacloud.supervision import Episode, TaskStatus

log = logging.getLogger("tuyacloud.rules")

POLL_S = 0.2
BATCH = 100
TAKEOVER_MS = 3_000  # how late another process's action may be before this one runs it

OnOutcome = Callable[[PendingAction, Outcome], None]


def plan(ctx: Context, owner: str, kind: str, rule_id: str, reason: str, home_id: str, region: str,
         actions: list[dict[str, Any]], start_ms: int, chain: tuple[str, ...], after: int = 0
         ) -> list[PendingAction]:
    """The rows of a run starting at ``start_ms``: its actions from position ``after + 1`` on, each due at the start
    plus the delays before it (delays themselves are not rows)."""
    run_id = ctx.ids.unique_hex()
    return [PendingAction(run_id, position, due, home_id, region, kind, rule_id, reason, start_ms, list(chain),
                          action, owner)
            for due, position, action in timetable(actions, start_ms) if position > after]


async def record(ctx: Context, rows: list[PendingAction], claim: Callable[[Tx], Awaitable[bool]] | None = None
                 ) -> bool:
    """Write a run's waiting actions in one unit of work: from its commit on, no restart loses them. With
    ``claim``, only when it holds in that same unit (so what it takes and the run it starts commit together);
    False when it did not."""

    async def work(tx: Tx) -> bool:
        if claim is not None and not await claim(tx):
            return False
        await tx.insert_pending_actions(rows)
        return True

    if not rows and claim is None:
        return True
    recorded: bool = await ctx.store.transaction(work)
    return recorded


def label_of(row: PendingAction) -> str:
    return f"{row.kind} {row.rule_id}"


async def run_one(ctx: Context, row: PendingAction) -> Outcome | None:
    """Claim and perform one waiting action; None when it is not this process's to run (another process has it, or
    an earlier action of its run is still waiting). Raises :class:`StoreUnavailable` with the action still waiting.
    The action runs with its run's causation chain as recorded (``Context.caused_by``), so the loop rule holds
    across delays, restarts and processes."""
    label, executor, entity_id = label_of(row), row.action["action_executor"], row.action["entity_id"]
    run_ctx = ctx.caused_by(tuple(row.chain))

    async def work(tx: Tx) -> Effect | TuyaError | None:
        if not await tx.claim_pending_action(row.run_id, row.position):
            return None
        try:
            return await perform_in_unit(run_ctx, tx, row.home_id, row.region, row.action)
        except TuyaError as error:  # raised before any write: the claim commits, the action is done (and failed)
            return error

    async def claim_only(tx: Tx) -> bool:
        return await tx.claim_pending_action(row.run_id, row.position)

    try:
        result = await ctx.store.transaction(work)
    except StoreUnavailable:
        raise
    except Exception as error:  # a bug in one action must not hold its run (and the runner) for ever
        if not await ctx.store.transaction(claim_only):
            return None
        return failed(label, row.position, row.action, error)
    if result is None:
        return None
    if isinstance(result, TuyaError):
        return failed(label, row.position, row.action, result)
    announce(run_ctx, result)
    return Outcome(label, row.position, executor, entity_id, True)


class PendingRunner:
    """The loop of one server process that runs waiting actions when they are due (started by the engine)."""

    def __init__(self, ctx: Context, owner: str, on_outcome: OnOutcome, poll_s: float = POLL_S,
                 status: TaskStatus | None = None) -> None:
        self.ctx = ctx
        self.owner = owner
        self.on_outcome = on_outcome
        self.poll_s = poll_s
        self._episode = Episode(log, "the runner of delayed scene and automation actions", status)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """This process recorded a run: look at once (its first actions may be due now)."""
        self._wake.set()

    async def run_due(self) -> int:
        """Passes until nothing is due: each runs the next action of every run that has one due, earliest first
        (a run's next action comes up in the following pass, so a run late by several actions catches up in
        order). Returns how many actions ran."""
        ran = 0
        while True:
            now = self.ctx.clock.now_ms()
            rows = await self.ctx.store.due_pending_actions(now, self.owner, now - TAKEOVER_MS, BATCH)
            done = 0
            for row in rows:
                outcome = await run_one(self.ctx, row)
                if outcome is not None:
                    done += 1
                    self.on_outcome(row, outcome)
            ran += done
            if not done:
                return ran

    async def run(self) -> None:
        try:
            while True:
                with contextlib.suppress(TimeoutError):  # asyncio.timeout: a cancel is never swallowed (wait_for's is)
                    async with asyncio.timeout(self.poll_s):
                        await self._wake.wait()
                self._wake.clear()  # before the pass: a run recorded meanwhile sets it again
                try:
                    await self.run_due()
                except Exception as error:  # the store unavailable, mostly: the actions wait, retried after a pause
                    await asyncio.sleep(self._episode.failed(error))
                    continue
                self._episode.ok()
        finally:
            with contextlib.suppress(Exception):  # hand the runs over at once (the store may be down)
                await asyncio.wait_for(self.release(), timeout=2)

    async def release(self) -> None:
        """A clean stop: this process's runs become anyone's, so another process (or this one, restarted) runs them
        on time rather than :data:`TAKEOVER_MS` late."""
        owner = self.owner

        async def work(tx: Tx) -> None:
            await tx.release_pending_actions(owner)

        await self.ctx.store.transaction(work)
