"""Automations (device linkage) of a home: list, details, add, modify, delete, enable,
disable, and the external condition trigger.

The body::

    {name, background?, match_type: 1 any | 2 all, condition_rule?,
     conditions: [{entity_type, entity_id, order_num?, display}],
     preconditions?: [{cond_type: "timeCheck", display: {start "HH:mm", end "HH:mm", loops, timezone_id}}],
     actions: [...as scenes...]}

Condition entity types: 1 a device data point (``entity_id`` a device of the home, ``display`` ``{code, operator
"==" | "<" | ">", value}``; ``<``/``>`` only on Integer data points, values in raw DP units as commands take them),
6 a schedule (``display`` ``{time "HH:mm", loops "1111111" Sunday first, timezone_id, date? yyyyMMdd}``; loops
``0000000`` with a date is a one-shot), 15 an external trigger (fired by ``.../conditions/trigger``). Everything is
checked when saved and nothing is written on error. How they fire: ``domain/rules/engine.py``.
"""

from __future__ import annotations

from typing import Any

from tuyacloud.catalog.datapoints import validate_value
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import commands
from tuyacloud.domain.rules import rule_time, rule_writes, scene_actions
from tuyacloud.domain.rules.engine import ALL, ANY, DEVICE, EXTERNAL, SCHEDULE
from tuyacloud.domain.rules.requests import MAX_PRECONDITIONS, AutomationBody, Objects
from tuyacloud.domain.rules.scenes import background_of, new_rule_id
from tuyacloud.domain.smarthome import homes
from tuyacloud.errors import (
    AutomationNotExist,
    CommandNotSupported,
    DeviceNotExist,
    DeviceNotInHome,
    ParamEmpty,
    ParamIllegal,
    ParamRangeInvalid,
)
from tuyacloud.models import Automation, Home, Project
from tuyacloud.store.base import Tx

MAX_AUTOMATIONS, MAX_CONDITIONS = 100, 10
OPERATORS = ("==", "<", ">")
ENTITY_TYPES = {DEVICE: "device", SCHEDULE: "schedule", EXTERNAL: "external trigger"}


