"""Two and four ``tuyacloud serve`` processes started at once on a new database all start, and agree.

Migrations and the first-start records (the control API's admin token, the demo project, the first console
account) are made under one lock (a PostgreSQL advisory lock; a file lock beside a SQLite file), so the processes
take turns: none fails on a table or a version row another just created, and there is one demo and one admin token,
which every process prints. Runs on the engine under test (SQLite, or PostgreSQL with TUYACLOUD_TEST_DATABASE_URL).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from support.cli import cli_command, cli_env
from support.server import free_port, fresh_postgres_database

SERVER_URL = os.environ.get("TUYACLOUD_TEST_DATABASE_URL")
START_TIMEOUT_S = 90


class Serve:
    def __init__(self, data: Path, db: str | None, name: str) -> None:
        self.port = free_port()
        self.out = data.parent / f"{name}.out"
        self.err = data.parent / f"{name}.err"
        command = [*cli_command(), "serve", "--port", str(self.port), "--data-dir", str(data)]
        if db:
            command += ["--database-url", db]
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(command, stdout=out, stderr=err, env=cli_env())

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited {self.proc.returncode}: {self.err.read_text()[-3000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/_tuyacloud/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def admin_token(self) -> str:
        match = re.search(r"Bearer (\S+)\)", self.out.read_text())
        assert match, self.out.read_text()
        return match.group(1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


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
        listed = httpx.get(f"http://127.0.0.1:{servers[0].port}/_tuyacloud/projects", timeout=10,
                           headers={"Authorization": f"Bearer {tokens.pop()}"}).json()
        assert listed["success"], listed
        demos = [p for p in listed["result"] if p["name"] == "Demo project"]
        assert len(demos) == 1, json.dumps(listed["result"])[:500]
        assert all(s.proc.poll() is None for s in servers)
    finally:
        for s in servers:
            s.stop()
