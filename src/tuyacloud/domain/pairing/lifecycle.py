"""Factory reset and freezing: what a project can do to a device beyond commands.

**Factory reset** (``POST /v1.0/devices/{id}/reset-factory``, ``POST|DELETE /v1.0/iot-03/devices/{id}/actions/
reset``). Tuya documents it as "unbind the device and restore the factory default settings", and a factory reset as
unbinding the device from the cloud and clearing the data the cloud and the device hold. A virtual device therefore,
in one unit of work:

* goes back to its product's initial status and reports it (a protocol-4 status report of every code);
* loses what the cloud kept for it: its logs (one ``reset`` row, event type 4, stays), its timers, its room;
* restarts in pairing mode: offline (an ``offline`` event if it was online);
* is unbound from its user and asset or home (``owner_uid`` and ``asset_id`` empty) with the protocol-20 ``delete``
  event, the event the legacy message service sends when a device leaves its user (Tuya's message list has no
  ``reset`` event; tuya-iot-py-sdk drops the device from its cache on ``delete``).

The device keeps its id, so the project still finds it by id (offline and unbound), as a reset device is still known
to the platform by its id; it answers ``2001`` to commands until it is brought online again. A gateway's reset resets
its sub-devices the same way (a factory reset clears the gateway's network) and ends its sub-device search.

**Freeze** (``GET|PUT /v1.0/iot-03/devices/{id}/freeze-state``, ``{"state": 0|1}``): a frozen device refuses
commands (and scene, automation and timer actions) until unfrozen. Tuya documents the state but not the code a
command to a frozen device answers; this cloud answers ``1106 permission deny`` with a ``detail`` saying the device
is frozen (docs/fidelity.md). Freezing emits no message: the platform announces it only on the IoT-Core message
protocol (1001 ``deviceFreeze``/``deviceUnFreeze``), which this cloud does not speak.
"""

from __future__ import annotations

from tuyacloud.catalog.behaviours import initial_status
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices, events, gateway_links, outbox
from tuyacloud.domain.devices.devices import refuse_if_frozen
from tuyacloud.domain.pairing import gateways
from tuyacloud.domain.pairing.requests import FreezeState
from tuyacloud.errors import DeviceNotExist, DeviceNotSupported, ParamEmpty, ParamIllegal
from tuyacloud.models import Device, DeviceLog, Project
from tuyacloud.store.base import Tx

LOG_OFFLINE, LOG_RESET = 2, 4
FROM_DEVICE, FROM_CLOUD = "1", "4"
FROZEN, NORMAL = 1, 0


async def factory_reset(ctx: Context, project: Project, device_id: str) -> list[Device]:
    """Reset and unbind a device (and a gateway's sub-devices); returns the devices reset, as they were before."""
    device = await devices.get_owned(ctx, project, device_id)
    refuse_if_frozen(device)
    if ctx.catalog.product(device.product_id) is None:
        raise DeviceNotSupported(f"product {device.product_id} of device {device.id} is unknown")
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> list[Device]:
        current = await tx.get_device_for_update(device.id, device.region)
        if current is None:
            raise DeviceNotExist(f"device {device.id} does not exist")
        refuse_if_frozen(current)
        targets = [current]
        if gateways.is_gateway(current):
            targets += await tx.sub_devices(current.id, current.region)
            await tx.delete_discovery(current.id)
        for target in targets:
            await _restore(ctx, tx, target, now, subdevices=len(targets) - 1)
        return targets

    reset = await ctx.store.transaction(work)
    for target in reset:
        ctx.notify(target.id, target.region)
    return reset


async def _restore(ctx: Context, tx: Tx, device: Device, now: int, subdevices: int) -> None:
    """Back to the product's initial status, unbound and offline. A gateway's sub-devices keep their link to it, so
    its ``master_information`` still counts them (``subdevices``)."""
    product = ctx.catalog.product(device.product_id)
    status = initial_status(product) if product is not None else {}
    if gateway_links.INFORMATION in status and gateways.is_gateway(device):
        status[gateway_links.INFORMATION] = gateway_links.information(status[gateway_links.INFORMATION], subdevices)
    await tx.update_device_status(device.id, status, {code: now for code in status}, now)
    await tx.delete_device_logs(device.id)
    await tx.clear_device_timers(device.id)
    await tx.leave_rooms(device.id)
    logs = [DeviceLog(device.id, now, LOG_RESET, "", "", FROM_CLOUD)]
    if device.online:
        logs.append(DeviceLog(device.id, now, LOG_OFFLINE, "", "", FROM_DEVICE))
    await tx.insert_device_logs(logs)
    await tx.update_device_fields(device.id, owner_uid="", asset_id="", online=False, gateway_held=False,
                                  updated_ms=now)
    if status:
        await outbox.emit(tx, events.status_report(device, product, status, now, ctx.ids.unique_hex()))
    if device.online:
        await outbox.emit(tx, events.device_event(device, "offline", now, time=now))
    # ownerId: the asset or home it left (the device objects' ``owner_id``), so a project user's or app user's
    # open-hub link that saw the device hears that it went (domain/access/openhub.py ``may_see``).
    await outbox.emit(tx, events.device_event(device, "delete", now, uid=device.owner_uid,
                                              ownerId=device.asset_id or device.owner_uid))


async def freeze_state(ctx: Context, project: Project, device_id: str) -> int:
    device = await devices.get_owned(ctx, project, device_id)
    return FROZEN if device.frozen else NORMAL


def _state(value: int | float | str | None) -> int:
    if value is None or value == "":
        raise ParamEmpty("state is required: 1 freezes the device, 0 unfreezes it")
    if isinstance(value, str) and value in ("0", "1"):
        return int(value)
    if isinstance(value, bool) or value not in (NORMAL, FROZEN):
        raise ParamIllegal("state must be 0 (normal) or 1 (frozen)")
    return int(value)


async def set_freeze_state(ctx: Context, project: Project, device_id: str, body: FreezeState) -> None:
    state = _state(body.state)
    device = await devices.get_owned(ctx, project, device_id)
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> None:
        current = await tx.get_device_for_update(device.id, device.region)
        if current is None:
            raise DeviceNotExist(f"device {device.id} does not exist")
        if current.frozen != bool(state):
            await tx.update_device_fields(device.id, frozen=bool(state), updated_ms=now)

    await ctx.store.transaction(work)
