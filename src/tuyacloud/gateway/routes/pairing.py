"""Smart-home pairing tokens and their results (``/v1.0/device/paring/...``, sic)."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.pairing import pairing, registration
from tuyacloud.domain.pairing.requests import PairingToken
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import RouteTable


async def create_token(req: ApiRequest) -> dict[str, Any]:
    token = await pairing.create_token(req.ctx, req.project, req.parsed(PairingToken))
    return {"region": registration.pairing_region(token.region), "token": token.token, "secret": token.secret,
            "expire_time": registration.TOKEN_TTL_S}


async def result(req: ApiRequest) -> dict[str, Any]:
    found = await pairing.paired_devices(req.ctx, req.project, req.path_params["token"])
    return {"success": [{"device_id": d.id, "product_id": d.product_id, "category": d.category, "name": d.name,
                         "uuid": d.uuid} for d in found], "failed": []}


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "smart_home_basic", "area": "Pairing (smart home)"}
    table.add("POST", "/v1.0/device/paring/token", create_token, body=PairingToken,
              summary="Pairing token for an app user: {region, token, secret, expire_time 300}", **c)
    table.add("GET", "/v1.0/device/paring/tokens/{token}", result,
              summary="Pairing result: {success: [{device_id, product_id, category, name, uuid}], failed: []}", **c)
