"""A NUL in a console path, query value or form field answers 400 before any page runs, on both engines.

PostgreSQL's text cannot hold a NUL: a project or device lookup with one failed in the driver and the page answered
``500 Internal Server Error`` (the project edit form stored one on SQLite). The gate refuses it, as the OpenAPI's
edge does (1109).
"""

from __future__ import annotations

from typing import Any

from support.console import ConsoleClient
from support.server import CloudServer


def test_a_nul_anywhere_in_a_console_request_answers_400(console_server: CloudServer,
                                                         console_client: ConsoleClient) -> None:
    project: dict[str, Any] = console_server.create_project(name="NUL checks")
    access_id = project["access_id"]
    device = console_server.add_devices(access_id, "dj")[0]["id"]
    assert console_client.get(f"/console/projects/{access_id}/devices/{device}").status_code == 200
    refused = [
        console_client.get("/console/projects/%00/devices"),
        console_client.get(f"/console/projects/{access_id}/devices/%00"),
        console_client.get(f"/console/projects/{access_id}/devices", params={"q": "a\x00"}),
        console_client.post_form(f"/console/projects/{access_id}/edit", {"name": "a\x00b"}),
        console_client.post_form(f"/console/projects/{access_id}/devices/{device}/command",
                                 {"code": "switch_led", "value": "\x00"}),
    ]
    for response in refused:
        assert response.status_code == 400, (response.request.url, response.status_code, response.text[:200])
        assert "NUL characters are not allowed" in response.text
    # the project's name did not change, and the console still answers
    assert console_client.get(f"/console/projects/{access_id}").status_code == 200
    assert "a\x00b" not in console_client.get("/console/projects").text
