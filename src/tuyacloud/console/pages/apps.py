"""Smart-home projects: the linked apps, their users and the users' homes (read-only; apps are created and linked
with `tuyacloud app ...`, users synced and homes created through the OpenAPI, as on the platform), the users' user
codes, and Home Assistant QR logins waiting for approval (the part the Smart Life app plays on the platform)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tuyacloud.console.common import error_text, project_of
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.domain import console_views
from tuyacloud.domain.smarthome import sharing
from tuyacloud.errors import TuyaError


def routes(deps: ConsoleDeps) -> list[BaseRoute]:
    async def _uids(request: Request) -> list[str]:
        project = await project_of(deps, request)
        linked = await console_views.linked_apps(deps.ctx(), project)
        return [v.user.id for entry in linked for v in entry.users]

    async def apps_page(request: Request, error: str = "", status: int = 200) -> Response:
        project = await project_of(deps, request)
        linked = await console_views.linked_apps(deps.ctx(), project)
        uids = [v.user.id for entry in linked for v in entry.users]
        codes, logins = await console_views.sharing_logins(deps.ctx(), uids)
        return deps.render(request, "apps.html", status, project=project, nav="overview", tab="apps", linked=linked,
                           codes=codes, logins=logins, error=error)

    async def decide(request: Request) -> Response:
        project = await project_of(deps, request)
        approve = request.path_params["decision"] == "approve"
        try:
            await sharing.decide_for(deps.ctx(), request.path_params["qrcode"], approve, await _uids(request))
        except TuyaError as error:
            return await apps_page(request, error_text(error), 400)
        return deps.redirect(f"/console/projects/{project.access_id}/apps",
                             "Login approved: press Submit in Home Assistant" if approve else "Login refused")

    return [Route("/projects/{access_id}/apps", apps_page, methods=["GET"]),
            Route("/projects/{access_id}/apps/logins/{qrcode}/{decision:str}", decide, methods=["POST"])]
