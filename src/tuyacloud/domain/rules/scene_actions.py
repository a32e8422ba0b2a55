"""Actions of scenes and automations: checked when saved, run in order with their delays when triggered.

Executors:
- ``dpIssue``: ``entity_id`` a device of the home, ``executor_property`` ``{code: value}`` — validated against the
  device's instruction set when saved (2008 naming the code) and again when run; run as a real command
  (``event_from`` 4, the cloud): status change, device log and protocol-4 message, like any other command.
- ``delay``: ``executor_property`` ``{hours, minutes, seconds}`` (numbers or digit strings), 1 s to 5 h.
- ``ruleEnable`` / ``ruleDisable``: ``entity_id`` an automation of the same home.

A run's timetable is fixed when it starts: each action is due at the start time plus the delays before it, on the
cloud clock. Stepping the clock forward makes every action whose time has come run at once, in order; freezing the
clock holds the run at its next delay; stepping it back postpones what is still waiting. A failed action (device
offline, removed, a value the device no longer takes) is logged and the run goes on with the next one.

An action is performed in one unit of work (:func:`perform_in_unit`): a run's waiting actions are rows of the store
that the unit deletes as it performs them (``domain/rules/pending_runs.py``), so an action and its being done commit
together.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from tuyacloud.catalog.validation import validate_commands
from tuyacloud.domain.context import Context, StatusChange
from tuyacloud.domain.devices import commands
from tuyacloud.domain.rules import rule_writes
from tuyacloud.domain.rules.requests import Objects
from tuyacloud.errors import ActionEmpty, DeviceNotExist, DeviceNotInHome, ParamIllegal, TuyaError
from tuyacloud.models import Home
from tuyacloud.store.base import Tx

log = logging.getLogger("tuyacloud.rules")

DP_ISSUE, DELAY, RULE_ENABLE, RULE_DISABLE = "dpIssue", "delay", "ruleEnable", "ruleDisable"
EXECUTORS = (DP_ISSUE, DELAY, RULE_ENABLE, RULE_DISABLE)
MAX_ACTIONS = 50
MAX_DELAY_S = 5 * 3600


@dataclass(frozen=True)
class Outcome:
    """What one action did: ``ok`` or the reason it did not (kept by the engine, and logged)."""

    label: str
    position: int
    executor: str
    entity_id: str
    ok: bool
    detail: str = ""


def _commands_of(props: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"code": code, "value": value} for code, value in props.items()]


def _delay_seconds(props: Any, position: int) -> int:
    if not isinstance(props, dict):
        raise ParamIllegal(f"action {position} (delay) needs executor_property {{hours, minutes, seconds}}")
    total = 0
    for unit, factor, limit in (("hours", 3600, 5), ("minutes", 60, 59), ("seconds", 1, 59)):
        raw = props.get(unit, 0)
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw.strip())
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= limit:
            raise ParamIllegal(f"action {position} (delay): {unit} must be a whole number from 0 to {limit}")
        total += raw * factor
    if not 1 <= total <= MAX_DELAY_S:
        raise ParamIllegal(f"action {position} (delay) must last from 1 second to {MAX_DELAY_S // 3600} hours")
    return total


async def validate(ctx: Context, home: Home, actions: Objects | None) -> list[dict[str, Any]]:
    """The actions in their stored form, or the first problem (nothing is written on error)."""
    if not actions:
        raise ActionEmpty("give at least one action")
    if len(actions) > MAX_ACTIONS:
        raise ParamIllegal(f"at most {MAX_ACTIONS} actions")
    checked: list[dict[str, Any]] = []
    for position, action in enumerate(actions, start=1):
        if not isinstance(action, dict):
            raise ParamIllegal(f"action {position} must be an object")
        executor = action.get("action_executor")
        if executor not in EXECUTORS:
            raise ParamIllegal(f"action {position}: action_executor must be one of {', '.join(EXECUTORS)}")
        entity_id = action.get("entity_id") or ""
        props = action.get("executor_property")
        if not isinstance(entity_id, str):
            raise ParamIllegal(f"action {position}: entity_id must be a string")
        if executor == DELAY:
            seconds = _delay_seconds(props, position)
            checked.append({"entity_id": "delay", "action_executor": DELAY, "executor_property": {
                "hours": str(seconds // 3600), "minutes": str(seconds % 3600 // 60), "seconds": str(seconds % 60)}})
        elif executor == DP_ISSUE:
            if not isinstance(props, dict) or not props:
                raise ParamIllegal(f"action {position} (dpIssue) needs executor_property {{code: value}}")
            device = await ctx.store.get_device(entity_id, home.region)
            if device is None:
                raise DeviceNotExist(f"action {position}: device {entity_id!r} does not exist")
            if device.asset_id != home.id:
                raise DeviceNotInHome(f"action {position}: device {entity_id} is not in home {home.id}")
            valid = validate_commands(commands.product_of(ctx, device), _commands_of(props))
            checked.append({"entity_id": entity_id, "action_executor": DP_ISSUE,
                            "executor_property": dict(valid)})
        else:
            found = await ctx.store.get_automation(entity_id) if entity_id else None
            if found is None or found.home_id != home.id:
                raise ParamIllegal(f"action {position} ({executor}): {entity_id!r} is not an automation of home "
                                   f"{home.id}")
            checked.append({"entity_id": entity_id, "action_executor": executor, "executor_property": {}})
    return checked


def delay_ms(action: dict[str, Any]) -> int:
    p = action["executor_property"]
    return (int(p["hours"]) * 3600 + int(p["minutes"]) * 60 + int(p["seconds"])) * 1000


def timetable(actions: list[dict[str, Any]], start_ms: int) -> list[tuple[int, int, dict[str, Any]]]:
    """(due ms, position, action) of every non-delay action: the start plus the delays before it."""
    due, plan = start_ms, []
    for position, action in enumerate(actions, start=1):
        if action["action_executor"] == DELAY:
            due += delay_ms(action)
        else:
            plan.append((due, position, action))
    return plan


@dataclass(frozen=True)
class Effect:
    """What a performed action changed, to announce once its unit of work has committed (:func:`announce`)."""

    commanded: tuple[str, str] | None = None  # (device id, region) of a dpIssue's command
    change: StatusChange | None = None
    rule_written: str = ""  # the automation a ruleEnable/ruleDisable action wrote


async def perform_in_unit(ctx: Context, tx: Tx, home_id: str, region: str, action: dict[str, Any]) -> Effect:
    """Do one action inside the caller's unit of work. Raises a :class:`TuyaError` before writing anything when the
    action cannot be done (the device offline, removed, out of the home; the automation gone)."""
    executor, entity_id = action["action_executor"], action["entity_id"]
    if executor == DP_ISSUE:
        device = await tx.get_device(entity_id, region)
        if device is None or device.asset_id != home_id:
            raise DeviceNotInHome(f"device {entity_id} is no longer in home {home_id}")
        product = commands.product_of(ctx, device)
        valid = validate_commands(product, _commands_of(action["executor_property"]))
        change = await commands.command_in_unit(ctx, tx, device, product, valid, commands.FROM_CLOUD)
        return Effect(commanded=(device.id, device.region), change=change)
    if not await rule_writes.set_enabled_in_unit(ctx, tx, home_id, entity_id, executor == RULE_ENABLE):
        raise ParamIllegal(f"automation {entity_id} is no longer in home {home_id}")
    return Effect(rule_written=entity_id)


def announce(ctx: Context, effect: Effect) -> None:
    """After the commit: what a command or a rule write tells the rest of the process (the simulator, the
    automation engine, the counters). A status change carries the causation of the context it was made with."""
    if effect.commanded is not None:
        ctx.command_committed(commands.FROM_CLOUD)
        ctx.notify(*effect.commanded)
        ctx.status_changed(effect.change)
    if effect.rule_written and ctx.rules is not None:
        ctx.rules.invalidate(effect.rule_written)


def failed(label: str, position: int, action: dict[str, Any], error: Exception) -> Outcome:
    """The outcome of an action that could not be done, logged (a traceback only for what is not a Tuya error)."""
    executor, entity_id = action["action_executor"], action["entity_id"]
    if isinstance(error, TuyaError):
        log.info("%s: action %d (%s %s) failed: %s", label, position, executor, entity_id, error)
    else:
        log.error("%s: action %d (%s %s) failed", label, position, executor, entity_id, exc_info=error)
    return Outcome(label, position, executor, entity_id, False, f"{type(error).__name__}: {error}")


async def perform(ctx: Context, home_id: str, region: str, position: int, action: dict[str, Any],
                  label: str) -> Outcome:
    """Run one action in its own unit of work; never raises for the action's own failure (the run goes on)."""

    async def work(tx: Tx) -> Effect:
        return await perform_in_unit(ctx, tx, home_id, region, action)

    try:
        announce(ctx, await ctx.store.transaction(work))
    except Exception as error:  # a run must survive anything one action does
        return failed(label, position, action, error)
    return Outcome(label, position, action["action_executor"], action["entity_id"], True)
