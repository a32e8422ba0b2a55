"""End to end with the real ``tuyacloud`` command line, run as a user runs it (subprocesses, a temporary
``--data-dir``), against a server on the same data directory: an in-process test server for the admin commands,
and ``tuyacloud serve`` itself for the start / restart cycle. Clients are the official tuya-connector-python.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tuya_connector import TuyaOpenAPI

from support import web
from support.cli import cli_command, cli_env
from support.server import CloudServer, free_port

CLI_TIMEOUT_S = 60
START_TIMEOUT_S = 30


def run_cli(data_dir: Path, *args: str, database_url: str | None = None,
            expect_ok: bool = True) -> subprocess.CompletedProcess[str]:
    command = [*cli_command(), *args, "--data-dir", str(data_dir)]
    if database_url:
        command += ["--database-url", database_url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, env=cli_env())
    if expect_ok:
        assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}: {done.stderr or done.stdout}"
    return done


def cli_json(data_dir: Path, *args: str, database_url: str | None = None) -> Any:
    done = run_cli(data_dir, *args, "--json", database_url=database_url)
    return json.loads(done.stdout)


def _ok(response: dict[str, Any]) -> Any:
    assert response is not None, "the client got a non-200 answer"
    assert response["success"] is True, response
    return response["result"]


# --- admin commands without a server ------------------------------------------------------------------
def test_project_commands_create_list_show_and_rotate(tmp_path: Path) -> None:
    created = cli_json(tmp_path, "project", "create", "--name", "N", "--region", "eu", "--method", "smart_home")
    access_id, secret = created["access_id"], created["access_secret"]
    assert len(access_id) == 20 and len(secret) == 32
    assert (created["name"], created["region"], created["method"]) == ("N", "eu", "smart_home")
    assert "iot_core" in created["services"] and created["uid"].startswith("eu")

    listed = cli_json(tmp_path, "project", "list")["list"]
    assert [p["access_id"] for p in listed] == [access_id]
    assert "access_secret" not in listed[0]  # secrets only through `project show`
    shown = cli_json(tmp_path, "project", "show", access_id)
    assert shown["access_secret"] == secret and shown["region"] == "eu"

    rotated = cli_json(tmp_path, "project", "rotate-secret", access_id)
    assert rotated["access_id"] == access_id and rotated["access_secret"] not in ("", secret)
    assert cli_json(tmp_path, "project", "show", access_id)["access_secret"] == rotated["access_secret"]

    unknown = run_cli(tmp_path, "project", "show", "x" * 20, expect_ok=False)
    assert unknown.returncode == 1 and "error 1005" in unknown.stderr
    bad_region = run_cli(tmp_path, "project", "create", "--name", "M", "--region", "mars", expect_ok=False)
    assert bad_region.returncode == 1 and "error 1109" in bad_region.stderr
    assert cli_json(tmp_path, "project", "list")["total"] == 1


# --- admin commands against a running server on the same data directory -----------------------------------
@pytest.fixture
def live(tmp_path: Path) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path / "data", create_demo=False).start()
    yield server
    server.stop()


def test_cli_changes_take_effect_on_a_running_server(live: CloudServer) -> None:
    data, db = live.settings.data_dir, live.settings.database_url
    project = cli_json(data, "project", "create", "--name", "Live", "--region", "us", database_url=db)
    pid, secret = project["access_id"], project["access_secret"]

    added = cli_json(data, "device", "add-virtual", "--project", pid, "--category", "cz", "--count", "3",
                     database_url=db)
    assert len(added) == 3 and all(d["id"] and d["category"] == "cz" for d in added)
    ids = sorted(d["id"] for d in added)
    assert sorted(d["id"] for d in cli_json(data, "device", "list", "--project", pid, database_url=db)["list"]) == ids
    shown = cli_json(data, "device", "show", ids[0], database_url=db)
    assert shown["project"] == pid and shown["id"] == ids[0]
    assert {s["code"]: s["value"] for s in shown["status"]}["switch_1"] is False

    api = TuyaOpenAPI(live.url, pid, secret)
    _ok(api.connect())
    listed = _ok(api.get("/v1.0/devices", {"device_ids": ",".join(ids)}))
    assert sorted(d["id"] for d in listed["devices"]) == ids  # the server sees what the CLI created
    _ok(api.post(f"/v1.0/devices/{ids[0]}/commands", {"commands": [{"code": "switch_1", "value": True}]}))
    shown = cli_json(data, "device", "show", ids[0], database_url=db)  # and the CLI sees what the server did
    assert {s["code"]: s["value"] for s in shown["status"]}["switch_1"] is True

    # rotate-secret: the old secret stops working at once.
    new_secret = cli_json(data, "project", "rotate-secret", pid, database_url=db)["access_secret"]
    stale = api.get(f"/v1.0/devices/{ids[0]}")
    assert (stale["success"], stale["code"]) == (False, 1004)
    assert (TuyaOpenAPI(live.url, pid, secret).connect()["code"]) == 1004
    api = TuyaOpenAPI(live.url, pid, new_secret)
    _ok(api.connect())
    assert _ok(api.get(f"/v1.0/devices/{ids[0]}"))["id"] == ids[0]

    # set-allowlist: our address is not on it.
    cli_json(data, "project", "set-allowlist", pid, "--address", "10.9.9.9", database_url=db)
    refused = TuyaOpenAPI(live.url, pid, new_secret).connect()
    assert (refused["success"], refused["code"]) == (False, 1114)
    assert "127.0.0.1" in refused["msg"], refused["msg"]
    assert api.get(f"/v1.0/devices/{ids[0]}")["code"] == 1114
    cli_json(data, "project", "set-allowlist", pid, "--address", "10.9.9.9", "--address", "127.0.0.0/8",
             database_url=db)
    assert _ok(api.get(f"/v1.0/devices/{ids[0]}"))["id"] == ids[0]
    assert cli_json(data, "project", "set-allowlist", pid, "--disable", database_url=db)["allowlist_enabled"] is False

    # authorize-service --revoke: device calls are no longer subscribed; token calls still work.
    revoked = cli_json(data, "project", "authorize-service", pid, "iot_core", "--revoke", database_url=db)
    assert "iot_core" not in revoked["services"]
    denied = api.get(f"/v1.0/devices/{ids[0]}")
    assert (denied["success"], denied["code"]) == (False, 28841101)
    _ok(TuyaOpenAPI(live.url, pid, new_secret).connect())
    cli_json(data, "project", "authorize-service", pid, "iot_core", database_url=db)
    assert _ok(api.get(f"/v1.0/devices/{ids[0]}"))["id"] == ids[0]


# --- `tuyacloud serve` started, used, stopped and started again ---------------------------------------------
@dataclass
class Banner:
    access_id: str
    access_secret: str
    admin_token: str
    devices: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (category, name)


def parse_banner(text: str) -> Banner:
    def one(pattern: str) -> str:
        match = re.search(pattern, text)
        assert match, f"banner has no {pattern!r}:\n{text}"
        return match.group(1)

    banner = Banner(one(r"Access ID:\s+(\S+)"), one(r"Access Secret:\s+(\S+)"), one(r"Bearer (\S+)\)"))
    _, _, device_block = text.partition("Virtual devices:")
    for line in device_block.splitlines():
        match = re.match(r"^\s{4}(\S+)\s{2}(\S+)\s+(.+?)\s*$", line)
        if match:
            banner.devices[match.group(1)] = (match.group(2), match.group(3))
    return banner


class ServeProcess:
    """``tuyacloud serve`` as a child process; stdout is read by a thread so nothing can block on a full pipe."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.stderr_path = data_dir.parent / f"serve-{port}-{time.monotonic_ns()}.err"
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [*cli_command(), "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=cli_env(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_ready(self) -> str:
        """Wait until the server answers, then return everything it printed (the banner)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.stderr_path.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"serve did not start in {START_TIMEOUT_S}s: {self.stderr_path.read_text()}")
            try:
                if web.get(f"{self.url}/_tuyacloud/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        # The banner is printed before the server answers, so it is all in the pipe by now: read until the
        # device list has started and then a short quiet period passes.
        text = ""
        while True:
            try:
                text += self.lines.get(timeout=0.3 if "Virtual devices:" in text else START_TIMEOUT_S)
            except queue.Empty:
                break
        assert "tuyacloud is serving the Tuya OpenAPI at http://127.0.0.1:" in text, text
        return text

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._stderr.close()
        return self.proc.returncode


def _by_category(banner: Banner, category: str) -> str:
    return next(i for i, (c, _) in banner.devices.items() if c == category)


def test_serve_uses_the_data_dir_and_keeps_everything_across_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    servers: list[ServeProcess] = []
    try:
        first = ServeProcess(data, free_port())
        servers.append(first)
        banner = parse_banner(first.wait_ready())
        assert len(banner.devices) == 5
        assert {c for c, _ in banner.devices.values()} == {"dj", "cz", "wsdcg", "cl", "kt"}
        light, plug = _by_category(banner, "dj"), _by_category(banner, "cz")

        api = TuyaOpenAPI(first.url, banner.access_id, banner.access_secret)
        _ok(api.connect())
        for device_id, (category, name) in banner.devices.items():
            details = _ok(api.get(f"/v1.0/devices/{device_id}"))
            assert (details["category"], details["name"]) == (category, name)
        _ok(api.post(f"/v1.0/devices/{plug}/commands", {"commands": [{"code": "switch_1", "value": True}]}))
        _ok(api.post(f"/v1.0/devices/{light}/commands",
                     {"commands": [{"code": "switch_led", "value": False},
                                   {"code": "bright_value_v2", "value": 420}]}))
        health = web.get(f"{first.url}/_tuyacloud/projects", timeout=10,
                         headers={"Authorization": f"Bearer {banner.admin_token}"}).json()
        assert health["success"] is True  # the printed admin token opens the control API

        # The CLI works on the same data directory while the server runs, and the server sees it.
        added = cli_json(data, "device", "add-virtual", "--project", banner.access_id, "--category", "cz",
                         "--name", "Garage Plug")
        garage = added[0]["id"]
        assert _ok(api.get(f"/v1.0/devices/{garage}"))["name"] == "Garage Plug"
        demo = [p for p in cli_json(data, "project", "list")["list"] if p["access_id"] == banner.access_id]
        assert [p["name"] for p in demo] == ["Demo project"]

        # SIGTERM drains and exits 0 (docs/operations.md)
        assert first.stop() == 0, first.stderr_path.read_text()
        assert "Traceback" not in first.stderr_path.read_text()

        second = ServeProcess(data, free_port())
        servers.append(second)
        again = parse_banner(second.wait_ready())
        assert (again.access_id, again.access_secret) == (banner.access_id, banner.access_secret)
        assert again.admin_token == banner.admin_token
        assert list(again.devices) == [*banner.devices, garage]  # the demo's in the first start's order, then ours
        projects = cli_json(data, "project", "list")["list"]
        assert [p["name"] for p in projects].count("Demo project") == 1, "the demo was created twice"
        assert len(projects) == 1

        api = TuyaOpenAPI(second.url, again.access_id, again.access_secret)
        _ok(api.connect())
        plug_status = {s["code"]: s["value"] for s in _ok(api.get(f"/v1.0/devices/{plug}/status"))}
        light_status = {s["code"]: s["value"] for s in _ok(api.get(f"/v1.0/devices/{light}/status"))}
        assert plug_status["switch_1"] is True
        assert (light_status["switch_led"], light_status["bright_value_v2"]) == (False, 420)
        assert _ok(api.get(f"/v1.0/devices/{garage}"))["name"] == "Garage Plug"
        logs = _ok(api.get(f"/v1.0/devices/{plug}/logs", {"type": "5"}))
        assert ("switch_1", "true") in {(e["code"], e["value"]) for e in logs["logs"]}
    finally:
        for server in servers:
            server.stop()
