"""A schedule's minute is taken in the same unit of work that records its run, in process on a real store.

Before, the minute was claimed in a unit of its own and the run recorded in the next: a crash or a store failure
between the two took the minute and lost its run for good. Here the run's insert is made to fail by a trigger in
the real database (the store's own failure, not a stand-in), then the trigger is dropped: the minute must still run,
once."""

from __future__ import annotations

from typing import Any

import pytest

from support.home_domain import home_of, runs, until
from tuyacloud import bodies
from tuyacloud.domain.context import Context
from tuyacloud.domain.rules import automations
from tuyacloud.domain.rules.engine import RuleEngine
from tuyacloud.domain.rules.requests import AutomationBody
from tuyacloud.models import Project
from tuyacloud.store.postgres import PostgresStore

pytestmark = pytest.mark.anyio

MINUTE = 60_000
REFUSE = {  # a failing insert of the run's waiting actions, on each engine
    "sqlite": ["CREATE TRIGGER refuse_runs BEFORE INSERT ON pending_actions BEGIN SELECT RAISE(ABORT, 'no room'); END"],
    "postgres": ["CREATE FUNCTION refuse_runs() RETURNS trigger LANGUAGE plpgsql AS "
                 "'BEGIN RAISE EXCEPTION ''no room''; END'",
                 "CREATE TRIGGER refuse_runs BEFORE INSERT ON pending_actions FOR EACH ROW "
                 "EXECUTE FUNCTION refuse_runs()"],
}
ALLOW = {"sqlite": ["DROP TRIGGER refuse_runs"],
         "postgres": ["DROP TRIGGER refuse_runs ON pending_actions", "DROP FUNCTION refuse_runs()"]}


def at(time: str) -> dict[str, Any]:
    return {"entity_type": 6, "display": {"time": time, "loops": "1111111", "timezone_id": "Europe/Berlin"}}


async def test_a_minute_whose_run_was_not_recorded_runs_once_the_store_takes_it(
        ctx: Context, smart_home_project: Project, engine: RuleEngine) -> None:
    engine_name = "postgres" if isinstance(ctx.store, PostgresStore) else "sqlite"
    home, _, (lamp,) = await home_of(ctx, smart_home_project, "minute@example.com", "dj")
    # the clock: Monday 2026-03-02 12:00 UTC, 13:00 in Berlin
    rule = await automations.add(ctx, smart_home_project, home.id, bodies.convert(AutomationBody, {
        "name": "At 13:01", "conditions": [at("13:01")],
        "actions": [{"entity_id": lamp.id, "action_executor": "dpIssue",
                     "executor_property": {"bright_value_v2": 321}}]}))
    await until(lambda: any(a.id == rule.id for a in engine.scheduled), engine)
    for sql in REFUSE[engine_name]:
        await ctx.store.execute(sql)
    ctx.clock.step(MINUTE)
    await until(lambda: any(e["id"] == rule.id and "not started" in e.get("refused", "") for e in engine.history),
                engine)
    for sql in ALLOW[engine_name]:
        await ctx.store.execute(sql)
    await until(lambda: runs(engine, rule.id) != [], engine, timeout=20)
    await until(lambda: len(runs(engine, rule.id)[0]["outcomes"]) == 1, engine)
    stored = await ctx.store.get_device(lamp.id, lamp.region)
    assert stored is not None and stored.status["bright_value_v2"] == 321
    ctx.clock.step(MINUTE)  # the next minutes are not this schedule's: it ran once
    await until(lambda: engine._checked_ms >= ctx.clock.now_ms(), engine)
    assert len(runs(engine, rule.id)) == 1
