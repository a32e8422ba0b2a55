"""The console lock-out cannot be used to lock the administrator out from elsewhere: failed logins lock one
address out of one username; other addresses only wait longer (a console-wide slow-down); and an operator can
clear it all with ``tuyacloud admin unlock``. Before, five guesses from anywhere locked ``admin`` out for 15
minutes, and behind a proxy every client shares one address."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.cli import cli_command, cli_env
from support.console import ADMIN_PASSWORD, ConsoleClient
from support.server import CloudServer
from tuyacloud.domain.access.console_accounts import ConsolePolicy, slowdown_s


def from_address(server: CloudServer, address: str) -> ConsoleClient:
    return ConsoleClient(server.url, transport=httpx.HTTPTransport(local_address=address))


@pytest.fixture
def console(tmp_path: Path) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path, create_demo=False, simulator=False, console_admin_password=ADMIN_PASSWORD).start()
    yield server
    server.stop()


def _unlock(server: CloudServer, *args: str) -> subprocess.CompletedProcess[str]:
    where = ["--database-url", server.settings.database_url] if server.settings.database_url else \
        ["--data-dir", str(server.settings.data_dir)]
    return subprocess.run([*cli_command(), "admin", "unlock", *args, *where], capture_output=True, text=True,
                          env=cli_env(), timeout=120)


def test_guessing_from_one_address_does_not_lock_the_admin_out_elsewhere(console: CloudServer) -> None:
    attacker = from_address(console, "127.0.0.2")
    for _ in range(4):
        assert attacker.login("admin", "wrong-password").status_code == 401
    assert attacker.login("admin", "wrong-password").status_code == 429
    assert attacker.login("admin", ADMIN_PASSWORD).status_code == 429  # that address, that name: locked
    assert from_address(console, "127.0.0.3").login("admin", ADMIN_PASSWORD).status_code == 303


def test_admin_unlock_clears_a_lock_out(console: CloudServer) -> None:
    attacker = from_address(console, "127.0.0.4")
    for _ in range(5):
        attacker.login("admin", "wrong-password")
    assert attacker.login("admin", ADMIN_PASSWORD).status_code == 429
    done = _unlock(console, "--username", "admin")
    assert done.returncode == 0, done.stderr
    assert "Cleared" in done.stdout
    assert attacker.login("admin", ADMIN_PASSWORD).status_code == 303


def test_admin_unlock_by_address_leaves_other_lock_outs(console: CloudServer) -> None:
    one, two = from_address(console, "127.0.0.5"), from_address(console, "127.0.0.6")
    for _ in range(5):
        one.login("admin", "wrong-password")
        two.login("admin", "wrong-password")
    assert _unlock(console, "--address", "127.0.0.5").returncode == 0
    assert one.login("admin", ADMIN_PASSWORD).status_code == 303
    assert two.login("admin", ADMIN_PASSWORD).status_code == 429


def test_the_slow_down_grows_with_failures_and_has_a_ceiling() -> None:
    policy = ConsolePolicy()
    assert slowdown_s(policy, 5, 5) == 0.0
    assert slowdown_s(policy, 6, 6) == 0.25
    assert slowdown_s(policy, 7, 7) == 0.5
    assert slowdown_s(policy, 1000, 1000) == policy.slowdown_max_s
    assert slowdown_s(policy, 0, 51) == 0.25  # spraying many names: the whole console slows down
