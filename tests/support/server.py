"""A real tuyacloud server on a free loopback port, in a background thread, for tests and benchmarks.

The engine comes from ``TUYACLOUD_TEST_DATABASE_URL`` (a PostgreSQL server URL: each server gets a fresh
database on it) or is a SQLite file in a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from support import web
from tuyacloud.app import CloudState, create_app
from tuyacloud.clock import Clock
from tuyacloud.connections import http_protocol
from tuyacloud.domain.context import Context
from tuyacloud.settings import Settings
from tuyacloud.testing.cloud import TEST_SCRYPT_N

ADMIN_TOKEN = "test-admin-token"

T = TypeVar("T")


# Its own source of randomness: the global one is seeded the same way in every test process inside Hypothesis's
# tests, and parallel processes would then try the same ports in the same order.
_PORT_CHOICE = random.SystemRandom()


def _ephemeral_ports() -> tuple[int, int]:
    """The range the kernel takes ports from for ``bind(0)`` and for every outgoing connection (Linux's default
    when it cannot be read)."""
    try:
        low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return low, high


def free_port() -> int:
    """A port on 127.0.0.1 that is free now, for a process the test starts (which binds it a second or more later).

    Chosen below the kernel's ephemeral range: a port from ``bind(0)`` is in that range, where every outgoing
    connection of the run (thousands a second, in parallel test processes) also takes its local port, and one of
    them took such a port before the process bound it (CI failed so, twice in one run). Below the range only an
    explicit bind takes a port, and the others of the run bind 0."""
    low, _ = _ephemeral_ports()
    if low > 11024:
        for _ in range(50):
            port = _PORT_CHOICE.randrange(10_000, low)
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bound(port: int = 0) -> socket.socket:
    """A socket bound to ``port`` on 127.0.0.1 (0: a free one), not yet listening (asyncio's server listens)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


# Serialises the making of the migrated template database between the test processes sharing one PostgreSQL server.
PG_TEMPLATE_LOCK = 0x7475_7961_7465_6D70  # "tuyatemp"


def fresh_postgres_database(server_url: str, *, migrated: bool = False) -> str:
    """CREATE DATABASE on the test PostgreSQL server; returns its URL. ``migrated``: a copy of a template database
    already at the newest schema (made once per server and migration scripts, under an advisory lock), so that the
    test's server or store finds nothing to migrate; without it the database is empty, for the tests of migration
    itself (several processes starting together on a new database)."""
    import asyncpg

    from tuyacloud.store.postgres import asyncpg_dsn

    name = "t_" + uuid.uuid4().hex[:16]
    base = server_url.rsplit("/", 1)[0]

    async def create() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(server_url))
        try:
            if not migrated:
                await conn.execute(f'CREATE DATABASE "{name}"')
                return
            await conn.execute("SELECT pg_advisory_lock($1)", PG_TEMPLATE_LOCK)
            try:
                template = await _postgres_template(conn, base)
                # FILE_COPY (PostgreSQL 15+) copies the template's files instead of writing every page through the
                # WAL: about half the CPU of the default for a database this small, made a few hundred times a run.
                strategy = " STRATEGY FILE_COPY" if conn.get_server_version() >= (15,) else ""
                await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", PG_TEMPLATE_LOCK)
        finally:
            await conn.close()

    asyncio.run(create())
    return f"{base}/{name}"


async def _postgres_template(conn: Any, base: str) -> str:
    """The name of the migrated template database, made if missing (under the caller's lock): migrated under
    another name and renamed when done, so a run cut short never leaves a half-migrated template behind."""
    from tuyacloud.store import migrate
    from tuyacloud.testing.cloud import _template_key

    template = "t_template_" + _template_key()[:20]
    if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", template):
        return template
    building = template + "_new"
    await conn.execute(f'DROP DATABASE IF EXISTS "{building}"')
    await conn.execute(f'CREATE DATABASE "{building}"')
    await asyncio.to_thread(migrate.upgrade, f"{base}/{building}")
    await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
    return template


def database_url_for_test() -> str | None:
    """An empty PostgreSQL database when TUYACLOUD_TEST_DATABASE_URL is set, else None (SQLite)."""
    server = os.environ.get("TUYACLOUD_TEST_DATABASE_URL")
    return fresh_postgres_database(server) if server else None


def migrated_database_for_test(data_dir: Path) -> str | None:
    """A database already at the newest schema: a copy of the migrated PostgreSQL template when
    TUYACLOUD_TEST_DATABASE_URL is set (its URL), else the SQLite file a server in ``data_dir`` opens (None: the
    default URL), copied from the testing kit's migrated template unless one is there already. Migrating from
    scratch costs a second or more per server on a busy machine; the schema is the same either way (the
    templates are made by the same migrations, and remade when the scripts change)."""
    server = os.environ.get("TUYACLOUD_TEST_DATABASE_URL")
    if server:
        return fresh_postgres_database(server, migrated=True)
    migrated_sqlite(data_dir)
    return None


def migrated_sqlite(data_dir: Path) -> None:
    """The SQLite file a server in ``data_dir`` opens, copied from the testing kit's migrated template unless one is
    there already."""
    from tuyacloud.testing.cloud import DB_FILE, _fresh_sqlite

    data_dir.mkdir(parents=True, exist_ok=True)
    if not (data_dir / DB_FILE).exists():
        _fresh_sqlite(data_dir)


