"""Devices of a project: the list (search, category, online state, gateway link, frozen, paging), "add virtual
device", and a device's page with its details, live status, controls generated from its instruction set, recent
logs, the online toggle, the freeze toggle, a gateway's sub-devices or a sub-device's gateway, and an IR blaster's
remotes with a key pad each (and forms to add sub-devices and remotes). Every change goes through the domain function
the OpenAPI or the CLI uses (``commands.send_commands``, ``lifecycle.set_freeze_state``, ``infrared.press_key``,
``infrared.add_remote``, ``gateways.add_sub_devices``), so its validation, errors, logs and messages are theirs."""

from __future__ import annotations

import math
import urllib.parse
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tuyacloud import bodies
from tuyacloud.console.auth import form_of
from tuyacloud.console.common import error_text, field, project_of
from tuyacloud.console.controls import controls, display, submitted_value
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.domain import console_views
from tuyacloud.domain.devices import commands, devices, history, infrared
from tuyacloud.domain.devices.requests import AddRemote, Command, PressKey, SendCommands
from tuyacloud.domain.pairing import gateways, lifecycle
from tuyacloud.domain.pairing.requests import FreezeState
from tuyacloud.domain.smarthome import homes
from tuyacloud.errors import TuyaError
from tuyacloud.limits import parse_int
from tuyacloud.models import Device, Project
from tuyacloud.views import device_live_view

PAGE_SIZE = 20
LOG_SIZE = 30
EVENTS = {1: "Online", 2: "Offline", 3: "Activated", 4: "Reset", 5: "Command", 6: "Firmware", 7: "Report",
          8: "Semaphore", 9: "Restart", 10: "Timer"}
