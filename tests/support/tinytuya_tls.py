"""tinytuya's ``Cloud`` against a test server: it only speaks HTTPS to ``openapi.tuya<region>.com``.

The server serves TLS with the certificate ``tuyacloud.tlscert`` makes (its SAN names every real endpoint host);
the test process trusts the generated CA through ``REQUESTS_CA_BUNDLE`` and routes the real names to the local
port by patching urllib3's ``create_connection`` in this test process only. Nothing of the server is patched.
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

from support import web
from support.server import ADMIN_TOKEN, CloudServer
from tuyacloud.regions import REGIONS
from tuyacloud.tlscert import TlsFiles

TUYA_HOSTS = {r.openapi_host for r in REGIONS.values()}


class TlsCloudServer(CloudServer):
    """The test server over HTTPS: its control API is reached over HTTPS too, trusting the generated CA."""

    def __init__(self, data_dir: Path, tls: TlsFiles, **overrides: Any) -> None:
        super().__init__(data_dir, **overrides)
        self._ssl = ssl.create_default_context(cafile=str(tls.ca_cert))

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def control(self, method: str, path: str, json: Any = None) -> Any:
        response = web.request(method, f"{self.url}/_tuyacloud{path}", json=json, timeout=30,
                               headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, verify=self._ssl)
        body = response.json()
        assert body["success"], body
        return body["result"]

    def control_raw(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        response = web.request(method, f"{self.url}/_tuyacloud{path}", json=json, timeout=30,
                               headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, verify=self._ssl)
        result: dict[str, Any] = response.json()
        return result

    def http(self) -> httpx.Client:
        """A plain HTTPS client trusting the generated CA (for URLs the server hands out)."""
        return web.client(verify=self._ssl, timeout=30)


def start_tls(data_dir: Path, tls: TlsFiles, **overrides: Any) -> TlsCloudServer:
    server = TlsCloudServer(data_dir, tls, **overrides)
    server.start(ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key))
    return server


def route_tuya_hosts(monkeypatch: pytest.MonkeyPatch, tls: TlsFiles, port: int) -> list[str]:
    """Send connections for the real endpoint names to 127.0.0.1:port; trust the generated CA."""
    original = urllib3.util.connection.create_connection
    seen: list[str] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host, target_port = address
        if host in TUYA_HOSTS and target_port == 443:
            seen.append(host)
            return original(("127.0.0.1", port), *args, **kwargs)
        return original(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_cert))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return seen


def tinytuya_cloud(project: dict[str, Any]) -> tinytuya.Cloud:
    """A connected ``tinytuya.Cloud`` for the project (its data center's real host name)."""
    c = tinytuya.Cloud(apiRegion=project.get("region", "us"), apiKey=project["access_id"],
                       apiSecret=project["access_secret"])
    assert c.error is None, c.error
    return c
