"""``create_app(settings)``: builds one cloud (store, clock, ids, catalog, OpenAPI, control API) with no import-time
side effects, so tests can run several in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from tuyacloud.catalog.loader import load_catalog
from tuyacloud.clock import Clock
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.console.routes import build_console_routes
from tuyacloud.control.routes import build_routes
from tuyacloud.domain import bootstrap
from tuyacloud.domain.access import console_accounts, openhub, tokens
from tuyacloud.domain.context import Context, Policy
from tuyacloud.domain.devices import camera
from tuyacloud.domain.projects.quotas import QuotaBook
from tuyacloud.domain.projects.usage import UsageCounter
from tuyacloud.domain.rules.engine import RuleEngine
from tuyacloud.domain.rules.timer_runner import TimerRunner
from tuyacloud.domain.task_lease import RENEW_S, TaskLease
from tuyacloud.errors import StoreLost, StoreUnavailable, TuyaError, code_and_message, human_text
from tuyacloud.gateway.asgi import Gateway
from tuyacloud.gateway.routes import build_table
from tuyacloud.gateway.sharing import PREFIXES as SHARING_PREFIXES
from tuyacloud.gateway.sharing import SharingGateway
from tuyacloud.ids import IdSource
from tuyacloud.logs import AccessLog
from tuyacloud.media.routes import PREFIX as MEDIA_PREFIX
from tuyacloud.media.routes import build_media_routes
from tuyacloud.messaging import mqtt, websocket
from tuyacloud.messaging.hub import Hub
from tuyacloud.messaging.status import apply_retention
from tuyacloud.metrics import Metrics, metrics_endpoint
from tuyacloud.observe import RequestObserver
from tuyacloud.regions import RegionResolver
from tuyacloud.settings import Settings
from tuyacloud.store.engine import open_store, startup_lock
from tuyacloud.supervision import Episode, TaskBoard, TaskStatus, supervise

log = logging.getLogger("tuyacloud")


@dataclass
class CloudState:
    """What exists only while the app runs; filled in by the lifespan."""

    ctx: Context | None = None
    hub: Hub | None = None
    mqtt: Any = None  # the MQTT open-hub's broker (messaging/mqtt), when it runs
    # The HTTP edge's connection guard (connections.py), set by whoever builds the server's protocol before it
    # starts: the embedded MQTT broker counts its connections in the same limits.
    guard: Any = None
    admin_token: str = ""
    demo: bootstrap.DemoInfo | None = None
    # The first console administrator's password, set only on the start that created it (printed once, then cleared).
    first_admin_password: str | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    # Units of work still queued for the store when shutdown began (committed before it closed).
    drained_commits: int = 0


class _LateGateway:
    """Forwards to the gateway once start-up has built it."""

    def __init__(self) -> None:
        self.gateway: Gateway | None = None
        self.sharing: SharingGateway | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert self.gateway is not None, "app not started"
        await self.gateway(scope, receive, send)

    async def sharing_call(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert self.sharing is not None, "app not started"
        await self.sharing(scope, receive, send)


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
    metrics = Metrics()  # per app: tests run many apps in one process
    observer = RequestObserver(metrics, AccessLog() if settings.access_log else None)

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
        database_url = settings.effective_database_url
        # Migrations and first-start records under one lock: N processes may start together on a new database.
        async with startup_lock(database_url):
            store = await open_store(database_url, locked=True)
            store.commit_observer = metrics.on_commit
            policy = Policy(settings.token_ttl_s, settings.token_grace_s, settings.timestamp_window_s,
                            settings.asset_max_depth, settings.asset_max_children, settings.password_scrypt_n)
            board = TaskBoard()
            board.process = {"worker": settings.worker, "workers": settings.workers}
            load_catalog()  # read now: a broken data file fails the start, not a request (the context reuses it)
            ctx = Context(store=store, clock=clock, ids=ids, policy=policy, tasks=board)
            ctx.quotas = QuotaBook(settings.quotas, settings.quota_calls)
            await ctx.quotas.reload(ctx, everything=True)  # plans and counts before the first request
            state.ctx = ctx
            state.admin_token = await bootstrap.admin_token(ctx, admin_token)
            if settings.create_demo:
                state.demo = await bootstrap.ensure_demo(ctx)
            state.first_admin_password = await console_accounts.ensure_first_admin(
                ctx, console_policy, settings.console_admin_password)
        late.gateway = Gateway(ctx, table, regions, usage_counter, settings.public_url, observer)
        late.sharing = SharingGateway(ctx, settings.public_url)
        listen_status = getattr(store, "listen_status", None)
        if listen_status is not None:
            board.tasks["pg-listen"] = listen_status
        state.hub = Hub(ctx, board.status("message-delivery"))
        # One process's sweeps for all sharing the database: the housekeeping loop renews this lease, and the
        # external broker's removal of dead credentials' clients runs only while it is held here too.
        sweeps = TaskLease(ctx, HOUSEKEEPING_LEASE)
        state.mqtt = await mqtt.start(ctx, settings, sweeps, state.guard)  # the embedded broker: in worker 0 only

        def start(name: str, run: Callable[[], Any]) -> None:
            """A background task that is restarted (and shown degraded by health) if it ever ends."""
            state.tasks.append(asyncio.create_task(supervise(board, name, run, log), name=name))

        housekeeping_status = board.status("housekeeping")
        start("housekeeping", lambda: _housekeeping(ctx, usage_counter, settings, sweeps, housekeeping_status))
        # scenes' background runs, automations on status changes and on time (domain/rules/engine.py)
        start("automation-engine", RuleEngine(ctx, board.status("automation-engine")).run)
        if settings.simulator:
            from tuyacloud.simulator.runner import SimulatorRunner

            start("simulator", SimulatorRunner(ctx, board.status("simulator")).run)
        # device timers run on the cloud's clock (domain/rules/timer_runner.py)
        start("timer-scheduler", TimerRunner(ctx, status=board.status("timer-scheduler")).run)
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
            if console.explorer is not None:
                await console.explorer.aclose()
            with contextlib.suppress(Exception):
                await usage_counter.flush(ctx)
            state.drained_commits = store.queued_units()
            await store.close()  # commits everything still queued before it returns

    console_policy = console_accounts.ConsolePolicy(
        session_ttl_s=settings.console_session_ttl_s, lockout_failures=settings.console_lockout_failures,
        lockout_s=settings.console_lockout_s, scrypt_n=settings.password_scrypt_n)
    cloud_app: list[CloudApp] = []
    console = ConsoleDeps(ctx_of, settings, console_policy, table=table, usage=usage_counter,
                          app_of=lambda: cloud_app[0])
    routes = [
        *build_routes(ctx_of, lambda: state.admin_token),
        *build_console_routes(console),
        *build_media_routes(ctx_of),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/metrics", metrics_endpoint(metrics, ctx_of, lambda: state.hub, lambda: state.admin_token),
              methods=["GET"]),
        WebSocketRoute(websocket.PATH, websocket.make_endpoint(hub_of, regions)),
    ]

    async def store_trouble(conn: Any, exc: Exception) -> Response | None:
        """A console page or a WebSocket upgrade met a store outage (the store has logged it once): a short answer
        (503, or a WebSocket close "try again later" that Pulsar clients reconnect after), not a traceback."""
        assert isinstance(exc, TuyaError)
        code, message = code_and_message(exc)[0], human_text(exc)  # for people: the platform's text and why
        if conn.scope["type"] == "websocket":
            with contextlib.suppress(Exception):
                await conn.close(code=1013, reason=message[:120])
            return None
        return PlainTextResponse(f"{code} {message}", status_code=503)

    handler = cast(Any, store_trouble)  # one handler for pages and WebSocket upgrades alike
    site = Starlette(routes=routes, lifespan=lifespan,
                     exception_handlers={StoreUnavailable: handler, StoreLost: handler})
    site.state.cloud = state
    site.state.console = console
    site.state.table = table
    site.state.settings = settings
    site.state.clock, site.state.ids = clock, ids  # the edge's connection refusals answer with them too
    cloud_app.append(CloudApp(site, late, observer))
    return cloud_app[0]


class CloudApp:
    """Sends OpenAPI traffic straight to the gateway and everything else (control API, documents, lifespan)
    through Starlette: the router's per-request matching would otherwise be paid by every signed call."""

    SITE_PREFIXES = ("/_tuyacloud", "/openapi.json", "/console", "/static", "/ws", "/metrics", MEDIA_PREFIX)
    _NOT_GATEWAY = (*SITE_PREFIXES, *SHARING_PREFIXES)

    def __init__(self, site: Starlette, late: _LateGateway, observer: RequestObserver) -> None:
        self.site = site
        self._late = late
        self.state = site.state
        self._observer = observer

    def direct_route(self, path: str) -> Callable[[dict[str, Any], dict[str, str], bytes, float],
                                                  Awaitable[bytes]] | None:
        """The gateway's :meth:`Gateway.respond` for a path that is OpenAPI traffic, once the gateway is built; None
        for the site's and the sharing API's paths. The server's protocol (tuyacloud/connections.py) calls it
        directly; everything else comes through :meth:`__call__`."""
        gateway = self._late.gateway
        if gateway is None or path.startswith(self._NOT_GATEWAY):
            return None
        return gateway.respond

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan, WebSocket sessions
            await self.site(scope, receive, send)
        elif scope["path"].startswith(SHARING_PREFIXES):  # Home Assistant's device-sharing API
            await self._observer.site(self._late.sharing_call, scope, receive, send)
        elif not scope["path"].startswith(self.SITE_PREFIXES):
            await self._late(scope, receive, send)  # the gateway observes its own requests
        else:
            await self._observer.site(self.site, scope, receive, send)


