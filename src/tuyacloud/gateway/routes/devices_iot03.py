"""Industry device endpoints (``/v1.x/iot-03/devices/...``)."""

from __future__ import annotations

from typing import Any

from tuyacloud import views
from tuyacloud.domain.devices import commands, devices
from tuyacloud.domain.devices.requests import Rename, SendCommands
from tuyacloud.errors import DeviceNotExist, ParamIllegal
from tuyacloud.gateway import serialize
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Param, RouteTable
from tuyacloud.gateway.routes.devices_v1 import (
    _owned,
    _product,
    batch_status,
    factory_infos,
    functions,
    rename,
    send_commands,
    specifications,
)
from tuyacloud.gateway.routes.devices_v1 import delete as delete_one
from tuyacloud.gateway.routes.paging import DEVICE_IDS, LAST_ROW_KEY, cursor_after, page_size

SOURCE_TYPES = ("asset", "homeApp", "tuyaUser", "product")


def _category_name(req: ApiRequest, code: str) -> str:
    category = req.ctx.catalog.category(code)
    return category.name if category else ""


def _item(req: ApiRequest, d: Any) -> dict[str, Any]:
    return serialize.device_iot03(d, _product(req, d), _category_name(req, d.category))


async def details(req: ApiRequest) -> dict[str, Any]:
    return _item(req, await _owned(req))


async def status(req: ApiRequest) -> list[dict[str, Any]]:
    device = await _owned(req)
    return views.standard_status(device, _product(req, device))


async def specification_v11(req: ApiRequest) -> dict[str, Any]:
    device = await _owned(req)
    spec = serialize.specification(commands.product_of(req.ctx, device))
    spec["lang_config"] = {}
    return spec


async def list_v13(req: ApiRequest) -> dict[str, Any]:
    """``/v1.3/iot-03/devices``: filters, ``last_row_key`` cursor, ``has_more`` false on the last page."""
    size = req.params.get("page_size", 20)
    ids = req.ids_param("device_ids")
    filters: dict[str, Any] = {}
    source_type, source_id = req.params.get("source_type"), req.params.get("source_id")
    if source_id:
        if source_type == "tuyaUser":
            filters["owner_uid"] = source_id
        elif source_type == "product":
            filters["product_ids"] = [source_id]
        elif source_type in (None, "asset"):
            filters["asset_id"] = source_id
    if req.params.get("category"):
        filters["category"] = req.params["category"]
    if req.params.get("product_id"):
        filters["product_ids"] = [req.params["product_id"]]
    if req.params.get("name"):
        filters["name"] = req.params["name"]
    if ids:
        found = [d for d in await devices.get_many(req.ctx, req.project, ids)]
        more = False
    else:
        found, more = await devices.page(req.ctx, req.project, req.params.get("last_row_key", ""), size, **filters)
    return {
        "has_more": more,
        "last_row_key": cursor_after(found, more),
        "list": [_item(req, d) for d in found],
        "total": len(found) if ids else await devices.count(req.ctx, req.project, filters.get("owner_uid")),
    }


async def delete_many(req: ApiRequest) -> bool:
    ids = req.ids_param("device_ids")
    if not ids:
        raise ParamIllegal("device_ids is required")
    for device_id in ids:  # all must be ours before any is removed
        await devices.get_owned(req.ctx, req.project, device_id)
    for device_id in ids:
        try:
            await devices.delete(req.ctx, req.project, device_id)
        except DeviceNotExist:  # a sub-device already removed with its gateway, earlier in the list
            continue
    return True


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "iot_core", "area": "Devices (industry)"}
    list_query = (
        Param("source_type", enum=SOURCE_TYPES), Param("source_id"), DEVICE_IDS, Param("name"), Param("category"),
        Param("product_id"), LAST_ROW_KEY, page_size(maximum=200),
    )
    for version in ("v1.2", "v1.3"):
        table.add("GET", f"/{version}/iot-03/devices", list_v13, summary="Device list", query=list_query, **c)
    table.add("GET", "/v1.0/iot-03/devices", list_v13, summary="Devices by ids", query=list_query, **c)
    table.add("DELETE", "/v1.0/iot-03/devices", delete_many, summary="Remove several devices",
              query=(Param("device_ids", required=True),), **c)
    table.add("GET", "/v1.0/iot-03/devices/status", batch_status, summary="Status of several devices",
              query=(Param("device_ids", required=True),), **c)
    table.add("GET", "/v1.0/iot-03/devices/factory-infos", factory_infos, summary="Factory information",
              query=(Param("device_ids", required=True),), **c)
    for version in ("v1.0", "v1.1"):
        table.add("GET", f"/{version}/iot-03/devices/{{device_id}}", details, summary="Device details", **c)
    table.add("PUT", "/v1.0/iot-03/devices/{device_id}", rename, summary="Rename a device", body=Rename, **c)
    table.add("DELETE", "/v1.0/iot-03/devices/{device_id}", delete_one, summary="Remove a device", **c)
    table.add("GET", "/v1.0/iot-03/devices/{device_id}/status", status, summary="Device status", **c)
    table.add("GET", "/v1.0/iot-03/devices/{device_id}/functions", functions, summary="Device instruction set", **c)
    table.add("GET", "/v1.0/iot-03/devices/{device_id}/specification", specifications,
              summary="Device specification", **c)
    for version in ("v1.1", "v1.2"):
        table.add("GET", f"/{version}/iot-03/devices/{{device_id}}/specification", specification_v11,
                  summary="Device specification with value names", **c)
    table.add("POST", "/v1.0/iot-03/devices/{device_id}/commands", send_commands, summary="Send commands",
              body=SendCommands, **c)
