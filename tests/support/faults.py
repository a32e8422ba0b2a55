"""Fault-suite helpers (tests/faults/): a throwaway PostgreSQL cluster of the test's own (so a test may stop and
start it under a running server), and waiting for conditions."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from support import web
from support.cli import cli_command, cli_env
from support.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return found[-1] if found else None


@dataclass
class Cluster:
    dir: str
    url: str

    @property
    def port(self) -> str:
        return self.url.rsplit(":", 1)[1].split("/", 1)[0]

    def _pg_ctl(self, *args: str) -> None:
        command = [f"{pg_bin()}/pg_ctl", "-D", f"{self.dir}/data", *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        """Fast shutdown: the server ends every session, as an operator's restart does."""
        self._pg_ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        options = (f"-k {self.dir} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=300")
        self._pg_ctl("-l", f"{self.dir}/log", "-w", "-t", "30", "-o", options, "start")

    def database(self) -> str:
        """A fresh database on this cluster."""
        from support.server import fresh_postgres_database

        return fresh_postgres_database(self.url)


@contextlib.contextmanager
def pg_cluster() -> Iterator[Cluster]:
    if pg_bin() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql)")
    out = subprocess.run([str(ROOT / "scripts" / "pg-test-cluster"), "start"], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    found = dict(re.findall(r"export (\w+)=(\S+)", out))
    cluster = Cluster(found["PGTEST_DIR"], found["TUYACLOUD_TEST_DATABASE_URL"])
    try:
        yield cluster
    finally:
        subprocess.run([str(ROOT / "scripts" / "pg-test-cluster"), "stop", cluster.dir], capture_output=True,
                       timeout=120)


def eventually(check: Callable[[], object], timeout: float = 10.0, every: float = 0.05, what: str = "") -> object:
    """Poll ``check`` until it returns something truthy; its last exception or falsy value fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
            last: object = value
        except Exception as exc:  # noqa: BLE001 - reported if the deadline passes
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or 'condition'} not reached in {timeout} s (last: {last!r})")
        time.sleep(every)


class Serve:
    """``tuyacloud serve`` as a child process on a data directory (and database URL); output goes to files."""

    def __init__(self, data: Path, db: str | None, name: str, *options: str) -> None:
        self.port = free_port()
        self.out = data.parent / f"{name}.out"
        self.err = data.parent / f"{name}.err"
        command = [*cli_command(), "serve", "--port", str(self.port), "--data-dir", str(data), *options]
        if db:
            command += ["--database-url", db]
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(command, stdout=out, stderr=err, env=cli_env())
        self._http: web.LeanClient | None = None

    @property
    def http(self) -> web.LeanClient:
        """A kept-alive client for this process's health and control API (support/web.py's ``LeanClient``, which
        raises httpx's ``TransportError`` subclasses: ``ConnectError`` while nothing listens), made at first use and
        closed by ``kill`` and ``stop``."""
        if self._http is None:
            self._http = web.LeanClient(timeout=30)
        return self._http

    def _close_http(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def ready(self) -> bool:
        """Serving, and it is this process that answers: its banner (printed when the application is ready, before
        it serves) is out too. Without that check another test's server that took the port first (``free_port``
        only finds a port that was free a moment ago; the process binds it a second or more later, much more under
        load) answered the health check for it, and the test then failed reading an admin token from an empty
        output."""
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited {self.proc.returncode}: {self.err.read_text()[-3000:]}")
        if "Authorization: Bearer" not in self.out.read_text():
            return False
        try:
            return self.http.get(f"http://127.0.0.1:{self.port}/_tuyacloud/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def port_taken(self) -> bool:
        """It stopped because its port was in use when it started (another process took it after ``free_port``)."""
        return self.proc.poll() is not None and "already in use" in self.err.read_text()

    def admin_token(self) -> str:
        match = re.search(r"Bearer (\S+)\)", self.out.read_text())
        assert match, self.out.read_text()
        return match.group(1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (no lease is handed over)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._close_http()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._close_http()
