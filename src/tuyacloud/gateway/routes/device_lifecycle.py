"""Factory reset and freeze state of a device, in each API family that has them."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.pairing import lifecycle as device_lifecycle
from tuyacloud.domain.pairing.requests import FreezeState
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import RouteTable


async def reset(req: ApiRequest) -> bool:
    await device_lifecycle.factory_reset(req.ctx, req.project, req.path_params["device_id"])
    return True


async def freeze_state(req: ApiRequest) -> dict[str, Any]:
    return {"state": await device_lifecycle.freeze_state(req.ctx, req.project, req.path_params["device_id"])}


async def set_freeze_state(req: ApiRequest) -> bool:
    await device_lifecycle.set_freeze_state(req.ctx, req.project, req.path_params["device_id"],
                                            req.parsed(FreezeState))
    return True


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "iot_core"}
    summary = "Factory reset: initial status, unbound from its user and asset, offline (a gateway's sub-devices too)"
    # tuya-iot-py-sdk sends POST; Tuya's API list and its Node SDK say PUT: both are served.
    for method in ("POST", "PUT"):
        table.add(method, "/v1.0/devices/{device_id}/reset-factory", reset, summary=summary,
                  area="Devices (smart home)", **c)
    # DELETE: tuya-iot-py-sdk; POST: Tuya's "Restore defaults" page and the Node connector.
    for method in ("POST", "DELETE"):
        table.add(method, "/v1.0/iot-03/devices/{device_id}/actions/reset", reset, summary=summary,
                  area="Devices (industry)", **c)
    table.add("POST", "/v2.0/cloud/thing/{device_id}/reset", reset, summary=summary, area="Things (v2.0)", **c)
    table.add("GET", "/v1.0/iot-03/devices/{device_id}/freeze-state", freeze_state,
              summary="Freeze state: {state: 0 normal | 1 frozen}", area="Devices (industry)", **c)
    table.add("PUT", "/v1.0/iot-03/devices/{device_id}/freeze-state", set_freeze_state,
              summary="Freeze (1) or unfreeze (0) a device; a frozen device refuses commands (1106)",
              body=FreezeState, area="Devices (industry)", **c)
