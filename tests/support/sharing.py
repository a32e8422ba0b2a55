"""Shared helpers of the device-sharing tests: tuyacloud over HTTPS under the SDK's hard-coded login host.

tuya-device-sharing-sdk logs in at ``https://apigw.iotbing.com`` and then calls the ``endpoint`` the login
answers (this server's URL as the client reached it). The server serves TLS with the certificate
``tuyacloud.tlscert`` makes (it names that host); the test process trusts the generated CA (``REQUESTS_CA_BUNDLE``
for requests, ``SSL_CERT_FILE`` for httpx) and routes the host to the local port by patching urllib3's
``create_connection`` in this process only. Nothing of the server or of the SDK is patched.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import urllib3.util.connection
from tuya_sharing import CustomerDevice, LoginControl, Manager, SharingDeviceListener, SharingTokenListener

from support.server import CloudServer
from support.smarthome import SmartHomeProject, add_home_device, create_home, smart_home_project, sync_user
from tuyacloud.tlscert import SHARING_LOGIN_HOSTS, TlsFiles

# What Home Assistant's Tuya integration sends (homeassistant/components/tuya/const.py).
HA_CLIENT_ID = "HA_3y9q4ak7g4ephrvke"
HA_SCHEMA = "haauthorize"
LOGIN_HOST = "apigw.iotbing.com"


class TlsCloudServer(CloudServer):
    """The test server over HTTPS; the helpers reach it over HTTPS too (the CA is trusted by the environment)."""

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def start_tls(data_dir: Path, tls: TlsFiles, **overrides: Any) -> CloudServer:
    server = TlsCloudServer(data_dir, **overrides)
    return server.start(ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key))


@contextmanager
def routed(tls: TlsFiles, port: int) -> Iterator[list[str]]:
    """Connections to the SDK's login host go to 127.0.0.1:port; the generated CA is trusted."""
    original = urllib3.util.connection.create_connection
    seen: list[str] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host, target_port = address
        if host in SHARING_LOGIN_HOSTS and target_port == 443:
            seen.append(host)
            return original(("127.0.0.1", port), *args, **kwargs)
        return original(address, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(urllib3.util.connection, "create_connection", create_connection)
        mp.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_cert))
        mp.setenv("SSL_CERT_FILE", str(tls.ca_cert))
        mp.delenv("CURL_CA_BUNDLE", raising=False)
        yield seen


@dataclass
class Household:
    """An app user with a home, its rooms and devices, in a smart-home project."""

    sh: SmartHomeProject
    username: str
    uid: str
    home: str
    devices: dict[str, str]  # category -> device id
    user_code: str = ""


def household(server: CloudServer, sh: SmartHomeProject, username: str, categories: tuple[str, ...],
              room: str = "Living room") -> Household:
    uid = sync_user(sh.client, sh.schema, username)
    home = create_home(sh.client, uid, name=f"{username}'s home", rooms=[room])
    rooms = sh.client.get(f"/v1.0/homes/{home}/rooms")["result"]["rooms"]
    found = {cat: add_home_device(server, sh.project["access_id"], uid, home, cat,
                                  room_id=str(rooms[0]["room_id"]) if i == 0 else "")["id"]
             for i, cat in enumerate(categories)}
    code = server.control("GET", f"/app-users/{uid}/user-code")["user_code"]
    return Household(sh, username, uid, home, found, code)


def new_project(server: CloudServer) -> SmartHomeProject:
    return smart_home_project(server, name="Home Assistant")


class TokenListener(SharingTokenListener):
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    def update_token(self, token_info: dict[str, Any]) -> None:
        self.updates.append(token_info)


@dataclass
class DeviceListener(SharingDeviceListener):
    updates: list[tuple[str, list[str], dict[str, Any]]] = field(default_factory=list)

    def update_device(self, device: CustomerDevice, updated_status_properties: list[str] | None = None,
                      dp_timestamps: dict[Any, Any] | None = None) -> None:
        self.updates.append((device.id, list(updated_status_properties or []), dict(device.status)))

    def add_device(self, device: CustomerDevice) -> None:
        pass

    def remove_device(self, device_id: str) -> None:
        pass

    __hash__ = object.__hash__


def qr_login(server: CloudServer, user_code: str) -> dict[str, Any]:
    """Home Assistant's config flow: a QR code for the user code, approval (the app's part, here the control
    API), then the poll on Submit."""
    control = LoginControl()
    answer = control.qr_code(HA_CLIENT_ID, HA_SCHEMA, user_code)
    assert answer["success"], answer
    qrcode = answer["result"]["qrcode"]
    done, info = control.login_result(qrcode, HA_CLIENT_ID, user_code)
    assert not done and info["code"] == 1106 and "waiting for approval" in info["detail"], info
    server.control("POST", f"/sharing/logins/{qrcode}/approve")
    done, info = control.login_result(qrcode, HA_CLIENT_ID, user_code)
    assert done, info
    return info


def manager_of(user_code: str, info: dict[str, Any], tokens: SharingTokenListener | None = None) -> Manager:
    """What Home Assistant's ``async_setup_entry`` builds from the config entry."""
    token_info = {k: info[k] for k in ("t", "uid", "expire_time", "access_token", "refresh_token")}
    return Manager(HA_CLIENT_ID, user_code, info["terminal_id"], info["endpoint"], token_info, tokens)
