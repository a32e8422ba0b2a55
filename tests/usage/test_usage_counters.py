"""Usage counters per project, API and day: what the console's statistics will show."""

from __future__ import annotations

import time
from typing import Any

from support.server import CloudServer
from support.signed import SignedClient


def _usage(cloud: CloudServer, access_id: str) -> dict[str, tuple[int, int]]:
    rows: list[dict[str, Any]] = cloud.control("GET", f"/projects/{access_id}/usage")
    return {row["api"]: (row["calls"], row["failures"]) for row in rows}


def test_calls_and_failures_are_counted_per_api(cloud: CloudServer, project: dict[str, Any],
                                                client: SignedClient) -> None:
    device = cloud.add_devices(project["access_id"], "dj")[0]["id"]
    for _ in range(3):
        assert client.get(f"/v1.0/devices/{device}")["success"]
    bad = client.post(f"/v1.0/devices/{device}/commands", {"commands": [{"code": "switch_led", "value": 3}]})
    assert bad["code"] == 2008
    deadline = time.monotonic() + 5
    while True:
        usage = _usage(cloud, project["access_id"])
        if usage.get("POST /v1.0/devices/{device_id}/commands") == (1, 1) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert usage["GET /v1.0/devices/{device_id}"] == (3, 0)
    assert usage["POST /v1.0/devices/{device_id}/commands"] == (1, 1)
    assert usage["GET /v1.0/token"] == (1, 0)


def test_another_projects_usage_is_separate(cloud: CloudServer, client: SignedClient) -> None:
    other = cloud.create_project("Other")
    time.sleep(1.3)
    assert _usage(cloud, other["access_id"]) == {}
