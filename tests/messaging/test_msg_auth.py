"""Who may open a consumer: the upgrade is refused with HTTP 401 and a reason for a wrong password, missing
headers, an unknown or foreign tenant, an unknown topic and another data center's host; the right credentials
connect (with connector-py's duplicated ``Connection: Upgrade`` header) and show up as a consumer.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import websocket

from support.pulsar import open_socket, password_for
from support.server import CloudServer


def _refusal(port: int, access_id: str, password: str, **options: Any) -> tuple[int, str]:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        ws = open_socket(port, access_id, password, **options)
        ws.close()
    body = refused.value.resp_body
    return refused.value.status_code, body.decode() if isinstance(body, bytes) else str(body)


@pytest.fixture
def creds(cloud: CloudServer) -> tuple[str, str]:
    project = cloud.create_project(name="msg auth")
    return project["access_id"], project["access_secret"]


def test_wrong_or_missing_password_is_refused_with_401_and_a_reason(cloud: CloudServer,
                                                                      creds: tuple[str, str]) -> None:
    access_id, secret = creds
    status, body = _refusal(cloud.port, access_id, "0123456789abcdef")
    assert status == 401 and "wrong password" in body
    # md5 of the secret alone (a plausible client mistake) is refused too.
    status, body = _refusal(cloud.port, access_id, password_for("", secret))
    assert status == 401 and "wrong password" in body
    status, body = _refusal(cloud.port, access_id, "")
    assert status == 401 and "password" in body


def test_unknown_or_foreign_tenant_is_refused(cloud: CloudServer, creds: tuple[str, str]) -> None:
    access_id, secret = creds
    other = cloud.create_project(name="msg auth other")
    unknown = "x" * 20
    status, body = _refusal(cloud.port, unknown, password_for(unknown, secret))
    assert status == 401 and "unknown Access ID" in body
    # Right credentials, but the topic of another project.
    status, body = _refusal(cloud.port, access_id, password_for(access_id, secret), tenant=other["access_id"])
    assert status == 401 and "tenant" in body


@pytest.mark.parametrize(("namespace", "env"), [("out", "events"), ("in", "event"), ("out", "prod")])
def test_unknown_topic_is_refused(cloud: CloudServer, creds: tuple[str, str], namespace: str, env: str) -> None:
    access_id, secret = creds
    status, body = _refusal(cloud.port, access_id, password_for(access_id, secret), namespace=namespace, env=env)
    assert status == 401 and "unknown topic" in body and f"{namespace}/{env}" in body


def test_another_data_centers_host_is_refused(cloud: CloudServer, creds: tuple[str, str]) -> None:
    access_id, secret = creds  # a "us" project
    status, body = _refusal(cloud.port, access_id, password_for(access_id, secret),
                            host="mqe.tuyaeu.com:8285")
    assert status == 401 and "data center" in body


def test_right_credentials_connect_and_are_listed_as_the_active_consumer(cloud: CloudServer,
                                                                           creds: tuple[str, str]) -> None:
    access_id, secret = creds
    ws = open_socket(cloud.port, access_id, password_for(access_id, secret),
                     host="mqe.tuyaus.com:8285")
    try:
        assert ws.getstatus() == 101
        deadline = time.monotonic() + 5
        while True:
            subs = cloud.control("GET", f"/projects/{access_id}/subscriptions")
            event = next(s for s in subs if s["env"] == "event")
            if event["consumers"] and event["consumers"][0]["active"] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert event["subscription"] == f"{access_id}-sub"
        assert event["topic"] == f"persistent://{access_id}/out/event"
        assert [c["active"] for c in event["consumers"]] == [True]
        assert event["consumers"][0]["address"] == "127.0.0.1"
        assert next(s for s in subs if s["env"] == "event-test")["consumers"] == []
        # An Exclusive subscription refuses a second consumer while the first is connected.
        status, body = _refusal(cloud.port, access_id, password_for(access_id, secret), sub_type="Exclusive")
        assert status == 409 and "Exclusive" in body
    finally:
        ws.close()
