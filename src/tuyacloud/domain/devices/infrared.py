"""Infrared: the remotes bound to a virtual IR blaster (a ``qt`` device) and the key presses sent through them.

A remote has a type (Tuya's IR category id: TV, set-top box, air conditioner, fan), a brand and a code-library
index, and remembers what its key presses did (an air conditioner its power, mode, temperature and wind speed).
A key press reaches the blaster the way the platform delivers it: as the blaster's ``ir_send`` DP, which the
blaster reports back. So the remote's new state, the blaster's command and report log rows and the protocol-4
status message are written in one unit of work; a bad key, an unknown remote or an out-of-range value is refused
before anything is written.

Lookups go through the blaster: another project's blaster answers 1106 (2010 in another data center), a device
that is not a blaster 2009, a remote that is not this blaster's 2010.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from tuyacloud.catalog.infrared import AC_CATEGORY, IrCategory, IrKey, load_infrared
from tuyacloud.domain.context import Context, StatusChange
from tuyacloud.domain.devices import commands, devices
from tuyacloud.domain.devices.requests import (
    AC_FIELDS,
    AcCommand,
    AcScene,
    AddRemote,
    IrNumber,
    PressKey,
    RenameRemote,
)
from tuyacloud.errors import (
    CategoryNotSupported,
    DeviceNotSupported,
    DeviceOffline,
    IrKeyNotSupported,
    ParamIllegal,
    RemoteNotExist,
)
from tuyacloud.models import Device, InfraredRemote, Project
from tuyacloud.store.base import Tx

BLASTER_CATEGORY = "qt"
IR_SEND = "ir_send"


# --- lookups -----------------------------------------------------------------------------------------------------
async def blaster(ctx: Context, project: Project, infrared_id: str) -> Device:
    """The project's IR blaster (ownership as for any device; a device of another category answers 2009)."""
    device = await devices.get_owned(ctx, project, infrared_id)
    if device.category != BLASTER_CATEGORY:
        raise DeviceNotSupported(f"device {infrared_id!r} is not an IR blaster (category {device.category!r}, "
                                 f"not {BLASTER_CATEGORY!r})")
    return device


async def remote(ctx: Context, project: Project, infrared_id: str, remote_id: str) -> tuple[Device, InfraredRemote]:
    device = await blaster(ctx, project, infrared_id)
    found = await ctx.store.get_remote(remote_id, device.region)
    if found is None or found.infrared_id != device.id:
        raise RemoteNotExist(f"remote {remote_id!r} is not bound to IR blaster {infrared_id!r}")
    return device, found


async def remotes(ctx: Context, project: Project, infrared_id: str) -> list[InfraredRemote]:
    device = await blaster(ctx, project, infrared_id)
    return await ctx.store.remotes_of(device.id, device.region)


def category_of(found: InfraredRemote) -> IrCategory:
    category = load_infrared().category(found.category_id)
    if category is None:  # pragma: no cover - only supported categories are ever stored
        raise CategoryNotSupported(f"IR category {found.category_id} is not supported")
    return category


def supported_categories() -> list[IrCategory]:
    return list(load_infrared().categories)


# --- adding and removing remotes ---------------------------------------------------------------------------------
def _int_field(value: IrNumber, name: str) -> int:
    """An integer sent as a number or as its digits."""
    if isinstance(value, str):
        if not value.strip().lstrip("-").isdigit():
            raise ParamIllegal(f"{name} must be an integer")
        return int(value)
    return value


async def add_remote(ctx: Context, project: Project, infrared_id: str, body: AddRemote) -> InfraredRemote:
    """Bind a remote of a supported type to the blaster (``POST /v2.0/infrareds/{id}/remotes``, the control API,
    ``tuyacloud infrared add-remote``). ``category_id`` is required; the rest has defaults."""
    category_id, name, brand_id, brand_name, remote_index = _remote_fields(body)
    return await _add(ctx, await blaster(ctx, project, infrared_id), category_id, name, brand_id, brand_name,
                      remote_index)


def _remote_fields(body: AddRemote) -> tuple[int, str, int, str, int]:
    category_id = _int_field(body.category_id, "category_id")
    category = load_infrared().category(category_id)
    if category is None:
        known = ", ".join(f"{c.category_id} ({c.category_name})" for c in load_infrared().categories)
        raise CategoryNotSupported(f"IR category {category_id} is not supported; known: {known}")
    brand_name = body.brand_name.strip() or "Generic"
    name = body.remote_name.strip() or f"{brand_name} {category.category_name}"
    if len(name) > 50 or len(brand_name) > 50:
        raise ParamIllegal("remote_name and brand_name must be at most 50 characters")
    brand_id, remote_index = _int_field(body.brand_id, "brand_id"), _int_field(body.remote_index, "remote_index")
    if brand_id < 0 or remote_index < 0:
        raise ParamIllegal("brand_id and remote_index must not be negative")
    return category_id, name, brand_id, brand_name, remote_index


