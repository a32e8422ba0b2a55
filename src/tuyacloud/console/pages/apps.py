"""Smart-home projects: the linked apps, their users and the users' homes (read-only; apps are created and linked
with `tuyacloud app ...`, users synced and homes created through the OpenAPI, as on the platform)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tuyacloud.console.common import project_of
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.domain import console_views


def routes(deps: ConsoleDeps) -> list[BaseRoute]:
    async def apps_page(request: Request) -> Response:
        project = await project_of(deps, request)
        linked = await console_views.linked_apps(deps.ctx(), project)
        return deps.render(request, "apps.html", project=project, nav="overview", tab="apps", linked=linked)

    return [Route("/projects/{access_id}/apps", apps_page, methods=["GET"])]
