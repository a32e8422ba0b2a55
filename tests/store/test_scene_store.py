"""Scene and automation queries on the engine under test: round trips, the device index the automation engine
filters with, the schedule claim that makes one occurrence fire in one process only, and the waiting actions of
runs (claimed once, in order, by their owner on time and by others once overdue)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from support.server import database_url_for_test
from tuyacloud.models import Automation, PendingAction, Scene
from tuyacloud.store.base import Store, Tx
from tuyacloud.store.engine import open_store


def with_store(test: Callable[[Store, str], Awaitable[None]]) -> Callable[[Path], None]:
    """Run ``test`` on a fresh store of the engine under test (as the store contract does)."""

    def run(tmp_path: Path) -> None:
        url = database_url_for_test() or f"sqlite:///{tmp_path / 'store.db'}"

        async def main() -> None:
            store = await open_store(url)
            try:
                await test(store, url)
            finally:
                await store.close()

        asyncio.run(main())

    run.__name__ = test.__name__
    return run

CONDITION = {"entity_type": 1, "entity_id": "d1", "display": {"code": "switch_1", "operator": "==", "value": True}}
ACTION = {"entity_id": "d2", "action_executor": "dpIssue", "executor_property": {"switch_1": True}}


def automation(automation_id: str, home_id: str = "h1", enabled: bool = True) -> Automation:
    return Automation(automation_id, home_id, "us", "A", "", enabled, 1, "", [CONDITION], [], [ACTION], 1, 1)


@with_store
async def test_scenes_and_automations_round_trip(store: Store, url: str) -> None:
    scene = Scene("s1", "h1", "us", "Evening", "", True, [ACTION], 1, 1)

    async def work(tx: Tx) -> None:
        assert await tx.insert_scene(scene)
        assert not await tx.insert_scene(scene)  # the id is taken
        assert await tx.insert_automation(automation("a1"), ["d1"], False)
        assert await tx.insert_automation(automation("a2", enabled=False), ["d3"], True)
        assert await tx.insert_automation(automation("a3", home_id="h2"), ["d1", "d4"], True)

    await store.transaction(work)
    assert [s.actions for s in await store.home_scenes("h1")] == [[ACTION]]
    assert await store.count_scenes("h1") == 1 and await store.count_automations("h1") == 2
    found = await store.get_automation("a1")
    assert found is not None and found.conditions == [CONDITION] and found.enabled
    # only enabled automations count in the engine's filter and its schedule list
    assert await store.automation_device_ids() == {"d1", "d4"}
    assert [a.id for a in await store.automations_of_device("d1")] == ["a1", "a3"]
    assert [a.id for a in await store.scheduled_automations()] == ["a3"]
    changed = automation("a1")
    changed.name, changed.conditions = "B", [{**CONDITION, "entity_id": "d9"}]

    async def modify(tx: Tx) -> None:
        await tx.update_automation(changed, ["d9"], False)
        await tx.set_automation_enabled("a2", True, 2)

    await store.transaction(modify)
    assert await store.automation_device_ids() == {"d9", "d3", "d1", "d4"}
    assert [a.id for a in await store.automations_of_device("d1")] == ["a3"]

    async def delete(tx: Tx) -> None:
        await tx.delete_home_rules("h1")

    await store.transaction(delete)
    assert await store.home_scenes("h1") == [] and await store.home_automations("h1") == []
    assert await store.automation_device_ids() == {"d1", "d4"}


@with_store
async def test_a_schedule_minute_is_claimed_once_across_stores(store: Store, url: str) -> None:
    async def work(tx: Tx) -> None:
        await tx.insert_automation(automation("a1"), [], True)

    await store.transaction(work)
    other = await open_store(url)  # a second process on the same database
    try:
        claims = await asyncio.gather(*(s.claim_schedule_minute("a1", 29_540_880) for s in (store, other) * 3))
        assert sorted(claims) == [False] * 5 + [True]
        assert await other.claim_schedule_minute("a1", 29_540_881)
        assert not await store.claim_schedule_minute("a1", 29_540_880)  # an earlier minute never fires again
    finally:
        await other.close()


def waiting(run_id: str, position: int, due_ms: int, owner: str) -> PendingAction:
    return PendingAction(run_id, position, due_ms, "h1", "us", "scene", "s1", "trigger", 0, ["a0"],
                         {**ACTION, "executor_property": {"switch_1": position % 2 == 0}}, owner)


@with_store
async def test_waiting_actions_are_claimed_once_and_in_order(store: Store, url: str) -> None:
    rows = [waiting("r1", 2, 1_000, "p1"), waiting("r1", 4, 2_000, "p1"), waiting("r1", 5, 2_000, "p1"),
            waiting("r2", 1, 1_500, "p2"), waiting("r3", 3, 1_000, "")]

    async def record(tx: Tx) -> None:
        await tx.insert_pending_actions(rows)

    await store.transaction(record)
    assert await store.count_pending_actions() == 5

    async def due(now: int, owner: str, overdue: int) -> list[tuple[str, int]]:
        return [(a.run_id, a.position) for a in await store.due_pending_actions(now, owner, overdue, 100)]

    # the next action of each run only; one's own and handed-over runs on time, another's once overdue
    assert await due(2_000, "p1", 0) == [("r1", 2), ("r3", 3)]
    assert await due(2_000, "p2", 0) == [("r3", 3), ("r2", 1)]
    assert await due(2_000, "p3", 1_000) == [("r1", 2), ("r3", 3)]
    assert await due(999, "p1", 0) == []
    found = (await store.due_pending_actions(2_000, "p1", 0, 1))[0]
    assert found == rows[0]  # every column round-trips

    other = await open_store(url)  # a second process on the same database
    try:
        async def claim(on: Store, run_id: str, position: int) -> bool:
            async def work(tx: Tx) -> bool:
                return await tx.claim_pending_action(run_id, position)

            return bool(await on.transaction(work))

        assert not await claim(store, "r1", 4)  # position 2 of its run still waits
        claims = await asyncio.gather(*(claim(s, "r1", 2) for s in (store, other) * 3))
        assert sorted(claims) == [False] * 5 + [True]
        assert await due(2_000, "p1", 0) == [("r3", 3), ("r1", 4)]  # earliest due first
        assert await claim(other, "r1", 4) and await claim(store, "r1", 5)
        assert not await claim(store, "r1", 5)

        async def release(tx: Tx) -> int:
            return await tx.release_pending_actions("p2")

        assert await store.transaction(release) == 1
        assert await due(2_000, "p3", 0) == [("r3", 3), ("r2", 1)]  # handed over: anyone's on time
        assert await other.count_pending_actions() == 2
    finally:
        await other.close()
