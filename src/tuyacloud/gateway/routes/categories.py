"""Categories and their standard instruction sets, served from the catalog data files."""

from __future__ import annotations

from typing import Any

from tuyacloud.errors import CategoryNotSupported
from tuyacloud.gateway import serialize
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import RouteTable


def _category(req: ApiRequest) -> Any:
    code = req.path_params["category"]
    category = req.ctx.catalog.category(code)
    if category is None:
        raise CategoryNotSupported(f"unknown category {code!r}")
    return category


async def category_functions(req: ApiRequest) -> dict[str, Any]:
    category = _category(req)
    return serialize.functions(category.code, category.functions)


async def category_status(req: ApiRequest) -> dict[str, Any]:
    category = _category(req)
    entries = [serialize.dp_entry(s) for s in category.status]
    # The doc table names it status_list, its example statusList, the device calls status: give the first and last.
    return {"category": category.code, "status_list": entries, "status": entries}


async def device_categories(req: ApiRequest) -> list[dict[str, str]]:
    return [{"code": c.code, "name": c.name} for c in req.ctx.catalog.categories()]


def register(table: RouteTable) -> None:
    common: dict[str, Any] = {"service": "iot_core", "area": "Categories"}
    table.add("GET", "/v1.0/functions/{category}", category_functions,
              summary="Standard instruction set of a category", **common)
    table.add("GET", "/v1.0/iot-03/categories/{category}/functions", category_functions,
              summary="Standard instruction set of a category (industry)", **common)
    table.add("GET", "/v1.0/iot-03/categories/{category}/status", category_status,
              summary="Standard status set of a category", **common)
    table.add("GET", "/v1.0/iot-03/device-categories", device_categories, summary="All category codes", **common)
