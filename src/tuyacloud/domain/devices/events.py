"""The data of the messages the cloud emits, as plain dicts.

They are written to the outbox in the same transaction as the change that caused them; the message service
encrypts and delivers them later.
"""

from __future__ import annotations

from typing import Any

from tuyacloud.catalog.loader import Product
from tuyacloud.models import Device, Message

STATUS_REPORT = 4
DEVICE_EVENT = 20


def dp_string(value: Any) -> str:
    """A DP value as Tuya renders it in logs and in the ``"<dpId>"`` key of a report: ``true``, ``42``, text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def status_report(device: Device, product: Product | None, changes: dict[str, Any], t: int, data_id: str) -> Message:
    items = []
    for code, value in changes.items():
        item: dict[str, Any] = {"code": code, "value": value, "t": t}
        spec = next((s for s in product.all_dps() if s.code == code), None) if product else None
        if spec is not None:
            item[str(spec.dp_id)] = dp_string(value)
        items.append(item)
    data = {"dataId": data_id, "devId": device.id, "productKey": device.product_id, "status": items}
    return Message(device.access_id, device.region, STATUS_REPORT, device.id, data, t)


def device_event(device: Device, biz_code: str, t: int, **biz_data: Any) -> Message:
    """A protocol-20 event; ``devId`` sits at the top level and in ``bizData`` (clients read either)."""
    data = {
        "bizCode": biz_code,
        "bizData": {"devId": device.id, **biz_data},
        "devId": device.id,
        "productKey": device.product_id,
        "ts": t,
        "uuid": device.uuid,
    }
    return Message(device.access_id, device.region, DEVICE_EVENT, device.id, data, t)
