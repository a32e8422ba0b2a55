"""What a gateway's own changes do to its sub-devices, inside the caller's unit of work.

A Zigbee sub-device reaches the cloud only through its gateway: when the gateway goes offline every online
sub-device goes offline with it (an ``offline`` event and log row for each), and when the gateway comes back the
sub-devices it took down come back (``online`` for each). A sub-device that was already offline on its own stays
offline. Removing a gateway removes its sub-devices, as the platform does. A gateway's ``master_information`` DP
says how many sub-devices it has (:func:`recount`, in every unit of work that links or removes one). These helpers
only touch the store and the outbox, so the device module can call them without importing the gateway module (which
builds on it).
"""

from __future__ import annotations

import json
from typing import Any

from tuyacloud.catalog.loader import Catalog
from tuyacloud.domain.context import StatusChange
from tuyacloud.domain.devices import events, outbox
from tuyacloud.models import Device, DeviceLog
from tuyacloud.store.base import Tx

LOG_ONLINE, LOG_OFFLINE, LOG_REPORT = 1, 2, 7
FROM_DEVICE = "1"
INFORMATION = "master_information"  # the gateway's firmware version and number of sub-devices, a JSON string


def information(value: Any, subdevices: int) -> str:
    """The ``master_information`` value ``value`` with ``subdevices`` sub-devices; its other fields (the firmware
    version) as they were. A value that is no JSON object (a report may set any string) starts from nothing."""
    try:
        doc = json.loads(value) if isinstance(value, str) else {}
    except ValueError:
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    doc["subdevices"] = subdevices
    return json.dumps(doc, separators=(",", ":"))


async def recount(tx: Tx, catalog: Catalog, gateway_id: str, region: str, now: int, data_id: str
                  ) -> StatusChange | None:
    """Bring the gateway's ``master_information`` up to the number of its sub-devices (after this unit linked or
    removed some), as the gateway reports it: the status, its report log row and a status report, in the caller's
    unit. Returns the change for the caller to announce after its commit (``Context.status_changed``); None when the
    gateway is gone, has no such DP, or the count is already right."""
    gateway = await tx.get_device_for_update(gateway_id, region)
    if gateway is None or INFORMATION not in gateway.status:
        return None
    value = information(gateway.status[INFORMATION], len(await tx.sub_devices(gateway.id, gateway.region)))
    if value == gateway.status[INFORMATION]:
        return None
    before = dict(gateway.status)
    gateway.status[INFORMATION] = value
    gateway.status_t[INFORMATION] = now
    await tx.update_device_status(gateway.id, gateway.status, gateway.status_t, now)
    await tx.insert_device_logs([DeviceLog(gateway.id, now, LOG_REPORT, INFORMATION, events.dp_string(value),
                                           FROM_DEVICE)])
    product = catalog.product(gateway.product_id)
    await outbox.emit(tx, events.status_report(gateway, product, {INFORMATION: value}, now, data_id))
    return StatusChange(gateway, before, {INFORMATION: value})


async def follow_gateway(tx: Tx, gateway: Device, online: bool, now: int) -> list[Device]:
    """Take the gateway's online sub-devices down with it, or bring back the ones it took down; returns them."""
    moved: list[Device] = []
    for sub in await tx.sub_devices(gateway.id, gateway.region):
        if not online and sub.online:
            await tx.update_device_fields(sub.id, online=False, gateway_held=True, updated_ms=now)
        elif online and sub.gateway_held:
            await tx.update_device_fields(sub.id, online=True, gateway_held=False, updated_ms=now)
        else:
            continue
        await tx.insert_device_logs([DeviceLog(sub.id, now, LOG_ONLINE if online else LOG_OFFLINE, "", "",
                                               FROM_DEVICE)])
        await outbox.emit(tx, events.device_event(sub, "online" if online else "offline", now, time=now))
        moved.append(sub)
    return moved


async def remove_sub_devices(tx: Tx, gateway: Device, now: int) -> list[Device]:
    """Remove a gateway's sub-devices with it (a ``delete`` event each) and end its discovery."""
    removed = await tx.sub_devices(gateway.id, gateway.region)
    for sub in removed:
        await tx.delete_device(sub.id)
        await tx.delete_device_logs(sub.id)
        await outbox.emit(tx, events.device_event(sub, "delete", now, uid=sub.owner_uid, ownerId=sub.owner_uid))
    await tx.delete_discovery(gateway.id)
    return removed
