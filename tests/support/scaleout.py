"""Helpers of the scale-out suite (tests/scaleout/): `tuyacloud serve` processes on one PostgreSQL database, their
control API, and command senders that spread one device's commands over several processes."""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from support import web
from support.faults import Serve, eventually
from support.pulsar import Received
from support.server import fresh_postgres_database
from support.signed import SignedClient

SERVER_URL = os.environ.get("TUYACLOUD_TEST_DATABASE_URL")
START_TIMEOUT_S = 60
CODE = "temp_value_v2"  # lamps' values 1..1000 are distinct, so each report names its command

needs_postgres = pytest.mark.skipif(not SERVER_URL, reason="scale-out needs PostgreSQL (one database shared by "
                                    "several server processes); scripts/test runs it with a throwaway cluster")


def new_database() -> str:
    """A fresh database at the newest schema: the processes of a test start without migrating (several processes
    migrating one new database together is tests/faults/test_concurrent_start.py's)."""
    assert SERVER_URL
    return fresh_postgres_database(SERVER_URL, migrated=True)


def start(data: Path, db: str, name: str, *options: str) -> Serve:
    """``tuyacloud serve --no-demo --no-mqtt`` on ``db``, ready to serve; started again on another port when another
    process took its port before it could (``Serve.port_taken``), which the test is not about."""
    for _ in range(3):
        server = Serve(data, db, name, "--no-demo", "--no-mqtt", *options)
        try:
            eventually(lambda s=server: s.port_taken() or s.ready(), timeout=START_TIMEOUT_S, every=0.1,
                       what=f"{name} started")
        finally:
            if server.port_taken():
                server.stop()
        if not server.port_taken():
            return server
    raise AssertionError(f"{name}: three free ports were taken by other processes before it could bind them")


def control(server: Serve, method: str, path: str, json: Any = None) -> Any:
    body = server.http.request(method, f"{server.url}/_tuyacloud{path}", json=json, timeout=30,
                               headers={"Authorization": f"Bearer {server.admin_token()}"}).json()
    assert body["success"], body
    return body["result"]


def health(server: Serve) -> dict[str, Any]:
    result: dict[str, Any] = server.http.get(f"{server.url}/_tuyacloud/health", timeout=10).json()["result"]
    return result


def task_info(server: Serve, task: str, key: str) -> Any:
    return health(server).get("tasks", {}).get(task, {}).get(key)


def client(server: Serve, project: dict[str, Any], token: str | None = None) -> SignedClient:
    c = SignedClient(server.url, project["access_id"], project["access_secret"])
    if token is None:
        assert c.connect()["success"]
    else:
        c.access_token = token
    return c


class Sender(threading.Thread):
    """Sends numbered commands to its lamps in turn, one at a time, through the servers in turn (command n of a
    lamp through server n mod len): one lamp's commands are spread over every process, in a known order. A server
    that stops answering is not used again; its command in flight is "unknown" (it may have committed)."""

    def __init__(self, servers: list[Serve], project: dict[str, Any], token: str, lamps: list[str],
                 stop: threading.Event, limit: int = 1000) -> None:
        super().__init__(daemon=True)
        self.clients = []
        for server in servers:
            c = client(server, project, token)
            c.http = web.LeanClient(timeout=10)
            self.clients.append(c)
        self.alive = [True] * len(servers)
        self.lamps = lamps
        self.stop = stop
        self.limit = limit
        self.sent: dict[str, list[tuple[int, str]]] = {lamp: [] for lamp in lamps}  # (value, ok|failed|unknown)
        self.answered_by: dict[int, int] = defaultdict(int)  # server index -> commands answered ok

    def run(self) -> None:
        n = 0
        while not self.stop.is_set() and n < self.limit and any(self.alive):
            n += 1
            for lamp in self.lamps:
                index = n % len(self.clients)
                while not self.alive[index]:
                    index = (index + 1) % len(self.clients)
                try:
                    body = self.clients[index].post(f"/v1.0/devices/{lamp}/commands",
                                                    {"commands": [{"code": CODE, "value": n}]})
                except Exception:  # no answer: that server went away with the command in flight
                    self.alive[index] = False
                    self.sent[lamp].append((n, "unknown"))
                    continue
                ok = body.get("success") is True
                self.sent[lamp].append((n, "ok" if ok else "failed"))
                if ok:
                    self.answered_by[index] += 1


def merged(senders: list[Sender]) -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for s in senders:
        out.update(s.sent)
    return out


def first_reports(received: list[Received], code: str = CODE) -> dict[str, list[Any]]:
    """Per device, the values of ``code`` in its status reports in order of first arrival (redeliveries of one
    message, same ``dataId``, dropped)."""
    seen: set[str] = set()
    out: dict[str, list[Any]] = defaultdict(list)
    for m in received:
        if m.protocol != 4 or m.data["dataId"] in seen:
            continue
        seen.add(m.data["dataId"])
        codes = {s.get("code") for s in m.data.get("status", [])}
        if code in codes:
            out[m.device_id or ""].append(m.status_value(code))
    return out


def report_log(c: SignedClient, device_id: str, code: str = CODE) -> list[int]:
    """The device's reported values of ``code`` in commit order (the log pages newest first)."""
    path = f"/v1.0/iot-03/devices/{device_id}/report-logs"
    body = c.get(path, {"codes": code, "size": 100})
    assert body["success"], body
    entries = list(body["result"]["logs"])
    while body["result"]["has_more"]:
        body = c.get(path, {"codes": code, "size": 100, "last_row_key": body["result"]["last_row_key"]})
        entries += body["result"]["logs"]
    return [int(e["value"]) for e in reversed(entries)]


def wait_all(senders: list[Sender], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    for s in senders:
        s.join(timeout=max(0.1, deadline - time.monotonic()))
    assert not any(s.is_alive() for s in senders), "a sender hung"
