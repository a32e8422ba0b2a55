"""The data of the messages the cloud emits, as plain dicts.

They are written to the outbox in the same transaction as the change that caused them; the message service
encrypts and delivers them later.
"""

from __future__ import annotations

import functools
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


@functools.lru_cache(maxsize=4096)
def _dp_keys(product: Product) -> dict[str, str]:
    """Code -> the report's ``"<dpId>"`` key, once per product (products live as long as the catalog)."""
    return {spec.code: str(spec.dp_id) for spec in reversed(product.all_dps())}


def status_report(device: Device, product: Product | None, changes: dict[str, Any], t: int, data_id: str,
                  texts: dict[str, str] | None = None) -> Message:
    """``texts``: the changes' values already rendered by :func:`dp_string` (the caller logged them)."""
    keys = _dp_keys(product) if product is not None else {}
    items = []
    for code, value in changes.items():
        item: dict[str, Any] = {"code": code, "value": value, "t": t}
        key = keys.get(code)
        if key is not None:
            item[key] = texts[code] if texts is not None else dp_string(value)
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
