"""tuya-iot-py-sdk 0.6.6's CUSTOM login with nothing but the README: a project user made by the real ``tuyacloud``
command line (subprocesses, as a person types it) logs in with ``TuyaOpenAPI(..., AuthType.CUSTOM).connect()``
against a running server, and the SDK's own device discovery (``TuyaHomeManager.update_device_cache``, which walks
the user's assets from ``-1`` down as Home Assistant's integration does) finds exactly the devices of the granted
asset; a revoke, a grant without sub-assets and a new password take effect on the next login.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tuya_iot import AuthType, TuyaAssetManager, TuyaDeviceManager, TuyaHomeManager, TuyaOpenAPI, TuyaOpenMQ

from support.cli import cli_command, cli_env
from support.custom import add_asset
from support.server import CloudServer
from support.signed import SignedClient

CLI_TIMEOUT_S = 60


@pytest.fixture
def live(tmp_path: Path) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path / "data", create_demo=False).start()
    yield server
    server.stop()


def tuyacloud(server: CloudServer, *args: str, stdin: str | None = None) -> Any:
    """Run ``tuyacloud ARGS --json`` on the server's data directory (and database) and return its JSON."""
    command = [*cli_command(), *args, "--json", "--data-dir", str(server.settings.data_dir)]
    if server.settings.database_url:
        command += ["--database-url", server.settings.database_url]
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
                          env=cli_env())
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}: {done.stderr or done.stdout}"
    return json.loads(done.stdout)


def sdk_login(server: CloudServer, project: dict[str, Any], username: str, password: str) -> TuyaOpenAPI:
    api = TuyaOpenAPI(server.url, project["access_id"], project["access_secret"], AuthType.CUSTOM)
    response = api.connect(username, password, "1", "")
    assert response is not None and response["success"] is True, response
    assert api.is_connect()
    return api


def discovered(api: TuyaOpenAPI) -> set[str]:
    """The device ids tuya-iot-py-sdk's home manager finds for the logged-in user (its TuyaOpenMQ is never
    started: the manager only registers a listener on it)."""
    devices = TuyaDeviceManager(api, TuyaOpenMQ(api))
    TuyaHomeManager(api, TuyaOpenMQ(api), devices).update_device_cache()
    return set(devices.device_map)


def test_cli_user_logs_in_with_iot_py_and_sees_its_asset(live: CloudServer) -> None:
    project = tuyacloud(live, "project", "create", "--name", "Campus", "--method", "custom")
    pid = project["access_id"]
    admin = SignedClient(live.url, pid, project["access_secret"])
    assert admin.connect()["success"]
    building = add_asset(admin, "Building A")
    floor = add_asset(admin, "Floor 1", building)
    other = add_asset(admin, "Building B")

    def add(category: str, asset: str = "") -> str:
        placed = {"asset_id": asset} if asset else {}
        return str(live.control("POST", f"/projects/{pid}/devices", {"category": category, **placed})[0]["id"])

    light, plug, elsewhere, at_root = add("dj", building), add("cz", floor), add("cz", other), add("wsdcg")

    # The README's commands: create the user (password on stdin), authorise it on an asset.
    user = tuyacloud(live, "user", "create", "--project", pid, "--username", "alice", "--password-stdin",
                     stdin="alice-secret\n")
    tuyacloud(live, "user", "grant", "--project", pid, "alice", "--asset", building)

    # The README's SDK lines.
    api = sdk_login(live, project, "alice", "alice-secret")
    assert api.token_info.uid == user["user_id"]
    assert set(TuyaAssetManager(api).get_device_list(building)) == {light}
    status = api.get(f"/v1.0/iot-03/devices/{light}/status")
    assert status["success"] is True and {s["code"] for s in status["result"]} >= {"switch_led"}

    # The SDK's own discovery: the granted asset and its sub-assets, nothing else of the project.
    assert discovered(api) == {light, plug}
    for hidden in (elsewhere, at_root):
        refused = api.get(f"/v1.0/iot-03/devices/{hidden}")
        assert (refused["success"], refused["code"]) == (False, 1106)
    sent = api.post(f"/v1.0/iot-03/devices/{plug}/commands", {"commands": [{"code": "switch_1", "value": True}]})
    assert sent["success"] is True, sent

    # The node alone: the floor's plug drops out.
    tuyacloud(live, "user", "grant", "--project", pid, "alice", "--asset", building, "--no-children")
    assert discovered(sdk_login(live, project, "alice", "alice-secret")) == {light}
    # Revoked and granted elsewhere.
    tuyacloud(live, "user", "revoke", "--project", pid, "alice", "--asset", building)
    tuyacloud(live, "user", "grant", "--project", pid, "alice", "--asset", other)
    assert discovered(sdk_login(live, project, "alice", "alice-secret")) == {elsewhere}

    # A new password: the old one no longer logs in.
    tuyacloud(live, "user", "set-password", "--project", pid, "alice", "--password-stdin", stdin="second\n")
    stale = TuyaOpenAPI(live.url, pid, project["access_secret"], AuthType.CUSTOM).connect("alice", "alice-secret")
    assert (stale["success"], stale["code"]) == (False, 2401)
    assert discovered(sdk_login(live, project, "alice", "second")) == {elsewhere}
