"""Devices and instruction sets in the shapes each endpoint family returns.

v1.0 device objects use 10-digit second timestamps and ``online``; v2.0 details use ``is_online`` and
``custom_name``, while the v2.0 project device list (``/v2.0/cloud/thing/device``) is the one camelCase answer
(``isOnline``, ``customName``, ``productName``...), as Tuya documents each of them.
The v1.0 and iot-03 status and specification calls show only the category's standard data points; raw DPs are
visible through the v2.0 thing model and shadow only, as on the platform.
"""

from __future__ import annotations

from typing import Any

import orjson

from tuyacloud.catalog.datapoints import DpSpec
from tuyacloud.catalog.loader import Product
from tuyacloud.models import Device

ICON_BASE = "smart/icon/"


def _s(ms: int) -> int:
    return ms // 1000


def device_iot03(device: Device, product: Product | None, category_name: str = "") -> dict[str, Any]:
    """``/v1.0|v1.1/iot-03/devices/{id}`` and ``/v1.3/iot-03/devices`` list items.

    No ``status``: the platform's industry device objects carry none (status has its own calls), and
    tuya-iot-py-sdk's ``TuyaDeviceManager.update_device_caches`` keeps this object's ``status`` and then
    assigns ``status[code] = value`` into it, which fails on a list.
    """
    return {
        "active_time": _s(device.active_ms),
        "asset_id": device.asset_id,
        "category": device.category,
        "category_name": category_name,
        "create_time": _s(device.created_ms),
        "gateway_id": device.gateway_id,
        "icon": product.icon if product else "",
        "id": device.id,
        "ip": device.ip,
        "lat": device.lat,
        "local_key": device.local_key,
        "lon": device.lon,
        "model": product.model if product else "",
        "name": device.name,
        "node_id": device.node_id,
        "online": device.online,
        "owner_id": device.owner_uid,
        "product_id": device.product_id,
        "product_name": product.name if product else "",
        "sn": device.sn,
        "sub": bool(device.gateway_id),
        "time_zone": device.time_zone,
        "uid": device.owner_uid,
        "update_time": _s(device.updated_ms),
        "uuid": device.uuid,
    }


def device_v2(device: Device, product: Product | None) -> dict[str, Any]:
    """``/v2.0/cloud/thing/{id}``: ``is_online`` and ``custom_name``, no status."""
    return {
        "active_time": _s(device.active_ms),
        "bind_space_id": device.asset_id,
        "category": device.category,
        "create_time": _s(device.created_ms),
        "custom_name": device.custom_name,
        "icon": product.icon if product else "",
        "id": device.id,
        "ip": device.ip,
        "is_online": device.online,
        "lat": device.lat,
        "local_key": device.local_key,
        "lon": device.lon,
        "model": product.model if product else "",
        "name": device.name,
        "product_id": device.product_id,
        "product_name": product.name if product else "",
        "sub": bool(device.gateway_id),
        "time_zone": device.time_zone,
        "update_time": _s(device.updated_ms),
        "uuid": device.uuid,
    }


def device_v2_listed(device: Device, product: Product | None) -> dict[str, Any]:
    """An item of ``/v2.0/cloud/thing/device``: camelCase keys, exactly the fields of Tuya's documented example
    (clients such as mcp-server-tuya read ``isOnline``, ``customName`` and ``productName``)."""
    return {
        "activeTime": _s(device.active_ms),
        "category": device.category,
        "createTime": _s(device.created_ms),
        "customName": device.custom_name,
        "icon": product.icon if product else "",
        "id": device.id,
        "ip": device.ip,
        "isOnline": device.online,
        "lat": device.lat,
        "localKey": device.local_key,
        "lon": device.lon,
        "name": device.name,
        "productId": device.product_id,
        "productName": product.name if product else "",
        "sub": bool(device.gateway_id),
        "timeZone": device.time_zone,
        "updateTime": _s(device.updated_ms),
        "uuid": device.uuid,
    }


def dp_entry(spec: DpSpec, with_name: bool = True, with_dp_id: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"code": spec.code}
    if with_dp_id:
        entry["dp_id"] = spec.dp_id
    if with_name:
        entry["name"] = spec.name
        entry["desc"] = spec.desc
    entry["type"] = spec.type
    entry["values"] = spec.values_json()
    return entry


def functions(category: str, specs: tuple[DpSpec, ...]) -> dict[str, Any]:
    return {"category": category, "functions": [dp_entry(s) for s in specs]}


def specification(product: Product, with_dp_id: bool = False) -> dict[str, Any]:
    return {
        "category": product.category,
        "functions": [dp_entry(s, with_dp_id=with_dp_id) for s in product.functions],
        "status": [dp_entry(s, with_dp_id=with_dp_id) for s in product.status],
    }


_TYPE_SPEC = {"Boolean": "bool", "Integer": "value", "Enum": "enum", "String": "string", "Json": "string",
              "Raw": "raw", "Bitmap": "bitmap"}


def thing_model(device: Device, product: Product) -> dict[str, Any]:
    """The v2.0 thing model, JSON-encoded in ``model`` as the platform returns it; raw DPs included."""
    properties = []
    for spec in product.all_dps():
        type_spec: dict[str, Any] = {"type": _TYPE_SPEC.get(spec.type, "string"), **spec.values}
        properties.append({
            "abilityId": spec.dp_id,
            "code": spec.code,
            "name": spec.name,
            "description": spec.desc,
            "accessMode": product.access_mode(spec.code) or "ro",
            "typeSpec": type_spec,
        })
    model = {
        "modelId": product.product_id,
        "services": [{"code": "", "name": "default", "description": "", "properties": properties,
                      "actions": [], "events": []}],
    }
    return {"model": orjson.dumps(model).decode()}


def shadow_properties(device: Device, product: Product, codes: list[str] | None) -> dict[str, Any]:
    out = []
    for spec in product.all_dps():
        if codes and spec.code not in codes:
            continue
        if spec.code not in device.status:
            continue
        out.append({
            "code": spec.code,
            "custom_name": "",
            "dp_id": spec.dp_id,
            "time": device.status_t.get(spec.code, device.updated_ms),
            "type": _TYPE_SPEC.get(spec.type, "string"),
            "value": device.status[spec.code],
        })
    return {"properties": out}
