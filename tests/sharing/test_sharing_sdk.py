"""Home Assistant's Tuya integration against a real tuyacloud: tuya-device-sharing-sdk 0.2.15, unchanged, over
HTTPS under its hard-coded login host (see ``support/sharing.py`` for how the host reaches the test server).

The QR login approved through the control API; the ``Manager`` Home Assistant builds lists the user's homes and
devices with specifications and statuses; commands, scenes, rooms, token refresh and logout; a tampered request
answers ``sign invalid`` (what makes Home Assistant ask for a new login); one user never reaches another's devices.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tuya_sharing import Manager

from support.server import CloudServer
from support.sharing import (
    LOGIN_HOST,
    Household,
    household,
    manager_of,
    new_project,
    qr_login,
    routed,
    start_tls,
)
from tuyacloud.tlscert import TlsFiles, ensure_certificates

CATEGORIES = ("dj", "cz", "wsdcg", "cl", "kt")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return ensure_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[CloudServer]:
    s = start_tls(tmp_path_factory.mktemp("sharing"), tls, create_demo=False, simulator=False)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def seen(server: CloudServer, tls: TlsFiles) -> Iterator[list[str]]:
    with routed(tls, server.port) as hosts:
        yield hosts


@pytest.fixture(scope="module")
def alice(server: CloudServer, seen: list[str]) -> Household:
    return household(server, new_project(server), "alice@example.com", CATEGORIES)


@pytest.fixture(scope="module")
def bob(server: CloudServer, alice: Household) -> Household:
    return household(server, alice.sh, "bob@example.com", ("dj", "cz"))


@pytest.fixture(scope="module")
def alice_login(server: CloudServer, alice: Household) -> dict[str, Any]:
    return qr_login(server, alice.user_code)


@pytest.fixture
def manager(alice: Household, alice_login: dict[str, Any]) -> Manager:
    m = manager_of(alice.user_code, alice_login)
    m.update_device_cache()
    return m


def test_qr_login_answers_the_token_and_this_server_as_endpoint(alice: Household, alice_login: dict[str, Any],
                                                                seen: list[str]) -> None:
    assert LOGIN_HOST in seen  # the SDK really went to its hard-coded host, over TLS with the generated CA
    assert alice_login["endpoint"] == f"https://{LOGIN_HOST}"
    assert alice_login["uid"] == alice.uid and alice_login["username"] == alice.username
    assert 7000 <= alice_login["expire_time"] <= 7200 and isinstance(alice_login["t"], int)
    assert len(alice_login["access_token"]) == 32 and alice_login["terminal_id"]


def test_manager_lists_the_users_homes_and_devices(manager: Manager, alice: Household) -> None:
    assert [(h.id, h.name) for h in manager.user_homes] == [(alice.home, "alice@example.com's home")]
    assert set(manager.device_map) == set(alice.devices.values())
    light = manager.device_map[alice.devices["dj"]]
    assert light.category == "dj" and light.online is True and light.set_up is True
    assert light.support_local is False  # statuses are read (and pushed) by code
    assert isinstance(light.status["switch_led"], bool)
    assert light.function["switch_led"].type == "Boolean"
    assert light.status_range["bright_value_v2"].type == "Integer"
