"""A flag that one delivery task sleeps on, with a timeout, and that a commit sets to wake it.

Why not ``asyncio.wait_for(event.wait(), timeout)``: in Python 3.11 that wraps the wait in a task of its own, so
a wake-up reaches the sleeper only after three turns of the event loop (the inner task runs, its done callback
runs, then the sleeper), and under load every turn waits behind all the other ready work. This resolves the
sleeper's own future directly: one turn. It is also cheaper (no task, no extra callbacks per wake-up).

Loop-only: ``set`` must be called on the event loop's thread (the store's commit announcements are).
"""

from __future__ import annotations

import asyncio


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Wakeup:
    """Like ``asyncio.Event`` for a single waiter, with the timeout built in."""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._set = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def is_set(self) -> bool:
        return self._set

    def clear(self) -> None:
        self._set = False

    async def wait(self, timeout: float) -> bool:
        """Until set (returns True at once if it already is) or ``timeout`` seconds pass; whether it was set. It
        stays set until cleared."""
        if self._set:
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiter = waiter
        timer = loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
        return self._set
