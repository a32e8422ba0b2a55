"""Devices of a project: the list (search, category, online state, paging), "add virtual device", and a device's
page with its details, live status, controls generated from its instruction set, recent logs and the online
toggle. Controls send real commands through ``commands.send_commands`` (the OpenAPI's validation and errors)."""

from __future__ import annotations

import math
import urllib.parse
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tuyacloud.console.auth import form_of
from tuyacloud.console.common import error_text, field, project_of
from tuyacloud.console.controls import controls, display, submitted_value
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.domain import console_views
from tuyacloud.domain.devices import commands, devices, history
from tuyacloud.domain.devices.requests import Command, SendCommands
from tuyacloud.domain.smarthome import homes
from tuyacloud.errors import TuyaError
from tuyacloud.limits import parse_int
from tuyacloud.models import Device, Project

PAGE_SIZE = 20
LOG_SIZE = 30
EVENTS = {1: "Online", 2: "Offline", 3: "Activated", 4: "Reset", 5: "Command", 6: "Firmware", 7: "Report",
          8: "Semaphore", 9: "Restart", 10: "Timer"}
SOURCES = {"1": "device", "2": "client", "3": "third party", "4": "cloud", "-1": "unknown"}


def _int(text: str | None, default: int, lo: int, hi: int) -> int:
    number = parse_int(text) if text else default
    return default if number is None else max(lo, min(hi, number))


