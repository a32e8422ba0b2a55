"""v1.0 device timer groups (``/v1.0/devices/{device_id}/timers...``)."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.rules import timers
from tuyacloud.domain.rules.timer_requests import GroupStatus, TimerGroup
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import RouteTable
from tuyacloud.models import Timer


def timer_view(t: Timer) -> dict[str, Any]:
    return {"timer_id": int(t.id), "alias_name": t.alias_name, "date": t.date, "time": t.time, "loops": t.loops,
            "timezone_id": t.timezone_id, "time_zone": t.time_zone, "functions": t.functions,
            "status": 1 if t.enabled else 0, "is_app_push": t.is_app_push, "group_order": t.group_order}


def grouped(found: list[Timer]) -> list[dict[str, Any]]:
    """``[{category, groups: [{id, timers: [...]}]}]``, categories and groups in the order they were made."""
    categories: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for t in found:
        categories.setdefault(t.category, {}).setdefault(t.group_id, []).append(timer_view(t))
    return [{"category": category, "groups": [{"id": gid, "timers": items} for gid, items in groups.items()]}
            for category, groups in categories.items()]


def _device(req: ApiRequest) -> str:
    return req.path_params["device_id"]


async def add(req: ApiRequest) -> dict[str, str]:
    return {"group_id": await timers.add_group(req.ctx, req.project, _device(req), req.parsed(TimerGroup))}


async def list_all(req: ApiRequest) -> list[dict[str, Any]]:
    return grouped(await timers.list_timers(req.ctx, req.project, _device(req)))


async def list_category(req: ApiRequest) -> list[dict[str, Any]]:
    return grouped(await timers.list_timers(req.ctx, req.project, _device(req), req.path_params["category"]))


async def modify(req: ApiRequest) -> bool:
    await timers.modify_group(req.ctx, req.project, _device(req), req.path_params["group_id"], req.parsed(TimerGroup))
    return True


async def status(req: ApiRequest) -> bool:
    await timers.set_group_status(req.ctx, req.project, _device(req), req.path_params["category"],
                                  req.path_params["group_id"], req.parsed(GroupStatus))
    return True


async def delete_all(req: ApiRequest) -> bool:
    await timers.delete_timers(req.ctx, req.project, _device(req))
    return True


async def delete_category(req: ApiRequest) -> bool:
    await timers.delete_timers(req.ctx, req.project, _device(req), req.path_params["category"])
    return True


async def delete_group(req: ApiRequest) -> bool:
    await timers.delete_timers(req.ctx, req.project, _device(req), req.path_params["category"],
                               req.path_params["group_id"])
    return True


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "smart_home_scene", "area": "Timers (v1.0)"}
    base = "/v1.0/devices/{device_id}/timers"
    cat = base + "/categories/{category}"
    table.add("POST", base, add, body=TimerGroup,
              summary="Add a timer group {category, loops, time_zone, timezone_id, alias_name, instruct: "
                      "[{time, date, functions}]} → {group_id}", **c)
    table.add("GET", base, list_all, summary="All timers: [{category, groups: [{id, timers: [...]}]}]", **c)
    table.add("GET", cat, list_category, summary="Timers of one category (same shape)", **c)
    table.add("PUT", base + "/groups/{group_id}", modify, body=TimerGroup,
              summary="Replace a group's timers (same body as add); the group keeps its state", **c)
    table.add("PUT", cat + "/groups/{group_id}/status", status, body=GroupStatus,
              summary="Group state {value: 0 disable, 1 enable, 2 delete}", **c)
    table.add("DELETE", base, delete_all, summary="Delete all timers of the device", **c)
    table.add("DELETE", cat, delete_category, summary="Delete the timers of a category", **c)
    table.add("DELETE", cat + "/groups/{group_id}", delete_group, summary="Delete one timer group", **c)
