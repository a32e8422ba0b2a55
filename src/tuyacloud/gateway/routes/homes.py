"""Homes, rooms and members of app users (``/v1.0/home/create-home``, ``/v1.0/homes/...``,
``/v1.0/users/{uid}/homes``)."""

from __future__ import annotations

from typing import Any

from tuyacloud import views
from tuyacloud.domain.smarthome import homes
from tuyacloud.domain.smarthome.requests import AddMember, CreateHome, MemberRole, ModifyHome, MoveDevices, RoomName
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Param, RouteTable
from tuyacloud.models import Home


def _home_id(req: ApiRequest) -> str:
    return req.path_params["home_id"]


def home_view(h: Home) -> dict[str, Any]:
    return {"home_id": int(h.id), "name": h.name, "geo_name": h.geo_name, "lon": h.lon, "lat": h.lat}


async def create(req: ApiRequest) -> int:
    return int((await homes.create(req.ctx, req.project, req.parsed(CreateHome))).id)


async def details(req: ApiRequest) -> dict[str, Any]:
    return home_view(await homes.get_home(req.ctx, req.project, _home_id(req)))


async def modify(req: ApiRequest) -> bool:
    await homes.modify(req.ctx, req.project, _home_id(req), req.parsed(ModifyHome))
    return True


async def delete(req: ApiRequest) -> bool:
    await homes.delete(req.ctx, req.project, _home_id(req))
    return True


async def user_homes(req: ApiRequest) -> list[dict[str, Any]]:
    return [{**home_view(h), "role": role} for h, role in await homes.of_user(req.ctx, req.project,
                                                                               req.path_params["uid"])]


def _devices(req: ApiRequest, found: list[Any]) -> list[dict[str, Any]]:
    return [views.device_v1(d, req.ctx.catalog.product(d.product_id)) for d in found]


async def home_devices(req: ApiRequest) -> list[dict[str, Any]]:
    return _devices(req, await homes.home_devices(req.ctx, req.project, _home_id(req)))


async def rooms(req: ApiRequest) -> dict[str, Any]:
    home, found = await homes.rooms(req.ctx, req.project, _home_id(req))
    return {**home_view(home), "rooms": [{"room_id": int(r.id), "name": r.name} for r in found]}


async def add_room(req: ApiRequest) -> int:
    return int((await homes.add_room(req.ctx, req.project, _home_id(req), req.parsed(RoomName).name)).id)


async def rename_room(req: ApiRequest) -> bool:
    await homes.rename_room(req.ctx, req.project, _home_id(req), req.path_params["room_id"],
                            req.parsed(RoomName).name)
    return True


async def delete_room(req: ApiRequest) -> bool:
    await homes.delete_room(req.ctx, req.project, _home_id(req), req.path_params["room_id"])
    return True


async def room_devices(req: ApiRequest) -> list[dict[str, Any]]:
    return _devices(req, await homes.room_devices(req.ctx, req.project, _home_id(req), req.path_params["room_id"]))


async def move_devices(req: ApiRequest) -> bool:
    await homes.move_devices(req.ctx, req.project, _home_id(req), req.path_params["room_id"],
                             req.parsed(MoveDevices).device_ids)
    return True


async def remove_devices(req: ApiRequest) -> bool:
    await homes.remove_devices(req.ctx, req.project, _home_id(req), req.path_params["room_id"],
                               req.params.get("device_ids"))
    return True


async def members(req: ApiRequest) -> list[dict[str, Any]]:
    return [{"uid": m.uid, "name": m.name, "role": m.role, "admin": m.role != homes.MEMBER, "avatar": "",
             "username": u.username if u else "", "country_code": u.country_code if u else ""}
            for m, u in await homes.members(req.ctx, req.project, _home_id(req))]


async def add_member(req: ApiRequest) -> bool:
    await homes.add_member(req.ctx, req.project, _home_id(req), req.parsed(AddMember))
    return True


async def set_role(req: ApiRequest) -> bool:
    await homes.set_role(req.ctx, req.project, _home_id(req), req.path_params["uid"],
                         req.parsed(MemberRole).admin)
    return True


async def remove_member(req: ApiRequest) -> bool:
    await homes.remove_member(req.ctx, req.project, _home_id(req), req.path_params["uid"])
    return True


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "smart_home_basic", "area": "Homes"}
    h = "/v1.0/homes/{home_id}"
    r = h + "/rooms/{room_id}"
    table.add("POST", "/v1.0/home/create-home", create, body=CreateHome,
              summary="Create a home owned by uid, with rooms → home_id (Long)", **c)
    table.add("GET", "/v1.0/users/{uid}/homes", user_homes,
              summary="Homes of a user: [{home_id, name, geo_name, lon, lat, role}]", **c)
    table.add("GET", h, details, summary="Home details", **c)
    table.add("PUT", h, modify, body=ModifyHome, summary="Modify a home (owner or administrator)", **c)
    table.add("DELETE", h, delete, summary="Delete a home with its rooms, members and devices (owner)", **c)
    table.add("GET", h + "/devices", home_devices, summary="Devices in a home", **c)
    table.add("GET", h + "/rooms", rooms, summary="Rooms of a home: {home_id, ..., rooms: [{room_id, name}]}", **c)
    table.add("POST", h + "/room", add_room, body=RoomName, summary="Add a room → room_id (Long)", **c)
    table.add("PUT", r, rename_room, body=RoomName, summary="Rename a room", **c)
    table.add("DELETE", r, delete_room, summary="Delete a room (its devices stay in the home)", **c)
    table.add("GET", r + "/devices", room_devices, summary="Devices in a room", **c)
    table.add("POST", r + "/devices", move_devices, body=MoveDevices,
              summary="Move devices of the home into the room {device_ids: [..]}", **c)
    table.add("DELETE", r + "/devices", remove_devices,
              query=(Param("device_ids", required=True, description="comma-separated device ids"),),
              summary="Take devices out of the room (they stay in the home)", **c)
    table.add("GET", h + "/members", members, summary="Members with their roles (OWNER, ADMIN, MEMBER)", **c)
    table.add("POST", h + "/members", add_member, body=AddMember,
              summary="Add a member {app_schema, member: {country_code, member_account, admin, name}}", **c)
    table.add("PUT", h + "/members/{uid}", set_role, body=MemberRole, summary="Change a member's role {admin}", **c)
    table.add("DELETE", h + "/members/{uid}", remove_member, summary="Remove a member (not the owner)", **c)
