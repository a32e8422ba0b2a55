"""API Explorer: pick a project and an implemented API, fill its parameters in a form generated from the route
table's description, send it signed with the project's credentials, and see the exact request (headers, string
to sign, signature) and the response. The sending is ``console/explorer_client.py``; the catalogue and the
signing are ``console/explorer.py``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tuyacloud.console import explorer
from tuyacloud.console.common import error_text, field
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.console.explorer_client import Exchange, ExplorerClient
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import commands, devices
from tuyacloud.errors import ParamIllegal, TuyaError
from tuyacloud.models import Project
from tuyacloud.regions import RegionResolver

DEFAULT_API = "GET /v1.0/devices/{device_id}"


def _base_url(deps: ConsoleDeps, request: Request) -> str:
    """What a client of this cloud would call: the configured public URL, else the URL the browser used."""
    return (deps.settings.public_url or str(request.base_url)).rstrip("/")


def _takes_commands(endpoint: explorer.Endpoint) -> bool:
    return "commands" in ((endpoint.body_schema or {}).get("properties") or {})


async def _command_example(ctx: Context, project: Project | None, device_id: str) -> str:
    """A commands body the chosen device accepts (its own functions), rather than the schema's generic one."""
    if project is None:
        return ""
    try:
        device = await devices.get_owned(ctx, project, device_id)
        return explorer.command_example(commands.product_of(ctx, device).functions)
    except TuyaError:
        return ""


def routes(deps: ConsoleDeps) -> list[BaseRoute]:
    assert deps.app_of is not None, "the explorer sends through the app: ConsoleDeps.app_of must be set"
    client = ExplorerClient(deps.app_of, RegionResolver(deps.settings.default_region, deps.settings.region_aliases),
                            now_ms=lambda: deps.ctx().clock.now_ms())
    deps.explorer = client  # one per server lifetime: the app closes it at shutdown

    async def render(request: Request, *, project_id: str, api: str, values: dict[str, str] | None = None,
                     body: str | None = None, exchanges: list[Exchange] | None = None, error: str = "",
                     status_code: int = 200) -> Response:
        ctx = deps.ctx()
        found = await ctx.store.list_projects()
        project: Project | None = next((p for p in found if p.access_id == project_id), None)
        if project is None and found and not project_id:
            project = found[0]
        routes_ = deps.table.routes
        endpoint = explorer.find(routes_, api) or explorer.find(routes_, DEFAULT_API)
        device_ids: list[str] = []
        if project is not None:
            listed, _ = await devices.page(ctx, project, "", 100)
            device_ids = [d.id for d in listed]
        values = dict(values or {})
        if endpoint is not None and "device_id" not in values and device_ids:
            values["device_id"] = device_ids[0]
        if body is None and endpoint is not None and _takes_commands(endpoint) and values.get("device_id"):
            body = await _command_example(ctx, project, values["device_id"]) or None
        return deps.render(
            request, "explorer.html", status_code, nav="explorer", projects=found, project=project,
            areas=explorer.catalogue(routes_), endpoint=endpoint, values=values,
            body=endpoint.example_body if body is None and endpoint else (body or ""),
            exchanges=exchanges or [], device_ids=device_ids, base_url=_base_url(deps, request),
            masked_secret=explorer.mask(project.access_secret) if project else "",
            host=client.host_for(project, _base_url(deps, request)) if project else "", error=error,
        )

    async def page(request: Request) -> Response:
        device = request.query_params.get("device", "")  # a device page's "try it" link names its device
        return await render(request, project_id=request.query_params.get("project", ""),
                            api=request.query_params.get("api", DEFAULT_API),
                            values={"device_id": device} if device else None)

    async def send(request: Request) -> Response:
        project_id, api = field(request, "project"), field(request, "api")
        endpoint = explorer.find(deps.table.routes, api)
        values = {p.name: field(request, f"p.{p.name}") for p in endpoint.params} if endpoint else {}
        body_text = field(request, "body").replace("\r\n", "\n")
        try:
            if endpoint is None:
                raise ParamIllegal(f"no API {api!r} in the catalogue")
            project = next((p for p in await deps.ctx().store.list_projects() if p.access_id == project_id), None)
            if project is None:
                raise ParamIllegal("choose a project to send the request with")
            path = explorer.fill_path(endpoint.path, values)
            query = [(p.name, values.get(p.name, "").strip()) for p in endpoint.query_params]
            body = body_text.strip().encode() if endpoint.body_schema is not None or body_text.strip() else b""
            exchanges = await client.send(project, _base_url(deps, request), endpoint.method, path, query, body,
                                          needs_token=endpoint.needs_token)
        except TuyaError as error:
            return await render(request, project_id=project_id, api=api, values=values, body=body_text,
                                error=error_text(error), status_code=400)
        return await render(request, project_id=project_id, api=api, values=values, body=body_text,
                            exchanges=exchanges)

    return [
        Route("/explorer", page, methods=["GET"]),
        Route("/explorer/send", send, methods=["POST"]),
    ]