SOURCES = {"1": "device", "2": "client", "3": "third party", "4": "cloud", "-1": "unknown"}
LINKS = ("gateway", "sub", "direct")  # the list's "Gateway link" filter: gateways, their sub-devices, the others


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
        link = query.get("link", "") if query.get("link", "") in LINKS else ""
        frozen = query.get("frozen", "") if query.get("frozen", "") in ("yes", "no") else ""
        total = await devices.count(ctx, project)
        filters: dict[str, Any] = {}
        if q:
            filters["name"] = q
        if category:
            filters["category"] = category
        if state in ("online", "offline"):
            filters["online"] = state == "online"
        if link == "gateway":
            filters["categories"] = sorted(console_views.GATEWAY_CATEGORIES)
        elif link:
            filters["sub_device"] = link == "sub"
        if frozen:
            filters["frozen"] = frozen == "yes"
        # Unfiltered, the project's count gives the number of pages; a filtered list knows its last page only
        # once it reaches it (the store counts a project's devices, not the matches of a search).
        pages: int | None = None if filters else max(1, math.ceil(total / PAGE_SIZE))
        page_no = _int(query.get("page"), 1, 1, pages or 100_000)
        found, more = await devices.page(ctx, project, "", PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE, **filters)
        if pages is None and not more and (found or page_no == 1):
            pages = page_no

        def page_url(n: int) -> str:
            chosen = {"q": q, "category": category, "online": state, "link": link, "frozen": frozen}
            params = {k: v for k, v in chosen.items() if v}
            return "?" + urllib.parse.urlencode({**params, "page": n})

        return deps.render(
            request, "devices.html", status_code, project=project, nav="devices", tab="devices", devices=found,
            total=total, page_no=page_no, pages=pages, more=more, first_url=page_url(1), prev_url=page_url(page_no - 1),
            next_url=page_url(page_no + 1), last_url=page_url(pages or page_no),
            q=q, category=category, online=state, link=link, frozen=frozen, filtered=bool(filters),
            gateway_categories=console_views.GATEWAY_CATEGORIES, categories=ctx.catalog.categories(), error=error,
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
            links=await console_views.device_links(ctx, project, device), categories=ctx.catalog.categories(),
            ir_categories=infrared.supported_categories(), error=error)

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

    async def set_frozen(request: Request) -> Response:
        """Freeze or unfreeze, as ``PUT /v1.0/iot-03/devices/{id}/freeze-state`` does (the same domain call)."""
        ctx = deps.ctx()
        project = await project_of(deps, request)
        device = await devices.get_owned(ctx, project, request.path_params["device_id"])
        try:
            state = bodies.convert(FreezeState, {"state": field(request, "state")})
            await lifecycle.set_freeze_state(ctx, project, device.id, state)
        except TuyaError as error:
            return await device_page(request, error_text(error), 400)
        frozen = field(request, "state") == str(lifecycle.FROZEN)
        return deps.redirect(_device_url(project, device),
                             f"{device.name} is frozen: it refuses commands until unfrozen" if frozen
                             else f"{device.name} is unfrozen: it takes commands again")

    async def press_key(request: Request) -> Response:
        """Press a key of one of an IR blaster's remotes, as ``POST /v1.0/infrareds/{id}/remotes/{remote_id}/
        command`` does (the same domain call: the blaster's ``ir_send`` command, report and message)."""
        ctx = deps.ctx()
        project = await project_of(deps, request)
        device = await devices.get_owned(ctx, project, request.path_params["device_id"])
        remote_id, key = request.path_params["remote_id"], field(request, "key")
        try:
            _, remote = await infrared.remote(ctx, project, device.id, remote_id)
            await infrared.press_key(ctx, project, device.id, remote_id, bodies.convert(PressKey, {"key": key}))
        except TuyaError as error:
            return await device_page(request, error_text(error), 400)
        return deps.redirect(f"{_device_url(project, device)}#remote-{remote.id}",
                             f"Pressed {key} on {remote.remote_name}")

    async def add_sub_devices(request: Request) -> Response:
        """Virtual sub-devices of a gateway, as ``tuyacloud device add-virtual --gateway`` makes them."""
        ctx = deps.ctx()
        project = await project_of(deps, request)
        device = await devices.get_owned(ctx, project, request.path_params["device_id"])
        count = _int(field(request, "count"), 1, 1, 100)
        try:
            created = await gateways.add_sub_devices(ctx, project, device.id, category=field(request, "category"),
                                                     count=count, name=field(request, "name").strip() or None)
        except TuyaError as error:
            return await device_page(request, error_text(error), 400)
        return deps.redirect(f"{_device_url(project, device)}#sub-devices",
                             f"Added {len(created)} sub-device{'s' if len(created) > 1 else ''} to {device.name}")

    async def add_remote(request: Request) -> Response:
        """Bind a remote to an IR blaster, as ``POST /v2.0/infrareds/{id}/remotes`` does."""
        ctx = deps.ctx()
        project = await project_of(deps, request)
        device = await devices.get_owned(ctx, project, request.path_params["device_id"])
        body = {k: field(request, k) for k in ("category_id", "remote_name", "brand_name") if field(request, k)}
        try:
            remote = await infrared.add_remote(ctx, project, device.id, bodies.convert(AddRemote, body))
        except TuyaError as error:
            return await device_page(request, error_text(error), 400)
        return deps.redirect(f"{_device_url(project, device)}#remote-{remote.id}",
                             f"Bound remote {remote.remote_name} to {device.name}")

    async def status_json(request: Request) -> Response:
        """The device's live state for the page's polling script (no full reload needed)."""
        ctx = deps.ctx()
        project = await project_of(deps, request)
        device = await devices.get_owned(ctx, project, request.path_params["device_id"])
        return Response(orjson.dumps(device_live_view(device)), media_type="application/json")

    return [
        Route("/projects/{access_id}/devices", listing, methods=["GET"]),
        Route("/projects/{access_id}/devices/new", add, methods=["POST"]),
        Route("/projects/{access_id}/devices/{device_id}", device_page, methods=["GET"]),
        Route("/projects/{access_id}/devices/{device_id}/command", command, methods=["POST"]),
        Route("/projects/{access_id}/devices/{device_id}/online", set_online, methods=["POST"]),
        Route("/projects/{access_id}/devices/{device_id}/freeze", set_frozen, methods=["POST"]),
        Route("/projects/{access_id}/devices/{device_id}/sub-devices", add_sub_devices, methods=["POST"]),
        Route("/projects/{access_id}/devices/{device_id}/remotes", add_remote, methods=["POST"]),
        Route("/projects/{access_id}/devices/{device_id}/remotes/{remote_id}/press", press_key, methods=["POST"]),
        Route("/projects/{access_id}/devices/{device_id}/status.json", status_json, methods=["GET"]),
    ]


def _device_url(project: Project, device: Device) -> str:
    return f"/console/projects/{project.access_id}/devices/{device.id}"


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")
