"""Every shape the admin faces show of a record (the CLI's JSON output, the control API, the console's JSON) and
those the OpenAPI shares with them, in one place.

Faces never import the OpenAPI edge's internals, so a shape lives here, once: the control API and the CLI answer
the same operation with the same keys (a paired device, a moved asset, a QR login...), and a shape only one face
shows today is here too, where the next face finds it (tests/architecture/test_record_shapes.py). A device is
shown everywhere in the platform's v1.0 shape (:func:`device_v1`), which the OpenAPI's device and home lists
answer too; the OpenAPI-only shapes are the gateway's (``gateway/serialize.py``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from tuyacloud.models import (
    App,
    AppUser,
    Asset,
    AssetGrant,
    Device,
    InfraredRemote,
    Message,
    PairingToken,
    Project,
    ProjectUser,
    QrLogin,
    RegistrationToken,
    Timer,
)

if TYPE_CHECKING:  # the catalog is read by whoever hands a product in: `project list` need not import it
    from tuyacloud.catalog.loader import Product


def project_view(p: Project) -> dict[str, Any]:
    """A project with its credentials, for its administrators."""
    return {
        "access_id": p.access_id, "access_secret": p.access_secret, "name": p.name, "description": p.description,
        "region": p.region, "method": p.method, "industry": p.industry, "uid": p.uid, "create_time": p.created_ms,
        "allowlist_enabled": p.allowlist_enabled, "allowlist": p.allowlist, "services": p.services,
        "message_encryption": p.message_encryption, "legacy_signing": p.legacy_signing,
    }


def app_view(app: App, links: list[str]) -> dict[str, Any]:
    """A smart-home app with the projects it is linked to."""
    return {"schema": app.schema, "name": app.name, "region": app.region, "projects": links}


def _s(ms: int) -> int:
    return ms // 1000


@functools.cache
def _standard_codes(product: Product) -> tuple[str, ...]:
    """The product's standard status codes in order (status first, then function-only), raw DPs left out."""
    raw = {d.code for d in product.raw_dps}
    return tuple(dict.fromkeys(s.code for s in (*product.status, *product.functions) if s.code not in raw))


def standard_status(device: Device, product: Product | None) -> list[dict[str, Any]]:
    status = device.status
    if product is None:
        return [{"code": c, "value": v} for c, v in status.items()]
    return [{"code": c, "value": status[c]} for c in _standard_codes(product) if c in status]


def device_v1(device: Device, product: Product | None) -> dict[str, Any]:
    """``/v1.0/devices/{id}`` and the smart-home lists."""
    return {
        "active_time": _s(device.active_ms),
        "biz_type": 0,
        "category": device.category,
        "create_time": _s(device.created_ms),
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
        "owner_id": device.asset_id or device.owner_uid,
        "product_id": device.product_id,
        "product_name": product.name if product else "",
        "status": standard_status(device, product),
        "sub": bool(device.gateway_id),
        "time_zone": device.time_zone,
        "uid": device.owner_uid,
        "update_time": _s(device.updated_ms),
        "uuid": device.uuid,
    }


def remote_admin_view(remote: InfraredRemote) -> dict[str, Any]:
    """An IR remote as the control API and `tuyacloud infrared remotes` show it (the state its keys gave it)."""
    return {"remote_id": remote.id, "infrared_id": remote.infrared_id, "category_id": remote.category_id,
            "remote_name": remote.remote_name, "brand_id": remote.brand_id, "brand_name": remote.brand_name,
            "remote_index": remote.remote_index, "state": remote.state}


# --- what an operation of the control API and the CLI answers -----------------------------------------------------
def sub_device_view(device: Device, product: Product | None) -> dict[str, Any]:
    """A sub-device that joined a gateway (``POST .../join``, ``tuyacloud device pair --gateway``)."""
    return {**device_v1(device, product), "asset_id": device.asset_id, "gateway_id": device.gateway_id}


def registered_device_view(device: Device, product: Product | None, token: RegistrationToken) -> dict[str, Any]:
    """A device activated with an industry registration token, at the token's asset."""
    return {**device_v1(device, product), "asset_id": device.asset_id, "project": token.access_id,
            "token": token.token}


def paired_device_view(device: Device, product: Product | None, token: PairingToken) -> dict[str, Any]:
    """A device activated with a smart-home pairing token, in its user's home."""
    return {**device_v1(device, product), "home_id": device.asset_id, "uid": token.uid, "token": token.token}


def moved_asset_view(asset: Asset) -> dict[str, Any]:
    """An asset after a move: where it now hangs and at which level."""
    return {"asset_id": asset.id, "parent_asset_id": asset.parent_id, "level": asset.level}


def user_code_view(uid: str, user_code: str) -> dict[str, Any]:
    """An app user's user code, what Home Assistant's Tuya integration asks for."""
    return {"uid": uid, "user_code": user_code}


def qr_login_view(login: QrLogin, user: AppUser | None) -> dict[str, Any]:
    """A Home Assistant QR login (device sharing) and whose it is: ``GET /_tuyacloud/sharing/logins``,
    ``tuyacloud app logins`` and what approving or refusing one answers."""
    return {"qrcode": login.qrcode, "state": login.state, "uid": login.uid, "user_code": login.user_code,
            "username": user.username if user is not None else "", "schema": login.schema,
            "client_id": login.client_id, "created_ms": login.created_ms, "expires_ms": login.expires_ms}


# --- what one admin face shows of a record (kept here too, so every admin shape is in one place) ------------------
def device_live_view(device: Device) -> dict[str, Any]:
    """A device's live state, what the console's device page polls."""
    return {"id": device.id, "online": device.online, "status": device.status, "status_t": device.status_t,
            "update_time": device.updated_ms}


def asset_tree_row(asset: Asset, device_count: int) -> dict[str, Any]:
    """A node of ``tuyacloud asset tree`` with the devices directly at it."""
    return {"asset_id": asset.id, "asset_name": asset.name, "parent_asset_id": asset.parent_id,
            "level": asset.level, "asset_type": asset.asset_type, "device_count": device_count}


def project_user_view(user: ProjectUser, grants: list[tuple[AssetGrant, str]]) -> dict[str, Any]:
    """A project user with the assets granted to them (``grants``: each with the asset's full name), as
    ``tuyacloud user ...`` shows them."""
    return {"user_id": user.id, "username": user.username, "nick_name": user.nick_name,
            "country_code": user.country_code, "create_time": user.created_ms,
            "assets": [{"asset_id": g.asset_id, "asset_full_name": name, "authorized_children": g.with_children}
                       for g, name in grants]}


def message_admin_view(message: Message) -> dict[str, Any]:
    """A message of a project's outbox in plaintext (``GET /_tuyacloud/projects/{access_id}/messages``)."""
    return {"seq": message.seq, "protocol": message.protocol, "device_id": message.device_id, "data": message.data,
            "t": message.created_ms}


def timer_admin_view(timer: Timer) -> dict[str, Any]:
    """A timer with the scheduler's view of it: next run, last run and its result
    (``GET /_tuyacloud/devices/{device_id}/timers``)."""
    return {"timer_id": timer.id, "group_id": timer.group_id, "category": timer.category,
            "alias_name": timer.alias_name, "time": timer.time, "date": timer.date, "loops": timer.loops,
            "timezone_id": timer.timezone_id or timer.time_zone, "functions": timer.functions,
            "enabled": timer.enabled, "next_run_ms": timer.next_run_ms, "last_run_ms": timer.last_run_ms,
            "last_result": timer.last_result}
