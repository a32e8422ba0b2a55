"""Devices: creation of virtual devices, lookup with ownership, listing, renaming, deletion, online state.

A device belongs to exactly one project in one region. Looking up another project's device answers 1106
(``permission deny``, as the platform does for devices not linked to the project); an id unknown in this region
answers 2010.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tuyacloud.catalog.behaviours import initial_status
from tuyacloud.catalog.loader import Product
from tuyacloud.domain.access import visibility
from tuyacloud.domain.context import Context, StatusChange
from tuyacloud.domain.devices import events, gateway_links, outbox, owners
from tuyacloud.domain.industry import assets
from tuyacloud.errors import (
    CategoryNotSupported,
    DeviceFrozen,
    DeviceNotExist,
    DeviceOffline,
    ParamIllegal,
    PermissionDeny,
    ProductNotExist,
)
from tuyacloud.models import Device, DeviceLog, Project
from tuyacloud.regions import REGIONS
from tuyacloud.store.base import Tx

CREATE_CHUNK = 500


def product_for(ctx: Context, *, category: str | None = None, product_id: str | None = None) -> Product:
    if product_id:
        product = ctx.catalog.product(product_id)
        if product is None:
            raise ProductNotExist(f"no product {product_id!r}")
        return product
    if not category:
        raise ParamIllegal("give a category or a product id")
    product = ctx.catalog.default_product(category)
    if product is None:
        known = ", ".join(c.code for c in ctx.catalog.categories())
        raise CategoryNotSupported(f"unknown category {category!r}; known: {known}")
    return product


def _new_device(ctx: Context, project: Project, product: Product, name: str | None, now: int, n: int,
                owner_uid: str | None, asset_id: str, time_zone: str, access_id: str = "") -> Device:
    status = initial_status(product)
    device_id = ctx.ids.device_id()
    return Device(
        id=device_id,
        access_id=access_id or project.access_id,
        region=project.region,
        product_id=product.product_id,
        category=product.category,
        name=name or f"{product.name} {n}",
        local_key=ctx.ids.local_key(),
        uuid=ctx.ids.device_uuid(),
        ip="127.0.0.1",
        time_zone=time_zone,
        lat="",
        lon="",
        online=True,
        owner_uid=project.uid if owner_uid is None else owner_uid,
        asset_id=asset_id,
        created_ms=now,
        active_ms=now,
        updated_ms=now,
        status=status,
        status_t={code: now for code in status},
    )


def numbered(name: str | None, count: int, n: int) -> str | None:
    """The name of the ``n``-th of ``count`` devices made together: the given name, numbered when there are several
    ("Zigbee bulb 1", "Zigbee bulb 2"); None (the product's name, numbered) when none was given."""
    if not name or count == 1:
        return name
    return f"{name} {n}"


async def create_virtual(
    ctx: Context,
    project: Project,
    *,
    category: str | None = None,
    product_id: str | None = None,
    count: int = 1,
    name: str | None = None,
    owner_uid: str | None = None,
    asset_id: str = "",
    time_zone: str = "+00:00",
    progress: Callable[[int], None] | None = None,
    pairing_token: str = "",
    also: Callable[[Tx, list[Device]], Awaitable[None]] | None = None,
    app_owner: str = "",
) -> list[Device]:
    """Create ``count`` virtual devices; each chunk commits with its ``bindUser`` events (carrying
    ``pairing_token``) and whatever ``also`` writes for the chunk in the same unit of work.

    ``app_owner`` (``app:<schema>``) makes app users' devices: ``asset_id`` is then their home, already checked."""
    if count < 1 or count > 1_000_000:
        raise ParamIllegal("count must be between 1 and 1000000")
    product = product_for(ctx, category=category, product_id=product_id)
    if not app_owner:
        asset_id = await _placement(ctx, project, asset_id)
    existing = await ctx.store.count_devices(project.access_id, project.region)
    cap = await ctx.quotas.device_cap(ctx, project, app_owner) if ctx.quotas is not None else None
    if cap is not None:  # opt-in device cap (domain/projects/quotas.py): refused before any is created
        await cap.check(ctx.store, count)
    created: list[Device] = []
    for start in range(0, count, CREATE_CHUNK):
        now = ctx.clock.now_ms()
        chunk = [
            _new_device(ctx, project, product, numbered(name, count, start + i + 1), now, existing + start + i + 1,
                        owner_uid, asset_id, time_zone, app_owner)
            for i in range(min(CREATE_CHUNK, count - start))
        ]

        async def work(tx: Tx, chunk: list[Device] = chunk, now: int = now) -> None:
            if cap is not None:  # again where the insert is, so concurrent creations cannot both pass the cap
                await cap.check_locked(tx, len(chunk))
            for device in chunk:
                await tx.insert_device(device)
                await tx.insert_device_logs([DeviceLog(device.id, now, 3, "", "", "4")])
                await outbox.emit(tx, events.device_event(
                    device, "bindUser", now, uid=device.owner_uid, ownerId=device.owner_uid, uuid=device.uuid,
                    token=pairing_token,
                ))
            if also is not None:
                await also(tx, chunk)

        await ctx.store.transaction(work)
        for device in chunk:
            ctx.notify(device.id, device.region)
        created.extend(chunk)
        if progress:
            progress(len(chunk))
    return created


async def _placement(ctx: Context, project: Project, asset_id: str) -> str:
    """The asset a new device goes to: the one named (it must be the project's), else a custom project's root."""
    if asset_id:
        return (await assets.get_owned(ctx, project, asset_id)).id
    return await assets.ensure_root(ctx, project)


async def get_owned(ctx: Context, project: Project, device_id: str) -> Device:
    """The project's device; with a user token, only at an asset the user is authorised on (else 1106)."""
    device = found(await ctx.store.get_device(device_id, project.region), device_id)
    if device.access_id != project.access_id and device.access_id not in await owners.linked_owners(ctx, project):
        raise PermissionDeny("the device is not linked to this project")
    refuse_if_hidden(ctx, device)
    return device


def found(device: Device | None, device_id: str) -> Device:
    """The device read, or ``DeviceNotExist``: :func:`get_owned`'s first check, shared with the
    command path that reads the device inside its unit of work."""
    if device is None:
        raise DeviceNotExist(f"device {device_id!r} does not exist")
    return device


def refuse_if_hidden(ctx: Context, device: Device) -> None:
    """With a user token, a device at an asset the user is not authorised on is refused (1106)."""
    scope = ctx.scope
    if scope is not None and not scope.sees(device.asset_id, device.owner_uid):
        raise PermissionDeny("the user may not see this device")


async def get_many(ctx: Context, project: Project, ids: Sequence[str]) -> list[Device]:
    """Only this project's devices (and a user's visible ones): others are left out, as batch calls do."""
    found = await ctx.store.get_devices(await owners.device_owners(ctx, project), project.region,
                                        list(dict.fromkeys(ids)))
    scope = ctx.scope
    return found if scope is None else [d for d in found if scope.sees(d.asset_id, d.owner_uid)]


async def page(ctx: Context, project: Project, after_id: str, size: int, **filters: Any) -> tuple[list[Device], bool]:
    """One page after the ``after_id`` cursor and whether more follow (fetches one extra row to know)."""
    scope = ctx.scope
    if scope is not None:
        if not scope.asset_ids and not scope.app_user:
            return [], False
        filters["asset_ids"] = sorted(scope.asset_ids) or [""]
        if scope.app_user:
            filters["or_owner_uid"] = scope.uid
    rows = await ctx.store.page_devices(await owners.device_owners(ctx, project), project.region, after_id, size + 1,
                                        **filters)
    return rows[:size], len(rows) > size


async def count(ctx: Context, project: Project, owner_uid: str | None = None) -> int:
    scope = ctx.scope
    if scope is not None:
        if owner_uid is not None or scope.app_user:
            return len((await page(ctx, project, "", 1_000_000, owner_uid=owner_uid))[0])
        return await ctx.store.count_devices_at(project.access_id, project.region, sorted(scope.asset_ids))
    return await ctx.store.count_devices(await owners.device_owners(ctx, project), project.region, owner_uid)


async def transfer(ctx: Context, project: Project, device_id: str, source_asset_id: str | None,
                   target_asset_id: str) -> None:
    """Move a device to another asset; status and logs stay. Emits an ``assetTransfer`` event (a tuyacloud
    extension: the platform documents no message for it; clients ignore unknown ``bizCode`` values)."""
    visibility.require_project_token(ctx)
    device = await get_owned(ctx, project, device_id)
    if source_asset_id and source_asset_id != device.asset_id:
        await assets.get_owned(ctx, project, source_asset_id)
        raise ParamIllegal("the device is not at the source asset")
    target = await assets.get_owned(ctx, project, target_asset_id)
    if target.id == device.asset_id:
        return
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> None:
        await tx.update_device_fields(device.id, asset_id=target.id, updated_ms=now)
        await outbox.emit(tx, events.device_event(device, "assetTransfer", now, sourceAssetId=device.asset_id,
                                                    targetAssetId=target.id))

    await ctx.store.transaction(work)


async def rename(ctx: Context, project: Project, device_id: str, name: str) -> None:
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise ParamIllegal("name must be 1 to 50 characters")
    device = await get_owned(ctx, project, device_id)
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> None:
        await tx.update_device_fields(device.id, name=name, updated_ms=now)
        await outbox.emit(tx, events.device_event(device, "nameUpdate", now, uid=device.owner_uid, name=name))

    await ctx.store.transaction(work)


async def delete(ctx: Context, project: Project, device_id: str) -> None:
    device = await get_owned(ctx, project, device_id)
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> StatusChange | None:
        await tx.delete_device(device.id)
        await tx.delete_device_logs(device.id)
        await outbox.emit(tx, events.device_event(
            device, "delete", now, uid=device.owner_uid, ownerId=device.owner_uid
        ))
        await gateway_links.remove_sub_devices(tx, device, now)  # a gateway's sub-devices go with it
        if not device.gateway_id:
            return None
        # a sub-device: its gateway has one fewer
        return await gateway_links.recount(tx, ctx.catalog, device.gateway_id, device.region, now, ctx.ids.unique_hex())

    ctx.status_changed(await ctx.store.transaction(work))


async def set_online(ctx: Context, device: Device, online: bool) -> Device:
    """A gateway's sub-devices follow it (domain/devices/gateway_links.py); a sub-device cannot come online while its
    gateway is offline (2001), and one taken offline on its own stays offline when its gateway returns."""
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> list[Device]:
        current = await tx.get_device(device.id, device.region)
        if current is None:
            raise DeviceNotExist()
        if current.online == online:
            if current.gateway_held and not online:
                await tx.update_device_fields(device.id, gateway_held=False)
            return []
        if online and current.gateway_id:
            gateway = await tx.get_device(current.gateway_id, current.region)
            if gateway is not None and not gateway.online:
                raise DeviceOffline(f"its gateway {gateway.id} is offline")
        await tx.update_device_fields(device.id, online=online, updated_ms=now)
        await tx.insert_device_logs([DeviceLog(device.id, now, 1 if online else 2, "", "", "1")])
        await outbox.emit(tx, events.device_event(current, "online" if online else "offline", now, time=now))
        return await gateway_links.follow_gateway(tx, current, online, now)

    moved = await ctx.store.transaction(work)
    ctx.notify(device.id, device.region)
    for sub in moved:
        ctx.notify(sub.id, sub.region)
    return dataclasses.replace(device, online=online)


async def find_anywhere(ctx: Context, device_id: str) -> Device:
    """An admin lookup (control API, CLI): the device in whichever data center holds it."""
    for region in REGIONS:
        device = await ctx.store.get_device(device_id, region)
        if device is not None:
            return device
    raise DeviceNotExist(f"device {device_id!r} does not exist")


def refuse_if_frozen(device: Device) -> None:
    """Raise :class:`DeviceFrozen` (1106) for a frozen device: called before a command writes anything."""
    if device.frozen:
        raise DeviceFrozen(f"device {device.id} is frozen; unfreeze it with PUT "
                           "/v1.0/iot-03/devices/{device_id}/freeze-state {\"state\": 0}")
