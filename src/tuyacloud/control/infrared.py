"""Control-API routes for virtual IR blasters: bind remotes to a blaster and read them with their state.

Appended to the control API's route table (``control/routes.py``); same admin token, same envelope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request

from tuyacloud import bodies, limits
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices, infrared
from tuyacloud.domain.devices.requests import AddRemote
from tuyacloud.errors import ParamIllegal
from tuyacloud.views import remote_admin_view


async def add_remote(request: Request, ctx: Context) -> dict[str, Any]:
    raw = await request.body()
    body = limits.loads(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise ParamIllegal("body must be a JSON object")
    device = await devices.find_anywhere(ctx, request.path_params["infrared_id"])
    return remote_admin_view(await infrared.add_remote_admin(ctx, device, bodies.convert(AddRemote, body)))


async def list_remotes(request: Request, ctx: Context) -> list[dict[str, Any]]:
    device = await devices.find_anywhere(ctx, request.path_params["infrared_id"])
    return [remote_admin_view(r) for r in await infrared.remotes_admin(ctx, device)]


ROUTES: list[tuple[str, str, Callable[[Request, Context], Awaitable[Any]], bool]] = [
    ("POST", "/_tuyacloud/infrareds/{infrared_id}/remotes", add_remote, True),
    ("GET", "/_tuyacloud/infrareds/{infrared_id}/remotes", list_remotes, True),
]
