"""A NUL in a path, a query value or a JSON string answers 1109 on every face, never 500.

PostgreSQL's text cannot hold a NUL: a lookup with one failed in the driver (``CharacterNotInRepertoireError``), and
the control API and the device-sharing login answered ``500 system error`` with a traceback in the log for each
such request (the OpenAPI refused NULs at its edge already). SQLite stored or looked them up; the answer must be the
same on both engines, so these run on both.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from support import web
from support.server import ADMIN_TOKEN, CloudServer

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LOGIN = "/v1.0/m/life/home-assistant/qrcode/tokens"


def _answer(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, (response.status_code, response.text[:300])
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/_tuyacloud/app-users/%00/user-code", None),
    ("POST", "/_tuyacloud/sharing/logins/%00/approve", None),
    ("GET", "/_tuyacloud/devices/%00/timers", None),
    ("POST", "/_tuyacloud/devices/x/report", {"status": {"\x00": "\x00"}}),
    ("POST", "/_tuyacloud/projects", {"name": "a\x00b"}),
    ("GET", "/_tuyacloud/projects/x/messages?after=%00", None),
], ids=["user-code", "approve", "timers", "report-body", "project-name", "query"])
def test_the_control_api_refuses_nul(cloud: CloudServer, method: str, path: str, body: Any,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="tuyacloud")
    answer = _answer(web.request(method, cloud.url + path, json=body, headers=ADMIN, timeout=10))
    assert answer["success"] is False and answer["code"] == 1109, answer
    assert "NUL characters are not allowed" in answer["detail"], answer
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.mark.parametrize("target", [
    ("POST", LOGIN + "?clientid=HA&usercode=%00"),
    ("POST", LOGIN + "?clientid=%00&usercode=abc"),
    ("GET", LOGIN + "/%00?clientid=HA&usercode=abc"),
    ("GET", "/v1.1/m/life/%00/specifications"),
], ids=["usercode", "clientid", "qrcode", "signed-path"])
def test_the_sharing_api_refuses_nul(cloud: CloudServer, target: tuple[str, str],
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="tuyacloud")
    method, path = target
    answer = _answer(web.request(method, cloud.url + path, timeout=10))
    assert answer["success"] is False and answer["code"] == 1109, answer
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
