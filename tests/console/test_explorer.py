"""API Explorer over HTTP: the catalogue and generated form, a signed call through the real gateway (its token from
the real token call, its usage counted), the exact request shown, and refused input."""

from __future__ import annotations

import hashlib
import html
import re
import time
from pathlib import Path
from typing import Any

from support.console import ADMIN_PASSWORD, ConsoleClient
from support.server import CloudServer
from tuyacloud.signing import compute_signature, parse_query

DEVICE_API = "GET /v1.0/devices/{device_id}"
COMMANDS_API = "POST /v1.0/devices/{device_id}/commands"


def _testid(page: str, name: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(rf'data-testid="{re.escape(name)}"[^>]*>([^<]*)<', page)]


def _usage(cloud: CloudServer, access_id: str, api: str, calls: int) -> dict[str, tuple[int, int]]:
    deadline = time.monotonic() + 5
    while True:
        rows: list[dict[str, Any]] = cloud.control("GET", f"/projects/{access_id}/usage")
        usage = {r["api"]: (r["calls"], r["failures"]) for r in rows}
        if usage.get(api, (0, 0))[0] >= calls or time.monotonic() > deadline:
            return usage
        time.sleep(0.2)


def test_catalogue_and_form_hide_the_secret(console_server: CloudServer, console_client: ConsoleClient) -> None:
    project = console_server.create_project("Explorer catalogue")
    device = console_server.add_devices(project["access_id"], "dj")[0]["id"]
    page = console_client.get("/console/explorer", params={"project": project["access_id"], "api": COMMANDS_API})
    assert page.status_code == 200
    text = page.text
    assert project["access_secret"] not in text  # masked: signing happens on the server
    assert project["access_secret"][:4] + "•" in text
    for area in ("Token", "Devices (smart home)", "Devices (industry)", "Assets"):
        assert f"<summary>{area} " in text
    assert 'name="p.device_id"' in text and f'value="{device}"' in text  # the project's first device, prefilled
    body = html.unescape(re.search(r'data-testid="body">([^<]*)<', text).group(1))
    assert '"commands"' in body and '"code"' in body


def test_send_shows_signed_request_and_response_and_counts_usage(console_server: CloudServer,
                                                                 console_client: ConsoleClient) -> None:
    project = console_server.create_project("Explorer send")
    access_id = project["access_id"]
    device = console_server.add_devices(access_id, "dj")[0]["id"]
    page = console_client.post_form("/console/explorer/send",
                                    {"project": access_id, "api": DEVICE_API, "p.device_id": device})
    assert page.status_code == 200, page.text[:500]
    text = page.text
    assert _testid(text, "verdict")[0] == "success"
    response = _testid(text, "response")[0]
    assert f'"id": "{device}"' in response and '"success": true' in response
    # the token call went first, through the real token endpoint
    assert "GET /v1.0/token" in text and len(_testid(text, "response-earlier")) == 1
    # what is shown is what was signed: recompute it from the request line and headers shown
    line = _testid(text, "request-line")[0]
    method, url = line.split(" ", 1)
    assert method == "GET" and url.endswith(f"/v1.0/devices/{device}")
    sts = _testid(text, "string-to-sign")[0]
    assert sts == f"GET\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\n/v1.0/devices/{device}"
    headers = dict(re.findall(r'<td class="mono">([^<]+)</td><td class="mono wrap"[^>]*>([^<]*)</td>',
                              text.split('data-testid="exchange"')[1].split('data-testid="exchange-earlier"')[0]))
    expected = compute_signature(client_id=access_id, secret=project["access_secret"], method="GET",
                                 path=f"/v1.0/devices/{device}", query=parse_query(""), t=headers["t"],
                                 access_token=headers["access_token"], nonce=headers["nonce"])
    assert expected.sign == headers["sign"] == _testid(text, "signature")[0]
    assert expected.string_to_sign == sts
    usage = _usage(console_server, access_id, DEVICE_API, 1)
    assert usage[DEVICE_API] == (1, 0) and usage["GET /v1.0/token"] == (1, 0)

    # a second call reuses the token: no second token call
    again = console_client.post_form("/console/explorer/send",
                                     {"project": access_id, "api": DEVICE_API, "p.device_id": device})
    assert _testid(again.text, "verdict")[0] == "success"
    assert _testid(again.text, "response-earlier") == []
    usage = _usage(console_server, access_id, DEVICE_API, 2)
    assert usage[DEVICE_API] == (2, 0) and usage["GET /v1.0/token"] == (1, 0)


