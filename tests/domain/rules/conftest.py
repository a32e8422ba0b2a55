"""Fixtures of the rules' in-process tests: the automation engine running as the app runs it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from tuyacloud.domain.context import Context
from tuyacloud.domain.rules.engine import RuleEngine


@pytest.fixture
async def engine(ctx: Context) -> AsyncIterator[RuleEngine]:
    """The engine as the app starts it (its runner of waiting actions beside it), listening to the context's status
    changes, its loop a running task."""
    rules = RuleEngine(ctx)
    task = asyncio.create_task(rules.run())
    yield rules
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
