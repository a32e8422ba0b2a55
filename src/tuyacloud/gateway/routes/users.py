"""Project users of custom projects (``/v1.x/iot-02/users``), their login, and their authorisation on assets
(``/v1.0/iot-03/...``)."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.access import tokens
from tuyacloud.domain.industry import authorization, users
from tuyacloud.domain.industry.requests import (
    Grant,
    GrantMany,
    ModifyUser,
    RegisterUser,
    ResetPassword,
    Revoke,
    RevokeMany,
    UserLogin,
)
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Param, RouteTable
from tuyacloud.gateway.routes.paging import LAST_ROW_KEY, PAGE_NO, cursor_after, page_size
from tuyacloud.models import ProjectUser
from tuyacloud.signing import LOGIN_AUTH


def _user(u: ProjectUser) -> dict[str, Any]:
    return {"user_id": u.id, "uid": u.id, "user_name": u.username, "username": u.username,
            "country_code": u.country_code, "nick_name": u.nick_name, "user_nick_name": u.nick_name,
            "create_time": u.created_ms, "update_time": u.updated_ms, "account_type": 1, "tenant_code": "",
            "creator": u.creator, "mobile": "", "email": "", "reg_origin": "openapi"}


# --- users ----------------------------------------------------------------------------------------------------------
async def register_user(req: ApiRequest) -> dict[str, Any]:
    b = req.parsed(RegisterUser)
    user = await users.register(req.ctx, req.project, username=b.username, password=b.password,
                                country_code=b.country_code or "", nick_name=b.nick_name or b.user_nick_name or "",
                                creator=b.creator or "")
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
    b = req.parsed(ModifyUser)
    await users.modify(req.ctx, req.project, req.path_params["user_id"],
                       nick_name=b.nick_name if b.nick_name is not None else b.user_nick_name,
                       country_code=b.country_code, old_password=b.old_password, new_password=b.new_password)
    return True


async def reset_password(req: ApiRequest) -> bool:
    b = req.parsed(ResetPassword)
    await users.reset_password(req.ctx, req.project, b.username, b.new_password)
    return True


async def delete(req: ApiRequest) -> bool:
    await users.delete(req.ctx, req.project, req.path_params["user_id"])
    return True


async def login(req: ApiRequest) -> dict[str, Any]:
    b = req.parsed(UserLogin)
    token = await users.login(req.ctx, req.project, b.username, b.password)
    return tokens.token_result(req.ctx, token)


# --- authorisation --------------------------------------------------------------------------------------------------
async def grant(req: ApiRequest) -> bool:
    b = req.parsed(Grant)
    await authorization.authorize(req.ctx, req.project, b.uid or "", [str(b.asset_id or "")], b.authorized_children)
    return True


async def batch_grant(req: ApiRequest) -> bool:
    b = req.parsed(GrantMany)
    await authorization.authorize(req.ctx, req.project, req.path_params["uid"], b.ids(), b.authorized_children)
    return True


async def revoke(req: ApiRequest) -> bool:
    b = req.parsed(Revoke)
    await authorization.revoke(req.ctx, req.project, req.path_params["uid"], [str(b.asset_id or "")])
    return True


async def batch_revoke(req: ApiRequest) -> bool:
    await authorization.revoke(req.ctx, req.project, req.path_params["uid"], req.parsed(RevokeMany).ids())
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
    table.add("POST", "/v1.0/iot-03/users/login", login, summary="Log in as a project user", body=UserLogin,
              **{**c, "service": "authorization", "auth": LOGIN_AUTH})
    table.add("POST", "/v1.0/iot-02/users", register_user, summary="Register a user", body=RegisterUser, **c)
    table.add("GET", "/v1.0/iot-02/users", page_rows, summary="Users (row-key paging)",
              query=(LAST_ROW_KEY, page_size(maximum=100)), **c)
    table.add("GET", "/v1.1/iot-02/users", page_rows, summary="Users with filters (row-key paging)",
              query=(LAST_ROW_KEY, page_size(maximum=100), Param("user_nick_name"), Param("user_ids"),
                     Param("user_names")), **c)
    table.add("GET", "/v1.1/iot-02/users/page", page_numbers, summary="Users (page numbers)",
              query=(PAGE_NO, page_size(maximum=100), Param("user_nick_name"), Param("user_ids"),
                     Param("user_names")), **c)
    table.add("PUT", "/v1.0/iot-02/users/reset-password", reset_password, summary="Reset a user's password",
              body=ResetPassword, **c)
    table.add("GET", "/v1.0/iot-02/users/{user_id}", by_id, summary="User by id", **c)
    table.add("GET", "/v1.2/iot-02/users/{user_name}", by_name, summary="User by username", **c)
    table.add("PUT", "/v1.0/iot-02/users/{user_id}", modify, summary="Modify a user or change the password",
              body=ModifyUser, **c)
    table.add("DELETE", "/v1.0/iot-02/users/{user_id}", delete, summary="Delete a user", **c)
    a: dict[str, Any] = {"service": "industry_basic", "area": "Asset authorisation"}
    table.add("POST", "/v1.0/iot-03/assets/actions/user-authorized", grant, summary="Authorise a user on an asset",
              body=Grant, **a)
    table.add("POST", "/v1.0/iot-03/users/{uid}/actions/batch-assets-authorized", batch_grant,
              summary="Authorise a user on assets", body=GrantMany, **a)
    table.add("POST", "/v1.0/iot-03/users/{uid}/actions/assets-unauthorized", revoke,
              summary="Revoke a user's asset", body=Revoke, **a)
    table.add("POST", "/v1.0/iot-03/users/{uid}/actions/batch-assets-unauthorized", batch_revoke,
              summary="Revoke a user's assets", body=RevokeMany, **a)
    table.add("GET", "/v1.0/iot-03/users/assets", my_assets, summary="The calling user's assets, one level",
              query=(Param("parent_asset_id"), PAGE_NO, page_size(maximum=100)), **a)
    table.add("GET", "/v1.0/iot-03/users/{uid}/assets", user_assets, summary="Assets a user is authorised on",
              query=(PAGE_NO, page_size(maximum=100)), **a)
    table.add("GET", "/v1.0/iot-03/{asset_id}/authorized_users", asset_users, summary="Users authorised on an asset",
              query=(PAGE_NO, page_size(maximum=20)), **a)
