"""A request exactly as tuya-connector-python sends it, and the string it signed: for the "verify signature" tests.

The request is recorded from the connector's own ``requests`` session (a response hook), and the signed string from
its own HMAC call (a spy on ``hmac.new`` in its module), so nothing is rebuilt by us.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests
import tuya_connector.openapi as connector_openapi
from tuya_connector import TuyaOpenAPI

from support.server import CloudServer


@dataclass
class Captured:
    method: str
    url: str
    headers: dict[str, str]
    body: str
    string_to_sign: str  # what the connector really signed, after client_id + access_token + t

    def header_lines(self, **changes: str) -> str:
        return "\n".join(f"{k}: {v}" for k, v in {**self.headers, **changes}.items())


def capture_post(cloud: CloudServer, project: dict[str, Any], monkeypatch: pytest.MonkeyPatch, path: str,
                 body: dict[str, Any]) -> Captured:
    """Let the connector connect and POST ``body`` to ``path``; return that POST as it went on the wire."""
    messages: list[str] = []
    real_new = connector_openapi.hmac.new

    def spy(key: bytes, msg: bytes, digestmod: Any) -> Any:
        messages.append(msg.decode())
        return real_new(key, msg=msg, digestmod=digestmod)

    monkeypatch.setattr(connector_openapi.hmac, "new", spy)
    sent: list[requests.PreparedRequest] = []
    api = TuyaOpenAPI(cloud.url, project["access_id"], project["access_secret"])
    api.session.hooks["response"].append(lambda response, *a, **k: sent.append(response.request))
    assert api.connect()["success"]
    result = api.post(path, body)
    assert result["success"], result
    request = sent[-1]
    raw = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
    prefix = project["access_id"] + api.token_info.access_token + request.headers["t"]
    assert messages[-1].startswith(prefix)
    return Captured(request.method or "", request.url or "", dict(request.headers), raw, messages[-1][len(prefix):])
