"""Token endpoints: simple-mode grant and single-use refresh."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.access import tokens
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Param, RouteTable
from tuyacloud.signing import LOGIN_AUTH, TOKEN_AUTH


async def get_token(req: ApiRequest) -> dict[str, Any]:
    token = await tokens.issue(req.ctx, req.project, req.params.get("grant_type"))
    return tokens.token_result(req.ctx, token)


async def refresh_token(req: ApiRequest) -> dict[str, Any]:
    token = await tokens.refresh(req.ctx, req.project, req.path_params["refresh_token"])
    return tokens.token_result(req.ctx, token)


def register(table: RouteTable) -> None:
    common: dict[str, Any] = {"service": "authorization", "area": "Token", "auth": TOKEN_AUTH}
    table.add("GET", "/v1.0/token", get_token, summary="Get an access token (simple mode)",
              query=(Param("grant_type", required=True, description="1 = simple mode"),), **common)
    table.add("GET", "/v1.0/token/{refresh_token}", refresh_token, summary="Refresh an access token", **common)
    # tuya-connector-python before 0.1.2 refreshed with POST.
    table.add("POST", "/v1.0/token/{refresh_token}", refresh_token, summary="Refresh an access token (POST)",
              **common)
    # tuya-iot-py-sdk refreshes custom-project tokens here (and smart-home ones up to 0.6.3); signed like a
    # business call with an empty access token.
    table.add("POST", "/v1.0/iot-03/users/token/{refresh_token}", refresh_token,
              summary="Refresh an access token (industry)", **{**common, "auth": LOGIN_AUTH})
