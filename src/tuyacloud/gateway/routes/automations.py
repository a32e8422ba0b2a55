"""Automations, i.e. device linkage (``/v1.0/homes/{home_id}/automations...``, ``/v1.1/homes/{home_id}/automations``),
as Tuya's smart-home API has them."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.rules import automations
from tuyacloud.domain.rules.requests import AutomationBody
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import RouteTable
from tuyacloud.gateway.routes.scenes import action_view
from tuyacloud.models import Automation


def automation_view(a: Automation, v11: bool = False) -> dict[str, Any]:
    return {"automation_id": a.id, "name": a.name, "background": a.background, "enabled": a.enabled,
            "match_type": a.match_type, "condition_rule": a.condition_rule, "preconditions": a.preconditions,
            "conditions": a.conditions, "actions": [action_view(x, v11) for x in a.actions]}


def _ids(req: ApiRequest) -> tuple[str, str]:
    return req.path_params["home_id"], req.path_params["automation_id"]


async def list_v10(req: ApiRequest) -> list[dict[str, Any]]:
    return [automation_view(a) for a in await automations.listing(req.ctx, req.project, req.path_params["home_id"])]


async def list_v11(req: ApiRequest) -> list[dict[str, Any]]:
    found = await automations.listing(req.ctx, req.project, req.path_params["home_id"])
    return [automation_view(a, True) for a in found]


async def details(req: ApiRequest) -> dict[str, Any]:
    return automation_view(await automations.details(req.ctx, req.project, *_ids(req)))


async def add(req: ApiRequest) -> str:
    return (await automations.add(req.ctx, req.project, req.path_params["home_id"], req.parsed(AutomationBody))).id


async def modify(req: ApiRequest) -> bool:
    await automations.modify(req.ctx, req.project, *_ids(req), req.parsed(AutomationBody))
    return True


async def delete(req: ApiRequest) -> bool:
    await automations.delete(req.ctx, req.project, *_ids(req))
    return True


async def enable(req: ApiRequest) -> bool:
    await automations.set_enabled(req.ctx, req.project, *_ids(req), True)
    return True


async def disable(req: ApiRequest) -> bool:
    await automations.set_enabled(req.ctx, req.project, *_ids(req), False)
    return True


async def trigger(req: ApiRequest) -> bool:
    return await automations.trigger_external(req.ctx, req.project, *_ids(req))


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "smart_home_scene", "area": "Automations"}
    h = "/v1.0/homes/{home_id}/automations"
    a = h + "/{automation_id}"
    table.add("GET", h, list_v10, summary="Automations of a home", **c)
    table.add("GET", "/v1.1/homes/{home_id}/automations", list_v11,
              summary="Automations of a home (v1.1: the actions carry extra_property)", **c)
    table.add("GET", a, details, summary="One automation", **c)
    table.add("POST", h, add, body=AutomationBody,
              summary="Add an automation {name, match_type, conditions (1 device DP, 6 schedule, 15 external), "
                      "preconditions (timeCheck), actions} → automation_id", **c)
    table.add("PUT", a, modify, body=AutomationBody, summary="Modify an automation (same body as add)", **c)
    table.add("DELETE", a, delete, summary="Delete an automation", **c)
    table.add("PUT", a + "/actions/enable", enable, summary="Enable an automation", **c)
    table.add("PUT", a + "/actions/disable", disable, summary="Disable an automation (it never fires)", **c)
    table.add("POST", a + "/conditions/trigger", trigger,
              summary="Fire the automation's external condition (entity_type 15) → whether a run started", **c)