def test_send_a_command_with_a_body_and_a_failing_one(console_server: CloudServer,
                                                      console_client: ConsoleClient) -> None:
    project = console_server.create_project("Explorer command")
    access_id = project["access_id"]
    device = console_server.add_devices(access_id, "dj")[0]["id"]
    body = '{"commands": [{"code": "switch_led", "value": true}]}'
    ok = console_client.post_form("/console/explorer/send", {"project": access_id, "api": COMMANDS_API,
                                                             "p.device_id": device, "body": body})
    assert _testid(ok.text, "verdict")[0] == "success"
    assert "Content-Type" in ok.text
    assert _testid(ok.text, "string-to-sign")[0].split("\n")[1] == hashlib.sha256(body.encode()).hexdigest()
    bad = console_client.post_form("/console/explorer/send", {
        "project": access_id, "api": COMMANDS_API, "p.device_id": device,
        "body": '{"commands": [{"code": "switch_led", "value": 3}]}'})
    assert _testid(bad.text, "verdict")[0] == "failed: code 2008"
    usage = _usage(console_server, access_id, COMMANDS_API, 2)
    assert usage[COMMANDS_API] == (2, 1)


def test_token_api_and_query_parameters(console_server: CloudServer, console_client: ConsoleClient) -> None:
    project = console_server.create_project("Explorer token")
    page = console_client.post_form("/console/explorer/send", {"project": project["access_id"],
                                                               "api": "GET /v1.0/token", "p.grant_type": "1"})
    assert _testid(page.text, "verdict")[0] == "success"
    assert _testid(page.text, "request-line")[0].endswith("/v1.0/token?grant_type=1")
    assert _testid(page.text, "response-earlier") == []  # a token call needs no token first


def test_refused_input(console_server: CloudServer, console_client: ConsoleClient) -> None:
    project = console_server.create_project("Explorer refusals")
    missing = console_client.post_form("/console/explorer/send", {"project": project["access_id"],
                                                                  "api": DEVICE_API, "p.device_id": ""})
    assert missing.status_code == 400 and "device_id is required" in missing.text
    unknown = console_client.post_form("/console/explorer/send", {"project": project["access_id"],
                                                                  "api": "GET /v9/nothing"})
    assert unknown.status_code == 400 and "no API" in html.unescape(unknown.text)
    no_project = console_client.post_form("/console/explorer/send", {"project": "nope", "api": DEVICE_API,
                                                                     "p.device_id": "x"})
    assert no_project.status_code == 400
    not_json = console_client.post_form("/console/explorer/send", {
        "project": project["access_id"], "api": COMMANDS_API, "p.device_id": "x", "body": "{not json"})
    assert not_json.status_code == 200 and "failed: code" in not_json.text  # the gateway's own answer is shown


def test_a_project_in_another_data_center(console_server: CloudServer, console_client: ConsoleClient) -> None:
    """The server's default data center is us; an eu project's calls carry its data center's host name."""
    project = console_server.create_project("Explorer eu", region="eu")
    device = console_server.add_devices(project["access_id"], "dj")[0]["id"]
    page = console_client.post_form("/console/explorer/send", {"project": project["access_id"], "api": DEVICE_API,
                                                               "p.device_id": device})
    assert _testid(page.text, "verdict")[0] == "success"
    assert "openapi.tuyaeu.com" in page.text


def test_the_prefilled_command_is_one_the_device_accepts(console_server: CloudServer,
                                                         console_client: ConsoleClient) -> None:
    project = console_server.create_project("Explorer prefill")
    for category in ("cz", "kt", "cl"):
        device = console_server.add_devices(project["access_id"], category)[0]["id"]
        page = console_client.get("/console/explorer", params={"project": project["access_id"], "api": COMMANDS_API,
                                                               "device": device})
        body = html.unescape(re.search(r'data-testid="body">([^<]*)<', page.text).group(1))  # type: ignore
        sent = console_client.post_form("/console/explorer/send", {"project": project["access_id"],
                                                                   "api": COMMANDS_API, "p.device_id": device,
                                                                   "body": body})
        verdict = _testid(sent.text, "verdict")[0]
        assert verdict == "success", (category, body, verdict)


def test_one_http_client_serves_the_servers_lifetime_and_is_closed_at_shutdown(tmp_path: Path) -> None:
    server = CloudServer(tmp_path, console_admin_password=ADMIN_PASSWORD, simulator=False).start()
    console = ConsoleClient(server.url)
    try:
        assert console.login("admin", ADMIN_PASSWORD).status_code == 303
        project = server.create_project("Explorer client")
        device = server.add_devices(project["access_id"], "dj")[0]["id"]
        explorer = server.app.state.console.explorer
        assert explorer.http is None  # nothing made before the first call
        made = []
        for _ in range(3):
            page = console.post_form("/console/explorer/send",
                                     {"project": project["access_id"], "api": DEVICE_API, "p.device_id": device})
            assert _testid(page.text, "verdict")[0] == "success"
            made.append(explorer.http)
        assert made[0] is not None and all(client is made[0] for client in made), made
        assert not made[0].is_closed
    finally:
        console.close()
        server.stop()
    assert made[0].is_closed and explorer.http is None
