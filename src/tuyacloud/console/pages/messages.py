"""Message service: per subscription of the project's topics, the backlog, the oldest unacknowledged message,
the consumers connected (active first) and the last acknowledgement; then the MQTT open-hub links."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tuyacloud.console.common import project_of
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.messaging.mqtt.status import link_status
from tuyacloud.messaging.status import subscription_status


def routes(deps: ConsoleDeps) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        project = await project_of(deps, request)
        subs = await subscription_status(deps.ctx(), project.access_id)
        links = await link_status(deps.ctx(), project.access_id)
        base = str(request.base_url).rstrip("/").replace("http", "ws", 1)
        return deps.render(request, "messages.html", project=project, nav="messages", tab="messages", subs=subs,
                           links=links, ws_base=base, now=deps.ctx().clock.now_ms())

    return [Route("/projects/{access_id}/messages", page, methods=["GET"])]