async def add_remote_admin(ctx: Context, device: Device, body: AddRemote) -> InfraredRemote:
    """The same for an administrator (control API, CLI): any blaster, whichever project holds it."""
    if device.category != BLASTER_CATEGORY:
        raise DeviceNotSupported(f"device {device.id!r} is not an IR blaster (category {device.category!r})")
    category_id, name, brand_id, brand_name, remote_index = _remote_fields(body)
    return await _add(ctx, device, category_id, name, brand_id, brand_name, remote_index)


async def _add(ctx: Context, device: Device, category_id: int, name: str, brand_id: int, brand_name: str,
               remote_index: int) -> InfraredRemote:
    now = ctx.clock.now_ms()
    state: dict[str, Any] = dict(load_infrared().ac.initial) if category_id == AC_CATEGORY else {"power": 0}
    created = InfraredRemote(ctx.ids.device_id(), device.id, device.access_id, device.region, category_id, name,
                             brand_id, brand_name, remote_index, state, now, now)

    async def work(tx: Tx) -> None:
        await tx.insert_remote(created)

    await ctx.store.transaction(work)
    return created


async def rename_remote(ctx: Context, project: Project, infrared_id: str, remote_id: str,
                        body: RenameRemote) -> None:
    name = body.remote_name.strip()
    if not name or len(name) > 50:
        raise ParamIllegal("remote_name must be 1 to 50 characters")
    device, found = await remote(ctx, project, infrared_id, remote_id)
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> None:
        await tx.rename_remote(found.id, device.region, name, now)

    await ctx.store.transaction(work)


async def delete_remote(ctx: Context, project: Project, infrared_id: str, remote_id: str) -> None:
    device, found = await remote(ctx, project, infrared_id, remote_id)

    async def work(tx: Tx) -> None:
        await tx.delete_remote(found.id, device.region)

    await ctx.store.transaction(work)


# --- key presses -------------------------------------------------------------------------------------------------
def _ac_check(changes: dict[str, IrNumber]) -> dict[str, int]:
    """Air-conditioner values as integers within their documented ranges, or 2008 naming the range."""
    limits = load_infrared().ac.limits()
    checked: dict[str, int] = {}
    for code, value in changes.items():
        if isinstance(value, str):
            if not value.strip().isdigit():
                raise IrKeyNotSupported(f"{code} must be an integer")
            value = int(value)
        lo, hi = limits[code]
        if not lo <= value <= hi:
            raise IrKeyNotSupported(f"{code} {value} is out of range {lo}..{hi}")
        checked[code] = value
    return checked


def _ac_key_effect(key: str, state: dict[str, Any]) -> dict[str, int] | None:
    """What a standard air-conditioner key does: ``PowerOn``/``PowerOff``; ``M0``-``M4``, ``T16``-``T30``,
    ``F0``-``F3`` set a value; ``M``, ``T`` and ``F`` alone step to the next value (wrapping)."""
    if key == "PowerOn":
        return {"power": 1}
    if key == "PowerOff":
        return {"power": 0}
    field = {"M": "mode", "T": "temp", "F": "wind"}.get(key[:1])
    if field is None:
        return None
    rest = key[1:]
    if rest == "":
        lo, hi = load_infrared().ac.limits()[field]
        current = int(state.get(field, lo))
        return {field: lo if current >= hi else current + 1}
    if not rest.isdigit():
        return None
    return _ac_check({field: int(rest)})


def _resolve_key(category: IrCategory, found: InfraredRemote, key: str | None, raw_key_id: IrNumber | None
                 ) -> tuple[str, int, dict[str, Any]]:
    """The key pressed (by code or id), its key id and the state change it makes; 2008 for a key the remote lacks."""
    key_id: int | None = None
    if isinstance(raw_key_id, str):
        if not raw_key_id.strip().isdigit():
            raise ParamIllegal("key_id must be an integer")
        key_id = int(raw_key_id)
    else:
        key_id = raw_key_id
    if not key and key_id is None:
        raise ParamIllegal("give the key (or its key_id)")
    listed: IrKey | None = category.key(key or None, key_id)
    if found.category_id == AC_CATEGORY and listed is None and key and key_id in (None, 0):
        effect = _ac_key_effect(key, found.state)  # M0..M4, T16..T30, F0..F3 are standard keys too
        if effect is not None:
            return key, 0, effect
    if listed is None:
        known = ", ".join(k.key for k in category.keys)
        raise IrKeyNotSupported(f"the {category.category_name} remote has no key {key or key_id!r}; keys: {known}")
    if found.category_id == AC_CATEGORY:
        effect = _ac_key_effect(listed.key, found.state) or {}
    elif listed.key in ("PowerOn", "PowerOff"):
        effect = {"power": int(listed.key == "PowerOn")}
    elif listed.key == "Power":
        effect = {"power": 0 if found.state.get("power") else 1}
    else:
        effect = {}
    return listed.key, listed.key_id, effect


