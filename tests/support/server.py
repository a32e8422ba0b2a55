"""A real tuyacloud server on a free loopback port, in a background thread, for tests and benchmarks.

The engine comes from ``TUYACLOUD_TEST_DATABASE_URL`` (a PostgreSQL server URL: each server gets a fresh
database on it) or is a SQLite file in a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tuyacloud.app import CloudState, create_app
from tuyacloud.clock import Clock
from tuyacloud.connections import http_protocol
from tuyacloud.settings import Settings

ADMIN_TOKEN = "test-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_postgres_database(server_url: str) -> str:
    """CREATE DATABASE on the test PostgreSQL server; returns its URL."""
    import asyncpg

    from tuyacloud.store.postgres import asyncpg_dsn

    name = "t_" + uuid.uuid4().hex[:16]

    async def create() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(server_url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    base = server_url.rsplit("/", 1)[0]
    return f"{base}/{name}"


def database_url_for_test() -> str | None:
    server = os.environ.get("TUYACLOUD_TEST_DATABASE_URL")
    return fresh_postgres_database(server) if server else None


class CloudServer:
    def __init__(self, data_dir: Path, *, clock: Clock | None = None, **overrides: Any) -> None:
        self.port = free_port()
        self.clock = clock or Clock()
        settings = Settings(data_dir=data_dir, port=self.port, database_url=database_url_for_test())
        self.settings = replace(settings, **overrides)
        self.state: CloudState | None = None
        self.app = create_app(self.settings, clock=self.clock, admin_token=ADMIN_TOKEN, on_ready=self._ready)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def _ready(self, state: CloudState) -> None:
        self.state = state

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **uvicorn_options: Any) -> CloudServer:
        # The protocol `tuyacloud serve` runs (one socket write per connection per loop turn, the connection limits
        # and time-outs of the settings), unless a test asks for another.
        uvicorn_options.setdefault("http", http_protocol(self.settings))
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                **uvicorn_options)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("tuyacloud test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)

    # --- control API --------------------------------------------------------------------------------
    def control(self, method: str, path: str, json: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_tuyacloud{path}", json=json,
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
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
