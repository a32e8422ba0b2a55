"""A scene's actions after a delay survive the server: `tuyacloud serve` stopped (SIGTERM) or killed (SIGKILL) while
they wait, and started again on the same database, runs each of them once, on its time, in order; those that fell
due while no server ran run at once. On the engine under test (SQLite in the data directory, or PostgreSQL).

The clocks are the test's: the first server's is frozen when the scene is triggered, the restarted one's is
frozen at a chosen instant and stepped, so "before the delay ends" and "after" are exact, whatever the machine's
load."""

from __future__ import annotations

import time
from pathlib import Path

from support.delayed import MINUTE, freeze, runs_of, serve, smart_home, step
from support.faults import eventually
from support.serve_process import database_for_test

SETTLE_S = 0.8  # the runner looks every 0.2 s: long enough to see an action that should not run


def test_a_graceful_restart_before_the_delay_ends_runs_the_rest_on_time(tmp_path: Path) -> None:
    data, db = tmp_path / "data", database_for_test()
    first = serve(data, db, "first")
    try:
        t0 = int(time.time() * 1000)
        freeze(first, t0)
        home = smart_home(first, lamps=1)
        lamp = home.lamps[0]
        scene = home.scene(first, lamp, [100, 200, 300])  # at t0, t0 + 5 min, t0 + 10 min
        home.trigger(first, scene)
        assert home.brightness_commands(first, lamp) == [100]  # before the first delay: done when the call returns
    finally:
        first.stop()  # SIGTERM: the server drains and stops
    second = serve(data, db, "second")
    try:
        freeze(second, t0 + 4 * MINUTE)
        time.sleep(SETTLE_S)
        assert home.brightness_commands(second, lamp) == [100]  # not due yet
        step(second, MINUTE)  # t0 + 5 min: the second step is due
        eventually(lambda: home.brightness_commands(second, lamp) == [100, 200], what="the step due at 5 min")
        time.sleep(SETTLE_S)
        assert home.brightness_commands(second, lamp) == [100, 200]
        step(second, 5 * MINUTE)
        eventually(lambda: home.brightness_commands(second, lamp) == [100, 200, 300], what="the step due at 10 min")
        time.sleep(SETTLE_S)
        assert home.brightness_commands(second, lamp) == [100, 200, 300]  # each once
        [resumed] = runs_of(second, scene)  # the restarted server's history shows the run it resumed
        assert resumed["resumed"] is True and resumed["at"] == t0
        assert [(o["position"], o["ok"]) for o in resumed["outcomes"]] == [(3, True), (5, True)]
    finally:
        second.stop()


def test_after_a_kill_9_the_waiting_actions_run_once_in_order_late_ones_at_once(tmp_path: Path) -> None:
    data, db = tmp_path / "data", database_for_test()
    first = serve(data, db, "first")
    try:
        t0 = int(time.time() * 1000)
        freeze(first, t0)
        home = smart_home(first, lamps=2)
        stairs, hall = home.lamps
        long_scene = home.scene(first, stairs, [100, 200, 300, 400])  # at t0, +5, +10, +15 min
        short_scene = home.scene(first, hall, [500, 600], minutes=1)  # at t0, +1 min
        home.trigger(first, long_scene)
        home.trigger(first, short_scene)
        step(first, 5 * MINUTE)  # the killed server ran the steps due by then
        eventually(lambda: home.brightness_commands(first, stairs) == [100, 200], what="the step due at 5 min")
        eventually(lambda: home.brightness_commands(first, hall) == [500, 600], what="the step due at 1 min")
    finally:
        first.kill()  # SIGKILL: nothing of its shutdown runs
    second = serve(data, db, "second")
    try:
        freeze(second, t0 + 9 * MINUTE)
        time.sleep(SETTLE_S)
        assert home.brightness_commands(second, stairs) == [100, 200]  # not due yet
        # Downtime: everything still waiting falls due while no server runs it; it all runs at once, in order.
        step(second, 60 * MINUTE)
        eventually(lambda: home.brightness_commands(second, stairs) == [100, 200, 300, 400],
                   what="the late steps, at once")
        time.sleep(SETTLE_S)
        assert home.brightness_commands(second, stairs) == [100, 200, 300, 400]
        assert home.brightness_commands(second, hall) == [500, 600]  # done before the kill: not again
        [resumed] = runs_of(second, long_scene)
        assert [(o["position"], o["ok"]) for o in resumed["outcomes"]] == [(5, True), (7, True)]
        assert runs_of(second, short_scene) == []
    finally:
        second.stop()
