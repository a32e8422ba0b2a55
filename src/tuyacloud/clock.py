"""The cloud's notion of now. Injectable and controllable so tests (and the control API) can step or freeze time."""

from __future__ import annotations

import time


def wall_ms() -> int:
    """The machine's real time in milliseconds, for what is about processes rather than the cloud: a lease that
    says a process is alive, when a background task's outage began. A test that steps or freezes the cloud clock
    must not make a live process look dead, so these never read :class:`Clock`; everything of the cloud's own
    (tokens, signatures, reports, messages, rules) does, and nothing outside this module reads ``time.time``."""
    return int(time.time() * 1000)


class Clock:
    """Wall-clock milliseconds plus an adjustable offset; can be frozen at an instant.

    Everything that stamps or compares times (tokens, signatures, status reports, timers) asks this object,
    never ``time.time()`` directly, so moving the clock moves the whole cloud consistently.
    """

    def __init__(self, offset_ms: int = 0, frozen_at_ms: int | None = None) -> None:
        self.offset_ms = offset_ms
        self.frozen_at_ms = frozen_at_ms

    def now_ms(self) -> int:
        if self.frozen_at_ms is not None:
            return self.frozen_at_ms
        return int(time.time() * 1000) + self.offset_ms

    def now_s(self) -> int:
        return self.now_ms() // 1000

    def step(self, ms: int) -> int:
        """Move time forward (or back) by ``ms``; a frozen clock stays frozen at the new instant."""
        if self.frozen_at_ms is not None:
            self.frozen_at_ms += ms
        else:
            self.offset_ms += ms
        return self.now_ms()

    def freeze(self, at_ms: int | None = None) -> int:
        self.frozen_at_ms = self.now_ms() if at_ms is None else at_ms
        return self.frozen_at_ms

    def unfreeze(self) -> int:
        """Resume from the frozen instant: keeps time continuous instead of jumping back to the wall clock."""
        if self.frozen_at_ms is not None:
            self.offset_ms = self.frozen_at_ms - int(time.time() * 1000)
            self.frozen_at_ms = None
        return self.now_ms()

    def state(self) -> dict[str, object]:
        return {"now": self.now_ms(), "offset_ms": self.offset_ms, "frozen": self.frozen_at_ms is not None}