def routes(deps: ConsoleDeps) -> list[BaseRoute]:
    async def add_choices(project: Project) -> dict[str, Any]:
        ctx = deps.ctx()
        if project.method == "custom":
            tree, _ = await console_views.asset_tree(ctx, project)
            return {"assets": [(a.id, full) for a, _, full in tree]}
        return {"homes": await console_views.home_choices(ctx, project)}

    async def listing(request: Request, error: str = "", status_code: int = 200) -> Response:
        ctx = deps.ctx()
        project = await project_of(deps, request)
        query = request.query_params
        q, category, state = query.get("q", "").strip(), query.get("category", ""), query.get("online", "")
        total = await devices.count(ctx, project)
        filters: dict[str, Any] = {}
        if q:
            filters["name"] = q
        if category:
            filters["category"] = category
        if state in ("online", "offline"):
            filters["online"] = state == "online"
        # Unfiltered, the project's count gives the number of pages; a filtered list knows its last page only
        # once it reaches it (the store counts a project's devices, not the matches of a search).
        pages: int | None = None if filters else max(1, math.ceil(total / PAGE_SIZE))
        page_no = _int(query.get("page"), 1, 1, pages or 100_000)
        found, more = await devices.page(ctx, project, "", PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE, **filters)
        if pages is None and not more and (found or page_no == 1):
            pages = page_no

        def page_url(n: int) -> str:
            params = {k: v for k, v in {"q": q, "category": category, "online": state}.items() if v}
            return "?" + urllib.parse.urlencode({**params, "page": n})

        return deps.render(
            request, "devices.html", status_code, project=project, nav="devices", tab="devices", devices=found,
            total=total, page_no=page_no, pages=pages, more=more, first_url=page_url(1), prev_url=page_url(page_no - 1),
            next_url=page_url(page_no + 1), last_url=page_url(pages or page_no),
            q=q, category=category, online=state, categories=ctx.catalog.categories(), error=error,
            **await add_choices(project))

    async def add(request: Request) -> Response:
        ctx = deps.ctx()
        project = await project_of(deps, request)
        category, name = field(request, "category"), field(request, "name").strip() or None
        count = _int(field(request, "count"), 1, 1, 100)
        try:
            if project.method == "smart_home":
                home_id, _, uid = field(request, "home").partition("|")
                if not home_id:
                    return await listing(request, "A smart-home device belongs to an app user's home: link an app "
                                                  "and create a home for one of its users first.", 400)
                created = [await homes.add_device(ctx, project, uid=uid, home_id=home_id, category=category,
                                                  name=name) for _ in range(count)]
            else:
                created = await devices.create_virtual(ctx, project, category=category, count=count, name=name,
                                                       asset_id=field(request, "asset_id"))
        except TuyaError as error:
            return await listing(request, error_text(error), 400)
        base = f"/console/projects/{project.access_id}/devices"
        if len(created) == 1:
            return deps.redirect(f"{base}/{created[0].id}", f"Added virtual device {created[0].name}")
        return deps.redirect(base, f"Added {len(created)} virtual devices")

    async def device_page(request: Request, error: str = "", status_code: int = 200) -> Response:
        ctx = deps.ctx()
        project = await project_of(deps, request)
        device = await devices.get_owned(ctx, project, request.path_params["device_id"])
        product = commands.product_of(ctx, device)
        logs, _ = await history.page(ctx, project, device.id, (), None, None, LOG_SIZE)
        codes = [s.code for s in product.status] + [s.code for s in product.raw_dps]
        status = [(code, product.spec(code), display(device.status[code]) if code in device.status else "—",
                   device.status_t.get(code)) for code in codes]
        return deps.render(
            request, "device.html", status_code, project=project, nav="devices", tab="devices", device=device,
            product=product, category=ctx.catalog.category(device.category), status=status,
            controls=controls(product.functions, device.status), logs=logs, events=EVENTS, sources=SOURCES,
            error=error)

    async def command(request: Request) -> Response:
        ctx = deps.ctx()
        project = await project_of(deps, request)
        device_id = request.path_params["device_id"]
        device = await devices.get_owned(ctx, project, device_id)
        code = field(request, "code")
        spec = commands.product_of(ctx, device).function(code)
        value = submitted_value(spec, {k: field(request, k) for k in ("value", "h", "s", "v")
                                       if k in form_of(request)})
        try:
            await commands.send_commands(ctx, project, device.id, SendCommands(commands=[Command(code, value)]))
        except TuyaError as error:
            if _wants_json(request):
                return Response(orjson.dumps({"success": False, "msg": error_text(error)}), 400,
                                media_type="application/json")
            return await device_page(request, error_text(error), 400)
        if _wants_json(request):
            return await status_json(request)
        return deps.redirect(_device_url(project, device), f"Sent {code} = {display(value)}")

    async def set_online(request: Request) -> Response:
        ctx = deps.ctx()
        project = await project_of(deps, request)
        device = await devices.get_owned(ctx, project, request.path_params["device_id"])
        if not device.virtual:
            return await device_page(request, "Only virtual devices can be switched online or offline here.", 400)
        online = field(request, "online") == "true"
        await devices.set_online(ctx, device, online)
        return deps.redirect(_device_url(project, device), f"{device.name} is now {'online' if online else 'offline'}")

    async def status_json(request: Request) -> Response:
        """The device's live state for the page's polling script (no full reload needed)."""
        ctx = deps.ctx()
        project = await project_of(deps, request)
        device = await devices.get_owned(ctx, project, request.path_params["device_id"])
        body = {"id": device.id, "online": device.online, "status": device.status, "status_t": device.status_t,
                "update_time": device.updated_ms}
        return Response(orjson.dumps(body), media_type="application/json")

    return [
        Route("/projects/{access_id}/devices", listing, methods=["GET"]),
        Route("/projects/{access_id}/devices/new", add, methods=["POST"]),
        Route("/projects/{access_id}/devices/{device_id}", device_page, methods=["GET"]),
        Route("/projects/{access_id}/devices/{device_id}/command", command, methods=["POST"]),
        Route("/projects/{access_id}/devices/{device_id}/online", set_online, methods=["POST"]),
        Route("/projects/{access_id}/devices/{device_id}/status.json", status_json, methods=["GET"]),
    ]


def _device_url(project: Project, device: Device) -> str:
    return f"/console/projects/{project.access_id}/devices/{device.id}"


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")
