"""The console's part of Home Assistant's login: an app user's user code on the Apps & Homes page, a pending QR
login listed there and approved (or refused) with a button; only the project's own app users' logins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import web
from support.console import ADMIN_PASSWORD, ConsoleClient
from support.server import CloudServer
from support.sharing import HA_CLIENT_ID, HA_SCHEMA, household, new_project

LOGIN = "/v1.0/m/life/home-assistant/qrcode/tokens"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    s = CloudServer(tmp_path_factory.mktemp("sharing-console"), console_admin_password=ADMIN_PASSWORD,
                    create_demo=False, simulator=False).start()
    yield s
    s.stop()


@pytest.fixture
def console(server: CloudServer) -> Iterator[ConsoleClient]:
    client = ConsoleClient(server.url)
    assert client.login("admin", ADMIN_PASSWORD).status_code == 303
    yield client
    client.close()


def _start(server: CloudServer, user_code: str) -> str:
    """Home Assistant's first call (plain HTTP here; the SDK's own run is in test_sharing_sdk.py)."""
    answer = web.post(f"{server.url}{LOGIN}", params={"clientid": HA_CLIENT_ID, "usercode": user_code,
                                                         "schema": HA_SCHEMA}).json()
    assert answer["success"], answer
    return str(answer["result"]["qrcode"])


def _poll(server: CloudServer, qrcode: str, user_code: str) -> dict[str, Any]:
    answer: dict[str, Any] = web.get(f"{server.url}{LOGIN}/{qrcode}",
                                     params={"clientid": HA_CLIENT_ID, "usercode": user_code}).json()
    return answer


def test_the_console_shows_user_codes_and_approves_a_login(server: CloudServer, console: ConsoleClient,
                                                           tmp_path: Path) -> None:
    sh = new_project(server)
    carol = household(server, sh, "carol@example.com", ("dj",))
    page = console.get(f"/console/projects/{sh.project['access_id']}/apps")
    assert page.status_code == 200 and carol.user_code in page.text and "No login is waiting" in page.text
    qrcode = _start(server, carol.user_code)
    waiting = _poll(server, qrcode, carol.user_code)
    assert waiting["code"] == 1106 and "waiting for approval" in waiting["detail"]
    page = console.get(f"/console/projects/{sh.project['access_id']}/apps")
    assert qrcode in page.text
    done = console.post_form(f"/console/projects/{sh.project['access_id']}/apps/logins/{qrcode}/approve")
    assert done.status_code == 303, done.text[:500]
    answer = _poll(server, qrcode, carol.user_code)
    assert answer["success"] is True and answer["result"]["uid"] == carol.uid
    assert answer["result"]["endpoint"] == server.url
    # refused in the console: the poll says so
    qrcode = _start(server, carol.user_code)
    assert console.post_form(f"/console/projects/{sh.project['access_id']}/apps/logins/{qrcode}/refuse"
                             ).status_code == 303
    refused = _poll(server, qrcode, carol.user_code)
    assert refused["code"] == 1106 and "refused" in refused["detail"]


def test_another_projects_page_cannot_approve_the_login(server: CloudServer, console: ConsoleClient) -> None:
    mine, other = new_project(server), new_project(server)
    dave = household(server, mine, "dave@example.com", ("cz",))
    qrcode = _start(server, dave.user_code)
    refused = console.post_form(f"/console/projects/{other.project['access_id']}/apps/logins/{qrcode}/approve")
    assert refused.status_code == 400 and "permission deny" in refused.text
    assert "waiting for approval" in _poll(server, qrcode, dave.user_code)["detail"]
