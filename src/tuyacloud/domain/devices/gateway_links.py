"""What a gateway's own changes do to its sub-devices, inside the caller's unit of work.

A Zigbee sub-device reaches the cloud only through its gateway: when the gateway goes offline every online
sub-device goes offline with it (an ``offline`` event and log row for each), and when the gateway comes back the
sub-devices it took down come back (``online`` for each). A sub-device that was already offline on its own stays
offline. Removing a gateway removes its sub-devices, as the platform does. These helpers only touch the store and
the outbox, so the device module can call them without importing the gateway module (which builds on it).
"""

from __future__ import annotations

from tuyacloud.domain.devices import events, outbox
from tuyacloud.models import Device, DeviceLog
from tuyacloud.store.base import Tx

LOG_ONLINE, LOG_OFFLINE = 1, 2
FROM_DEVICE = "1"


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
