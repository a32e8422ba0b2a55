"""The control API for test automation, under ``/_tuyacloud/``, outside the Tuya paths.

Protected by the admin token (``Authorization: Bearer <token>``) printed at start. Answers use the same
envelope as the OpenAPI so one error table serves both. See docs/control-api.md.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tuyacloud import envelope, limits
from tuyacloud import health as readiness
from tuyacloud.control import infrared as infrared_control
from tuyacloud.control import quotas as quota_routes
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import commands, devices
from tuyacloud.domain.industry import assets
from tuyacloud.domain.pairing import gateways, pairing, registration
from tuyacloud.domain.projects import projects, usage
from tuyacloud.domain.rules import timers
from tuyacloud.domain.smarthome import apps, homes, sharing
from tuyacloud.errors import ParamIllegal, PermissionDeny, SystemError_, TuyaError
from tuyacloud.messaging.mqtt.status import link_status
from tuyacloud.messaging.status import subscription_status
from tuyacloud.models import Device
from tuyacloud.views import (
    app_view,
    device_v1,
    message_admin_view,
    moved_asset_view,
    paired_device_view,
    project_view,
    qr_login_view,
    registered_device_view,
    sub_device_view,
    timer_admin_view,
    user_code_view,
)

Handler = Callable[[Request, Context], Awaitable[Any]]
log = logging.getLogger("tuyacloud.control")


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        return {}
    data = limits.loads(body)  # the same size, count and depth limits as the OpenAPI
    if not isinstance(data, dict):
        raise ParamIllegal("body must be a JSON object")
    return data


async def _device(request: Request, ctx: Context) -> Device:
    return await devices.find_anywhere(ctx, request.path_params["device_id"])


async def health(request: Request, ctx: Context) -> dict[str, Any]:
    """Readiness and background work (tuyacloud/health.py); HTTP 503 when a check fails, so probes need only
    the status code; ``degraded`` (HTTP 200) while a background task is failing or the store refuses writes."""
    answer = await readiness.report(ctx)
    if not answer["ready"]:
        request.state.http_status = 503
    return answer


async def inject_report(request: Request, ctx: Context) -> dict[str, Any]:
    body = await _json(request)
    status = body.get("status")
    if not isinstance(status, dict) or not status:
        raise ParamIllegal('give {"status": {"<code>": <value>, ...}}')
    device = await _device(request, ctx)
    return {"changed": await commands.report(ctx, device, status)}


async def set_online(request: Request, ctx: Context) -> dict[str, Any]:
    body = await _json(request)
    if not isinstance(body.get("online"), bool):
        raise ParamIllegal('give {"online": true|false}')
    device = await devices.set_online(ctx, await _device(request, ctx), body["online"])
    return {"id": device.id, "online": device.online}


async def clock(request: Request, ctx: Context) -> dict[str, Any]:
    if request.method == "POST":
        body = await _json(request)
        if "step_ms" in body:
            if not isinstance(body["step_ms"], int):
                raise ParamIllegal("step_ms must be an integer")
            ctx.clock.step(body["step_ms"])
        if body.get("freeze") is True:
            at = body.get("at_ms")
            ctx.clock.freeze(at if isinstance(at, int) else None)
        elif body.get("freeze") is False:
            ctx.clock.unfreeze()
    return ctx.clock.state()


async def list_projects(request: Request, ctx: Context) -> list[dict[str, Any]]:
    return [project_view(p) for p in await ctx.store.list_projects()]


async def create_project(request: Request, ctx: Context) -> dict[str, Any]:
    body = await _json(request)
    project = await projects.create(
        ctx, name=str(body.get("name", "")), region=str(body.get("region", "us")),
        method=str(body.get("method", "custom")), description=str(body.get("description", "")),
        industry=str(body.get("industry", "")),
        service_codes=body["services"] if isinstance(body.get("services"), list) else None,
    )
    if isinstance(body.get("legacy_signing"), bool):
        project = await projects.set_legacy_signing(ctx, project.access_id, body["legacy_signing"])
    if body.get("message_encryption") is not None:
        project = await projects.set_message_encryption(ctx, project.access_id, str(body["message_encryption"]))
    return project_view(project)


async def add_devices(request: Request, ctx: Context) -> list[dict[str, Any]]:
    body = await _json(request)
    project = await projects.get(ctx, request.path_params["access_id"])
    count = body.get("count", 1)
    if not isinstance(count, int):
        raise ParamIllegal("count must be an integer")
    if body.get("gateway_id"):  # sub-devices of a gateway, at its asset or home
        subs = await gateways.add_sub_devices(
            ctx, project, _str(body, "gateway_id"), category=_str(body, "category") or None,
            product_id=_str(body, "product_id") or None, count=count,
            name=body.get("name") if isinstance(body.get("name"), str) else None)
        return [device_v1(d, ctx.catalog.product(d.product_id)) for d in subs]
    if body.get("user") or body.get("home_id"):  # an app user's device in one of their homes
        device = await homes.add_device(
            ctx, project, uid=_str(body, "user"), home_id=_str(body, "home_id"), room_id=_str(body, "room_id"),
            category=_str(body, "category") or None, product_id=_str(body, "product_id") or None,
            name=_str(body, "name") or None)
        return [{**device_v1(device, ctx.catalog.product(device.product_id)), "home_id": device.asset_id}]
    created = await devices.create_virtual(
        ctx, project, category=body.get("category"), product_id=body.get("product_id"), count=count,
        name=body.get("name") if isinstance(body.get("name"), str) else None,
        asset_id=body["asset_id"] if isinstance(body.get("asset_id"), str) else "",
    )
    return [device_v1(d, ctx.catalog.product(d.product_id)) for d in created]


async def join_gateway(request: Request, ctx: Context) -> dict[str, Any]:
    """A virtual Zigbee device joins a gateway that is searching for sub-devices (2007 when it is not)."""
    body = await _json(request)
    sub = await gateways.join(ctx, request.path_params["device_id"], category=_str(body, "category") or None,
                              product_id=_str(body, "product_id") or None,
                              name=body["name"] if isinstance(body.get("name"), str) else None)
    return sub_device_view(sub, ctx.catalog.product(sub.product_id))


async def project_usage(request: Request, ctx: Context) -> list[dict[str, Any]]:
    project = await projects.get(ctx, request.path_params["access_id"])
    first = request.query_params.get("from", "00000000")
    last = request.query_params.get("to", "99999999")
    return [vars(r) for r in await usage.report(ctx, project.access_id, first, last)]


async def subscriptions(request: Request, ctx: Context) -> list[dict[str, Any]]:
    project = await projects.get(ctx, request.path_params["access_id"])
    return await subscription_status(ctx, project.access_id)


MESSAGES_MAX_LIMIT = 1000


async def project_messages(request: Request, ctx: Context) -> list[dict[str, Any]]:
    """A project's messages in topic order, as plaintext (what a consumer gets after decrypting ``data``), from the
    outbox the message service reads: so a test can see what was sent without running a Pulsar consumer.
    ``after`` is the last sequence number already seen (0: from the oldest kept)."""
    project = await projects.get(ctx, request.path_params["access_id"])
    after, limit = _int_query(request, "after", 0), _int_query(request, "limit", 100)
    if after < 0 or not 1 <= limit <= MESSAGES_MAX_LIMIT:
        raise ParamIllegal(f"after must be >= 0 and limit between 1 and {MESSAGES_MAX_LIMIT}")
    return [message_admin_view(m) for m in await ctx.store.messages_after(project.access_id, after, limit)]


def _int_query(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ParamIllegal(f"{name} must be an integer") from exc


async def mqtt_links(request: Request, ctx: Context) -> list[dict[str, Any]]:
    project = await projects.get(ctx, request.path_params["access_id"])
    return await link_status(ctx, project.access_id)


async def pair_device(request: Request, ctx: Context) -> dict[str, Any]:
    body = await _json(request)
    found, device = await registration.pair(
        ctx, request.path_params["token"],
        category=body["category"] if isinstance(body.get("category"), str) else None,
        product_id=body["product_id"] if isinstance(body.get("product_id"), str) else None,
        name=body["name"] if isinstance(body.get("name"), str) else None,
    )
    return registered_device_view(device, ctx.catalog.product(device.product_id), found)


def _str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ParamIllegal(f"{key} must be a string")
    return str(value)


async def list_apps(request: Request, ctx: Context) -> list[dict[str, Any]]:
    return [app_view(a, links) for a, links in await apps.listing(ctx)]


async def create_app(request: Request, ctx: Context) -> dict[str, Any]:
    body = await _json(request)
    app = await apps.create(ctx, schema=body.get("schema"), name=body.get("name"),
                            region=_str(body, "region") or "us")
    return app_view(app, [])


async def link_app(request: Request, ctx: Context) -> dict[str, Any]:
    body = await _json(request)
    schema = request.path_params["schema"]
    links = await apps.link(ctx, schema, _str(body, "access_id"))
    return app_view(await apps.get(ctx, schema), links)


async def unlink_app(request: Request, ctx: Context) -> dict[str, Any]:
    schema = request.path_params["schema"]
    links = await apps.unlink(ctx, schema, request.path_params["access_id"])
    return app_view(await apps.get(ctx, schema), links)


async def pair_home_device(request: Request, ctx: Context) -> dict[str, Any]:
    body = await _json(request)
    found, device = await pairing.pair(
        ctx, request.path_params["token"], category=_str(body, "category") or None,
        product_id=_str(body, "product_id") or None, name=_str(body, "name") or None,
        home_id=_str(body, "home_id"), room_id=_str(body, "room_id"))
    return paired_device_view(device, ctx.catalog.product(device.product_id), found)


async def move_asset(request: Request, ctx: Context) -> dict[str, Any]:
    body = await _json(request)
    parent = body.get("parent_asset_id")
    if not isinstance(parent, str) or not parent:
        raise ParamIllegal('give {"parent_asset_id": "<asset id>" | "-1"}')
    project = await projects.get(ctx, request.path_params["access_id"])
    moved = await assets.move(ctx, project, request.path_params["asset_id"], parent)
    return moved_asset_view(moved)


async def user_code(request: Request, ctx: Context) -> dict[str, Any]:
    """The app user's user code, what Home Assistant's Tuya integration asks for."""
    uid = request.path_params["uid"]
    return user_code_view(uid, await sharing.user_code(ctx, uid))


async def sharing_logins(request: Request, ctx: Context) -> list[dict[str, Any]]:
    """QR logins waiting for approval (not expired), newest first."""
    return [qr_login_view(q, u) for q, u in await sharing.pending(ctx)]


async def decide_login(request: Request, ctx: Context) -> dict[str, Any]:
    """Approve or refuse a pending QR login: the app's part of Home Assistant's login."""
    decision = request.path_params["decision"]
    if decision not in ("approve", "refuse"):
        raise ParamIllegal("POST .../logins/{qrcode}/approve or .../refuse")
    login = await sharing.decide(ctx, request.path_params["qrcode"], decision == "approve")
    return qr_login_view(login, await ctx.store.get_app_user(login.uid))


async def rule_runs(request: Request, ctx: Context) -> list[dict[str, Any]]:
    """The automation engine's recent decisions, newest last: scene and automation runs with each action's outcome,
    and firings held back (disabled, outside preconditions, the loop rule)."""
    if ctx.rules is None:
        return []
    return [{**entry, "outcomes": list(entry.get("outcomes", []))} for entry in ctx.rules.history]


async def device_timers(request: Request, ctx: Context) -> list[dict[str, Any]]:
    """A device's timers (both API families) with the scheduler's view: next run, last run and its result
    (``ok``, ``failed: ...`` such as an offline device, ``skipped: missed by N min``)."""
    device = await _device(request, ctx)
    return [timer_admin_view(t) for t in await timers.of_device(ctx, device)]


ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", "/_tuyacloud/apps", list_apps, True),
    ("POST", "/_tuyacloud/apps", create_app, True),
    ("POST", "/_tuyacloud/apps/{schema}/links", link_app, True),
    ("DELETE", "/_tuyacloud/apps/{schema}/links/{access_id}", unlink_app, True),
    ("POST", "/_tuyacloud/paring/{token}/pair", pair_home_device, True),
    ("GET", "/_tuyacloud/app-users/{uid}/user-code", user_code, True),
    ("GET", "/_tuyacloud/sharing/logins", sharing_logins, True),
    ("POST", "/_tuyacloud/sharing/logins/{qrcode}/{decision:str}", decide_login, True),
    ("GET", "/_tuyacloud/health", health, False),
    ("GET", "/_tuyacloud/rules/runs", rule_runs, True),
    ("POST", "/_tuyacloud/devices/{device_id}/report", inject_report, True),
    ("POST", "/_tuyacloud/devices/{device_id}/online", set_online, True),
    ("GET", "/_tuyacloud/devices/{device_id}/timers", device_timers, True),
    ("POST", "/_tuyacloud/devices/{device_id}/join", join_gateway, True),
    ("GET", "/_tuyacloud/clock", clock, True),
    ("POST", "/_tuyacloud/clock", clock, True),
    ("GET", "/_tuyacloud/projects", list_projects, True),
    ("POST", "/_tuyacloud/projects", create_project, True),
    ("POST", "/_tuyacloud/projects/{access_id}/devices", add_devices, True),
    ("GET", "/_tuyacloud/projects/{access_id}/usage", project_usage, True),
    ("GET", "/_tuyacloud/projects/{access_id}/subscriptions", subscriptions, True),
    ("GET", "/_tuyacloud/projects/{access_id}/messages", project_messages, True),
    ("GET", "/_tuyacloud/projects/{access_id}/mqtt-links", mqtt_links, True),
    ("POST", "/_tuyacloud/projects/{access_id}/assets/{asset_id}/move", move_asset, True),
    ("POST", "/_tuyacloud/registration/{token}/pair", pair_device, True),
    *quota_routes.ROUTES,
    *infrared_control.ROUTES,
]


def build_routes(ctx_of: Callable[[], Context], token_of: Callable[[], str]) -> list[Route]:
    """Starlette routes; ``ctx_of``/``token_of`` are read per request because they exist only after start-up."""

    def wrap(handler: Handler, protected: bool) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            ctx = ctx_of()
            t, tid = ctx.clock.now_ms(), ctx.ids.hex(32)
            try:
                if protected:
                    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
                    if not hmac.compare_digest(given.encode(), token_of().encode()):
                        raise PermissionDeny("the control API needs the admin token (Authorization: Bearer ...)")
                limits.refuse_nul(request.scope["path"], *(v for kv in request.query_params.multi_items() for v in kv))
                body = envelope.success(await handler(request, ctx), t, tid)
            except TuyaError as error:
                body = envelope.failure(error, t, tid)
            except Exception:
                log.exception("control API error on %s (tid %s)", request.url.path, tid)
                body = envelope.failure(SystemError_(), t, tid)
            return Response(body, status_code=getattr(request.state, "http_status", 200), media_type="application/json")

        return endpoint

    return [Route(path, wrap(h, p), methods=[m]) for m, path, h, p in ROUTES]


__all__ = ["build_routes"]
