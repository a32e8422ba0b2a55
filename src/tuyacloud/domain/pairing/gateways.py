"""Gateways and their sub-devices, and sub-device discovery (pairing through a gateway), simulated.

A gateway (category ``wg2``, a Zigbee gateway) connects sub-devices to the cloud. A sub-device carries its
gateway's id (``gateway_id``), a node id on the gateway's network (``node_id``, 16 hex digits like a Zigbee IEEE
address) and ``sub: true`` in the device objects; it lives in the gateway's project, asset, home and owner.

Two ways in:

* ``add_sub_devices`` (``tuyacloud device add-virtual --gateway ID``, the control API's ``gateway_id``) makes
  sub-devices directly, as ``add-virtual`` makes any virtual device.
* Discovery, as a project runs it on the platform: ``POST /v1.0/iot-03/device-registration/devices/{id}/actions/
  discover`` opens the gateway for ``duration`` seconds (default :data:`DEFAULT_DISCOVERY_S`, at most
  :data:`MAX_DISCOVERY_S`; 0 closes it), :func:`join` plays a Zigbee device pressing its pairing button (control
  API, CLI ``device pair --gateway``), and the project lists the sub-devices that joined since a time with
  ``.../devices/{id}/sub-devices?discovery_time=<s>``. ``stop-discover`` closes the window; joining a closed
  gateway answers ``2007`` like an expired pairing token.

The online rules between a gateway and its sub-devices live in domain/devices/gateway_links.py.
"""

from __future__ import annotations

import dataclasses

from tuyacloud.domain.context import Context, StatusChange
from tuyacloud.domain.devices import devices, gateway_links, owners
from tuyacloud.domain.pairing.requests import MAX_DISCOVERY_S
from tuyacloud.domain.projects import projects
from tuyacloud.errors import DeviceNotExist, DeviceTokenExpired, NotAGateway, ParamIllegal
from tuyacloud.models import Device, Project
from tuyacloud.store.base import Tx

GATEWAY_CATEGORIES = frozenset({"wg2", "wg"})
DEFAULT_DISCOVERY_S = 100


def is_gateway(device: Device) -> bool:
    return device.category in GATEWAY_CATEGORIES


async def gateway_of(ctx: Context, project: Project, gateway_id: str) -> Device:
    """The project's device ``gateway_id`` (2010 unknown, 1106 another project's), which must be a gateway (2009)."""
    device = await devices.get_owned(ctx, project, gateway_id)
    if not is_gateway(device):
        raise NotAGateway(f"device {device.id} ({device.category}) is not a gateway; gateways are of category "
                          f"{', '.join(sorted(GATEWAY_CATEGORIES))}")
    return device


async def sub_devices(ctx: Context, project: Project, gateway_id: str, *, joined_from_ms: int = 0) -> list[Device]:
    """A device's sub-devices (none for a device that is not a gateway, as the platform answers an empty list)."""
    device = await devices.get_owned(ctx, project, gateway_id)
    if not is_gateway(device):
        return []
    return await ctx.store.sub_devices(device.id, device.region, activated_from_ms=joined_from_ms)


