"""Device registration (pairing) of industry projects: tokens and their pairing results."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.pairing import registration
from tuyacloud.domain.pairing.requests import RegistrationToken
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import RouteTable


async def create_token(req: ApiRequest) -> dict[str, Any]:
    token, extension = await registration.create_token(req.ctx, req.project, req.parsed(RegistrationToken))
    return {"region": registration.pairing_region(token.region), "token": token.token, "secret": token.secret,
            "expire_time": registration.TOKEN_TTL_S, "extension": extension}


async def pairing_result(req: ApiRequest) -> dict[str, Any]:
    _, found = await registration.paired_devices(req.ctx, req.project, req.path_params["token"])
    return {"success_devices": [{"device_id": d.id, "product_id": d.product_id, "name": d.name,
                                 "category": d.category, "uuid": d.uuid, "asset_id": d.asset_id} for d in found],
            "error_devices": []}


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "industry_basic", "area": "Device registration"}
    table.add("POST", "/v1.0/iot-03/device-registration/token", create_token,
              summary="Registration (pairing) token: region, token, secret, expire_time 300 s; devices land at "
                      "asset_id (default the root asset)", body=RegistrationToken, **c)
    table.add("GET", "/v1.1/iot-03/device-registration/tokens/{token}", pairing_result,
              summary="Devices paired with a token (tuyacloud's shape, undocumented upstream): "
                      "{success_devices: [{device_id, product_id, name, category, uuid, asset_id}], "
                      "error_devices: []}", **c)
