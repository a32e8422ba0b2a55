"""tinytuya's ``Cloud`` against a test server: HTTPS under the real Tuya host names.

tinytuya builds only ``https://openapi.tuya<region>.com`` URLs. The server serves TLS with the certificate that
``tuyacloud.tlscert`` makes (its names include every real endpoint host); the test process trusts the generated CA
through ``REQUESTS_CA_BUNDLE`` and sends connections for the real names to the local port by wrapping urllib3's
``create_connection`` (in the test process only: SNI and the Host header stay the real name, nothing of the server
is patched). tests/e2e/test_e2e_tinytuya.py does the same with more checks of the routing itself.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
import tinytuya
import urllib3.util.connection

from support.server import ADMIN_TOKEN, CloudServer
from tuyacloud.regions import REGIONS
from tuyacloud.tlscert import TlsFiles

TUYA_HOSTS = {r.openapi_host for r in REGIONS.values()}


class TlsCloudServer(CloudServer):
    """The test server over HTTPS; its control API is reached over HTTPS too, trusting the generated CA."""

    def __init__(self, data_dir: Path, tls: TlsFiles, **overrides: Any) -> None:
        super().__init__(data_dir, **overrides)
        self.tls = tls
        self._ssl = ssl.create_default_context(cafile=str(tls.ca_cert))

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start_tls(self) -> TlsCloudServer:
        self.start(ssl_certfile=str(self.tls.cert), ssl_keyfile=str(self.tls.key))
        return self

    def control(self, method: str, path: str, json: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_tuyacloud{path}", json=json, timeout=30,
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, verify=self._ssl)
        body = response.json()
        assert body["success"], body
        return body["result"]


def route_tuya_hosts(monkeypatch: pytest.MonkeyPatch, tls: TlsFiles, port: int) -> None:
    """Connections for the real endpoint names go to 127.0.0.1:port; requests trusts the generated CA."""
    original = urllib3.util.connection.create_connection

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host, target_port = address
        if host in TUYA_HOSTS and target_port == 443:
            return original(("127.0.0.1", port), *args, **kwargs)
        return original(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_cert))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def tinytuya_cloud(project: dict[str, Any]) -> tinytuya.Cloud:
    """A connected ``tinytuya.Cloud`` for the project (its data center's real host name)."""
    c = tinytuya.Cloud(apiRegion=project["region"], apiKey=project["access_id"], apiSecret=project["access_secret"])
    assert c.error is None, c.error
    return c
