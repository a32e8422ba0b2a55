"""Verify signature over HTTP, with requests captured from tuya-connector-python's own code path: a real request
verifies; tampering with the body, the timestamp or the client_id is reported as exactly that part."""

from __future__ import annotations

import hashlib
import html
import json
import re

import pytest

from support.connector_capture import Captured, capture_post
from support.console import ConsoleClient
from support.server import CloudServer


def _verify(client: ConsoleClient, c: Captured, **changes: str) -> str:
    header_changes = {k: v for k, v in changes.items() if k in ("t", "client_id")}
    form = {"method": c.method, "url": c.url, "headers": c.header_lines(**header_changes),
            "body": changes.get("body", c.body), "client_sts": changes.get("client_sts", "")}
    page = client.post_form("/console/verify", form)
    assert page.status_code == 200
    return page.text


def _verified(page: str) -> bool:
    return re.search(r'data-verified="(true|false)"', page).group(1) == "true"  # type: ignore[union-attr]


def _differs(page: str) -> list[str]:
    return [html.unescape(d) for d in re.findall(r'data-testid="differs">([^<]*)<', page)]


def _check(page: str, name: str) -> str:
    return re.search(rf'data-testid="check-{re.escape(name)}"\s+data-ok="(\w+)"', page).group(1)  # type: ignore


@pytest.fixture
def captured(console_server: CloudServer, monkeypatch: pytest.MonkeyPatch) -> Captured:
    project = console_server.create_project("Verify")
    device = console_server.add_devices(project["access_id"], "dj")[0]["id"]
    return capture_post(console_server, project, monkeypatch, f"/v1.0/devices/{device}/commands",
                    {"commands": [{"code": "switch_led", "value": True}]})


def test_a_real_connector_request_verifies(console_client: ConsoleClient, captured: Captured) -> None:
    page = _verify(console_client, captured)
    assert _verified(page), re.search(r'data-testid="summary">([^<]*)<', page)
    assert _differs(page) == []
    assert "current algorithm as documented" in page
    server_sts = html.unescape(re.search(r'data-testid="server-sts">([^<]*)<', page).group(1))  # type: ignore
    assert server_sts == captured.string_to_sign


def test_a_tampered_body_names_the_body(console_client: ConsoleClient, captured: Captured) -> None:
    tampered = captured.body.replace("true", "false")
    blind = _verify(console_client, captured, body=tampered)
    assert not _verified(blind)
    assert _check(blind, "body-hash-(Content-SHA256)") == "unknown"
    # with the string to sign the client logged, the differing part is exact, both hashes shown
    exact = _verify(console_client, captured, body=tampered, client_sts=captured.string_to_sign)
    assert not _verified(exact) and _differs(exact) == ["body"]
    assert _check(exact, "body-hash-(Content-SHA256)") == "false"
    assert hashlib.sha256(tampered.encode()).hexdigest() in exact
    assert hashlib.sha256(captured.body.encode()).hexdigest() in exact


def test_a_body_reserialised_after_signing_is_found_without_help(console_client: ConsoleClient,
                                                                  captured: Captured) -> None:
    compact = json.dumps(json.loads(captured.body), separators=(",", ":"))
    page = _verify(console_client, captured, body=compact)
    assert not _verified(page) and _differs(page) == ["body"]
    assert "Python json.dumps" in html.unescape(page)


def test_a_stale_timestamp_names_t(console_client: ConsoleClient, captured: Captured) -> None:
    stale = str(int(captured.headers["t"]) - 20 * 60 * 1000)
    page = _verify(console_client, captured, t=stale)
    assert not _verified(page) and _differs(page) == ["t"]
    assert _check(page, "t-(timestamp)") == "false"
    assert _check(page, "client_id") == "true"


def test_a_wrong_client_id_names_the_client_id(console_client: ConsoleClient, captured: Captured) -> None:
    original = captured.headers["client_id"]
    page = _verify(console_client, captured, client_id=original[:-1] + ("x" if original[-1] != "x" else "y"))
    assert not _verified(page) and _differs(page) == ["client_id"]
    assert _check(page, "client_id") == "false"
    cased = original.upper() if original.upper() != original else original.lower()
    assert "letter case differs" in _verify(console_client, captured, client_id=cased)


def test_the_form_and_pasting_json_headers(console_client: ConsoleClient, captured: Captured) -> None:
    assert console_client.get("/console/verify").status_code == 200
    form = {"method": captured.method, "url": captured.url, "headers": json.dumps(captured.headers),
            "body": captured.body + "\r\n"}  # what a textarea sends back: the pasted final newline, CRLF
    page = console_client.post_form("/console/verify", form)
    assert _verified(page.text)
    assert "paste artifact" in page.text
