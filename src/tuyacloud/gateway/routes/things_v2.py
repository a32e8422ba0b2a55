"""IoT Core v2.0 thing endpoints (``/v2.0/cloud/thing/...``): details, lists, shadow and thing model."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.devices import commands, devices
from tuyacloud.domain.devices.requests import ATTRIBUTE_REFUSED, Attribute, IssueProperties
from tuyacloud.errors import ParamIllegal
from tuyacloud.gateway import serialize
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Param, RouteTable
from tuyacloud.gateway.routes.devices_v1 import _owned, _product
from tuyacloud.gateway.routes.paging import LAST_ID, page_size


async def details(req: ApiRequest) -> dict[str, Any]:
    device = await _owned(req)
    return serialize.device_v2(device, _product(req, device))


async def batch(req: ApiRequest) -> list[dict[str, Any]]:
    found = await devices.get_many(req.ctx, req.project, req.ids_param("device_ids"))
    return [serialize.device_v2(d, _product(req, d)) for d in found]


def _csv(req: ApiRequest, name: str, limit: int) -> list[str]:
    values = [v for v in str(req.params.get(name) or "").split(",") if v]
    if len(values) > limit:
        raise ParamIllegal(f"{name} takes at most {limit} values")
    return values


async def project_devices(req: ApiRequest) -> list[dict[str, Any]]:
    """A bare list of camelCase items (as documented for this one v2.0 call); a page shorter than ``page_size``
    is the last one."""
    found, _ = await devices.page(
        req.ctx, req.project, req.params.get("last_id", ""), req.params["page_size"],
        product_ids=_csv(req, "product_ids", 5), categories=_csv(req, "categories", 5),
    )
    return [serialize.device_v2_listed(d, _product(req, d)) for d in found]


async def shadow_properties(req: ApiRequest) -> dict[str, Any]:
    device = await _owned(req)
    codes = _csv(req, "codes", 100) or None
    return serialize.shadow_properties(device, commands.product_of(req.ctx, device), codes)


async def issue_properties(req: ApiRequest) -> bool:
    await commands.issue_properties(req.ctx, req.project, req.path_params["device_id"], req.parsed(IssueProperties))
    return True


async def model(req: ApiRequest) -> dict[str, Any]:
    device = await _owned(req)
    return serialize.thing_model(device, commands.product_of(req.ctx, device))


async def state(req: ApiRequest) -> dict[str, Any]:
    device = await _owned(req)
    return {"is_online": device.online, "online": device.online, "update_time": device.updated_ms // 1000}


async def attribute(req: ApiRequest) -> bool:
    body = req.parsed(Attribute)
    if body.type != 1:
        raise ParamIllegal(ATTRIBUTE_REFUSED)
    await devices.rename(req.ctx, req.project, req.path_params["device_id"], body.data)
    return True


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "iot_core", "area": "Things (v2.0)"}
    table.add("GET", "/v2.0/cloud/thing/device", project_devices, summary="Devices in the project",
              query=(Param("product_ids"), Param("categories"), LAST_ID, page_size(maximum=20, required=True)), **c)
    table.add("GET", "/v2.0/cloud/thing/batch", batch, summary="Device details in bulk",
              query=(Param("device_ids", required=True),), **c)
    table.add("GET", "/v2.0/cloud/thing/{device_id}", details, summary="Device details", **c)
    table.add("GET", "/v2.0/cloud/thing/{device_id}/state", state, summary="Online state", **c)
    table.add("POST", "/v2.0/cloud/thing/{device_id}/attribute", attribute, summary="Modify device attributes",
              body=Attribute, **c)
    table.add("GET", "/v2.0/cloud/thing/{device_id}/model", model, summary="Thing model", **c)
    table.add("GET", "/v2.0/cloud/thing/{device_id}/shadow/properties", shadow_properties,
              summary="Latest properties", query=(Param("codes"),), **c)
    table.add("POST", "/v2.0/cloud/thing/{device_id}/shadow/properties/issue", issue_properties,
              summary="Issue properties", body=IssueProperties, **c)
