"""Two and four ``tuyacloud serve`` processes started at once on a new database all start, and agree.

Migrations and the first-start records (the control API's admin token, the demo project, the first console
account) are made under one lock (a PostgreSQL advisory lock; a file lock beside a SQLite file), so the processes
take turns: none fails on a table or a version row another just created, and there is one demo and one admin token,
which every process prints. Runs on the engine under test (SQLite, or PostgreSQL with TUYACLOUD_TEST_DATABASE_URL).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from support import web
from support.faults import Serve
from support.server import fresh_postgres_database

SERVER_URL = os.environ.get("TUYACLOUD_TEST_DATABASE_URL")
START_TIMEOUT_S = 240  # four starts take turns under the lock: 45 s on 2 cores at load 30, more in a busy suite


@pytest.mark.parametrize("count", [2, 4])
def test_processes_started_together_on_a_new_database_all_start(tmp_path: Path, count: int) -> None:
    data = tmp_path / "data"
    db = fresh_postgres_database(SERVER_URL) if SERVER_URL else None
    servers = [Serve(data, db, f"serve{i}") for i in range(count)]  # all at once, on a database with no schema
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = list(servers)
        while waiting:
            assert time.monotonic() < deadline, "not every process started"
            waiting = [s for s in waiting if not s.ready()]
            time.sleep(0.1)
        time.sleep(0.5)  # each has printed its start-up banner
        tokens = {s.admin_token() for s in servers}
        assert len(tokens) == 1, "the processes disagree on the control API's admin token"
        listed = web.get(f"http://127.0.0.1:{servers[0].port}/_tuyacloud/projects", timeout=10,
                         headers={"Authorization": f"Bearer {tokens.pop()}"}).json()
        assert listed["success"], listed
        demos = [p for p in listed["result"] if p["name"] == "Demo project"]
        assert len(demos) == 1, json.dumps(listed["result"])[:500]
        assert all(s.proc.poll() is None for s in servers)
    finally:
        for s in servers:
            s.stop()