TOKEN_SWEEP_S = 600.0
TOKEN_KEEP_MS = 86_400_000
HOUSEKEEPING_LEASE = "housekeeping"


async def _housekeeping(ctx: Context, counter: UsageCounter, settings: Settings, lease: TaskLease,
                        status: TaskStatus | None = None) -> None:
    """Flush usage counters every ``usage_flush_s``; every ten minutes drop tokens expired for more than a day,
    messages past their retention and open-hub credentials expired for more than a day. A failure (the store
    unavailable) is logged once per episode; the counters keep counting in memory and the next flush writes them.

    Several processes on one database: each flushes its own counters (they are increments of what it served, so
    every count is written once, by the process that counted it); the sweeps run only in the process holding the
    ``housekeeping`` lease (domain/task_lease.py, renewed here), taken over by another within the lease time if it
    dies."""
    loop = asyncio.get_running_loop()
    next_sweep = loop.time() + TOKEN_SWEEP_S
    next_renew = 0.0
    episode = Episode(log, "housekeeping (usage flush, token sweep, message retention)", status)
    wait = settings.usage_flush_s
    try:
        while True:
            await asyncio.sleep(wait)
            try:
                await counter.flush(ctx)
                if loop.time() >= next_renew:
                    next_renew = loop.time() + RENEW_S
                    await lease.renew()
                    if status is not None:
                        status.info["sweeps"] = lease.held  # whether this process runs the sweeps
                if lease.held and loop.time() >= next_sweep:
                    await tokens.sweep(ctx, ctx.clock.now_ms() - TOKEN_KEEP_MS)
                    await apply_retention(ctx, settings.message_retention_s)
                    await openhub.sweep(ctx)
                    await camera.sweep(ctx)
                    next_sweep = loop.time() + TOKEN_SWEEP_S
            except Exception as error:  # statistics and sweeping must never take the server down
                wait = max(settings.usage_flush_s, episode.failed(error))
                continue
            episode.ok()
            wait = settings.usage_flush_s
    finally:
        with contextlib.suppress(Exception):  # hand the sweeps over at once (the store may be down)
            await asyncio.wait_for(lease.release(), timeout=2)
