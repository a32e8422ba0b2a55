"""The device-sharing API's calls (what tuya-device-sharing-sdk, and so Home Assistant, makes), in the shapes it
reads: each handler parses, calls the same domain operation as the OpenAPI and serialises.

Devices answer ``support_local`` false and ``code/custom-type`` true, so the SDK reads pushed statuses by code
(``{"code", "value"}``) rather than through per-DP conversion rules; ``set_up`` true lets it subscribe to them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tuyacloud import views
from tuyacloud.bodies import Body
from tuyacloud.catalog.loader import Product
from tuyacloud.domain.access import openhub, tokens
from tuyacloud.domain.access.requests import HubLink
from tuyacloud.domain.context import HubSettings
from tuyacloud.domain.devices import camera, commands, devices
from tuyacloud.domain.devices.requests import AllocateStream, SendCommands
from tuyacloud.domain.rules import scenes
from tuyacloud.domain.smarthome import homes, sharing
from tuyacloud.domain.smarthome.requests import ExpireSession, PushConfig, TriggerScene
from tuyacloud.errors import FunctionNotSupported, ParamEmpty, ParamIllegal
from tuyacloud.gateway import serialize
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.routes import camera as camera_routes
from tuyacloud.media import testcard
from tuyacloud.models import Device

SharingHandler = Callable[[ApiRequest], Awaitable[Any]]
CAMERA_CATEGORIES = frozenset({"sp"})


@dataclass(frozen=True)
class SharingRoute:
    method: str
    pattern: re.Pattern[str]
    handler: SharingHandler
    live_token: bool = True  # False for the refresh call, which may come just after the access token expired
    body: type[Body] | None = None  # the decrypted body's model, decoded before the handler runs


def _param(req: ApiRequest, name: str) -> str:
    value = req.params.get(name)
    if value in (None, ""):
        raise ParamEmpty(f"{name} is required")
    return str(value)


def device_view(device: Device, product: Product | None) -> dict[str, Any]:
    view = views.device_v1(device, product)
    view.update({"asset_id": device.asset_id, "set_up": True, "support_local": False})
    return view


async def _device_list(req: ApiRequest, found: list[Device]) -> list[dict[str, Any]]:
    return [device_view(d, req.ctx.catalog.product(d.product_id)) for d in found]


# --- session ----------------------------------------------------------------------------------------------------
async def refresh(req: ApiRequest) -> dict[str, Any]:
    assert req.token is not None
    new = await sharing.refresh(req.ctx, req.project, req.token, req.path_params["refresh_token"])
    result = tokens.token_result(req.ctx, new)
    return {"accessToken": result["access_token"], "refreshToken": result["refresh_token"],
            "expireTime": result["expire_time"], "uid": result["uid"]}


async def expire(req: ApiRequest) -> bool:
    assert req.token is not None
    await sharing.expire(req.ctx, req.token, req.parsed(ExpireSession).accessToken)
    return True


async def versions(req: ApiRequest) -> bool:
    return True  # Home Assistant reports its versions; nothing depends on them here


# --- homes and devices ------------------------------------------------------------------------------------------
async def user_homes(req: ApiRequest) -> list[dict[str, Any]]:
    assert req.token is not None
    found = await homes.of_user(req.ctx, req.project, req.token.uid)
    return [{"ownerId": h.id, "name": h.name, "role": role, "geoName": h.geo_name, "lon": h.lon, "lat": h.lat}
            for h, role in found]


async def home_devices(req: ApiRequest) -> list[dict[str, Any]]:
    return await _device_list(req, await homes.home_devices(req.ctx, req.project, _param(req, "homeId")))


async def devices_detail(req: ApiRequest) -> list[dict[str, Any]]:
    ids = [i.strip() for i in _param(req, "devIds").split(",") if i.strip()]
    if len(ids) > 100:
        raise ParamIllegal("devIds takes at most 100 ids")
    return await _device_list(req, await devices.get_many(req.ctx, req.project, ids))


async def _device(req: ApiRequest) -> tuple[Device, Product]:
    device = await devices.get_owned(req.ctx, req.project, req.path_params["device_id"])
    return device, commands.product_of(req.ctx, device)


async def specifications(req: ApiRequest) -> dict[str, Any]:
    _, product = await _device(req)
    return serialize.specification(product)


async def dp_status(req: ApiRequest) -> dict[str, Any]:
    """The per-DP conversion rules of local-capable devices; ours report by code (``supportLocal`` false)."""
    device, product = await _device(req)
    relations = [{"dpId": s.dp_id, "statusCode": s.code, "supportLocal": False, "valueConvert": "default",
                  "statusFormat": "", "valueDesc": s.values_json(), "valueType": s.type, "enumMappingMap": {}}
                 for s in product.status]
    return {"productKey": device.product_id, "dpStatusRelationDTOS": relations}


async def custom_type(req: ApiRequest) -> bool:
    await _device(req)
    return True


async def report_types(req: ApiRequest) -> list[dict[str, Any]]:
    await _device(req)
    return []  # every reported value is the device's current total ("un_known" to the SDK)


async def send_commands(req: ApiRequest) -> bool:
    await commands.send_commands(req.ctx, req.project, req.path_params["device_id"], req.parsed(SendCommands))
    return True


async def device_room(req: ApiRequest) -> dict[str, Any] | None:
    device, _ = await _device(req)
    room = await req.ctx.store.room_of_device(device.id)
    if room is None:
        return None
    order = [r.id for r in await req.ctx.store.rooms(room.home_id)]
    return {"id": room.id, "name": room.name, "displayOrder": order.index(room.id) if room.id in order else 0}


async def stream_allocate(req: ApiRequest) -> dict[str, Any]:
    """A live-stream URL of a camera: the same one-time HLS URL as the OpenAPI's allocate. Home Assistant asks
    for ``rtsp`` and hands the URL to FFmpeg, which plays HLS as well, so every type the API takes gets the HLS
    URL (this cloud serves no other kind)."""
    device, _ = await _device(req)
    if device.category not in CAMERA_CATEGORIES:
        raise FunctionNotSupported(f"device {device.id} is not a camera")
    kind = req.parsed(AllocateStream).type.strip().lower()
    if kind not in camera.STREAM_TYPES:
        raise ParamIllegal(f"type must be one of {', '.join(camera.STREAM_TYPES)}")
    stream = await camera.allocate(req.ctx, req.project, device.id, AllocateStream(type="hls"),
                                   media_ready=testcard.available())
    return {"url": f"{req.base_url}{camera_routes.PATH_PREFIX}/{stream.token}/index.m3u8"}


# --- scenes -----------------------------------------------------------------------------------------------------
async def home_scenes(req: ApiRequest) -> list[dict[str, Any]]:
    found = await scenes.listing(req.ctx, req.project, _param(req, "homeId"))
    return [{"scene_id": s.id, "name": s.name, "background": s.background, "enabled": s.enabled,
             "actions": [{"entity_id": a["entity_id"], "action_executor": a["action_executor"],
                          "executor_property": a["executor_property"]} for a in s.actions]} for s in found]


async def trigger_scene(req: ApiRequest) -> bool:
    body = req.parsed(TriggerScene)
    home_id, scene_id = body.homeId, body.sceneId
    if home_id in (None, "") or scene_id in (None, ""):
        raise ParamEmpty("homeId and sceneId are required")
    await scenes.trigger(req.ctx, req.project, str(home_id), str(scene_id))
    return True


# --- push -------------------------------------------------------------------------------------------------------
async def access_config(req: ApiRequest) -> dict[str, Any]:
    """MQTT credentials for the SDK's push connection: plain JSON on ``<topic>/dev/<devId>/sta`` for each device and
    ``<topic>/home/<homeId>`` for a device newly bound to a home (the topics are templates the SDK fills in)."""
    assert req.token is not None
    settings = req.ctx.openhub or HubSettings()
    if settings.on_issue is not None:
        raise FunctionNotSupported("push to Home Assistant needs the embedded MQTT broker, not an external one")
    link = HubLink(uid=req.token.uid, link_id=req.parsed(PushConfig).linkId)
    credential, password = await openhub.issue(req.ctx, req.project, req.token, link, settings, sharing=True)
    host = urlsplit(req.base_url).hostname or "127.0.0.1"
    plain = openhub.config_result(credential, password, settings, host, req.ctx.clock.now_ms())
    return {"url": plain["url"], "clientId": credential.client_id, "username": credential.username,
            "password": password, "expireTime": plain["expire_time"],
            "topic": {"ownerId": {"sub": credential.topic + "/home/{ownerId}"},
                      "devId": {"sub": credential.topic + "/dev/{devId}"}}}


_ID = r"(?P<device_id>[^/]+)"


def _r(method: str, path: str, handler: SharingHandler, live_token: bool = True,
       body: type[Body] | None = None) -> SharingRoute:
    return SharingRoute(method, re.compile(f"^{path}$"), handler, live_token, body)


ROUTES: tuple[SharingRoute, ...] = (
    _r("GET", r"/v1\.0/m/token/(?P<refresh_token>[^/]+)", refresh, live_token=False),
    _r("POST", r"/v1\.0/m/token/terminal/expire", expire, body=ExpireSession),
    _r("POST", r"/v1\.0/m/life/home-assistant/qrcode/versions", versions),
    _r("GET", r"/v1\.0/m/life/users/homes", user_homes),
    _r("GET", r"/v1\.0/m/life/ha/home/devices", home_devices),
    _r("GET", r"/v1\.0/m/life/ha/devices/detail", devices_detail),
    _r("GET", rf"/v1\.1/m/life/{_ID}/specifications", specifications),
    _r("GET", rf"/v1\.0/m/life/devices/{_ID}/status", dp_status),
    _r("GET", rf"/v1\.0/m/life/ha/{_ID}/code/custom-type", custom_type),
    _r("GET", rf"/v1\.0/m/life/ha/{_ID}/dp-report-types", report_types),
    _r("POST", rf"/v1\.1/m/thing/{_ID}/commands", send_commands, body=SendCommands),
    _r("GET", rf"/v1\.0/m/thing/ha/{_ID}/room", device_room),
    _r("GET", r"/v1\.0/m/scene/ha/home/scenes", home_scenes),
    _r("POST", r"/v1\.0/m/scene/ha/trigger", trigger_scene, body=TriggerScene),
    _r("POST", rf"/v1\.0/m/ipc/{_ID}/stream/actions/allocate", stream_allocate, body=AllocateStream),
    _r("POST", r"/v1\.0/m/life/ha/access/config", access_config, body=PushConfig),
)
