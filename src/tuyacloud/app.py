"""``create_app(settings)``: builds one cloud (store, clock, ids, catalog, OpenAPI, control API) with no import-time
side effects, so tests can run several in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from tuyacloud.catalog.loader import load_catalog
from tuyacloud.clock import Clock
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.console.routes import build_console_routes
from tuyacloud.control.routes import build_routes
from tuyacloud.domain import bootstrap, console_accounts, tokens
from tuyacloud.domain.automation_engine import RuleEngine
from tuyacloud.domain.context import Context, Policy
from tuyacloud.domain.timer_runner import TimerRunner
from tuyacloud.domain.usage import UsageCounter
from tuyacloud.gateway.asgi import Gateway
from tuyacloud.gateway.routes import build_table
from tuyacloud.ids import IdSource
from tuyacloud.messaging import mqtt, websocket
from tuyacloud.messaging.hub import Hub
from tuyacloud.messaging.status import apply_retention
from tuyacloud.regions import RegionResolver
from tuyacloud.settings import Settings
from tuyacloud.store.engine import open_store

log = logging.getLogger("tuyacloud")


@dataclass
class CloudState:
    """What exists only while the app runs; filled in by the lifespan."""

    ctx: Context | None = None
    hub: Hub | None = None
    mqtt: Any = None  # the MQTT open-hub's broker (messaging/mqtt), when it runs
    admin_token: str = ""
    demo: bootstrap.DemoInfo | None = None
    # The first console administrator's password, set only on the start that created it (printed once, then cleared).
    first_admin_password: str | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


class _LateGateway:
    """Forwards to the gateway once start-up has built it."""

    def __init__(self) -> None:
        self.gateway: Gateway | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert self.gateway is not None, "app not started"
        await self.gateway(scope, receive, send)


def create_app(settings: Settings, clock: Clock | None = None, ids: IdSource | None = None,
               admin_token: str | None = None,
               on_ready: Callable[[CloudState], None] | None = None) -> CloudApp:
    clock = clock or Clock()
    ids = ids or IdSource()
    table = build_table()
    regions = RegionResolver(settings.default_region, settings.region_aliases)
    usage_counter = UsageCounter()
    state = CloudState()
    late = _LateGateway()

    def ctx_of() -> Context:
        assert state.ctx is not None, "app not started"
        return state.ctx

    def hub_of() -> Hub:
        assert state.hub is not None, "app not started"
        return state.hub

    async def openapi(request: Request) -> Response:
        return Response(orjson.dumps(table.openapi()), media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = await open_store(settings.effective_database_url)
        policy = Policy(settings.token_ttl_s, settings.token_grace_s, settings.timestamp_window_s,
                        settings.asset_max_depth, settings.asset_max_children, settings.password_scrypt_n)
        ctx = Context(store=store, clock=clock, ids=ids, catalog=load_catalog(), policy=policy)
        state.ctx = ctx
        state.admin_token = await bootstrap.admin_token(ctx, admin_token)
        if settings.create_demo:
            state.demo = await bootstrap.ensure_demo(ctx)
        state.first_admin_password = await console_accounts.ensure_first_admin(
            ctx, console_policy, settings.console_admin_password)
        late.gateway = Gateway(ctx, table, regions, usage_counter, settings.public_url)
        state.hub = Hub(ctx)
        state.mqtt = await mqtt.start(ctx, settings)
        state.tasks.append(asyncio.create_task(_housekeeping(ctx, usage_counter, settings)))
        # scenes' background runs, automations on status changes and on time (domain/automation_engine.py)
        state.tasks.append(asyncio.create_task(RuleEngine(ctx).run(), name="automation-engine"))
        if settings.simulator:
            from tuyacloud.simulator.runner import SimulatorRunner

            runner = SimulatorRunner(ctx)
            state.tasks.append(asyncio.create_task(runner.run()))
        # device timers run on the cloud's clock (domain/timer_runner.py)
        state.tasks.append(asyncio.create_task(TimerRunner(ctx).run(), name="timer-scheduler"))
        if on_ready is not None:
            on_ready(state)
        try:
            yield
        finally:
            for task in state.tasks:
                task.cancel()
            for task in state.tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            state.tasks.clear()
            if state.mqtt is not None:
                await state.mqtt.stop()
            with contextlib.suppress(Exception):
                await usage_counter.flush(ctx)
            await store.close()

    console_policy = console_accounts.ConsolePolicy(
        session_ttl_s=settings.console_session_ttl_s, lockout_failures=settings.console_lockout_failures,
        lockout_s=settings.console_lockout_s, scrypt_n=settings.password_scrypt_n)
    cloud_app: list[CloudApp] = []
    console = ConsoleDeps(ctx_of, settings, console_policy, table=table, usage=usage_counter,
                          app_of=lambda: cloud_app[0])
    routes = [
        *build_routes(ctx_of, lambda: state.admin_token),
        *build_console_routes(console),
        Route("/openapi.json", openapi, methods=["GET"]),
        WebSocketRoute(websocket.PATH, websocket.make_endpoint(hub_of, regions)),
    ]
    site = Starlette(routes=routes, lifespan=lifespan)
    site.state.cloud = state
    site.state.table = table
    site.state.settings = settings
    cloud_app.append(CloudApp(site, late))
    return cloud_app[0]


class CloudApp:
    """Sends OpenAPI traffic straight to the gateway and everything else (control API, documents, lifespan)
    through Starlette: the router's per-request matching would otherwise be paid by every signed call."""

    SITE_PREFIXES = ("/_tuyacloud", "/openapi.json", "/console", "/static", "/ws")

    def __init__(self, site: Starlette, late: _LateGateway) -> None:
        self.site = site
        self._late = late
        self.state = site.state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(self.SITE_PREFIXES):
            await self._late(scope, receive, send)
        else:
            await self.site(scope, receive, send)


TOKEN_SWEEP_S = 600.0
TOKEN_KEEP_MS = 86_400_000


async def _housekeeping(ctx: Context, counter: UsageCounter, settings: Settings) -> None:
    """Flush usage counters every ``usage_flush_s``; every ten minutes drop tokens expired for more than a day
    and messages past their retention."""
    loop = asyncio.get_running_loop()
    next_sweep = loop.time() + TOKEN_SWEEP_S
    while True:
        await asyncio.sleep(settings.usage_flush_s)
        try:
            await counter.flush(ctx)
            if loop.time() >= next_sweep:
                next_sweep = loop.time() + TOKEN_SWEEP_S
                await tokens.sweep(ctx, ctx.clock.now_ms() - TOKEN_KEEP_MS)
                await apply_retention(ctx, settings.message_retention_s)
        except Exception:  # statistics and sweeping must never take the server down
            log.exception("housekeeping failed")
