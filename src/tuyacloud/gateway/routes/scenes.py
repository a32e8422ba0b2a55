"""Tap-to-run scenes (``/v1.0/homes/{home_id}/scenes...``, ``/v1.1/homes/{home_id}/scenes``).
The v1.0 list is what tuya-iot-py-sdk's home manager reads; v1.1 adds ``status`` and the actions'
``extra_property``."""

from __future__ import annotations

from typing import Any

from tuyacloud import views
from tuyacloud.domain.rules import scenes
from tuyacloud.domain.rules.requests import SceneBody
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import RouteTable
from tuyacloud.models import Scene


def action_view(action: dict[str, Any], v11: bool = False) -> dict[str, Any]:
    view = {"entity_id": action["entity_id"], "action_executor": action["action_executor"],
            "executor_property": action["executor_property"]}
    if v11:
        view["extra_property"] = {}
    return view


def scene_view(s: Scene, v11: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {"scene_id": s.id, "name": s.name, "background": s.background, "enabled": s.enabled,
                            "actions": [action_view(a, v11) for a in s.actions]}
    if v11:
        view["status"] = "1" if s.enabled else "0"
    return view


def _home_id(req: ApiRequest) -> str:
    return req.path_params["home_id"]


async def list_v10(req: ApiRequest) -> list[dict[str, Any]]:
    return [scene_view(s) for s in await scenes.listing(req.ctx, req.project, _home_id(req))]


async def list_v11(req: ApiRequest) -> list[dict[str, Any]]:
    return [scene_view(s, True) for s in await scenes.listing(req.ctx, req.project, _home_id(req))]


async def add(req: ApiRequest) -> str:
    return (await scenes.add(req.ctx, req.project, _home_id(req), req.parsed(SceneBody))).id


async def modify(req: ApiRequest) -> bool:
    await scenes.modify(req.ctx, req.project, _home_id(req), req.path_params["scene_id"], req.parsed(SceneBody))
    return True


async def delete(req: ApiRequest) -> bool:
    await scenes.delete(req.ctx, req.project, _home_id(req), req.path_params["scene_id"])
    return True


async def trigger(req: ApiRequest) -> bool:
    await scenes.trigger(req.ctx, req.project, _home_id(req), req.path_params["scene_id"])
    return True


async def scene_devices(req: ApiRequest) -> list[dict[str, Any]]:
    found = await scenes.scene_devices(req.ctx, req.project, _home_id(req))
    return [views.device_v1(d, req.ctx.catalog.product(d.product_id)) for d in found]


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "smart_home_scene", "area": "Scenes"}
    h = "/v1.0/homes/{home_id}"
    s = h + "/scenes/{scene_id}"
    table.add("GET", h + "/scenes", list_v10,
              summary="Scenes of a home: [{scene_id, name, background, enabled, actions}]", **c)
    table.add("GET", "/v1.1/homes/{home_id}/scenes", list_v11,
              summary="Scenes of a home (v1.1): also status and the actions' extra_property", **c)
    table.add("POST", h + "/scenes", add, body=SceneBody,
              summary="Add a scene {name, background, actions: [dpIssue | delay | ruleEnable | ruleDisable]} "
                      "→ scene_id", **c)
    table.add("PUT", s, modify, body=SceneBody, summary="Modify a scene (same body as add)", **c)
    table.add("DELETE", s, delete, summary="Delete a scene", **c)
    table.add("POST", s + "/trigger", trigger,
              summary="Run a scene: actions before the first delay at once, the rest on the cloud clock", **c)
    table.add("GET", h + "/scene/devices", scene_devices, summary="Devices of the home a scene can command", **c)
