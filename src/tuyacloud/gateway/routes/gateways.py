"""Gateways and sub-devices: the sub-device lists, sub-device discovery, the Node connector's registration calls
and the devices of an asset on the iot-03 path."""

from __future__ import annotations

from typing import Any

from tuyacloud import views
from tuyacloud.domain.industry import assets
from tuyacloud.domain.pairing import gateways
from tuyacloud.domain.pairing.requests import Discover
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Param, RouteTable
from tuyacloud.gateway.routes.devices_iot03 import _item as device_iot03
from tuyacloud.gateway.routes.paging import LAST_ROW_KEY, cursor_after, page_size
from tuyacloud.gateway.routes.registration import pairing_result
from tuyacloud.models import Device

DURATION = Param("duration", "integer", minimum=0, maximum=gateways.MAX_DISCOVERY_S,
                 description=f"seconds the gateway searches (default {gateways.DEFAULT_DISCOVERY_S}, 0 stops)")
DISCOVERY_TIME = Param("discovery_time", "integer", minimum=0,
                       description="10-digit seconds: sub-devices that joined since then")


def _sub_item(req: ApiRequest, d: Device) -> dict[str, Any]:
    """A sub-device as Tuya's sub-device lists show it (``Get Sub-Device List``)."""
    product = req.ctx.catalog.product(d.product_id)
    return {"active_time": d.active_ms // 1000, "asset_id": d.asset_id, "category": d.category,
            "icon": product.icon if product else "", "id": d.id, "name": d.name, "node_id": d.node_id,
            "online": d.online, "owner_id": d.owner_uid, "product_id": d.product_id,
            "update_time": d.updated_ms // 1000}


def _since_ms(req: ApiRequest) -> int:
    raw = req.params.get("discovery_time")
    if raw is None:
        return 0
    return raw if raw > 100_000_000_000 else raw * 1000  # seconds as documented; milliseconds tolerated


async def sub_devices_iot03(req: ApiRequest) -> list[dict[str, Any]]:
    found = await gateways.sub_devices(req.ctx, req.project, req.path_params["device_id"])
    return [_sub_item(req, d) for d in found]


async def sub_devices_v1(req: ApiRequest) -> list[dict[str, Any]]:
    found = await gateways.sub_devices(req.ctx, req.project, req.path_params["device_id"])
    return [views.device_v1(d, req.ctx.catalog.product(d.product_id)) for d in found]


async def joined_sub_devices(req: ApiRequest) -> list[dict[str, Any]]:
    found = await gateways.sub_devices(req.ctx, req.project, req.path_params["device_id"],
                                       joined_from_ms=_since_ms(req))
    return [_sub_item(req, d) for d in found]


async def discover(req: ApiRequest) -> bool:
    duration = req.params.get("duration")
    if duration is None:
        duration = req.parsed(Discover).duration  # the Node connector sends it in the body
    await gateways.discover(req.ctx, req.project, req.path_params["device_id"], duration)
    return True


async def stop_discover(req: ApiRequest) -> bool:
    await gateways.stop_discover(req.ctx, req.project, req.path_params["device_id"])
    return True


async def asset_devices_iot03(req: ApiRequest) -> dict[str, Any]:
    size = req.params.get("page_size", 20)
    _, found, more, total = await assets.devices_at(req.ctx, req.project, req.path_params["asset_id"],
                                                    req.params.get("last_row_key", ""), size)
    return {"has_more": more, "last_row_key": cursor_after(found, more),
            "list": [device_iot03(req, d) for d in found], "total": total}


def register(table: RouteTable) -> None:
    dev: dict[str, Any] = {"service": "iot_core"}
    reg: dict[str, Any] = {"service": "industry_basic", "area": "Device registration"}
    table.add("GET", "/v1.0/iot-03/devices/{device_id}/sub-devices", sub_devices_iot03,
              summary="Sub-devices of a gateway (empty for other devices)", area="Devices (industry)", **dev)
    table.add("GET", "/v1.0/devices/{device_id}/sub-devices", sub_devices_v1,
              summary="Sub-devices of a gateway, as device objects", area="Devices (smart home)", **dev)
    table.add("PUT", "/v1.0/devices/{device_id}/enabled-sub-discovery", discover,
              summary="Let sub-devices join the gateway for duration seconds (0 stops)", query=(DURATION,),
              body=Discover, area="Devices (smart home)", **dev)
    table.add("GET", "/v1.0/devices/{device_id}/list-sub", joined_sub_devices,
              summary="Sub-devices that joined the gateway since discovery_time", query=(DISCOVERY_TIME,),
              area="Devices (smart home)", **dev)
    table.add("POST", "/v1.0/iot-03/device-registration/devices/{device_id}/actions/discover", discover,
              summary="The gateway searches for sub-devices for duration seconds (default 100)",
              query=(DURATION,), body=Discover, **reg)
    table.add("POST", "/v1.0/iot-03/device-registration/devices/{device_id}/actions/stop-discover", stop_discover,
              summary="The gateway stops searching for sub-devices", **reg)
    # GET as Tuya documents it; POST as the Node connector sends it.
    for method in ("GET", "POST"):
        table.add(method, "/v1.0/iot-03/device-registration/devices/{device_id}/sub-devices", joined_sub_devices,
                  summary="Sub-devices that joined the gateway since discovery_time", query=(DISCOVERY_TIME,),
                  **reg)
    table.add("POST", "/v1.0/iot-03/device-registration/tokens/{token}", pairing_result,
              summary="Devices paired with a token, as the Node connector asks for them (same answer as "
                      "GET /v1.1/iot-03/device-registration/tokens/{token})", **reg)
    table.add("GET", "/v1.0/iot-03/assets/{asset_id}/devices", asset_devices_iot03,
              summary="Devices at an asset (iot-03 objects, last_row_key cursor)",
              query=(LAST_ROW_KEY, page_size(maximum=100)), service="industry_basic", area="Assets")
