"""Service API: the catalogue of API services with the project's authorisation, editable (as the platform's
"Service API" tab). A call to a route outside the authorised services answers 28841101."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tuyacloud.console.common import error_text, fields, project_of
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.domain.projects import projects, services
from tuyacloud.errors import TuyaError


def _route_counts(deps: ConsoleDeps) -> dict[str, int]:
    """How many implemented OpenAPI endpoints each service covers (from the route table, if given)."""
    counts: dict[str, int] = {}
    for route in getattr(deps.table, "routes", []) or []:
        code = getattr(route, "service", None)
        if isinstance(code, str):
            counts[code] = counts.get(code, 0) + 1
    return counts


def routes(deps: ConsoleDeps) -> list[BaseRoute]:
    async def page(request: Request, error: str = "", status_code: int = 200) -> Response:
        project = await project_of(deps, request)
        return deps.render(request, "services.html", status_code, project=project, nav="overview", tab="services",
                           services=services.SERVICES.values(), authorised=set(project.services),
                           route_counts=_route_counts(deps), error=error)

    async def save(request: Request) -> Response:
        project = await project_of(deps, request)
        try:
            await projects.set_services(deps.ctx(), project.access_id, fields(request, "services"))
        except TuyaError as error:
            return await page(request, error_text(error), 400)
        return deps.redirect(f"/console/projects/{project.access_id}/services", "API service authorisation saved")

    return [
        Route("/projects/{access_id}/services", page, methods=["GET"]),
        Route("/projects/{access_id}/services", save, methods=["POST"]),
    ]
