"""The last page of every device-log list answers an empty cursor with ``has_next``/``has_more`` false, as the
platform does, so a client that follows the cursor alone (stops when it is empty) makes no extra call; a page with
more to come names its cursor. The other cursor lists are walked the same way in tests/users/test_custom_paging.py
and tests/e2e/test_e2e_connector.py (through ``walk`` and ``_walk``, which assert the same)."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from support.server import CloudServer
from support.signed import SignedClient

COMMANDS = 7
SIZE = 3

LOG_LISTS = [  # path template, query, the "more" key, the cursor key, the entries key
    ("/v1.0/devices/{}/logs", {"type": "5,7"}, "has_next", "next_row_key", "logs"),
    ("/v2.0/cloud/thing/{}/logs", {"type": "5,7"}, "has_next", "next_row_key", "logs"),
    ("/v1.0/iot-03/devices/{}/logs", {"event_types": "5,7"}, "has_more", "last_row_key", "list"),
    ("/v1.0/iot-03/devices/{}/report-logs", {"codes": "bright_value_v2"}, "has_more", "last_row_key", "logs"),
    ("/v2.0/cloud/thing/{}/report-logs", {"codes": "bright_value_v2"}, "has_more", "last_row_key", "logs"),
]


@pytest.fixture(scope="module")
def logged(cloud: CloudServer) -> tuple[SignedClient, str]:
    """A light with a few commands (and the reports they cause) in its logs."""
    project = cloud.create_project(name="cursor")
    client = SignedClient(cloud.url, project["access_id"], project["access_secret"])
    assert client.connect()["success"]
    light = cloud.add_devices(project["access_id"], "dj")[0]["id"]
    for n in range(COMMANDS):
        body = client.post(f"/v1.0/devices/{light}/commands",
                           {"commands": [{"code": "bright_value_v2", "value": 100 + n}]})
        assert body["success"], body
    return client, light


def _window() -> dict[str, int]:
    now = int(time.time() * 1000)
    return {"start_time": now - 3_600_000, "end_time": now + 3_600_000}


@pytest.mark.parametrize(("path", "query", "more", "cursor_key", "entries"), LOG_LISTS,
                         ids=[p for p, *_ in LOG_LISTS])
def test_following_the_cursor_alone_ends_on_the_last_page(logged: tuple[SignedClient, str], path: str,
                                                          query: dict[str, str], more: str, cursor_key: str,
                                                          entries: str) -> None:
    client, light = logged
    url = path.format(light)
    window = _window()
    everything = client.get(url, {**query, **window, "size": 100})
    assert everything["success"], everything
    total = len(everything["result"][entries])
    assert total > SIZE, f"{total} entries: too few to need more than one page"
    assert everything["result"][more] is False and everything["result"][cursor_key] == ""

    seen: list[Any] = []
    calls, cursor = 0, ""
    while True:
        body = client.get(url, {**query, **window, "size": SIZE, **({"last_row_key": cursor} if cursor else {})})
        assert body["success"], body
        calls += 1
        result = body["result"]
        seen += result[entries]
        cursor = result[cursor_key]
        assert bool(cursor) is result[more], result  # a cursor exactly while more pages follow
        if not cursor:
            break
        assert calls < 100
    assert calls == math.ceil(total / SIZE), "one call per page, none after the last"
    assert seen == everything["result"][entries]
