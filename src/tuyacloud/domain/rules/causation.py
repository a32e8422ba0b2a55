"""Which automations led to what is happening now: the chain carried along a run's commands.

An automation's actions run with the chain of automations that caused them (outermost first) set here; a command
they issue commits in the same task, so the automation engine, told of the status change at once, reads the chain
and evaluates the change with it. This is what bounds loops (docs/smart-home.md, "Loops"): an automation never
fires from a change its own run caused, directly or through others, and chains stop at :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import contextvars

MAX_DEPTH = 5

_chain: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("tuyacloud_causation", default=())


def current() -> tuple[str, ...]:
    """The automation ids whose runs caused the work in progress; empty for a person's or device's own doing."""
    return _chain.get()


def enter(chain: tuple[str, ...]) -> contextvars.Token[tuple[str, ...]]:
    return _chain.set(chain)


def leave(token: contextvars.Token[tuple[str, ...]]) -> None:
    _chain.reset(token)
