"""Who receives a device's message: the one place that turns an event into outbox rows.

A project's own devices emit to that project's topic. App users' devices belong to the app (``app:<schema>``), not
to a project: their messages go to every project the app is linked to at the moment of the change (at most two),
one row per project in the same unit of work, so each project's subscription keeps its own order and position.
An app linked to no project emits nothing: like Tuya, a project sees the messages of the time it was linked.
"""

from __future__ import annotations

from dataclasses import replace

from tuyacloud.domain.devices.owners import APP_OWNER_PREFIX
from tuyacloud.models import Message
from tuyacloud.store.base import Tx


async def recipients(tx: Tx, owner: str) -> list[str]:
    if owner.startswith(APP_OWNER_PREFIX):
        return await tx.app_links(owner[len(APP_OWNER_PREFIX):])
    return [owner]


async def emit(tx: Tx, message: Message) -> None:
    """Append ``message`` for each project that sees its device (inside the caller's transaction)."""
    owners = await recipients(tx, message.access_id)
    for access_id in owners:
        await tx.append_message(message if access_id == message.access_id else replace(message, access_id=access_id))