class CloudServer:
    def __init__(self, data_dir: Path, *, clock: Clock | None = None, **overrides: Any) -> None:
        # The listening socket is bound now and handed to uvicorn at start: a port found free and bound later could
        # be taken in between by another test process's server (it happened under load: "address already in use").
        self._listener: socket.socket | None = _bound()
        self.port = int(self._listener.getsockname()[1])
        self.clock = clock or Clock()
        # A database at the newest schema, unless the test brings its own (another server's, an empty one).
        database_url = overrides.pop("database_url") if "database_url" in overrides else migrated_database_for_test(
            data_dir)
        settings = Settings(data_dir=data_dir, port=self.port, database_url=database_url)
        # Stored passwords at the testing kit's low scrypt cost unless the test asks for another: the server's
        # (16384, tens of milliseconds of CPU per hash and per login) protects nothing here, and the suite's servers
        # hash thousands of passwords. A test of the server's own cost passes ``Settings.password_scrypt_n``.
        overrides.setdefault("password_scrypt_n", TEST_SCRYPT_N)
        self.settings = replace(settings, **overrides)
        self.state: CloudState | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.app = create_app(self.settings, clock=self.clock, admin_token=ADMIN_TOKEN, on_ready=self._ready)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._http: web.LeanClient | None = None

    def _ready(self, state: CloudState) -> None:
        self.state = state
        self.loop = asyncio.get_running_loop()  # on_ready is called inside the lifespan, on the server's loop

    def in_domain(self, work: Callable[[Context], Awaitable[T]], timeout: float = 300) -> T:
        """Run ``work(ctx)`` on the running server's own event loop with its own domain context, and return what it
        returns: bulk fixtures (a thousand users, assets, grants) are made through the same domain functions and
        store as the requests, in a fraction of the time thousands of signed calls take. What a test then proves
        over HTTP stays over HTTP."""
        assert self.loop is not None and self.state is not None and self.state.ctx is not None, "server not started"
        return asyncio.run_coroutine_threadsafe(work(self.state.ctx), self.loop).result(timeout)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **uvicorn_options: Any) -> CloudServer:
        # The protocol `tuyacloud serve` runs (one socket write per connection per loop turn, the connection limits
        # and time-outs of the settings), unless a test asks for another.
        protocol = uvicorn_options.setdefault("http", http_protocol(self.settings, self.clock, self.app.state.ids))
        # as `tuyacloud serve`: the embedded MQTT broker's connections count in the same connection limits
        self.app.state.cloud.guard = getattr(protocol, "guard", None)
        # A stop waits this long for connections to close, then cancels what is left: a client that keeps an idle
        # TLS connection open (a pooled keep-alive of requests or tinytuya) never answers the TLS close, and asyncio
        # waits 30 s for that answer, so a module's teardown took 15 s (stop's join timeout) and left the thread
        # running. Over plain HTTP an idle connection closes at once; a test of draining starts `tuyacloud serve`.
        uvicorn_options.setdefault("timeout_graceful_shutdown", 2)
        # As `tuyacloud serve`: no proxy-header middleware, so OpenAPI paths take the protocol's direct route to the
        # gateway (tuyacloud/connections.py) as they do in production.
        uvicorn_options.setdefault("proxy_headers", False)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                **uvicorn_options)
        self._server = uvicorn.Server(config)
        listener = self._listener or _bound(self.port)  # a second start binds the port again
        self._listener = None  # uvicorn closes it when it stops
        self._startup_exit: int | str | None = None
        self._thread = threading.Thread(target=self._run, args=(self._server, listener), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                why = "" if self._startup_exit is None else f" (uvicorn exited with {self._startup_exit})"
                raise RuntimeError(f"tuyacloud test server did not start{why}")
            time.sleep(0.02)
        return self

    def _run(self, server: uvicorn.Server, listener: socket.socket) -> None:
        """uvicorn's run in the server's thread. A start that fails (a lifespan error: an MQTT port taken, a store
        that cannot open) ends in ``sys.exit(3)`` there; kept for ``start``'s error instead of escaping the thread,
        where pytest would report it as an unhandled thread exception."""
        try:
            server.run(sockets=[listener])
        except SystemExit as exit_:
            self._startup_exit = exit_.code

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._http is not None:
            self._http.close()
            self._http = None

    # --- control API --------------------------------------------------------------------------------
    @property
    def http(self) -> web.LeanClient:
        """The server's own kept-alive client for the control API (support/web.py's ``LeanClient``: a control call
        through httpx made a client per call), made at first use and closed by ``stop``."""
        if self._http is None:
            self._http = web.LeanClient(timeout=30)
        return self._http

    def control(self, method: str, path: str, json: Any = None) -> Any:
        url, headers = f"{self.url}/_tuyacloud{path}", {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        # A TLS server (support/sharing.py, support/tinytuya_tls.py) is asked through httpx, which speaks TLS.
        response = (self.http.request(method, url, json=json, headers=headers) if url.startswith("http://")
                    else web.request(method, url, json=json, headers=headers, timeout=30))
        body = response.json()
        assert body["success"], body
        return body["result"]

    def create_project(self, name: str = "Test project", region: str = "us", method: str = "custom",
                       services: list[str] | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"name": name, "region": region, "method": method}
        if services is not None:
            payload["services"] = services
        return self.control("POST", "/projects", payload)

    def add_devices(self, access_id: str, category: str, count: int = 1) -> list[dict[str, Any]]:
        return self.control("POST", f"/projects/{access_id}/devices", {"category": category, "count": count})
