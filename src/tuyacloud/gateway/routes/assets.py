"""Asset tree endpoints of custom projects: iot-02 (``/v1.x/iot-02/assets``) and iot-03 (``/v1.0/iot-03/assets``)."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.devices import devices
from tuyacloud.domain.industry import assets
from tuyacloud.domain.industry.assets import AssetView
from tuyacloud.domain.industry.requests import AddAsset, AddAssetIot03, CrossLevel, RenameAsset, TransferDevice
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Param, RouteTable
from tuyacloud.gateway.routes.paging import LAST_ROW_KEY, cursor_after, page_size


def _item(v: AssetView) -> dict[str, Any]:
    a = v.asset
    return {"asset_id": a.id, "asset_name": a.name, "asset_full_name": v.full_name, "parent_asset_id": a.parent_id,
            "level": a.level}


def _item_iot03(v: AssetView) -> dict[str, Any]:
    return {**_item(v), "asset_image": v.asset.image, "asset_type": v.asset.asset_type}


async def _views(req: ApiRequest, found: Any) -> list[AssetView]:
    return await assets.views(req.ctx, req.project, found)


async def add(req: ApiRequest) -> str:
    body = req.parsed(AddAsset)
    return (await assets.add(req.ctx, req.project, body.name, body.parent_asset_id)).id


async def add_iot03(req: ApiRequest) -> str:
    body = req.parsed(AddAssetIot03)
    asset = await assets.add(req.ctx, req.project, body.asset_name, body.parent_asset_id,
                             asset_type=body.asset_type or "", image=body.asset_image or "")
    return asset.id


async def details(req: ApiRequest) -> dict[str, Any]:
    asset = await assets.get_visible(req.ctx, req.project, req.path_params["asset_id"])
    return _item((await _views(req, [asset]))[0])


async def details_iot03(req: ApiRequest) -> dict[str, Any]:
    asset = await assets.get_visible(req.ctx, req.project, req.path_params["asset_id"])
    return _item_iot03((await _views(req, [asset]))[0])


async def rename(req: ApiRequest) -> bool:
    await assets.rename(req.ctx, req.project, req.path_params["asset_id"], req.parsed(RenameAsset).name)
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
    body = req.parsed(CrossLevel)
    size = body.page_size
    found, more, total = await assets.descendants(req.ctx, req.project, body.asset_id or "", body.last_row_key or "",
                                                  size, name=body.asset_name, depth=body.level)
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
    body = req.parsed(TransferDevice)
    await devices.transfer(req.ctx, req.project, req.path_params["device_id"], body.source_asset_id,
                           body.target_asset_id or "")
    return True


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "industry_basic", "area": "Assets"}
    cursor = (LAST_ROW_KEY, page_size(maximum=100))
    table.add("POST", "/v1.0/iot-02/assets", add, summary="Add an asset", body=AddAsset, **c)
    table.add("GET", "/v1.0/iot-02/assets", batch, summary="Assets by ids",
              query=(Param("asset_ids", required=True, description="comma-separated (at most 20)"),), **c)
    table.add("GET", "/v1.1/iot-02/assets", search, summary="Search assets",
              query=(Param("asset_ids"), Param("asset_name"), *cursor), **c)
    table.add("GET", "/v1.0/iot-02/assets/{asset_id}", details, summary="Asset details", **c)
    table.add("PUT", "/v1.0/iot-02/assets/{asset_id}", rename, summary="Rename an asset", body=RenameAsset, **c)
    table.add("DELETE", "/v1.0/iot-02/assets/{asset_id}", delete, summary="Delete an empty asset", **c)
    table.add("GET", "/v1.0/iot-02/assets/{asset_id}/sub-assets", sub_assets,
              summary="Sub-assets (-1 for the top)", query=cursor, **c)
    table.add("POST", "/v1.1/iot-02/cross-level-sub-assets", cross_level, summary="All descendants of an asset",
              body=CrossLevel, **c)
    table.add("GET", "/v1.0/iot-02/assets/{asset_id}/devices", asset_devices, summary="Devices of an asset",
              query=(LAST_ROW_KEY, page_size(maximum=100, required=True)), **c)
    table.add("POST", "/v1.0/iot-03/assets", add_iot03, summary="Add an asset (with type and image)",
              body=AddAssetIot03, **c)
    table.add("GET", "/v1.0/iot-03/assets", search_iot03, summary="Asset list",
              query=(Param("asset_id"), Param("asset_name"), *cursor), **c)
    table.add("GET", "/v1.0/iot-03/assets/{asset_id}", details_iot03, summary="Asset details (iot-03)", **c)
    table.add("GET", "/v1.0/iot-03/assets/{asset_id}/sub-assets", sub_assets_iot03, summary="Sub-assets (iot-03)",
              query=cursor, **c)
    table.add("POST", "/v1.0/iot-03/assets/devices/{device_id}/actions/transfer", transfer,
              summary="Move a device to another asset", body=TransferDevice, **c)
