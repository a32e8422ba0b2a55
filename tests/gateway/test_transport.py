"""The server's transport joins a connection's writes per loop turn (tuyacloud/coalescing.py): responses still
arrive whole, in order, and before the connection closes; WebSocket frames likewise (tests/messaging)."""

from __future__ import annotations

import socket

from support.server import CloudServer


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
