"""Whose devices a project sees: the owner ids of the device table.

A project's own devices carry its Access ID; an app user's devices belong to the app and carry ``app:<schema>``
(:func:`owner_id`). A project sees its own devices and those of the apps linked to it (:func:`device_owners`), so
every device lookup of a project goes through here. The rule lives with the devices (not with the apps) because
the device lookups, the message outbox and the statistics all need it, and the smart-home package sits above them.
"""

from __future__ import annotations

from tuyacloud.domain.context import Context
from tuyacloud.models import Project

APP_OWNER_PREFIX = "app:"


def owner_id(schema: str) -> str:
    """The ``access_id`` column of an app user's devices."""
    return f"{APP_OWNER_PREFIX}{schema}"


async def linked_owners(ctx: Context, project: Project) -> list[str]:
    """The device owner ids of the apps linked to the project."""
    return [owner_id(s) for s in await ctx.store.linked_schemas(project.access_id)]


async def device_owners(ctx: Context, project: Project) -> str | list[str]:
    """Whose devices the project sees: its own, and its linked apps' users'."""
    linked = await linked_owners(ctx, project)
    return [project.access_id, *linked] if linked else project.access_id
