"""The supervision of background tasks: a task that ends anyway is restarted and shown degraded; a failing loop is
logged once per episode, with its count and its end, whatever the number of failures."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tuyacloud import supervision
from tuyacloud.errors import StoreUnavailable
from tuyacloud.supervision import Episode, TaskBoard, supervise


def test_a_task_that_dies_is_restarted_and_shown_degraded(caplog: pytest.LogCaptureFixture) -> None:
    board = TaskBoard()
    runs: list[float] = []

    async def flaky() -> None:
        runs.append(time.monotonic())
        if len(runs) <= 2:
            raise RuntimeError(f"bug number {len(runs)}")
        await asyncio.sleep(3600)

    async def scenario() -> None:
        task = asyncio.create_task(supervise(board, "flaky", flaky, logging.getLogger("tuyacloud.test")))
        while len(runs) < 3:
            await asyncio.sleep(0.05)
        task.cancel()

    caplog.set_level(logging.ERROR, logger="tuyacloud")
    asyncio.run(scenario())
    status = board.snapshot()["flaky"]
    assert status["restarts"] == 2 and status["state"] == "running" and status["degraded"] is True, status
    assert "bug number 2" in status["last_error"]
    assert board.degraded()
    crashes = [r for r in caplog.records if "stopped" in r.getMessage()]
    assert len(crashes) == 2 and all(r.exc_info for r in crashes)  # each crash once, with its traceback
    # The wait before a restart grows, and each restart waited at least what it announced. Only lower bounds on
    # the measured times: a loaded machine (CI) delays a restart, it never hastens one.
    waits = [float(r.args[2]) for r in crashes]
    assert waits[1] > waits[0] > 0
    assert runs[1] - runs[0] >= waits[0] * 0.99 and runs[2] - runs[1] >= waits[1] * 0.99


def test_an_episode_logs_its_start_and_its_end_once(caplog: pytest.LogCaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervision, "QUIET_S", 0.0)
    board = TaskBoard()
    episode = Episode(logging.getLogger("tuyacloud.test"), "the thing", board.status("thing"))
    caplog.set_level(logging.INFO, logger="tuyacloud")
    waits = [episode.failed(StoreUnavailable("the database is unavailable")) for _ in range(1000)]
    assert waits[0] == supervision.BACKOFF_MIN_S and waits[-1] == supervision.BACKOFF_MAX_S
    assert board.snapshot()["thing"]["state"] == "retrying" and board.snapshot()["thing"]["failures"] == 1000
    episode.ok()
    episode.ok()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "failing" in messages[0] and "recovered after 1000 failures" in messages[1]
    assert not any(r.exc_info for r in caplog.records)  # an outage is not a bug: no traceback
    assert board.snapshot()["thing"]["state"] == "running" and not board.degraded()
