"""The automation engine: evaluates automations on status changes and on time, and starts scenes' and automations'
runs, whose actions run on the cloud clock.

Started by the app next to the simulator. It listens to every committed status change (``Context.status_changed``)
and keeps only those of devices an enabled automation reads (an in-memory set, reloaded when ``rules_version``
changes), so a change of any other device costs one set lookup.

Rules (docs/smart-home.md, "Automations"):
- Edge: a device condition fires when a change makes it true (false before, true after); staying true does not fire
  again. A change is judged by the automations as they were when it was committed: one this process wrote (added,
  changed, enabled) after the change does not fire from it, however late the engine evaluates the change (it may
  fall behind under load, and the index reloads before it evaluates what it queued meanwhile). ``match_type`` 1
  (any): any device condition becoming true fires. ``match_type`` 2 (all): the conjunction of the device conditions
  becoming true fires; an "all" automation that also has schedule or external conditions is
  driven by those events and fires at them only while every device condition holds.
- Schedules fire at their minute in their time zone on the cloud clock; one occurrence fires once across processes
  (claimed with a conditional UPDATE of ``last_fired_minute``, in the unit that records the run). Occurrences during
  downtime are not caught up; a forward step of the clock fires each schedule at most once (its latest occurrence in
  the step, within a day).
- Preconditions (``timeCheck``) gate every firing; disabled automations never fire.
- Loops: a run calls the domain with the chain of automations that caused it (``Context.causation``, see
  ``domain/rules/causation.py``), and each status change it commits carries that chain here; an automation already
  in the chain does not fire again, chains stop at ``causation.MAX_DEPTH``, and one automation runs at most
  :data:`MAX_RUNS_PER_SECOND` times per cloud second (a frozen clock does not refill that budget).
- Multi-process: a status change commits in one process and is evaluated there only; other processes learn of
  automation writes through ``rules_version`` within :data:`VERSION_POLL_S`.
- Runs: a run's actions that are not done while it starts (an automation's all, a scene's those after its first
  delay) are recorded in the store before the run is reported started, and run by the engine's
  ``PendingRunner`` (``domain/rules/pending_runs.py``): once across processes, in order, also after a restart.
  The run history (``history``, the control API's ``rules/runs``) is this process's: an action that another process
  runs (its run taken over, or resumed after a restart) is noted there, under an entry marked ``resumed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from tuyacloud.domain.context import Context, StatusChange
from tuyacloud.domain.rules import causation, pending_runs, rule_time
from tuyacloud.domain.rules.pending_runs import PendingRunner
from tuyacloud.domain.rules.rule_writes import RULES_VERSION
from tuyacloud.domain.rules.scene_actions import Outcome, perform, timetable
from tuyacloud.errors import StoreUnavailable
from tuyacloud.models import Automation, PendingAction
from tuyacloud.store.base import Tx
from tuyacloud.supervision import Episode, TaskStatus, describe

log = logging.getLogger("tuyacloud.rules")

DEVICE, SCHEDULE, EXTERNAL = 1, 6, 15
ANY, ALL = 1, 2
MAX_RUNS_PER_SECOND = 5
VERSION_POLL_S = 1.0
TICK_S = 0.1
HISTORY = 1000

Claim = Callable[[Tx], Awaitable[bool]]  # a check-and-take in the unit of work that starts a run


def holds(condition: dict[str, Any], status: dict[str, Any]) -> bool:
    display = condition["display"]
    if display["code"] not in status:
        return False
    value, wanted, operator = status[display["code"]], display["value"], display["operator"]
    if operator == "==":
        return bool(value == wanted)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return bool(value < wanted) if operator == "<" else bool(value > wanted)


def window_allows(automation: Automation, now_ms: int) -> bool:
    for pre in automation.preconditions:
        d = pre["display"]
        if not rule_time.in_window(now_ms, d["start"], d["end"], d["loops"], rule_time.zone(d["timezone_id"])):
            return False
    return True


class RuleEngine:
    def __init__(self, ctx: Context, status: TaskStatus | None = None) -> None:
        self.ctx = ctx
        self._episode = Episode(log, "the automation engine", status)
        self.referenced: set[str] = set()
        self.scheduled: list[Automation] = []
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._version: str | None = None
        # Writes this process made to automations (``invalidate``) against the last one the index was loaded
        # after; while they differ, or while a load is in flight, every change is queued, since the index being
        # read may or may not include the write (a change dropped then would never fire its new automation).
        self._generation = 1
        self._loaded_generation = 0
        self._loading = False
        self._polled_at = 0.0
        # Changes to evaluate, each with the generation it arrived at; and the automations written since the oldest
        # of them arrived, with the generation of their write: a change is not judged by a rule written after it.
        self._queue: deque[tuple[int, StatusChange]] = deque()
        self._written: dict[str, int] = {}
        self._wake = asyncio.Event()
        # The history entries of runs this process started whose actions may still be waiting, by run id.
        self._entries: dict[str, dict[str, Any]] = {}
        self.pending = PendingRunner(ctx, ctx.ids.hex(16), self._on_outcome, status=ctx.tasks.status("delayed-actions"))
        self._budget: dict[str, tuple[int, int]] = {}
        self._checked_ms = ctx.clock.now_ms()
        ctx.status_listeners.append(self.on_status)
        ctx.rules = self

    # --- inputs ---------------------------------------------------------------------------------------------
    def invalidate(self, automation_id: str = "") -> None:
        """Automations changed (committed; ``automation_id`` the one written): reload the index before evaluating
        anything else, and judge no change already queued by the automation written."""
        self._generation += 1
        if automation_id:
            self._written[automation_id] = self._generation
        self._wake.set()

    @property
    def _stale(self) -> bool:
        return self._loading or self._loaded_generation != self._generation

    def on_status(self, change: StatusChange) -> None:
        """Called in the committing task: keep what may concern an automation (the change carries its causation
        chain)."""
        if self._stale or change.device.id in self.referenced:
            self._queue.append((self._generation, change))
            self._wake.set()

    # --- the loop -------------------------------------------------------------------------------------------
    async def run(self) -> None:
        """The evaluation loop, and the runner of waiting actions beside it (stopped with it, handing its runs
        over)."""
        loop = asyncio.get_running_loop()
        runner = asyncio.create_task(self.pending.run())
        try:
            while True:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that arrives as the
                # event is set, and the engine then never stops (seen as a hung shutdown under load).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(TICK_S):
                        await self._wake.wait()
                self._wake.clear()  # before draining: a change queued meanwhile sets it again
                await self._step(loop.time())
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    async def _step(self, now_s: float) -> None:
        """One pass. A failure (the store unavailable, mostly) is logged once per episode and the pass is retried
        after a back-off: a status change that could not be evaluated stays queued, a schedule stays unchecked."""
        try:
            if self._stale or now_s - self._polled_at >= VERSION_POLL_S:
                await self._refresh()
                self._polled_at = now_s
            while self._queue:
                arrived, change = self._queue[0]
                try:
                    await self._evaluate(change, arrived)
                except StoreUnavailable:
                    raise  # kept queued: evaluated when the store is back
                except Exception:  # one bad automation must not stop the others
                    log.exception("automation engine: evaluating a change of %s failed", change.device.id)
                self._queue.popleft()
            self._written.clear()  # every change still to come arrives after these writes
            await self._check_schedules()
        except Exception as error:
            await asyncio.sleep(self._episode.failed(error))
            return
        self._episode.ok()

    async def _refresh(self) -> None:
        """Reload the index when this process wrote automations or the shared ``rules_version`` moved. The
        generation is noted before reading, so a write committed during the reads leaves the index stale."""
        generation = self._generation
        self._loading = True
        try:
            version = await self.ctx.store.get_meta(RULES_VERSION)
            if version == self._version and generation == self._loaded_generation:
                return
            referenced = await self.ctx.store.automation_device_ids()
            scheduled = await self.ctx.store.scheduled_automations()
        finally:
            self._loading = False
        self.referenced, self.scheduled, self._version = referenced, scheduled, version
        self._loaded_generation = generation

    # --- device conditions ----------------------------------------------------------------------------------
    async def _evaluate(self, change: StatusChange, arrived: int) -> None:
        if change.device.id not in self.referenced:
            return
        for automation in await self.ctx.store.automations_of_device(change.device.id):
            if self._written.get(automation.id, 0) > arrived:
                continue  # written after the change was committed: not a rule the change could fire
            if await self._edge(automation, change):
                await self.fire(automation, change.causation, "device")

    async def _edge(self, automation: Automation, change: StatusChange) -> bool:
        device = change.device
        conditions = [c for c in automation.conditions if c["entity_type"] == DEVICE]
        touched = [c for c in conditions if c["entity_id"] == device.id and c["display"]["code"] in change.changes]
        if not touched:
            return False
        if automation.match_type == ANY:
            return any(not holds(c, change.before) and holds(c, device.status) for c in touched)
        if len(conditions) != len(automation.conditions):
            return False  # "all" with schedule/external conditions: those events drive it
        others = await self._statuses(automation.region,
                                      (c["entity_id"] for c in conditions if c["entity_id"] != device.id))

        def all_hold(own: dict[str, Any]) -> bool:
            return all(holds(c, own if c["entity_id"] == device.id else others.get(c["entity_id"], {}))
                       for c in conditions)

        return not all_hold(change.before) and all_hold(device.status)

    async def _statuses(self, region: str, device_ids: Any) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for device_id in set(device_ids):
            device = await self.ctx.store.get_device(device_id, region)
            if device is not None:
                found[device_id] = device.status
        return found

    async def _devices_hold(self, automation: Automation) -> bool:
        conditions = [c for c in automation.conditions if c["entity_type"] == DEVICE]
        statuses = await self._statuses(automation.region, (c["entity_id"] for c in conditions))
        return all(holds(c, statuses.get(c["entity_id"], {})) for c in conditions)

    # --- time -----------------------------------------------------------------------------------------------
    async def _check_schedules(self) -> None:
        now = self.ctx.clock.now_ms()
        after = self._checked_ms
        if now <= after:
            self._checked_ms = now  # the clock was set back: follow it
            return
        for automation in self.scheduled:
            latest = None
            for c in automation.conditions:
                if c["entity_type"] != SCHEDULE:
                    continue
                d = c["display"]
                at = rule_time.occurrence_in(after, now, d["time"], d["loops"], rule_time.zone(d["timezone_id"]),
                                             d.get("date", ""))
                if at is not None and (latest is None or at > latest):
                    latest = at
            if latest is None:
                continue
            fresh = await self.ctx.store.get_automation(automation.id)
            if fresh is None:
                continue

            async def claim(tx: Tx, automation_id: str = automation.id, minute: int = latest // rule_time.MINUTE_MS
                            ) -> bool:
                return await tx.claim_schedule_minute(automation_id, minute)

            # The minute is claimed in the unit that records the run: a crash between the two can no longer take
            # the minute and lose its run. Another process that has it (or this minute already fired) runs nothing.
            await self.fire(fresh, (), "schedule", claim)
        self._checked_ms = now  # only once every schedule was looked at: a pass cut short is done again

    # --- firing and running ---------------------------------------------------------------------------------
    def _record(self, kind: str, rule_id: str, reason: str, **extra: Any) -> dict[str, Any]:
        entry = self._entry(kind, rule_id, reason, **extra)
        self.history.append(entry)
        return entry

    def _entry(self, kind: str, rule_id: str, reason: str, **extra: Any) -> dict[str, Any]:
        return {"kind": kind, "id": rule_id, "reason": reason, "at": self.ctx.clock.now_ms(), **extra}

    def _over_budget(self, automation_id: str) -> bool:
        second = self.ctx.clock.now_ms() // 1000
        at, runs = self._budget.get(automation_id, (second, 0))
        if at != second:
            runs = 0
        if runs >= MAX_RUNS_PER_SECOND:
            return True
        self._budget[automation_id] = (second, runs + 1)
        return False

    async def fire(self, automation: Automation, chain: causation.Chain, reason: str, claim: Claim | None = None
                   ) -> bool:
        """Run an automation whose condition fired from something ``chain`` caused (empty: a person, a device, a
        schedule), unless a rule holds it back; True when a run started. ``claim``: a check-and-take that must hold
        in the unit of work that starts the run (a schedule's minute, true in one process only); when it does not,
        nothing runs and nothing is noted."""
        refusal = ""
        if not automation.enabled:
            refusal = "disabled"
        elif loop := causation.loop_refusal(automation.id, chain):
            refusal = loop
        elif not window_allows(automation, self.ctx.clock.now_ms()):
            refusal = "outside its precondition window"
        elif (automation.match_type == ALL and reason != "device"
              and not await self._devices_hold(automation)):
            refusal = "not every device condition holds"
        elif self._over_budget(automation.id):
            refusal = f"more than {MAX_RUNS_PER_SECOND} runs in one cloud second"
        if refusal:
            if claim is not None and not await self.ctx.store.transaction(claim):
                return False  # another process has this occurrence: it notes the refusal
            self._record("automation", automation.id, reason, fired=False, refused=refusal)
            log.info("automation %s not run (%s): %s", automation.id, reason, refusal)
            return False
        entry = self._entry("automation", automation.id, reason, fired=True, chain=list(chain), outcomes=[])
        rows = pending_runs.plan(
            self.ctx, self.pending.owner, "automation", automation.id, reason, automation.home_id, automation.region,
            automation.actions, entry["at"], causation.extended(chain, automation.id))
        try:
            started = await self._begin(rows, entry, claim)
        except Exception:
            self.history.append(entry)  # it says why the run did not start
            raise
        if started:
            self.history.append(entry)
        return started

    async def _begin(self, rows: list[PendingAction], entry: dict[str, Any], claim: Claim | None = None) -> bool:
        """Record a run's waiting actions (their commit is the run's start: from then on nothing loses them) and
        have the runner look at once; False when ``claim`` did not hold (nothing recorded, no entry noted). When
        they cannot be recorded, the entry says so and the error goes up."""
        if not rows:  # nothing to run: only the claim, if any, is taken
            return await pending_runs.record(self.ctx, rows, claim)
        run_id = rows[0].run_id
        self._entries[run_id] = entry  # before the commit: the runner may take the first action at once
        while len(self._entries) > HISTORY:
            del self._entries[next(iter(self._entries))]
        try:
            recorded = await pending_runs.record(self.ctx, rows, claim)
        except Exception as error:
            self._entries.pop(run_id, None)
            entry.update(fired=False, refused=f"not started: {describe(error)}")
            raise
        if not recorded:
            self._entries.pop(run_id, None)
            return False
        self.pending.wake()
        return True

    def _on_outcome(self, row: PendingAction, outcome: Outcome) -> None:
        """The runner did one action: note it under its run's entry, or under a new one marked ``resumed`` for a
        run this process did not start (taken over, or started before a restart)."""
        entry = self._entries.get(row.run_id)
        if entry is None:
            chain = row.chain[:-1] if row.kind == "automation" else []  # the entry's chain: what caused the run
            entry = self._record(row.kind, row.rule_id, row.reason, fired=True, chain=chain, outcomes=[],
                                 resumed=True)
            entry["at"] = row.started_ms
            self._entries[row.run_id] = entry
        self._note(entry, outcome)

    @staticmethod
    def _note(entry: dict[str, Any], outcome: Outcome) -> None:
        entry.setdefault("outcomes", []).append(
            {"position": outcome.position, "executor": outcome.executor, "entity_id": outcome.entity_id,
             "ok": outcome.ok, "detail": outcome.detail})

    async def run_scene(self, scene_id: str, home_id: str, region: str, actions: list[dict[str, Any]],
                        chain: causation.Chain) -> None:
        """Tap-to-run: the actions before the first delay run now (the caller sees their effect when the call
        returns); the rest are recorded on the timetable fixed now, and run by the runner when due. ``chain``: the
        caller's causation (``Context.causation``), carried by the scene's commands."""
        ctx = self.ctx.caused_by(chain)
        start = ctx.clock.now_ms()
        label = f"scene {scene_id}"
        entry = self._record("scene", scene_id, "trigger", fired=True, chain=[], outcomes=[])
        done = 0
        for due, position, action in timetable(actions, start):
            if due > start:
                break
            self._note(entry, await perform(ctx, home_id, region, position, action, label))
            done = position
        await self._begin(pending_runs.plan(self.ctx, self.pending.owner, "scene", scene_id, "trigger", home_id,
                                            region, actions, start, chain, after=done), entry)
