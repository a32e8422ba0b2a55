"""Scenes' delayed actions with two `tuyacloud serve` processes on one PostgreSQL database: each action runs exactly
once and in order while both processes may run it, and when the process that started the runs is killed (SIGKILL)
the other takes them over. PostgreSQL only, as the rest of the scale-out suite.

Each scene sets one lamp's brightness to a known sequence of values, a delay apart, so a lamp's command log says
whether every step ran once and in order. The clocks are frozen and stepped by the test."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from support.delayed import MINUTE, freeze, runs_of, serve, smart_home, step
from support.faults import eventually
from support.scaleout import needs_postgres, new_database

pytestmark = needs_postgres

LAMPS = 6
STEPS = [100, 200, 300, 400, 500]
SETTLE_S = 1.0  # both runners look every 0.2 s: long enough to see an action run a second time
TAKEOVER_MS = 3_000  # tuyacloud.domain.rules.pending_runs.TAKEOVER_MS


def test_two_processes_run_each_delayed_action_once_and_in_order(tmp_path: Path) -> None:
    data, db = tmp_path / "data", new_database()
    a, b = serve(data, db, "a"), serve(data, db, "b")
    servers = [a, b]
    try:
        t0 = int(time.time() * 1000)
        for server in servers:
            freeze(server, t0)
        home = smart_home(a, LAMPS)
        scenes = [home.scene(a, lamp, STEPS, minutes=1) for lamp in home.lamps]
        for n, scene in enumerate(scenes):  # started by both processes: each owns half of the runs
            home.trigger(servers[n % 2], scene)
        # Both clocks past the end of every timetable at once: each process's own runs are due, the other's are
        # overdue, so both runners go after every waiting action at the same time.
        steppers = [threading.Thread(target=step, args=(server, 30 * MINUTE)) for server in servers]
        for thread in steppers:
            thread.start()
        for thread in steppers:
            thread.join()
        for lamp in home.lamps:
            eventually(lambda lamp=lamp: len(home.brightness_commands(a, lamp)) >= len(STEPS), timeout=30,
                       what=f"every step of {lamp}")
        time.sleep(SETTLE_S)
        for lamp in home.lamps:
            assert home.brightness_commands(b, lamp) == STEPS, lamp  # each step once, in order
        # the two histories together note each delayed action once
        noted = [(r["id"], o["position"]) for server in servers for scene in scenes
                 for r in runs_of(server, scene) for o in r["outcomes"] if o["position"] > 1]
        assert sorted(noted) == sorted((scene, 2 * k + 1) for scene in scenes for k in range(1, len(STEPS)))
    finally:
        for server in servers:
            server.stop()


def test_the_runs_of_a_killed_process_are_taken_over_by_the_other(tmp_path: Path) -> None:
    data, db = tmp_path / "data", new_database()
    a, b = serve(data, db, "a"), serve(data, db, "b")
    try:
        t0 = int(time.time() * 1000)
        for server in (a, b):
            freeze(server, t0)
        home = smart_home(a, 1)
        lamp = home.lamps[0]
        scene = home.scene(a, lamp, [100, 200, 300])  # at t0, t0 + 5 min, t0 + 10 min
        home.trigger(a, scene)
        a.kill()  # SIGKILL: its runs are not handed over
        step(b, 5 * MINUTE)  # due, but the killed process's: not yet another's
        time.sleep(SETTLE_S)
        assert home.brightness_commands(b, lamp) == [100]
        step(b, TAKEOVER_MS + 1_000)  # overdue: taken over
        eventually(lambda: home.brightness_commands(b, lamp) == [100, 200], what="the step taken over")
        step(b, 5 * MINUTE)
        eventually(lambda: home.brightness_commands(b, lamp) == [100, 200, 300], what="the last step")
        time.sleep(SETTLE_S)
        assert home.brightness_commands(b, lamp) == [100, 200, 300]
        [resumed] = runs_of(b, scene)
        assert resumed["resumed"] is True and [o["position"] for o in resumed["outcomes"]] == [3, 5]
    finally:
        a.kill()
        b.stop()
