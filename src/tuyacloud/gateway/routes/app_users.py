"""Smart-home app users (``/v1.0/apps/{schema}/...``, ``/v1.0/users/{uid}/infos``) and the associated-user login
(``/v1.0/iot-01/associated-users/actions/authorized-login``)."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.access import tokens
from tuyacloud.domain.smarthome import apps
from tuyacloud.domain.smarthome.requests import AppLogin, SyncAppUser
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import RouteTable
from tuyacloud.gateway.routes.paging import PAGE_NO, page_size
from tuyacloud.models import AppUser
from tuyacloud.signing import LOGIN_AUTH


def _seconds(ms: int) -> int:
    return ms // 1000


def user_view(u: AppUser) -> dict[str, Any]:
    return {"uid": u.id, "username": u.username, "country_code": u.country_code, "nick_name": u.nick_name,
            "mobile": u.username if u.username_type == 1 else "", "email": u.username if u.username_type == 2 else "",
            "avatar": "", "time_zone_id": u.time_zone_id, "temp_unit": 1, "user_properties": [],
            "create_time": _seconds(u.created_ms), "update_time": _seconds(u.updated_ms)}


async def sync_user(req: ApiRequest) -> dict[str, Any]:
    user = await apps.sync_user(req.ctx, req.project, req.path_params["schema"], req.parsed(SyncAppUser))
    return {"uid": user.id}


async def list_users(req: ApiRequest) -> dict[str, Any]:
    size = req.params.get("page_size", 20)
    found, more, total = await apps.page_users(req.ctx, req.project, req.path_params["schema"],
                                               req.params.get("page_no", 1), size)
    return {"list": [{k: v for k, v in user_view(u).items() if k in ("uid", "username", "email", "mobile",
                                                                      "create_time", "update_time", "nick_name",
                                                                      "country_code")} for u in found],
            "total": total, "has_more": more}


async def infos(req: ApiRequest) -> dict[str, Any]:
    return user_view(await apps.get_user(req.ctx, req.project, req.path_params["uid"]))


async def login(req: ApiRequest) -> dict[str, Any]:
    token = await apps.login(req.ctx, req.project, req.parsed(AppLogin))
    return {**tokens.token_result(req.ctx, token), "platform_url": req.base_url}


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "smart_home_basic", "area": "App users"}
    table.add("POST", "/v1.0/apps/{schema}/user", sync_user, body=SyncAppUser,
              summary="Sync (create or update) an app user; password is MD5 hex; idempotent per username → {uid}", **c)
    table.add("GET", "/v1.0/apps/{schema}/users", list_users, query=(PAGE_NO, page_size(maximum=100)),
              summary="App users, paged by page_no → {list, total, has_more}", **c)
    table.add("GET", "/v1.0/users/{uid}/infos", infos, summary="An app user's information", **c)
    table.add("POST", "/v1.0/iot-01/associated-users/actions/authorized-login", login, body=AppLogin,
              auth=LOGIN_AUTH, summary="Associated-user login (tuya-iot-py-sdk SMART_HOME): a token that sees the "
                                       "user's homes and devices; platform_url is this server", **c)
