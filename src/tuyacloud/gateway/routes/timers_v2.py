"""v2.0 device timers (``/v2.0/cloud/timer/device/{device_id}...``)."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.rules import timers
from tuyacloud.domain.rules.timer_requests import ModifyTimer, TimerBody, TimerState
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Param, RouteTable
from tuyacloud.models import Timer

NO_DATE = "00000000"


def timer_view(t: Timer) -> dict[str, Any]:
    return {"timer_id": t.id, "alias_name": t.alias_name, "time": t.time, "timezone_id": t.timezone_id,
            "date": t.date or NO_DATE, "loops": t.loops, "enable": t.enabled, "functions": t.functions,
            "category": t.category}


def _device(req: ApiRequest) -> str:
    return req.path_params["device_id"]


async def add(req: ApiRequest) -> dict[str, str]:
    return {"timer_id": await timers.add_timer(req.ctx, req.project, _device(req), req.parsed(TimerBody))}


async def query(req: ApiRequest) -> list[dict[str, Any]]:
    found = await timers.query_timers(req.ctx, req.project, _device(req), req.params.get("timer_ids"),
                                      req.params.get("category"))
    return [timer_view(t) for t in found]


async def modify(req: ApiRequest) -> bool:
    await timers.modify_timer(req.ctx, req.project, _device(req), req.parsed(ModifyTimer))
    return True


async def state(req: ApiRequest) -> bool:
    await timers.set_timer_state(req.ctx, req.project, _device(req), req.parsed(TimerState))
    return True


async def delete_batch(req: ApiRequest) -> bool:
    await timers.delete_by_ids(req.ctx, req.project, _device(req), req.params.get("timer_ids"))
    return True


async def clear(req: ApiRequest) -> bool:
    await timers.delete_timers(req.ctx, req.project, _device(req))
    return True


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "iot_core", "area": "Timers (v2.0)"}
    base = "/v2.0/cloud/timer/device/{device_id}"
    ids = Param("timer_ids", description="comma-separated timer ids")
    table.add("POST", base, add, body=TimerBody,
              summary="Add a timer {alias_name, time, timezone_id, date | loops, functions, category} → {timer_id}",
              **c)
    table.add("GET", base, query, query=(ids, Param("category", description="only this category")),
              summary="Timers: [{timer_id, alias_name, time, timezone_id, date, loops, enable, functions, "
                      "category}]", **c)
    table.add("PUT", base, modify, body=ModifyTimer, summary="Modify a timer {timer_id, ...add fields}", **c)
    table.add("PUT", base + "/state", state, body=TimerState, summary="Enable or disable {timer_id, enable}", **c)
    table.add("DELETE", base + "/batch", delete_batch,
              query=(Param("timer_ids", required=True, description="comma-separated timer ids"),),
              summary="Delete timers (all named or none)", **c)
    table.add("DELETE", base, clear, summary="Delete all timers of the device", **c)
