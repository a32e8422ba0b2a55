"""Infrared remotes of IR blasters (``/v1.0/infrareds/...``, ``/v2.0/infrareds/...``).

The v1.0 family is the one tuya-iot-py-sdk calls (``query_infrared_devices``, ``trigger_infrared_commands``); its
remote list carries the ids as strings (iot-py compares ``category_id == "5"``). The v2.0 family (IR control hub)
carries them as integers, adds remotes, and has the air-conditioner APIs.
"""

from __future__ import annotations

from typing import Any

from tuyacloud.catalog.infrared import AC_CATEGORY, load_infrared
from tuyacloud.domain.devices import infrared
from tuyacloud.domain.devices.requests import AcCommand, AcScene, AddRemote, PressKey, RenameRemote
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import RouteTable
from tuyacloud.models import InfraredRemote


def _ids(remote: InfraredRemote, as_text: bool) -> dict[str, Any]:
    conv = str if as_text else int
    return {"category_id": conv(remote.category_id), "brand_id": conv(remote.brand_id),
            "remote_index": conv(remote.remote_index)}


def remote_view(remote: InfraredRemote, as_text: bool) -> dict[str, Any]:
    return {**_ids(remote, as_text), "brand_name": remote.brand_name, "remote_id": remote.id,
            "remote_name": remote.remote_name}


def _key_range() -> list[dict[str, Any]]:
    ac = load_infrared().ac
    fans = [{"fan": w, "fan_name": name} for w, name in ac.winds]
    temps = [{"temp": t, "temp_name": f"{t}℃", "fan_list": fans} for t in range(ac.temp_min, ac.temp_max + 1)]
    return [{"mode": m, "mode_name": name, "temp_list": temps} for m, name in ac.modes]


def keys_view(remote: InfraredRemote, as_text: bool) -> dict[str, Any]:
    category = infrared.category_of(remote)
    keys = [{"key": k.key, "key_id": k.key_id, "key_name": k.key_name, "standard_key": k.standard_key}
            for k in category.keys]
    codes = {k.key for k in category.keys}
    view: dict[str, Any] = {**_ids(remote, as_text), "single_air": False,
                            "duplicate_power": not {"PowerOn", "PowerOff"} <= codes, "key_list": keys}
    if remote.category_id == AC_CATEGORY:
        view["key_range"] = _key_range()
    return view


async def _list(req: ApiRequest, as_text: bool) -> list[dict[str, Any]]:
    found = await infrared.remotes(req.ctx, req.project, req.path_params["infrared_id"])
    return [remote_view(r, as_text) for r in found]


async def list_v1(req: ApiRequest) -> list[dict[str, Any]]:
    return await _list(req, as_text=True)


async def list_v2(req: ApiRequest) -> list[dict[str, Any]]:
    return await _list(req, as_text=False)


async def _keys(req: ApiRequest, as_text: bool) -> dict[str, Any]:
    _, found = await infrared.remote(req.ctx, req.project, req.path_params["infrared_id"],
                                     req.path_params["remote_id"])
    return keys_view(found, as_text)


async def keys_v1(req: ApiRequest) -> dict[str, Any]:
    return await _keys(req, as_text=True)


async def keys_v2(req: ApiRequest) -> dict[str, Any]:
    return await _keys(req, as_text=False)


async def command(req: ApiRequest) -> bool:
    await infrared.press_key(req.ctx, req.project, req.path_params["infrared_id"], req.path_params["remote_id"],
                             req.parsed(PressKey))
    return True


async def add_remote(req: ApiRequest) -> str:
    created = await infrared.add_remote(req.ctx, req.project, req.path_params["infrared_id"], req.parsed(AddRemote))
    return created.id


async def rename_remote(req: ApiRequest) -> bool:
    await infrared.rename_remote(req.ctx, req.project, req.path_params["infrared_id"], req.path_params["remote_id"],
                                 req.parsed(RenameRemote))
    return True


async def delete_remote(req: ApiRequest) -> bool:
    await infrared.delete_remote(req.ctx, req.project, req.path_params["infrared_id"], req.path_params["remote_id"])
    return True


async def categories(req: ApiRequest) -> list[dict[str, Any]]:
    await infrared.blaster(req.ctx, req.project, req.path_params["infrared_id"])
    return [{"category_id": c.category_id, "category_name": c.category_name}
            for c in infrared.supported_categories()]


async def ac_command(req: ApiRequest) -> bool:
    await infrared.ac_command(req.ctx, req.project, req.path_params["infrared_id"], req.path_params["remote_id"],
                              req.parsed(AcCommand))
    return True


async def ac_scene(req: ApiRequest) -> bool:
    await infrared.ac_scene(req.ctx, req.project, req.path_params["infrared_id"], req.path_params["remote_id"],
                            req.parsed(AcScene))
    return True


async def ac_status(req: ApiRequest) -> dict[str, Any]:
    found = await infrared.ac_status(req.ctx, req.project, req.path_params["infrared_id"],
                                     req.path_params["remote_id"])
    return {"remote_id": found.id, **{k: str(found.state.get(k, 0)) for k in infrared.AC_FIELDS}}


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "iot_core", "area": "Infrared"}
    base1, base2 = "/v1.0/infrareds/{infrared_id}", "/v2.0/infrareds/{infrared_id}"
    table.add("GET", f"{base1}/remotes", list_v1, summary="Remotes of an IR blaster", **c)
    table.add("GET", f"{base1}/remotes/{{remote_id}}/keys", keys_v1, summary="Keys of a remote", **c)
    table.add("POST", f"{base1}/remotes/{{remote_id}}/command", command, summary="Press a key of a remote",
              body=PressKey, **c)
    table.add("GET", f"{base2}/categories", categories, summary="IR categories a blaster supports", **c)
    table.add("GET", f"{base2}/remotes", list_v2, summary="Remotes of an IR blaster (v2.0)", **c)
    table.add("POST", f"{base2}/remotes", add_remote, summary="Add a remote to an IR blaster", body=AddRemote, **c)
    table.add("PUT", f"{base2}/remotes/{{remote_id}}", rename_remote, summary="Rename a remote", body=RenameRemote, **c)
    table.add("DELETE", f"{base2}/remotes/{{remote_id}}", delete_remote, summary="Remove a remote", **c)
    table.add("GET", f"{base2}/remotes/{{remote_id}}/keys", keys_v2, summary="Keys of a remote (v2.0)", **c)
    table.add("POST", f"{base2}/remotes/{{remote_id}}/command", command, summary="Send a standard key command",
              body=PressKey, **c)
    table.add("POST", f"{base2}/remotes/{{remote_id}}/raw/command", command, summary="Send a key command by key id",
              body=PressKey, **c)
    table.add("POST", f"{base2}/air-conditioners/{{remote_id}}/command", ac_command,
              summary="Set one air-conditioner setting", body=AcCommand, **c)
    table.add("POST", f"{base2}/air-conditioners/{{remote_id}}/scenes/command", ac_scene,
              summary="Set several air-conditioner settings at once", body=AcScene, **c)
    table.add("GET", f"{base2}/remotes/{{remote_id}}/ac/status", ac_status, summary="Air-conditioner state", **c)
