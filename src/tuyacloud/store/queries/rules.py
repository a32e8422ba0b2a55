"""Scene and automation queries: the rows of ``scenes``, ``automations`` and their device index, and the actions of
runs still to run (``pending_actions``).

Mixed into ``Queries``; portable ``?`` SQL. Scenes and automations belong to a home (the domain checks the home
before any of these run). ``automation_devices`` lists the devices each automation's conditions read, so the
automation engine asks only about automations that can react to a device. The ``rules_version`` meta key changes
with every automation write, so the engines of other processes know to reload their index. A run's actions that
have not run yet are rows of ``pending_actions``; :meth:`claim_pending_action` deletes one in the unit of work that
performs it, so of several processes exactly one runs it, and only after every earlier action of its run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from tuyacloud.models import Automation, PendingAction, Scene
from tuyacloud.store.queries.primitives import Primitives
from tuyacloud.store.rows import Row

_SCENE_COLS = "id, home_id, region, name, background, enabled, actions, created_ms, updated_ms"
_AUTOMATION_COLS = ("id, home_id, region, name, background, enabled, match_type, condition_rule, conditions, "
                    "preconditions, actions, created_ms, updated_ms, last_fired_minute")

_PENDING_COLS = ("run_id, position, due_ms, home_id, region, kind, rule_id, reason, started_ms, chain, action, "
                 "owner")


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _scene(r: Row) -> Scene:
    return Scene(r[0], r[1], r[2], r[3], r[4], bool(r[5]), orjson.loads(r[6]), int(r[7]), int(r[8]))


def _automation(r: Row) -> Automation:
    return Automation(r[0], r[1], r[2], r[3], r[4], bool(r[5]), int(r[6]), r[7], orjson.loads(r[8]),
                      orjson.loads(r[9]), orjson.loads(r[10]), int(r[11]), int(r[12]), int(r[13]))


def _pending(r: Row) -> PendingAction:
    return PendingAction(r[0], int(r[1]), int(r[2]), r[3], r[4], r[5], r[6], r[7], int(r[8]), orjson.loads(r[9]),
                         orjson.loads(r[10]), r[11])


def _prefixed(cols: str, alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in cols.split(","))


class SceneQueries(Primitives):
    # --- scenes -----------------------------------------------------------------------------------
    async def insert_scene(self, s: Scene) -> bool:
        changed = await self.execute(
            f"INSERT INTO scenes ({_SCENE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (s.id, s.home_id, s.region, s.name, s.background, int(s.enabled), _dumps(s.actions), s.created_ms,
             s.updated_ms),
        )
        return changed == 1

    async def update_scene(self, s: Scene) -> None:
        await self.execute(
            "UPDATE scenes SET name = ?, background = ?, enabled = ?, actions = ?, updated_ms = ? WHERE id = ?",
            (s.name, s.background, int(s.enabled), _dumps(s.actions), s.updated_ms, s.id),
        )

    async def get_scene(self, scene_id: str) -> Scene | None:
        rows = await self.fetch(f"SELECT {_SCENE_COLS} FROM scenes WHERE id = ?", (scene_id,))
        return _scene(rows[0]) if rows else None

    async def home_scenes(self, home_id: str) -> list[Scene]:
        rows = await self.fetch(f"SELECT {_SCENE_COLS} FROM scenes WHERE home_id = ? ORDER BY created_ms, id",
                                (home_id,))
        return [_scene(r) for r in rows]

    async def count_scenes(self, home_id: str) -> int:
        rows = await self.fetch("SELECT COUNT(*) FROM scenes WHERE home_id = ?", (home_id,))
        return int(rows[0][0])

    async def delete_scene(self, scene_id: str) -> None:
        await self.execute("DELETE FROM scenes WHERE id = ?", (scene_id,))

    # --- automations ------------------------------------------------------------------------------
    async def insert_automation(self, a: Automation, device_ids: Sequence[str], has_schedule: bool) -> bool:
        changed = await self.execute(
            f"INSERT INTO automations ({_AUTOMATION_COLS}, has_schedule) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (a.id, a.home_id, a.region, a.name, a.background, int(a.enabled), a.match_type, a.condition_rule,
             _dumps(a.conditions), _dumps(a.preconditions), _dumps(a.actions), a.created_ms, a.updated_ms,
             a.last_fired_minute, int(has_schedule)),
        )
        if changed == 1:
            await self._index_devices(a.id, device_ids)
        return changed == 1

    async def update_automation(self, a: Automation, device_ids: Sequence[str], has_schedule: bool) -> None:
        await self.execute(
            "UPDATE automations SET name = ?, background = ?, enabled = ?, match_type = ?, condition_rule = ?, "
            "conditions = ?, preconditions = ?, actions = ?, has_schedule = ?, updated_ms = ? WHERE id = ?",
            (a.name, a.background, int(a.enabled), a.match_type, a.condition_rule, _dumps(a.conditions),
             _dumps(a.preconditions), _dumps(a.actions), int(has_schedule), a.updated_ms, a.id),
        )
        await self.execute("DELETE FROM automation_devices WHERE automation_id = ?", (a.id,))
        await self._index_devices(a.id, device_ids)

    async def _index_devices(self, automation_id: str, device_ids: Sequence[str]) -> None:
        for device_id in dict.fromkeys(device_ids):
            await self.execute("INSERT INTO automation_devices (automation_id, device_id) VALUES (?, ?)",
                               (automation_id, device_id))

    async def set_automation_enabled(self, automation_id: str, enabled: bool, updated_ms: int) -> int:
        return await self.execute("UPDATE automations SET enabled = ?, updated_ms = ? WHERE id = ?",
                                  (int(enabled), updated_ms, automation_id))

    async def get_automation(self, automation_id: str) -> Automation | None:
        rows = await self.fetch(f"SELECT {_AUTOMATION_COLS} FROM automations WHERE id = ?", (automation_id,))
        return _automation(rows[0]) if rows else None

    async def home_automations(self, home_id: str) -> list[Automation]:
        rows = await self.fetch(
            f"SELECT {_AUTOMATION_COLS} FROM automations WHERE home_id = ? ORDER BY created_ms, id", (home_id,))
        return [_automation(r) for r in rows]

    async def count_automations(self, home_id: str) -> int:
        rows = await self.fetch("SELECT COUNT(*) FROM automations WHERE home_id = ?", (home_id,))
        return int(rows[0][0])

    async def delete_automation(self, automation_id: str) -> None:
        await self.execute("DELETE FROM automation_devices WHERE automation_id = ?", (automation_id,))
        await self.execute("DELETE FROM automations WHERE id = ?", (automation_id,))

    async def delete_home_rules(self, home_id: str) -> None:
        """A deleted home's scenes and automations (with their device index rows)."""
        await self.execute("DELETE FROM automation_devices WHERE automation_id IN "
                           "(SELECT id FROM automations WHERE home_id = ?)", (home_id,))
        await self.execute("DELETE FROM automations WHERE home_id = ?", (home_id,))
        await self.execute("DELETE FROM scenes WHERE home_id = ?", (home_id,))

    # --- what the automation engine reads ---------------------------------------------------------
    async def automation_device_ids(self) -> set[str]:
        """Every device an enabled automation's conditions read: the engine's cheap first filter."""
        rows = await self.fetch("SELECT DISTINCT d.device_id FROM automation_devices d "
                                "JOIN automations a ON a.id = d.automation_id WHERE a.enabled = 1")
        return {r[0] for r in rows}

    async def automations_of_device(self, device_id: str) -> list[Automation]:
        rows = await self.fetch(
            f"SELECT {_prefixed(_AUTOMATION_COLS, 'a')} FROM automation_devices d "
            "JOIN automations a ON a.id = d.automation_id WHERE d.device_id = ? AND a.enabled = 1 "
            "ORDER BY a.created_ms, a.id", (device_id,))
        return [_automation(r) for r in rows]

    async def scheduled_automations(self) -> list[Automation]:
        rows = await self.fetch(f"SELECT {_AUTOMATION_COLS} FROM automations WHERE has_schedule = 1 AND enabled = 1 "
                                "ORDER BY created_ms, id")
        return [_automation(r) for r in rows]

    async def claim_schedule_minute(self, automation_id: str, minute: int) -> bool:
        """Take the run of one schedule occurrence: true in exactly one process (a conditional update)."""
        changed = await self.execute(
            "UPDATE automations SET last_fired_minute = ? WHERE id = ? AND last_fired_minute < ? AND enabled = 1",
            (minute, automation_id, minute))
        return changed == 1

    # --- actions of runs still to run -------------------------------------------------------------
    async def insert_pending_actions(self, actions: Sequence[PendingAction]) -> None:
        """A run's actions that have not run yet, in one statement (a run has at most 50 actions)."""
        if not actions:
            return
        marks = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in actions)
        params: list[Any] = []
        for a in actions:
            params += [a.run_id, a.position, a.due_ms, a.home_id, a.region, a.kind, a.rule_id, a.reason,
                       a.started_ms, _dumps(a.chain), _dumps(a.action), a.owner]
        await self.execute(f"INSERT INTO pending_actions ({_PENDING_COLS}) VALUES {marks}", params)

    async def due_pending_actions(self, now_ms: int, owner: str, overdue_ms: int, limit: int
                                  ) -> list[PendingAction]:
        """The next action of each run that ``owner`` may run now, earliest first: due by ``now_ms`` and either its
        own, handed over (no owner), or due by ``overdue_ms`` (its owner has not run it in time: taken over)."""
        rows = await self.fetch(
            f"SELECT {_prefixed(_PENDING_COLS, 'p')} FROM pending_actions p WHERE p.due_ms <= ? "
            "AND (p.owner = ? OR p.owner = '' OR p.due_ms <= ?) AND NOT EXISTS (SELECT 1 FROM pending_actions q "
            "WHERE q.run_id = p.run_id AND q.position < p.position) "
            "ORDER BY p.due_ms, p.run_id, p.position LIMIT ?", (now_ms, owner, overdue_ms, limit))
        return [_pending(r) for r in rows]

    async def claim_pending_action(self, run_id: str, position: int) -> bool:
        """Take one action to run in this unit of work (deleting it: done when the unit commits): true in exactly
        one process, and only when no earlier action of its run is still waiting."""
        changed = await self.execute(
            "DELETE FROM pending_actions WHERE run_id = ? AND position = ? AND NOT EXISTS (SELECT 1 FROM "
            "pending_actions q WHERE q.run_id = ? AND q.position < ?)", (run_id, position, run_id, position))
        return changed == 1

    async def release_pending_actions(self, owner: str) -> int:
        """Hand ``owner``'s runs over at once (a clean stop), instead of after they are overdue."""
        return await self.execute("UPDATE pending_actions SET owner = '' WHERE owner = ?", (owner,))

    async def count_pending_actions(self) -> int:
        rows = await self.fetch("SELECT COUNT(*) FROM pending_actions")
        return int(rows[0][0])
