"""Fixtures of the rules' in-process tests: the automation engine running as the app runs it."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import pytest

from tuyacloud.domain.context import Context
from tuyacloud.domain.rules.engine import RuleEngine

STOP_S = 10.0  # the engine stops in well under a second: its runner hands its runs over within 2 s at most


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel the engine's task and wait for it, at most :data:`STOP_S`: a test whose engine cannot stop fails
    here, with the engine's stack, instead of holding its test process (and, under pytest-xdist, the run) for
    ever."""
    task.cancel()
    await asyncio.wait({task}, timeout=STOP_S)
    if not task.done():
        stack = io.StringIO()
        task.print_stack(file=stack)
        pytest.fail(f"the automation engine did not stop within {STOP_S:.0f} s:\n{stack.getvalue()}", pytrace=False)
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]  # the engine crashed during the test: show it


@pytest.fixture
async def engine(ctx: Context) -> AsyncIterator[RuleEngine]:
    """The engine as the app starts it (its runner of waiting actions beside it), listening to the context's status
    changes, its loop a running task."""
    rules = RuleEngine(ctx)
    task = asyncio.create_task(rules.run())
    try:
        yield rules
    finally:
        await stop(task)
