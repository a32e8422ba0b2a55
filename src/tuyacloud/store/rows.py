"""The row shape of a device, shared by the store's core and the query mixins that join devices.

Its own module so the mixins (which ``base.Queries`` is composed of) need not import ``base``: that was a circle.
"""

from __future__ import annotations

from typing import Any

import orjson

from tuyacloud.models import Device

Row = tuple[Any, ...]

DEVICE_COLS = (
    "id, access_id, region, product_id, category, name, local_key, uuid, ip, time_zone, lat, lon, online, "
    "owner_uid, asset_id, created_ms, active_ms, updated_ms, status, status_t, custom_name, sn, mac, virtual, "
    "gateway_id, node_id, frozen, gateway_held"
)


def device_from_row(row: Row) -> Device:
    return Device(
        id=row[0], access_id=row[1], region=row[2], product_id=row[3], category=row[4], name=row[5],
        local_key=row[6], uuid=row[7], ip=row[8], time_zone=row[9], lat=row[10], lon=row[11], online=bool(row[12]),
        owner_uid=row[13], asset_id=row[14], created_ms=row[15], active_ms=row[16], updated_ms=row[17],
        status=orjson.loads(row[18]), status_t=orjson.loads(row[19]), custom_name=row[20], sn=row[21], mac=row[22],
        virtual=bool(row[23]), gateway_id=row[24], node_id=row[25], frozen=bool(row[26]),
        gateway_held=bool(row[27]),
    )


def copy_device(device: Device) -> Device:
    """A copy with its own ``status`` and ``status_t`` dicts (the parts a unit of work changes in place), the rest
    shared (immutable values). A quarter of what ``dataclasses.replace`` costs, which calls ``__init__`` with
    all 28 fields: it runs on every command."""
    copy = object.__new__(Device)
    fields = copy.__dict__
    fields.update(device.__dict__)
    fields["status"] = dict(device.status)
    fields["status_t"] = dict(device.status_t)
    return copy