async def press_key(ctx: Context, project: Project, infrared_id: str, remote_id: str, body: PressKey,
                    event_from: str = commands.FROM_CLIENT) -> dict[str, Any]:
    """A standard or raw key command: ``{"key"}``, ``{"key_id"}`` or both, ``category_id`` optional (it must be
    the remote's). Returns the remote's state after the press."""
    device, found = await remote(ctx, project, infrared_id, remote_id)
    if body.category_id not in (None, "") and _int_field(body.category_id, "category_id") != found.category_id:
        raise IrKeyNotSupported(f"remote {found.id} is of IR category {found.category_id}, "
                                f"not {body.category_id}")
    key, key_id, effect = _resolve_key(category_of(found), found, body.key, body.key_id)
    return await _send(ctx, device, found, {"key": key, "key_id": key_id}, effect, event_from)


async def _require_ac(ctx: Context, project: Project, infrared_id: str, remote_id: str
                      ) -> tuple[Device, InfraredRemote]:
    device, found = await remote(ctx, project, infrared_id, remote_id)
    if found.category_id != AC_CATEGORY:
        raise DeviceNotSupported(f"remote {remote_id} is not an air conditioner (IR category {found.category_id})")
    return device, found


async def ac_command(ctx: Context, project: Project, infrared_id: str, remote_id: str,
                     body: AcCommand) -> dict[str, Any]:
    """``{"code": "power"|"mode"|"temp"|"wind", "value": n}``: one air-conditioner setting."""
    code = body.code
    if code not in AC_FIELDS:
        raise IrKeyNotSupported(f"code must be one of {', '.join(AC_FIELDS)}")
    device, found = await _require_ac(ctx, project, infrared_id, remote_id)
    if body.value is None:
        raise IrKeyNotSupported(f"{code} must be an integer")
    effect = _ac_check({code: body.value})
    return await _send(ctx, device, found, {"code": code, "value": effect[code]}, effect, commands.FROM_CLIENT)


async def ac_scene(ctx: Context, project: Project, infrared_id: str, remote_id: str,
                   body: AcScene) -> dict[str, Any]:
    """``{"power", "mode"?, "temp"?, "wind"?}``: several settings in one infrared code (power required)."""
    device, found = await _require_ac(ctx, project, infrared_id, remote_id)
    effect = _ac_check(body.settings())
    return await _send(ctx, device, found, dict(effect), effect, commands.FROM_CLIENT)


async def ac_status(ctx: Context, project: Project, infrared_id: str, remote_id: str) -> InfraredRemote:
    return (await _require_ac(ctx, project, infrared_id, remote_id))[1]


async def _send(ctx: Context, device: Device, found: InfraredRemote, sent: dict[str, Any],
                effect: dict[str, Any], event_from: str) -> dict[str, Any]:
    """The remote's new state and the blaster's ``ir_send`` command, report, logs and message in one unit."""
    if not device.online:
        raise DeviceOffline(f"IR blaster {device.id} is offline")
    product = commands.product_of(ctx, device)
    state = {**found.state, **effect}
    code = orjson.dumps({"control": "send_ir", "remote_id": found.id, "category_id": found.category_id,
                         "remote_index": found.remote_index, **sent}).decode()

    async def work(tx: Tx) -> StatusChange | None:
        current = await tx.get_remote(found.id, found.region)
        if current is None:
            raise RemoteNotExist(f"remote {found.id} was removed")
        merged = {**current.state, **effect}  # re-read in the unit: concurrent presses never lose a setting
        state.clear()
        state.update(merged)
        await tx.update_remote_state(found.id, found.region, merged, ctx.clock.now_ms())
        return await commands.command_in_unit(ctx, tx, device, product, [(IR_SEND, code)], event_from)

    change = await ctx.store.transaction(work)
    ctx.command_committed(event_from)
    ctx.notify(device.id, device.region)
    ctx.status_changed(change)
    return state


def with_state(found: InfraredRemote, state: dict[str, Any]) -> InfraredRemote:
    return dataclasses.replace(found, state=state)


async def remotes_admin(ctx: Context, device: Device) -> list[InfraredRemote]:
    """A blaster's remotes with their state, for an administrator (control API, CLI)."""
    return await ctx.store.remotes_of(device.id, device.region)
