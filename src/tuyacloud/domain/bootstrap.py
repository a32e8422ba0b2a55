"""First-start set-up: the admin token and the demo project with one virtual device per showcase category."""

from __future__ import annotations

from dataclasses import dataclass

from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices
from tuyacloud.domain.projects import projects
from tuyacloud.models import Device, Project
from tuyacloud.store.base import Tx

DEMO_CATEGORIES = ("dj", "cz", "wsdcg", "cl", "kt")
DEMO_NAMES = {"dj": "Living Room Light", "cz": "Kitchen Plug", "wsdcg": "Bedroom Sensor", "cl": "Patio Curtain",
              "kt": "Office Air Conditioner"}


@dataclass
class DemoInfo:
    project: Project
    devices: list[Device]


async def admin_token(ctx: Context, preset: str | None = None) -> str:
    """The control API's bearer token: kept in the store so the CLI and restarts see the same one."""
    if preset:
        return preset
    token = await ctx.store.get_meta("admin_token")
    if token:
        return token
    token = ctx.ids.hex(40)

    async def work(tx: Tx) -> None:
        await tx.set_meta("admin_token", token)

    await ctx.store.transaction(work)
    return token


async def ensure_demo(ctx: Context) -> DemoInfo | None:
    """Create the demo once (a restart keeps it, and deleting it does not bring it back)."""
    access_id = await ctx.store.get_meta("demo_access_id")
    if access_id is None:
        project = await projects.create(ctx, name="Demo project", region="us", method="custom",
                                        description="Created on first start", industry="Smart Home")
        created: list[Device] = []
        for category in DEMO_CATEGORIES:
            created += await devices.create_virtual(ctx, project, category=category, name=DEMO_NAMES[category])

        async def work(tx: Tx) -> None:
            await tx.set_meta("demo_access_id", project.access_id)

        await ctx.store.transaction(work)
        return DemoInfo(project, _in_banner_order(created))
    project_or_none = await ctx.store.get_project(access_id)
    if project_or_none is None:
        return None
    found, _ = await devices.page(ctx, project_or_none, "", 20)
    return DemoInfo(project_or_none, _in_banner_order(found))


def _in_banner_order(found: list[Device]) -> list[Device]:
    """The devices in the order they were made, the demo's in the order of ``DEMO_CATEGORIES`` (made within the
    same millisecond or two): the same list at every start (the store gives them in id order, which is random),
    so a restart's banner reads like the first one's, with any device a user added after them."""
    rank = {category: i for i, category in enumerate(DEMO_CATEGORIES)}
    return sorted(found, key=lambda d: (d.created_ms, rank.get(d.category, len(rank)), d.id))
