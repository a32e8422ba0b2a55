"""Helpers of the device-management tests (factory reset, freeze, gateways): clients and the outbox."""

from __future__ import annotations

from typing import Any

from tuya_iot import AuthType, TuyaDeviceManager, TuyaOpenAPI, TuyaOpenMQ, TuyaTokenInfo

from support.server import CloudServer
from support.signed import SignedClient


def sdk_ok(response: dict[str, Any] | None) -> Any:
    assert response is not None, "the SDK got a non-200 answer (it returns None then)"
    assert response["success"] is True, response
    return response["result"]


def sdk_code(response: dict[str, Any] | None) -> int:
    assert response is not None and response["success"] is False, response
    return int(response["code"])


def iot_py_manager(server: CloudServer, project: dict[str, Any], auth_type: AuthType) -> TuyaDeviceManager:
    """tuya-iot-py-sdk's device manager on the project's token, fetched and signed by the SDK itself (its
    ``connect()`` logs in users instead; see tests/e2e/test_e2e_iot_py.py)."""
    api = TuyaOpenAPI(server.url, project["access_id"], project["access_secret"], auth_type)
    response = api.get("/v1.0/token", {"grant_type": 1})
    sdk_ok(response)
    api.token_info = TuyaTokenInfo(response)
    return TuyaDeviceManager(api, TuyaOpenMQ(api))


def signed(server: CloudServer, project: dict[str, Any]) -> SignedClient:
    c = SignedClient(server.url, project["access_id"], project["access_secret"])
    assert c.connect()["success"]
    return c


def last_seq(server: CloudServer, access_id: str) -> int:
    seen = messages_after(server, access_id, 0)
    return seen[-1]["seq"] if seen else 0


def messages_after(server: CloudServer, access_id: str, after: int) -> list[dict[str, Any]]:
    """The project's messages after a sequence number, decrypted, in topic order (the control API's view)."""
    found: list[dict[str, Any]] = []
    while True:
        page = server.control("GET", f"/projects/{access_id}/messages?after={after}&limit=1000")
        found += page
        if len(page) < 1000:
            return found
        after = page[-1]["seq"]


def events_of(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(device id, bizCode or "report") of each message, in order."""
    return [(m["device_id"], m["data"]["bizCode"] if m["protocol"] == 20 else "report") for m in messages]
