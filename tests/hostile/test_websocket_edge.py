"""The message service's upgrade as a hostile client sees it: refusals are answered and logged as refusals (not
as ASGI errors), subscription names are checked, an over-long request line is answered rather than dropped, and
frames over the JSON limits are dropped without disturbing the consumer."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import websocket

from support.hostile import exchange
from support.pulsar import open_socket, password_for
from support.server import CloudServer

UPGRADE = ("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n")


@pytest.fixture
def creds(cloud: CloudServer) -> tuple[str, str]:
    project = cloud.create_project(name="ws edge")
    return project["access_id"], project["access_secret"]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_errors() -> Iterator[list[logging.LogRecord]]:
    """ERROR records of uvicorn's logger (it does not propagate to the root logger pytest captures)."""
    handler = _Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def test_a_refused_upgrade_logs_no_asgi_error(cloud: CloudServer, creds: tuple[str, str],
                                              server_errors: list[logging.LogRecord]) -> None:
    access_id, _ = creds
    for password in ("", "0123456789abcdef"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            open_socket(cloud.port, access_id, password).close()
        assert refused.value.status_code == 401
    errors = [r.getMessage() for r in server_errors if r.levelno >= logging.ERROR]
    assert errors == []


@pytest.mark.parametrize("subscription", ["bad%00name", "sp%20ace", "x" * 129, "%E2%9C%93"])
def test_subscription_names_are_validated(cloud: CloudServer, creds: tuple[str, str], subscription: str) -> None:
    access_id, secret = creds
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        open_socket(cloud.port, access_id, password_for(access_id, secret), subscription=subscription).close()
    assert refused.value.status_code == 400
    body = refused.value.resp_body
    assert b"subscription name" in (body if isinstance(body, bytes) else str(body).encode())


def test_an_upgrade_request_line_over_8_kib_is_answered(cloud: CloudServer, creds: tuple[str, str]) -> None:
    access_id, secret = creds
    target = f"/ws/v2/consumer/persistent/{access_id}/out/event/{access_id}-sub?pad={'a' * 9000}"
    extra = f"username: {access_id}\r\npassword: {password_for(access_id, secret)}\r\n"
    answer = exchange(cloud.port, UPGRADE.format(target=target, extra=extra).encode(), timeout=10)
    assert answer is not None, "no answer"
    assert answer.status == 414 and b"request line is longer" in answer.body


def test_deep_frames_are_dropped_and_the_consumer_keeps_going(cloud: CloudServer, creds: tuple[str, str]) -> None:
    access_id, secret = creds
    ws = open_socket(cloud.port, access_id, password_for(access_id, secret))
    try:
        ws.send("[" * 990 + "]" * 990)
        ws.send('{"messageId": ' + "[" * 40 + "]" * 40 + "}")
        ws.ping(b"still there?")
        opcode, frame = ws.recv_data_frame(True)
        assert opcode == websocket.ABNF.OPCODE_PONG and frame.data == b"still there?"
    finally:
        ws.close()
