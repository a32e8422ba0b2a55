"""Smart-home device endpoints (``/v1.0/devices/...``, ``/v1.1/devices/...``, ``/v1.0/users/{uid}/devices``)."""

from __future__ import annotations

from typing import Any

from tuyacloud import views
from tuyacloud.domain.devices import commands, devices
from tuyacloud.domain.devices.requests import Rename, SendCommands
from tuyacloud.gateway import serialize
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Param, RouteTable
from tuyacloud.gateway.routes.paging import DEVICE_IDS, LAST_ID, LAST_ROW_KEY, PAGE_NO, cursor_after, page_size


async def _owned(req: ApiRequest) -> Any:
    return await devices.get_owned(req.ctx, req.project, req.path_params["device_id"])


def _product(req: ApiRequest, device: Any) -> Any:
    return req.ctx.catalog.product(device.product_id)


async def details(req: ApiRequest) -> dict[str, Any]:
    device = await _owned(req)
    return views.device_v1(device, _product(req, device))


async def status(req: ApiRequest) -> list[dict[str, Any]]:
    device = await _owned(req)
    return views.standard_status(device, _product(req, device))


async def batch_status(req: ApiRequest) -> list[dict[str, Any]]:
    found = await devices.get_many(req.ctx, req.project, req.ids_param("device_ids"))
    return [{"id": d.id, "status": views.standard_status(d, _product(req, d))} for d in found]


async def functions(req: ApiRequest) -> dict[str, Any]:
    device = await _owned(req)
    product = commands.product_of(req.ctx, device)
    return serialize.functions(product.category, product.functions)


async def batch_functions(req: ApiRequest) -> list[dict[str, Any]]:
    found = await devices.get_many(req.ctx, req.project, req.ids_param("device_ids"))
    groups: dict[str, dict[str, Any]] = {}
    for d in found:
        product = commands.product_of(req.ctx, d)
        group = groups.setdefault(product.product_id, {**serialize.functions(product.category, product.functions),
                                                       "devices": []})
        group["devices"].append(d.id)
    return list(groups.values())


async def specifications(req: ApiRequest) -> dict[str, Any]:
    device = await _owned(req)
    return serialize.specification(commands.product_of(req.ctx, device))


async def specifications_v11(req: ApiRequest) -> dict[str, Any]:
    device = await _owned(req)
    return serialize.specification(commands.product_of(req.ctx, device), with_dp_id=True)


async def send_commands(req: ApiRequest) -> bool:
    await commands.send_commands(req.ctx, req.project, req.path_params["device_id"], req.parsed(SendCommands))
    return True


async def rename(req: ApiRequest) -> bool:
    await devices.rename(req.ctx, req.project, req.path_params["device_id"], req.parsed(Rename).name)
    return True


async def delete(req: ApiRequest) -> bool:
    await devices.delete(req.ctx, req.project, req.path_params["device_id"])
    return True


async def list_devices(req: ApiRequest) -> dict[str, Any]:
    """``/v1.0/devices``: by ids, or paged by ``last_id`` (cursor) or ``page_no``."""
    size = req.params.get("page_size", 20)
    ids = req.ids_param("device_ids")
    if ids:
        found = await devices.get_many(req.ctx, req.project, ids)
        more = False
    else:
        page_no = req.params.get("page_no")
        offset = (page_no - 1) * size if page_no and not req.params.get("last_id") else 0
        found, more = await devices.page(req.ctx, req.project, req.params.get("last_id", ""), size, offset=offset,
                                         product_ids=[req.params["product_id"]] if req.params.get("product_id")
                                         else ())
    return {
        "devices": [views.device_v1(d, _product(req, d)) for d in found],
        "has_more": more,
        "last_id": cursor_after(found, more),
        "total": await devices.count(req.ctx, req.project),
    }


async def user_devices(req: ApiRequest) -> list[dict[str, Any]]:
    """All devices of a user (no cursor on the platform; ``page_no``/``page_size`` optional)."""
    size = req.params.get("page_size", 1000)
    page_no = req.params.get("page_no", 1)
    found, _ = await devices.page(req.ctx, req.project, "", size, offset=(page_no - 1) * size,
                                  owner_uid=req.path_params["uid"])
    return [views.device_v1(d, _product(req, d)) for d in found]


async def associated_user_devices(req: ApiRequest) -> dict[str, Any]:
    size = req.params.get("size", 20)
    found, more = await devices.page(req.ctx, req.project, req.params.get("last_row_key", ""), size)
    return {
        "devices": [views.device_v1(d, _product(req, d)) for d in found],
        "has_more": more,
        "last_row_key": cursor_after(found, more),
        "total": await devices.count(req.ctx, req.project),
    }


async def factory_infos(req: ApiRequest) -> list[dict[str, Any]]:
    found = await devices.get_many(req.ctx, req.project, req.ids_param("device_ids", limit=50))
    return [{"id": d.id, "uuid": d.uuid, "sn": d.sn, "mac": d.mac} for d in found]


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "iot_core", "area": "Devices (smart home)"}
    table.add("GET", "/v1.0/devices", list_devices, summary="Device list", **c,
              query=(DEVICE_IDS, LAST_ID, PAGE_NO, page_size(maximum=100), Param("product_id"), Param("schema")))
    table.add("GET", "/v1.0/devices/status", batch_status, summary="Status of several devices", **c,
              query=(Param("device_ids", required=True), PAGE_NO, page_size()))
    table.add("GET", "/v1.0/devices/functions", batch_functions, summary="Instruction sets of several devices",
              query=(Param("device_ids", required=True),), **c)
    table.add("GET", "/v1.0/devices/factory-infos", factory_infos, summary="Factory information",
              query=(Param("device_ids", required=True),), **c)
    table.add("GET", "/v1.0/devices/{device_id}", details, summary="Device details", **c)
    table.add("PUT", "/v1.0/devices/{device_id}", rename, summary="Rename a device", body=Rename, **c)
    table.add("DELETE", "/v1.0/devices/{device_id}", delete, summary="Remove a device", **c)
    table.add("GET", "/v1.0/devices/{device_id}/status", status, summary="Device status", **c)
    table.add("GET", "/v1.0/devices/{device_id}/functions", functions, summary="Device instruction set", **c)
    table.add("GET", "/v1.0/devices/{device_id}/specifications", specifications, summary="Device specification",
              **c)
    table.add("GET", "/v1.1/devices/{device_id}/specifications", specifications_v11,
              summary="Device specification with DP ids", **c)
    table.add("POST", "/v1.0/devices/{device_id}/commands", send_commands, summary="Send commands",
              body=SendCommands, **c)
    table.add("GET", "/v1.0/users/{uid}/devices", user_devices, summary="Devices of a user",
              query=(PAGE_NO, page_size(maximum=1000), Param("from")), **c)
    table.add("GET", "/v1.0/iot-01/associated-users/devices", associated_user_devices,
              summary="Devices of the linked app users", query=(LAST_ROW_KEY, page_size("size", 100)), **c)
