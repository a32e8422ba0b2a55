"""Cloud projects: the list, "Create Cloud Project", and the overview with credentials, secret rotation, the IP
allowlist and editing (everything but the development method and the data center)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tuyacloud.console.common import error_text, field, fields, project_of
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.domain.devices import devices
from tuyacloud.domain.projects import projects, services
from tuyacloud.errors import TuyaError
from tuyacloud.models import METHODS
from tuyacloud.regions import REGIONS, RegionResolver

INDUSTRIES = ("Smart Home", "Smart Hotel", "Smart Apartment", "Smart Office", "Smart Retail", "Smart Building",
              "Smart Community", "Smart Agriculture", "Smart Industry", "Smart Education", "Healthcare", "Energy",
              "Other")
METHOD_LABELS = {"smart_home": "Smart Home", "custom": "Custom Development"}


def selects_region(deps: ConsoleDeps, request: Request, region: str) -> bool:
    """Whether the address the console is using also reaches this project's data center: the data center comes
    from the Host header, so an eu project called at the plain address would get 1106."""
    resolver = RegionResolver(deps.settings.default_region, deps.settings.region_aliases)
    return resolver.resolve(request.headers.get("host")) == region


def routes(deps: ConsoleDeps) -> list[BaseRoute]:
    async def listing(request: Request) -> Response:
        ctx = deps.ctx()
        found = await ctx.store.list_projects()
        counts = {p.access_id: await devices.count(ctx, p) for p in found}
        return deps.render(request, "projects.html", nav="projects", projects=found, counts=counts,
                           method_labels=METHOD_LABELS)

    def new_form(request: Request, error: str = "", status_code: int = 200) -> Response:
        chosen = fields(request, "services") if request.method == "POST" else services.default_services()
        return deps.render(request, "project_new.html", status_code, nav="projects", error=error,
                           industries=INDUSTRIES, method_labels=METHOD_LABELS, methods=METHODS,
                           services=services.SERVICES.values(), chosen=set(chosen),
                           values={k: field(request, k) for k in ("name", "description", "method", "industry",
                                                                  "region")})

    async def new_page(request: Request) -> Response:
        return new_form(request)

    async def create(request: Request) -> Response:
        try:
            project = await projects.create(
                deps.ctx(), name=field(request, "name"), region=field(request, "region", "us"),
                method=field(request, "method", "custom"), description=field(request, "description"),
                industry=field(request, "industry"), service_codes=fields(request, "services"))
        except TuyaError as error:
            return new_form(request, error_text(error), 400)
        return deps.redirect(f"/console/projects/{project.access_id}", f"Created cloud project {project.name}")

    async def overview(request: Request, error: str = "", status_code: int = 200) -> Response:
        project = await project_of(deps, request)
        count = await devices.count(deps.ctx(), project)
        return deps.render(request, "project_overview.html", status_code, project=project, nav="overview",
                           tab="overview", device_count=count, method_labels=METHOD_LABELS, industries=INDUSTRIES,
                           region_info=REGIONS.get(project.region), error=error,
                           host_selects_region=selects_region(deps, request, project.region))

    async def edit(request: Request) -> Response:
        project = await project_of(deps, request)
        try:
            await projects.update(deps.ctx(), project.access_id, name=field(request, "name"),
                                  description=field(request, "description"), industry=field(request, "industry"))
        except TuyaError as error:
            return await overview(request, error_text(error), 400)
        return deps.redirect(f"/console/projects/{project.access_id}", "Project saved")

    async def rotate(request: Request) -> Response:
        project = await project_of(deps, request)
        await projects.rotate_secret(deps.ctx(), project.access_id)
        return deps.redirect(f"/console/projects/{project.access_id}",
                             "New Access Secret issued; tokens already issued stay valid until they expire")

    async def allowlist(request: Request) -> Response:
        project = await project_of(deps, request)
        entries = [e for line in field(request, "allowlist").splitlines() for e in line.split(",")]
        try:
            await projects.set_allowlist(deps.ctx(), project.access_id, field(request, "enabled") == "on", entries)
        except TuyaError as error:
            return await overview(request, error_text(error), 400)
        return deps.redirect(f"/console/projects/{project.access_id}", "IP allowlist saved")

    return [
        Route("/projects", listing, methods=["GET"]),
        Route("/projects/new", new_page, methods=["GET"]),
        Route("/projects/new", create, methods=["POST"]),
        Route("/projects/{access_id}", overview, methods=["GET"]),
        Route("/projects/{access_id}/edit", edit, methods=["POST"]),
        Route("/projects/{access_id}/rotate-secret", rotate, methods=["POST"]),
        Route("/projects/{access_id}/allowlist", allowlist, methods=["POST"]),
    ]