def _int(value: object, field: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamIllegal(f"{field} must be an integer")
    return value


async def _device_condition(ctx: Context, home: Home, c: dict[str, Any], where: str) -> dict[str, Any]:
    display = c.get("display")
    if not isinstance(display, dict):
        raise ParamIllegal(f"{where}: display {{code, operator, value}} is required")
    device_id = c.get("entity_id")
    device = await ctx.store.get_device(device_id, home.region) if isinstance(device_id, str) else None
    if device is None:
        raise DeviceNotExist(f"{where}: device {device_id!r} does not exist")
    if device.asset_id != home.id:
        raise DeviceNotInHome(f"{where}: device {device_id} is not in home {home.id}")
    product = commands.product_of(ctx, device)
    code = display.get("code")
    spec = product.spec(code) if isinstance(code, str) else None
    if spec is None:
        known = ", ".join(s.code for s in product.all_dps())
        raise CommandNotSupported(f"{where}: {code!r} is not a data point of device {device_id} (known: {known})")
    operator = display.get("operator", "==")
    if operator not in OPERATORS:
        raise ParamIllegal(f"{where}: operator must be one of {', '.join(OPERATORS)}")
    if operator != "==" and spec.type != "Integer":
        raise ParamIllegal(f"{where}: operator {operator} compares numbers; {code} is a {spec.type} data point")
    if "value" not in display:
        raise ParamEmpty(f"{where}: display.value is required")
    value = validate_value(spec, display["value"])
    return {"entity_type": DEVICE, "entity_id": device.id,
            "display": {"code": code, "operator": operator, "value": value}}


def _schedule_condition(c: dict[str, Any], where: str) -> dict[str, Any]:
    display = c.get("display")
    if not isinstance(display, dict):
        raise ParamIllegal(f"{where}: display {{time, loops, timezone_id}} is required")
    rule_time.parse_time(display.get("time"), f"{where}: time")
    loops = rule_time.check_loops(display.get("loops", "1111111"), f"{where}: loops")
    zone = display.get("timezone_id")
    rule_time.zone(zone, f"{where}: timezone_id")
    out = {"time": display["time"].strip(), "loops": loops, "timezone_id": str(zone).strip()}
    if display.get("date") not in (None, ""):
        out["date"] = rule_time.check_date(display.get("date"), f"{where}: date")
    elif loops == "0000000":
        raise ParamIllegal(f"{where}: loops 0000000 is a one-shot and needs a date yyyyMMdd")
    return {"entity_type": SCHEDULE, "entity_id": str(c.get("entity_id") or "timer"), "display": out}


async def _conditions(ctx: Context, home: Home, conditions: Objects | None) -> list[dict[str, Any]]:
    if not conditions:
        raise ParamEmpty("conditions: give at least one condition")
    if len(conditions) > MAX_CONDITIONS:
        raise ParamIllegal(f"at most {MAX_CONDITIONS} conditions")
    checked = []
    for position, c in enumerate(conditions, start=1):
        where = f"condition {position}"
        if not isinstance(c, dict):
            raise ParamIllegal(f"{where} must be an object")
        entity_type = _int(c.get("entity_type"), f"{where}: entity_type")
        if entity_type == DEVICE:
            one = await _device_condition(ctx, home, c, where)
        elif entity_type == SCHEDULE:
            one = _schedule_condition(c, where)
        elif entity_type == EXTERNAL:
            one = {"entity_type": EXTERNAL, "entity_id": str(c.get("entity_id") or "external"),
                   "display": c.get("display") if isinstance(c.get("display"), dict) else {}}
        else:
            supported = ", ".join(f"{k} ({v})" for k, v in ENTITY_TYPES.items())
            raise ParamIllegal(f"{where}: entity_type {entity_type} is not supported; supported: {supported}")
        order = c.get("order_num", position)
        one["order_num"] = _int(order, f"{where}: order_num")
        one["id"] = position
        checked.append(one)
    return checked


def _preconditions(preconditions: Objects | None) -> list[dict[str, Any]]:
    if preconditions is None:
        return []
    if len(preconditions) > MAX_PRECONDITIONS:
        raise ParamIllegal(f"preconditions must be a list of at most {MAX_PRECONDITIONS} timeCheck entries")
    checked = []
    for position, p in enumerate(preconditions, start=1):
        where = f"precondition {position}"
        if not isinstance(p, dict) or p.get("cond_type") != "timeCheck" or not isinstance(p.get("display"), dict):
            raise ParamIllegal(f"{where}: only {{cond_type: \"timeCheck\", display: {{start, end, loops, "
                               "timezone_id}}}} is supported")
        d = p["display"]
        rule_time.parse_time(d.get("start"), f"{where}: start")
        rule_time.parse_time(d.get("end"), f"{where}: end")
        loops = rule_time.check_loops(d.get("loops", "1111111"), f"{where}: loops")
        rule_time.zone(d.get("timezone_id"), f"{where}: timezone_id")
        checked.append({"id": str(p.get("id") or position), "cond_type": "timeCheck",
                        "display": {"start": d["start"].strip(), "end": d["end"].strip(), "loops": loops,
                                    "timezone_id": str(d["timezone_id"]).strip()}})
    return checked


async def _checked(ctx: Context, home: Home, body: AutomationBody, automation: Automation) -> None:
    """Fill ``automation`` from the body, or raise on the first problem."""
    automation.name = homes.check_name(body.name)
    automation.background = background_of(body.background)
    match_type = _int(body.match_type, "match_type")
    if match_type not in (ANY, ALL):
        raise ParamIllegal("match_type must be 1 (any condition) or 2 (all conditions)")
    automation.match_type = match_type
    rule = body.condition_rule or ""
    if len(rule) > 256:
        raise ParamIllegal("condition_rule must be a string")
    automation.condition_rule = rule
    automation.conditions = await _conditions(ctx, home, body.conditions)
    automation.preconditions = _preconditions(body.preconditions)
    automation.actions = await scene_actions.validate(ctx, home, body.actions)


def _index(a: Automation) -> tuple[list[str], bool]:
    devices = [c["entity_id"] for c in a.conditions if c["entity_type"] == DEVICE]
    return devices, any(c["entity_type"] == SCHEDULE for c in a.conditions)


async def _automation(ctx: Context, project: Project, home_id: str, automation_id: str, manage: bool = False
                      ) -> tuple[Home, Automation]:
    home = await homes.get_home(ctx, project, home_id, manage=manage)
    found = await ctx.store.get_automation(automation_id)
    if found is None or found.home_id != home.id:
        raise AutomationNotExist(f"automation {automation_id!r} does not exist in home {home.id}")
    return home, found


async def listing(ctx: Context, project: Project, home_id: str) -> list[Automation]:
    home = await homes.get_home(ctx, project, home_id)
    return await ctx.store.home_automations(home.id)


async def details(ctx: Context, project: Project, home_id: str, automation_id: str) -> Automation:
    return (await _automation(ctx, project, home_id, automation_id))[1]


async def add(ctx: Context, project: Project, home_id: str, body: AutomationBody) -> Automation:
    home = await homes.get_home(ctx, project, home_id, manage=True)
    now = ctx.clock.now_ms()
    automation = Automation("", home.id, home.region, "", "", True, ANY, "", [], [], [], now, now)
    await _checked(ctx, home, body, automation)
    devices, scheduled = _index(automation)

    async def work(tx: Tx) -> Automation:
        if await tx.count_automations(home.id) >= MAX_AUTOMATIONS:
            raise ParamRangeInvalid(f"a home has at most {MAX_AUTOMATIONS} automations")

        async def insert(candidate: str) -> bool:
            automation.id = candidate
            return await tx.insert_automation(automation, devices, scheduled)

        await new_rule_id(ctx, insert)
        return automation

    return await rule_writes.commit(ctx, work, lambda: automation.id)


async def modify(ctx: Context, project: Project, home_id: str, automation_id: str,
                 body: AutomationBody) -> None:
    home, automation = await _automation(ctx, project, home_id, automation_id, manage=True)
    await _checked(ctx, home, body, automation)
    automation.updated_ms = ctx.clock.now_ms()
    devices, scheduled = _index(automation)

    async def work(tx: Tx) -> None:
        await tx.update_automation(automation, devices, scheduled)

    await rule_writes.commit(ctx, work, lambda: automation.id)


async def delete(ctx: Context, project: Project, home_id: str, automation_id: str) -> None:
    _, automation = await _automation(ctx, project, home_id, automation_id, manage=True)

    async def work(tx: Tx) -> None:
        await tx.delete_automation(automation.id)

    await rule_writes.commit(ctx, work, lambda: automation.id)


async def set_enabled(ctx: Context, project: Project, home_id: str, automation_id: str, enabled: bool) -> None:
    home, automation = await _automation(ctx, project, home_id, automation_id, manage=True)
    await rule_writes.set_enabled(ctx, home.id, automation.id, enabled)


async def trigger_external(ctx: Context, project: Project, home_id: str, automation_id: str) -> bool:
    """Fire the automation's external condition; True when a run started (False: disabled, outside its
    preconditions, held back by the loop rule, or, for "all", a device condition does not hold)."""
    _, automation = await _automation(ctx, project, home_id, automation_id)
    if not any(c["entity_type"] == EXTERNAL for c in automation.conditions):
        raise ParamIllegal(f"automation {automation.id} has no external condition (entity_type 15)")
    if ctx.rules is None:
        return False
    fired: bool = await ctx.rules.fire(automation, ctx.causation, "external")
    return fired
