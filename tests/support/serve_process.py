"""``tuyacloud serve`` as a child process, as an operator runs it: the real command line, its stdout and stderr in
files (nothing blocks on a full pipe), stopped with a real signal. The engine is the one under test (SQLite in
the data directory, or a fresh PostgreSQL database when TUYACLOUD_TEST_DATABASE_URL is set).

The database is already at the newest schema (a copy of the migrated template, as the in-process test servers
get), so a process does not import Alembic and migrate: that is a second of CPU per start, and these tests are
about what the server does once it runs. First starts on an empty database are the business of tests/cli
(clitools.Serve) and tests/faults/test_concurrent_start.py."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from support import web
from support.cli import cli_command, cli_env
from support.server import free_port, fresh_postgres_database, migrated_sqlite

START_TIMEOUT_S = 60


def database_for_test(engine_url: str | None = None) -> str | None:
    """A fresh PostgreSQL database at the newest schema when the suite runs on PostgreSQL, else None (SQLite in the
    data dir, which ``ServeProcess`` puts there migrated)."""
    server = engine_url or os.environ.get("TUYACLOUD_TEST_DATABASE_URL")
    return fresh_postgres_database(server, migrated=True) if server else None


def cli(data: Path, db: str | None, *args: str) -> str:
    command = [*cli_command(), *args, "--data-dir", str(data), *(["--database-url", db] if db else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=cli_env())
    assert done.returncode == 0, f"{args} exited {done.returncode}: {done.stderr or done.stdout}"
    return done.stdout


def cli_json(data: Path, db: str | None, *args: str) -> Any:
    return json.loads(cli(data, db, *args, "--json"))


def wait_serving(proc: subprocess.Popen[Any], url: str, out: Path, err: Path, timeout_s: float) -> str:
    """Waits until a started ``tuyacloud serve`` answers health with 200 and its banner is in ``out``; returns the
    admin token the banner printed. Fails with its error output if it exits or does not start in ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    with web.LeanClient(timeout=2) as http:  # refused until it listens: httpx.ConnectError, as with httpx
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited {proc.returncode}: {err.read_text()}")
            assert time.monotonic() < deadline, f"serve did not start: {err.read_text()}"
            try:
                if http.get(f"{url}/_tuyacloud/health").status_code == 200:
                    match = re.search(r"Bearer (\S+)\)", out.read_text())
                    if match:
                        return match.group(1)
            except httpx.TransportError:
                pass
            time.sleep(0.05)


class ServeProcess:
    def __init__(self, data: Path, db: str | None, name: str, *options: str,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = data.parent / f"{name}.out"
        self.err = data.parent / f"{name}.err"
        command = [*cli_command(), "serve", "--port", str(self.port), "--data-dir", str(data), *options]
        if db:
            command += ["--database-url", db]
        else:
            migrated_sqlite(data)  # the SQLite file at the newest schema, unless one is there
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(command, stdout=out, stderr=err, env={**cli_env(), **(env or {})})
        self.admin_token = ""

    @property
    def stdout(self) -> str:
        return self.out.read_text()

    @property
    def stderr(self) -> str:
        return self.err.read_text()

    def wait_ready(self) -> ServeProcess:
        """Until health answers 200 and the banner (with the admin token) is out."""
        self.admin_token = wait_serving(self.proc, self.url, self.out, self.err, START_TIMEOUT_S)
        return self

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, then wait for the exit status (killed, and the test fails, if it takes longer)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"serve did not stop {timeout}s after SIGTERM: {self.stderr[-2000:]}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
