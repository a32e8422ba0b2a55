"""Asset tree endpoints of custom projects: iot-02 (``/v1.x/iot-02/assets``) and iot-03 (``/v1.0/iot-03/assets``)."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.devices import devices
from tuyacloud.domain.industry import assets
from tuyacloud.domain.industry.assets import AssetView
from tuyacloud.errors import ParamIllegal
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Param, RouteTable
from tuyacloud.gateway.routes.paging import LAST_ROW_KEY, cursor_after, page_size

ADD_BODY = {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}, "parent_asset_id": {"type": "string"},
                           "meta_id": {"type": "string"}}}
ADD_BODY_IOT03 = {"type": "object", "required": ["asset_name"],
                  "properties": {"asset_name": {"type": "string"}, "parent_asset_id": {"type": "string"},
                                 "asset_image": {"type": "string"},
                                 "asset_type": {"type": "string", "enum": list(assets.ASSET_TYPES)}}}
NAME_BODY = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
CROSS_LEVEL_BODY = {"type": "object", "required": ["asset_id"],
                    "properties": {"asset_id": {"type": "string"}, "asset_name": {"type": "string"},
                                   "last_row_key": {"type": "string"},
                                   "page_size": {"type": "integer", "minimum": 1, "maximum": 100},
                                   "level": {"type": "integer", "minimum": 1, "maximum": 100}}}
TRANSFER_BODY = {"type": "object", "required": ["target_asset_id"],
                 "properties": {"source_asset_id": {"type": "string"}, "target_asset_id": {"type": "string"}}}


def _body(req: ApiRequest) -> dict[str, Any]:
    if not isinstance(req.body, dict):
        raise ParamIllegal("the body must be a JSON object")
    return req.body


def _opt_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParamIllegal(f"{key} must be a string")
    return value


def _item(v: AssetView) -> dict[str, Any]:
    a = v.asset
    return {"asset_id": a.id, "asset_name": a.name, "asset_full_name": v.full_name, "parent_asset_id": a.parent_id,
            "level": a.level}


def _item_iot03(v: AssetView) -> dict[str, Any]:
    return {**_item(v), "asset_image": v.asset.image, "asset_type": v.asset.asset_type}


async def _views(req: ApiRequest, found: Any) -> list[AssetView]:
    return await assets.views(req.ctx, req.project, found)


async def add(req: ApiRequest) -> str:
    body = _body(req)
    return (await assets.add(req.ctx, req.project, body.get("name"), _opt_str(body, "parent_asset_id"))).id


async def add_iot03(req: ApiRequest) -> str:
    body = _body(req)
    asset = await assets.add(req.ctx, req.project, body.get("asset_name"), _opt_str(body, "parent_asset_id"),
                             asset_type=_opt_str(body, "asset_type") or "", image=_opt_str(body, "asset_image") or "")
    return asset.id


async def details(req: ApiRequest) -> dict[str, Any]:
    asset = await assets.get_visible(req.ctx, req.project, req.path_params["asset_id"])
    return _item((await _views(req, [asset]))[0])


async def details_iot03(req: ApiRequest) -> dict[str, Any]:
    asset = await assets.get_visible(req.ctx, req.project, req.path_params["asset_id"])
    return _item_iot03((await _views(req, [asset]))[0])


async def rename(req: ApiRequest) -> bool:
    await assets.rename(req.ctx, req.project, req.path_params["asset_id"], _body(req).get("name"))
    return True


async def delete(req: ApiRequest) -> bool:
    await assets.delete(req.ctx, req.project, req.path_params["asset_id"])
    return True


async def batch(req: ApiRequest) -> list[dict[str, Any]]:
    found = await assets.get_many(req.ctx, req.project, req.ids_param("asset_ids"))
    return [_item(v) for v in await _views(req, found)]


async def search(req: ApiRequest) -> dict[str, Any]:
    size = req.params.get("page_size", 20)
    found, more, total = await assets.search(req.ctx, req.project, req.params.get("last_row_key", ""), size,
                                             name=req.params.get("asset_name"), ids=req.ids_param("asset_ids"))
    return {"list": [_item(v) for v in await _views(req, found)], "last_row_key": cursor_after(found, more),
            "has_next": more, "page_size": size, "total": total}


async def search_iot03(req: ApiRequest) -> dict[str, Any]:
    size = req.params.get("page_size", 20)
    ids = [req.params["asset_id"]] if req.params.get("asset_id") else []
    found, more, total = await assets.search(req.ctx, req.project, req.params.get("last_row_key", ""), size,
                                             name=req.params.get("asset_name"), ids=ids)
    return {"list": [_item_iot03(v) for v in await _views(req, found)],
            "last_row_key": cursor_after(found, more), "has_more": more, "total": total}


async def sub_assets(req: ApiRequest) -> dict[str, Any]:
    size = req.params.get("page_size", 20)
    found, more = await assets.children(req.ctx, req.project, req.path_params["asset_id"],
                                        req.params.get("last_row_key", ""), size)
    return {"list": [_item(v) for v in await _views(req, found)], "last_row_key": cursor_after(found, more),
            "page_size": size, "has_next": more}


async def sub_assets_iot03(req: ApiRequest) -> dict[str, Any]:
    size = req.params.get("page_size", 20)
    found, more = await assets.children(req.ctx, req.project, req.path_params["asset_id"],
                                        req.params.get("last_row_key", ""), size)
    return {"list": [_item_iot03(v) for v in await _views(req, found)],
            "last_row_key": cursor_after(found, more), "has_more": more}


async def cross_level(req: ApiRequest) -> dict[str, Any]:
    body = _body(req)
    size = body.get("page_size", 20)
    level = body.get("level")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100:
        raise ParamIllegal("page_size must be an integer from 1 to 100")
    if level is not None and (not isinstance(level, int) or isinstance(level, bool) or level < 1):
        raise ParamIllegal("level must be a positive integer")
    asset_id = _opt_str(body, "asset_id") or ""
    found, more, total = await assets.descendants(req.ctx, req.project, asset_id, _opt_str(body, "last_row_key") or "",
                                                  size, name=_opt_str(body, "asset_name"), depth=level)
    return {"list": [_item(v) for v in await _views(req, found)], "last_row_key": cursor_after(found, more),
            "has_next": more, "count": total, "page_size": size}


async def asset_devices(req: ApiRequest) -> dict[str, Any]:
    size = req.params["page_size"]
    asset, found, more, total = await assets.devices_at(req.ctx, req.project, req.path_params["asset_id"],
                                                        req.params.get("last_row_key", ""), size)
    return {"list": [{"device_id": d.id, "asset_id": asset.id, "asset_name": asset.name} for d in found],
            "last_row_key": cursor_after(found, more), "total_size": total, "page_size": size,
            "has_next": more}


async def transfer(req: ApiRequest) -> bool:
    body = _body(req)
    await devices.transfer(req.ctx, req.project, req.path_params["device_id"], _opt_str(body, "source_asset_id"),
                           _opt_str(body, "target_asset_id") or "")
    return True


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "industry_basic", "area": "Assets"}
    cursor = (LAST_ROW_KEY, page_size(maximum=100))
    table.add("POST", "/v1.0/iot-02/assets", add, summary="Add an asset", body=ADD_BODY, **c)
    table.add("GET", "/v1.0/iot-02/assets", batch, summary="Assets by ids",
              query=(Param("asset_ids", required=True, description="comma-separated (at most 20)"),), **c)
    table.add("GET", "/v1.1/iot-02/assets", search, summary="Search assets",
              query=(Param("asset_ids"), Param("asset_name"), *cursor), **c)
    table.add("GET", "/v1.0/iot-02/assets/{asset_id}", details, summary="Asset details", **c)
    table.add("PUT", "/v1.0/iot-02/assets/{asset_id}", rename, summary="Rename an asset", body=NAME_BODY, **c)
    table.add("DELETE", "/v1.0/iot-02/assets/{asset_id}", delete, summary="Delete an empty asset", **c)
    table.add("GET", "/v1.0/iot-02/assets/{asset_id}/sub-assets", sub_assets,
              summary="Sub-assets (-1 for the top)", query=cursor, **c)
    table.add("POST", "/v1.1/iot-02/cross-level-sub-assets", cross_level, summary="All descendants of an asset",
              body=CROSS_LEVEL_BODY, **c)
    table.add("GET", "/v1.0/iot-02/assets/{asset_id}/devices", asset_devices, summary="Devices of an asset",
              query=(LAST_ROW_KEY, page_size(maximum=100, required=True)), **c)
    table.add("POST", "/v1.0/iot-03/assets", add_iot03, summary="Add an asset (with type and image)",
              body=ADD_BODY_IOT03, **c)
    table.add("GET", "/v1.0/iot-03/assets", search_iot03, summary="Asset list",
              query=(Param("asset_id"), Param("asset_name"), *cursor), **c)
    table.add("GET", "/v1.0/iot-03/assets/{asset_id}", details_iot03, summary="Asset details (iot-03)", **c)
    table.add("GET", "/v1.0/iot-03/assets/{asset_id}/sub-assets", sub_assets_iot03, summary="Sub-assets (iot-03)",
              query=cursor, **c)
    table.add("POST", "/v1.0/iot-03/assets/devices/{device_id}/actions/transfer", transfer,
              summary="Move a device to another asset", body=TRANSFER_BODY, **c)