async def add_sub_devices(ctx: Context, project: Project, gateway_id: str, *, category: str | None = None,
                          product_id: str | None = None, count: int = 1, name: str | None = None,
                          pairing_token: str = "", searching: bool = False) -> list[Device]:
    """Virtual sub-devices of a gateway: at its asset (or home) with its owner, online when it is online.
    ``searching``: only while the gateway's discovery window is open (checked again in the unit of work)."""
    gateway = await gateway_of(ctx, project, gateway_id)
    product = devices.product_for(ctx, category=category, product_id=product_id)
    if product.category in GATEWAY_CATEGORIES:
        raise ParamIllegal("a gateway cannot be the sub-device of another gateway")
    links: dict[str, tuple[str, bool]] = {}
    counted: dict[str, StatusChange | None] = {}  # by the chunk's first device: a unit run again replaces its own

    async def link(tx: Tx, chunk: list[Device]) -> None:
        current = await tx.get_device_for_update(gateway.id, gateway.region)
        if current is None:
            raise DeviceNotExist(f"gateway {gateway.id} does not exist")
        if searching:
            _check_searching(current, await tx.discovery_until(current.id, current.region), ctx.clock.now_ms())
        for device in chunk:
            node_id = ctx.ids.hex(16)
            await tx.update_device_fields(device.id, gateway_id=current.id, node_id=node_id, online=current.online,
                                          gateway_held=not current.online)
            links[device.id] = (node_id, current.online)
        counted[chunk[0].id] = await gateway_links.recount(tx, ctx.catalog, current.id, current.region,
                                                           ctx.clock.now_ms(), ctx.ids.unique_hex())

    app_owner = gateway.access_id if gateway.access_id.startswith(owners.APP_OWNER_PREFIX) else ""
    created = await devices.create_virtual(
        ctx, project, product_id=product.product_id, count=count, name=name, owner_uid=gateway.owner_uid,
        asset_id=gateway.asset_id, time_zone=gateway.time_zone, pairing_token=pairing_token, also=link,
        app_owner=app_owner,
    )
    for change in counted.values():
        ctx.status_changed(change)
    return [dataclasses.replace(d, gateway_id=gateway.id, node_id=links[d.id][0], online=links[d.id][1],
                                gateway_held=not links[d.id][1]) for d in created]


def _check_searching(gateway: Device, until: int | None, now: int) -> None:
    if until is None or now >= until:
        raise DeviceTokenExpired(f"gateway {gateway.id} is not searching for sub-devices; start discovery first "
                                 "(POST /v1.0/iot-03/device-registration/devices/{device_id}/actions/discover)")


def _duration(value: int | str | None) -> int:
    if value is None or value == "":
        return DEFAULT_DISCOVERY_S
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DISCOVERY_S:
        raise ParamIllegal(f"duration must be an integer from 0 to {MAX_DISCOVERY_S} seconds")
    return value


async def discover(ctx: Context, project: Project, gateway_id: str, duration: int | str | None = None) -> None:
    """Open the gateway for sub-devices to join for ``duration`` seconds (0 closes it; the query's integer or the
    body's ``Discover.duration``)."""
    seconds = _duration(duration)
    gateway = await gateway_of(ctx, project, gateway_id)
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> None:
        await tx.set_discovery(gateway.id, gateway.region, now, now + seconds * 1000)

    await ctx.store.transaction(work)


async def stop_discover(ctx: Context, project: Project, gateway_id: str) -> None:
    gateway = await gateway_of(ctx, project, gateway_id)
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> None:
        until = await tx.discovery_until(gateway.id, gateway.region)
        if until is not None and until > now:
            await tx.set_discovery(gateway.id, gateway.region, now, now)

    await ctx.store.transaction(work)


async def join(ctx: Context, gateway_id: str, *, category: str | None = None, product_id: str | None = None,
               name: str | None = None) -> Device:
    """Play a Zigbee device joining a gateway that is searching (the admin side: no project is named)."""
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name.strip()) > 50):
        raise ParamIllegal("name must be 1 to 50 characters")
    gateway = await devices.find_anywhere(ctx, gateway_id)
    if not is_gateway(gateway):
        raise NotAGateway(f"device {gateway.id} ({gateway.category}) is not a gateway")
    _check_searching(gateway, await ctx.store.discovery_until(gateway.id, gateway.region), ctx.clock.now_ms())
    owner = gateway.access_id
    if owner.startswith(owners.APP_OWNER_PREFIX):
        links = await ctx.store.app_links(owner[len(owners.APP_OWNER_PREFIX):])
        if not links:
            raise ParamIllegal("the gateway's app is linked to no project")
        owner = links[0]
    project = await projects.get(ctx, owner)
    created = await add_sub_devices(ctx, project, gateway.id, category=category, product_id=product_id,
                                    name=name.strip() if name else None, searching=True)
    return created[0]
