"""Shared helpers of the asset and user tests: signed calls that must succeed, user registration and login."""

from __future__ import annotations

import hashlib
from typing import Any

from support.signed import SignedClient


def ok(response: dict[str, Any]) -> Any:
    assert response["success"] is True, response
    return response["result"]


def device_log_events(c: Any, device_id: str) -> list[tuple[int, str]]:
    """A device's whole log as sorted (event id, code) pairs: what a test compares before and after a change."""
    result = ok(c.get(f"/v1.0/devices/{device_id}/logs",
                      {"type": "1,2,3,4,5,6,7", "start_time": 0, "end_time": 9_999_999_999_999, "size": 100}))
    return sorted((int(log["event_id"]), log.get("code", "")) for log in result["logs"])


def code(response: dict[str, Any]) -> int:
    assert response["success"] is False, response
    return int(response["code"])


def sha(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def add_asset(c: SignedClient, name: str, parent: str | None = None) -> str:
    body: dict[str, Any] = {"name": name}
    if parent is not None:
        body["parent_asset_id"] = parent
    return str(ok(c.post("/v1.0/iot-02/assets", body)))


def register(c: SignedClient, username: str, password: str = "secret", **extra: Any) -> str:
    return str(ok(c.post("/v1.0/iot-02/users", {"username": username, "password": sha(password),
                                                "country_code": "1", **extra}))["user_id"])


def login(c: SignedClient, username: str, password: str = "secret") -> SignedClient:
    """A client of the same project carrying the user's token."""
    result = ok(c.request("POST", "/v1.0/iot-03/users/login", json={"username": username, "password": sha(password)},
                          token=""))
    user = SignedClient(c.base_url, c.access_id, c.secret, host=c.host)
    user.access_token, user.refresh_token = result["access_token"], result["refresh_token"]
    return user


def walk(fetch: Any, key: str = "last_row_key", more: str = "has_next", items: str = "list") -> list[Any]:
    """Every item of a cursor-paged list: ``fetch(cursor)`` returns one page's result. The last page's cursor is
    empty, as the platform answers it, so a client following the cursor alone stops there too."""
    seen: list[Any] = []
    cursor = ""
    for _ in range(10_000):
        page = fetch(cursor)
        seen += page[items]
        if not page[more]:
            assert page[key] == "", f"the last page still names a cursor: {page[key]!r}"
            return seen
        assert page[key] and page[key] != cursor, page
        cursor = page[key]
    raise AssertionError("paging never ended")
