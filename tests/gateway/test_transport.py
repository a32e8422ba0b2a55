"""The server's transport joins a connection's writes per loop turn (tuyacloud/coalescing.py): responses still
arrive whole, in order, and before the connection closes; WebSocket frames likewise (tests/messaging)."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from support.hostile import connect, exchange, parse_answer, read_answer
from support.server import CloudServer
from support.signed import SignedClient


def _exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_pipelined_requests_get_whole_responses_in_order_and_close_flushes(cloud: CloudServer) -> None:
    request = (b"GET /v1.0/token?grant_type=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nclient_id: nobody%d\r\n"
               b"sign: 00\r\nt: 1\r\n%s\r\n")
    raw = request % (1, b"") + request % (2, b"") + request % (3, b"Connection: close\r\n")
    answer = _exchange(cloud.port, raw)
    responses = answer.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert len(responses) == 3, answer[:500]
    for response in responses:
        head, _, body = response.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        assert len(body) >= length and body[:length].startswith(b"{") and body[:length].endswith(b"}")
        assert b'"success":false' in body[:length]


# --- the protocol's direct route to the gateway (tuyacloud/connections.py): HTTP framing on signed requests --------
LIGHT_ON = b'{"commands":[{"code":"switch_led","value":true}]}'


@pytest.fixture
def light(cloud: CloudServer, project: dict[str, Any], client: SignedClient) -> str:
    device_id: str = cloud.add_devices(project["access_id"], "dj")[0]["id"]
    return device_id


def _head(client: SignedClient, method: str, path: str, body: bytes = b"", *, length: bool = True,
          extra: bytes = b"", version: bytes = b"1.1") -> bytes:
    """A signed request head in raw bytes; with ``length`` False the caller frames the body itself."""
    headers = client.headers(method, path, body=body)
    lines = [b"%s %s HTTP/%s" % (method.encode(), path.encode(), version), b"Host: 127.0.0.1",
             *(f"{k}: {v}".encode() for k, v in headers.items())]
    if body and length:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n" + extra + b"\r\n"


def _status_of(client: SignedClient, device_id: str) -> dict[str, Any]:
    body = client.get(f"/v1.0/devices/{device_id}/status")
    assert body["success"], body
    return {s["code"]: s["value"] for s in body["result"]}


def test_expect_100_continue_is_answered_before_the_body_is_sent(client: SignedClient, cloud: CloudServer,
                                                                  light: str) -> None:
    path = f"/v1.0/devices/{light}/commands"
    with connect(cloud.port) as sock:
        sock.sendall(_head(client, "POST", path, LIGHT_ON, extra=b"Expect: 100-continue\r\n"))
        sock.settimeout(10)
        interim = sock.recv(65536)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n", interim
        sock.sendall(LIGHT_ON)
        answer = read_answer(sock)
    assert answer is not None and answer.status == 200 and answer.json()["success"], answer
    assert _status_of(client, light)["switch_led"] is True


def test_a_chunked_body_sent_in_pieces_is_read_whole(client: SignedClient, cloud: CloudServer, light: str) -> None:
    path = f"/v1.0/devices/{light}/commands"
    first, second = LIGHT_ON[:20], LIGHT_ON[20:]
    with connect(cloud.port) as sock:
        sock.sendall(_head(client, "POST", path, LIGHT_ON, length=False, extra=b"Transfer-Encoding: chunked\r\n")
                     + b"%x\r\n%s\r\n" % (len(first), first))
        time.sleep(0.3)  # the request's task waits for the rest of the body
        sock.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(second), second))
        answer = read_answer(sock)
    assert answer is not None and answer.status == 200 and answer.json()["success"], answer
    assert not answer.closed


def test_head_is_answered_without_a_body_and_the_connection_stays_usable(client: SignedClient, cloud: CloudServer,
                                                                         light: str) -> None:
    path = f"/v1.0/devices/{light}/status"
    with connect(cloud.port) as sock:
        sock.sendall(_head(client, "HEAD", path))
        sock.settimeout(10)
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += sock.recv(1)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-length: " in head, head
        sock.sendall(_head(client, "GET", path))
        answer = read_answer(sock)  # the next answer starts right after the head: no body was sent for HEAD
    assert answer is not None and answer.status == 200 and answer.json()["success"], answer


def test_http_1_0_and_connection_close_are_answered_then_closed(client: SignedClient, cloud: CloudServer,
                                                                light: str) -> None:
    path = f"/v1.0/devices/{light}/status"
    for raw in (_head(client, "GET", path, version=b"1.0"), _head(client, "GET", path, extra=b"Connection: close\r\n")):
        answer = exchange(cloud.port, raw)
        assert answer is not None and answer.status == 200 and answer.json()["success"], answer
        assert answer.headers.get("connection") == "close" and answer.closed, answer


def test_signed_requests_pipelined_on_one_connection_are_answered_in_order(client: SignedClient, cloud: CloudServer,
                                                                          light: str) -> None:
    status, command = f"/v1.0/devices/{light}/status", f"/v1.0/devices/{light}/commands"
    raw = (_head(client, "GET", status) + _head(client, "POST", command, LIGHT_ON) + LIGHT_ON
           + _head(client, "GET", status, extra=b"Connection: close\r\n"))
    raw_answers = _exchange(cloud.port, raw)  # read until the server closes (after the third)
    answers = []
    while raw_answers:
        answer = parse_answer(raw_answers, closed=False)
        assert answer is not None and answer.status == 200, raw_answers[:300]
        answers.append(answer.json())
        raw_answers = raw_answers[raw_answers.index(b"\r\n\r\n") + 4 + len(answer.body):]
    assert len(answers) == 3 and all(a["success"] for a in answers), answers
    assert answers[1]["result"] is True
    assert {s["code"]: s["value"] for s in answers[2]["result"]}["switch_led"] is True
