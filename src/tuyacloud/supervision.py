"""Background tasks that outlive store failures, and what ``/_tuyacloud/health`` shows of them.

Why: a background task (the simulator, the timer scheduler, message delivery, the usage flush) that let one failed
read end it stopped for good and silently, and one that logged a traceback on every failed pass filled the disk it
was failing on. Two tools:

- :class:`Episode`: a loop reports each pass as failed or ok. The first failure of an episode is logged once, later
  ones are only counted (with a reminder every :data:`REMIND_S`), the recovery is logged with the count and the
  duration, and :meth:`Episode.failed` returns the back-off to wait before the next try (0.1 s doubling to 5 s).
- :func:`supervise`: runs a task and, if it ends anyway (a bug), logs that once with its traceback, marks the task
  in the :class:`TaskBoard` and starts it again after a back-off. Health answers ``degraded`` while a task is
  failing or restarting, and for :data:`RECENT_S` after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tuyacloud.clock import wall_ms
from tuyacloud.errors import StoreLost, StoreUnavailable

BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 5.0
RESTART_MIN_S = 0.5
RESTART_MAX_S = 30.0
REMIND_S = 60.0
RECENT_S = 300.0
QUIET_S = 2.0  # an episode ends only after a success this long after its last failure (no flapping log)

RUNNING, RETRYING, RESTARTING = "running", "retrying", "restarting"


def describe(error: BaseException) -> str:
    """One line naming an error, without the traceback (the first of an episode may carry that)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__


@dataclass
class TaskStatus:
    """One background task as health shows it."""

    state: str = RUNNING
    failures: int = 0  # failed passes in the current episode
    restarts: int = 0
    last_error: str | None = None
    failing_since_ms: int | None = None
    restarted_at: float | None = None  # monotonic
    info: dict[str, Any] = field(default_factory=dict)  # task-specific figures (e.g. the simulator's shards)

    def degraded(self, now: float) -> bool:
        return self.state != RUNNING or (self.restarted_at is not None and now - self.restarted_at < RECENT_S)

    def as_dict(self, now: float) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "degraded": self.degraded(now), "restarts": self.restarts}
        if self.state == RETRYING:
            out["failures"] = self.failures
            out["failing_since"] = self.failing_since_ms
        if self.last_error is not None:
            out["last_error"] = self.last_error
        out.update(self.info)
        return out


class TaskBoard:
    """Every background task of one server process, by name."""

    def __init__(self) -> None:
        self.tasks: dict[str, TaskStatus] = {}
        # Which process this is among several serving one database (health shows it): ``worker`` of ``workers``.
        self.process: dict[str, Any] = {}

    def status(self, name: str) -> TaskStatus:
        return self.tasks.setdefault(name, TaskStatus())

    def degraded(self) -> bool:
        now = time.monotonic()
        return any(s.degraded(now) for s in self.tasks.values())

    def snapshot(self) -> dict[str, dict[str, Any]]:
        now = time.monotonic()
        return {name: s.as_dict(now) for name, s in sorted(self.tasks.items())}


class Episode:
    """A failure episode of one loop: logged when it starts and when it ends, counted in between."""

    def __init__(self, log: logging.Logger, what: str, status: TaskStatus | None = None) -> None:
        self.log = log
        self.what = what
        self.status = status
        self.failing = False
        self.count = 0
        self._started = 0.0
        self._reminded = 0.0
        self._last_failure = 0.0

    def failed(self, error: BaseException) -> float:
        """Note a failed pass; returns how long to wait before the next one."""
        now = time.monotonic()
        self.count += 1
        self._last_failure = now
        if not self.failing:
            self.failing, self.count, self._started, self._reminded = True, 1, now, now
            # A store outage is expected operations trouble: its reason is enough. Anything else is a bug whose
            # traceback is worth one log record per episode.
            trace = None if isinstance(error, (StoreUnavailable, StoreLost)) else error
            self.log.warning("%s failing (%s); retrying with back-off, further failures are counted, not logged",
                             self.what, describe(error), exc_info=trace)
        elif now - self._reminded >= REMIND_S:
            self._reminded = now
            self.log.warning("%s still failing: %d failures in %.0f s (%s)", self.what, self.count,
                             now - self._started, describe(error))
        if self.status is not None:
            self.status.state = RETRYING
            self.status.failures = self.count
            self.status.last_error = describe(error)
            if self.status.failing_since_ms is None:
                self.status.failing_since_ms = wall_ms()
        return min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2 ** min(self.count - 1, 10))

    def ok(self) -> None:
        """Note a pass that worked: ends the episode once nothing failed for ``QUIET_S`` (cheap when none runs)."""
        if not self.failing or time.monotonic() - self._last_failure < QUIET_S:
            return
        self.failing = False
        self.log.warning("%s recovered after %d failures in %.1f s", self.what, self.count,
                         time.monotonic() - self._started)
        self.count = 0
        if self.status is not None:
            self.status.state = RUNNING
            self.status.failures = 0
            self.status.failing_since_ms = None


async def supervise(board: TaskBoard, name: str, run: Callable[[], Awaitable[None]], log: logging.Logger) -> None:
    """Run ``run()`` for ever: when it ends (it should not), log it once, mark it, wait and start it again."""
    status = board.status(name)
    delay = RESTART_MIN_S
    while True:
        error: BaseException
        try:
            await run()
            error = RuntimeError("the task returned")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = exc
        status.restarts += 1
        status.state = RESTARTING
        status.last_error = describe(error)
        status.restarted_at = time.monotonic()
        log.error("background task %s stopped (%s); restarting it in %.1f s (restart %d)", name, describe(error),
                  delay, status.restarts, exc_info=error)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RESTART_MAX_S)
        status.state = RUNNING
