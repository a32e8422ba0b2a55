"""Project users of custom projects (``/v1.x/iot-02/users``), their login, and their authorisation on assets
(``/v1.0/iot-03/...``)."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.access import tokens
from tuyacloud.domain.industry import authorization, users
from tuyacloud.errors import ParamIllegal
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Param, RouteTable
from tuyacloud.gateway.routes.paging import LAST_ROW_KEY, PAGE_NO, cursor_after, page_size
from tuyacloud.models import ProjectUser
from tuyacloud.signing import LOGIN_AUTH

_S = {"type": "string"}
REGISTER_BODY = {"type": "object", "required": ["username", "password"],
                 "properties": {"username": _S, "password": _S, "country_code": _S, "nick_name": _S,
                                "user_nick_name": _S, "creator": _S}}
MODIFY_BODY = {"type": "object", "properties": {"user_id": _S, "old_password": _S, "new_password": _S,
                                                "nick_name": _S, "user_nick_name": _S, "country_code": _S,
                                                "tenant_code": _S}}
RESET_BODY = {"type": "object", "required": ["username", "new_password"],
              "properties": {"username": _S, "new_password": _S}}
LOGIN_BODY = {"type": "object", "required": ["username", "password"], "properties": {"username": _S, "password": _S}}
GRANT_BODY = {"type": "object", "required": ["uid", "asset_id"],
              "properties": {"uid": _S, "asset_id": _S, "authorized_children": {"type": "boolean"}}}
BATCH_GRANT_BODY = {"type": "object", "required": ["asset_ids"],
                    "properties": {"uid": _S, "asset_ids": _S, "authorized_children": {"type": "boolean"}}}
REVOKE_BODY = {"type": "object", "required": ["asset_id"],
               "properties": {"uid": _S, "asset_id": _S, "authorized_children": {"type": "boolean"}}}


def _body(req: ApiRequest) -> dict[str, Any]:
    if not isinstance(req.body, dict):
        raise ParamIllegal("the body must be a JSON object")
    return req.body


def _user(u: ProjectUser) -> dict[str, Any]:
    return {"user_id": u.id, "uid": u.id, "user_name": u.username, "username": u.username,
            "country_code": u.country_code, "nick_name": u.nick_name, "user_nick_name": u.nick_name,
            "create_time": u.created_ms, "update_time": u.updated_ms, "account_type": 1, "tenant_code": "",
            "creator": u.creator, "mobile": "", "email": "", "reg_origin": "openapi"}


def _ids(raw: object) -> list[str]:
    if not isinstance(raw, str):
        raise ParamIllegal("asset_ids must be a comma-separated string")
    return [i for i in raw.split(",") if i.strip()]


def _children(body: dict[str, Any]) -> bool:
    value = body.get("authorized_children", False)
    if not isinstance(value, bool):
        raise ParamIllegal("authorized_children must be true or false")
    return value


# --- users ----------------------------------------------------------------------------------------------------------
async def register_user(req: ApiRequest) -> dict[str, Any]:
    b = _body(req)
    user = await users.register(req.ctx, req.project, username=b.get("username"), password=b.get("password"),
                                country_code=b.get("country_code") or "",
                                nick_name=b.get("nick_name") or b.get("user_nick_name") or "",
                                creator=b.get("creator") or "")
    return {"user_id": user.id}


async def by_id(req: ApiRequest) -> dict[str, Any]:
    return _user(await users.get(req.ctx, req.project, req.path_params["user_id"]))


async def by_name(req: ApiRequest) -> dict[str, Any]:
    return _user(await users.get_by_name(req.ctx, req.project, req.path_params["user_name"]))


async def page_rows(req: ApiRequest) -> dict[str, Any]:
    size = req.params.get("page_size", 20)
    found, more, total = await users.page(
        req.ctx, req.project, req.params.get("last_row_key", ""), size, ids=req.ids_param("user_ids", 100),
        names=req.ids_param("user_names", 100), nick_name=req.params.get("user_nick_name"))
    return {"list": [_user(u) for u in found], "last_row_key": cursor_after(found, more), "page_size": size,
            "has_next": more, "total": total}


async def page_numbers(req: ApiRequest) -> dict[str, Any]:
    size, page_no = req.params.get("page_size", 20), req.params.get("page_no", 1)
    found, _, total = await users.page(req.ctx, req.project, "", size, offset=(page_no - 1) * size,
                                       ids=req.ids_param("user_ids", 100), names=req.ids_param("user_names", 100),
                                       nick_name=req.params.get("user_nick_name"))
    return {"list": [_user(u) for u in found], "page_count": (total + size - 1) // size, "page_size": size,
            "current_page": page_no, "records_count": total}


async def modify(req: ApiRequest) -> bool:
    b = _body(req)
    await users.modify(req.ctx, req.project, req.path_params["user_id"],
                       nick_name=b.get("nick_name", b.get("user_nick_name")), country_code=b.get("country_code"),
                       old_password=b.get("old_password"), new_password=b.get("new_password"))
    return True


async def reset_password(req: ApiRequest) -> bool:
    b = _body(req)
    await users.reset_password(req.ctx, req.project, b.get("username"), b.get("new_password"))
    return True


async def delete(req: ApiRequest) -> bool:
    await users.delete(req.ctx, req.project, req.path_params["user_id"])
    return True


async def login(req: ApiRequest) -> dict[str, Any]:
    b = _body(req)
    token = await users.login(req.ctx, req.project, b.get("username"), b.get("password"))
    return tokens.token_result(req.ctx, token)


# --- authorisation --------------------------------------------------------------------------------------------------
async def grant(req: ApiRequest) -> bool:
    b = _body(req)
    uid = b.get("uid")
    await authorization.authorize(req.ctx, req.project, uid if isinstance(uid, str) else "",
                                  [str(b.get("asset_id") or "")], _children(b))
    return True


async def batch_grant(req: ApiRequest) -> bool:
    b = _body(req)
    await authorization.authorize(req.ctx, req.project, req.path_params["uid"], _ids(b.get("asset_ids")),
                                  _children(b))
    return True


async def revoke(req: ApiRequest) -> bool:
    b = _body(req)
    await authorization.revoke(req.ctx, req.project, req.path_params["uid"], [str(b.get("asset_id") or "")])
    return True


async def batch_revoke(req: ApiRequest) -> bool:
    await authorization.revoke(req.ctx, req.project, req.path_params["uid"], _ids(_body(req).get("asset_ids")))
    return True


async def user_assets(req: ApiRequest) -> dict[str, Any]:
    size, page_no = req.params.get("page_size", 20), req.params.get("page_no", 1)
    found, more, total = await authorization.user_assets(req.ctx, req.project, req.path_params["uid"], page_no, size)
    return {"list": [{"asset_id": a.id, "asset_name": a.name, "parent_asset_id": a.parent_id, "level": a.level}
                     for a in found], "has_more": more, "total": total}


async def asset_users(req: ApiRequest) -> dict[str, Any]:
    size, page_no = req.params.get("page_size", 20), req.params.get("page_no", 1)
    found, total = await authorization.asset_users(req.ctx, req.project, req.path_params["asset_id"], page_no, size)
    return {"data": [{"uid": u.id, "user_account": u.username, "country_code": u.country_code} for u in found],
            "page_no": page_no, "page_size": size, "total": total}


async def my_assets(req: ApiRequest) -> dict[str, Any]:
    size, page_no = req.params.get("page_size", 20), req.params.get("page_no", 1)
    found, more = await authorization.my_assets(req.ctx, req.project, req.params.get("parent_asset_id"), page_no,
                                                size)
    return {"assets": [{"asset_id": m.asset.id, "asset_name": m.asset.name, "parent_asset_id": m.asset.parent_id,
                        "permission": m.permission, "current_asset_device_num": m.device_count} for m in found],
            "has_more": more, "project_name": req.project.name}


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "industry_basic", "area": "Project users"}
    table.add("POST", "/v1.0/iot-03/users/login", login, summary="Log in as a project user", body=LOGIN_BODY,
              **{**c, "service": "authorization", "auth": LOGIN_AUTH})
    table.add("POST", "/v1.0/iot-02/users", register_user, summary="Register a user", body=REGISTER_BODY, **c)
    table.add("GET", "/v1.0/iot-02/users", page_rows, summary="Users (row-key paging)",
              query=(LAST_ROW_KEY, page_size(maximum=100)), **c)
    table.add("GET", "/v1.1/iot-02/users", page_rows, summary="Users with filters (row-key paging)",
              query=(LAST_ROW_KEY, page_size(maximum=100), Param("user_nick_name"), Param("user_ids"),
                     Param("user_names")), **c)
    table.add("GET", "/v1.1/iot-02/users/page", page_numbers, summary="Users (page numbers)",
              query=(PAGE_NO, page_size(maximum=100), Param("user_nick_name"), Param("user_ids"),
                     Param("user_names")), **c)
    table.add("PUT", "/v1.0/iot-02/users/reset-password", reset_password, summary="Reset a user's password",
              body=RESET_BODY, **c)
    table.add("GET", "/v1.0/iot-02/users/{user_id}", by_id, summary="User by id", **c)
    table.add("GET", "/v1.2/iot-02/users/{user_name}", by_name, summary="User by username", **c)
    table.add("PUT", "/v1.0/iot-02/users/{user_id}", modify, summary="Modify a user or change the password",
              body=MODIFY_BODY, **c)
    table.add("DELETE", "/v1.0/iot-02/users/{user_id}", delete, summary="Delete a user", **c)
    a: dict[str, Any] = {"service": "industry_basic", "area": "Asset authorisation"}
    table.add("POST", "/v1.0/iot-03/assets/actions/user-authorized", grant, summary="Authorise a user on an asset",
              body=GRANT_BODY, **a)
    table.add("POST", "/v1.0/iot-03/users/{uid}/actions/batch-assets-authorized", batch_grant,
              summary="Authorise a user on assets", body=BATCH_GRANT_BODY, **a)
    table.add("POST", "/v1.0/iot-03/users/{uid}/actions/assets-unauthorized", revoke,
              summary="Revoke a user's asset", body=REVOKE_BODY, **a)
    table.add("POST", "/v1.0/iot-03/users/{uid}/actions/batch-assets-unauthorized", batch_revoke,
              summary="Revoke a user's assets", body=BATCH_GRANT_BODY, **a)
    table.add("GET", "/v1.0/iot-03/users/assets", my_assets, summary="The calling user's assets, one level",
              query=(Param("parent_asset_id"), PAGE_NO, page_size(maximum=100)), **a)
    table.add("GET", "/v1.0/iot-03/users/{uid}/assets", user_assets, summary="Assets a user is authorised on",
              query=(PAGE_NO, page_size(maximum=100)), **a)
    table.add("GET", "/v1.0/iot-03/{asset_id}/authorized_users", asset_users, summary="Users authorised on an asset",
              query=(PAGE_NO, page_size(maximum=20)), **a)
