"""Device log endpoints of the three families; all share one history query."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.devices import history
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Param, RouteTable
from tuyacloud.gateway.routes.paging import LAST_ROW_KEY, cursor_after, page_size

MAX_MS = 9_999_999_999_999  # 13 digits: a larger time is a client error, and overflows the store's integers
START = Param("start_time", "integer", minimum=0, maximum=MAX_MS, description="13-digit ms")
END = Param("end_time", "integer", minimum=0, maximum=MAX_MS, description="13-digit ms")
CODES = Param("codes", description="comma-separated DP codes")


def _codes(req: ApiRequest) -> list[str]:
    return [c for c in str(req.params.get("codes") or "").split(",") if c]


def _entry(log: Any, with_status: bool = True) -> dict[str, Any]:
    entry = {"code": log.code, "value": log.value, "event_time": log.event_time, "event_from": log.event_from,
             "event_id": log.event_id}
    if with_status:
        entry["status"] = "1"
    return entry


async def _page(req: ApiRequest, event_ids: list[int], size_name: str = "size") -> tuple[list[Any], bool, str]:
    cursor = req.params.get("last_row_key") or req.params.get("start_row_key")
    rows, more = await history.page(
        req.ctx, req.project, req.path_params["device_id"], event_ids, req.params.get("start_time"),
        req.params.get("end_time"), req.params.get(size_name, 20), _codes(req), cursor,
    )
    return rows, more, cursor_after(rows, more, "row_id")


async def logs_v1(req: ApiRequest) -> dict[str, Any]:
    rows, more, key = await _page(req, history.parse_event_types(req.params["type"]))
    return {"current_row_key": req.params.get("start_row_key", ""), "device_id": req.path_params["device_id"],
            "has_next": more, "logs": [_entry(r) for r in rows], "next_row_key": key}


async def logs_iot03(req: ApiRequest) -> dict[str, Any]:
    rows, more, key = await _page(req, history.parse_event_types(req.params["event_types"]))
    entries = [_entry(r) for r in rows]
    return {"device_id": req.path_params["device_id"], "has_more": more, "has_next": more, "last_row_key": key,
            "list": entries, "logs": entries}


async def report_logs(req: ApiRequest) -> dict[str, Any]:
    rows, more, key = await _page(req, [history.REPORT])
    entries = [{"code": r.code, "value": r.value, "event_time": r.event_time} for r in rows]
    return {"device_id": req.path_params["device_id"], "has_more": more, "last_row_key": key,
            "list": entries, "logs": entries, "total": len(entries)}


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "iot_core", "area": "Device logs"}
    v1_query = (Param("type", required=True, description="event types, e.g. 1,2,5,7"), START, END, CODES,
                page_size("size", 100), Param("query_type"), Param("start_row_key"), LAST_ROW_KEY)
    table.add("GET", "/v1.0/devices/{device_id}/logs", logs_v1, summary="Device operation log", query=v1_query, **c)
    table.add("GET", "/v2.0/cloud/thing/{device_id}/logs", logs_v1, summary="Device operation log (v2.0)",
              query=v1_query, **c)
    table.add("GET", "/v1.0/iot-03/devices/{device_id}/logs", logs_iot03, summary="Device operation log (industry)",
              query=(Param("event_types", required=True), START, END, page_size("size", 100), Param("query_type"),
                     LAST_ROW_KEY), **c)
    report_query = (CODES, START, END, page_size("size", 100), LAST_ROW_KEY)
    table.add("GET", "/v1.0/iot-03/devices/{device_id}/report-logs", report_logs, summary="Status report log",
              query=report_query, **c)
    table.add("GET", "/v2.0/cloud/thing/{device_id}/report-logs", report_logs, summary="Status report log (v2.0)",
              query=report_query, **c)
