"""The control client's one kept-alive connection: a server that has closed it while it sat idle (uvicorn closes
an idle keep-alive after five seconds) costs nothing, the next call opens a new one, and no call is ever sent
twice. The server here is a bare HTTP/1.1 one that drops every connection right after its answer without saying so
(no ``Connection: close``), the worst case of that; the client must never send a request onto a dead connection."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from tuyacloud.testing import ControlClient, ControlError


class DroppingHandler(socketserver.StreamRequestHandler):
    """Answers one request per connection, then closes it."""

    seen: list[str]

    def handle(self) -> None:
        request_line = self.rfile.readline().decode().strip()
        length = 0
        while (line := self.rfile.readline().decode().strip()):
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append(f"{request_line} {body.decode()}")  # type: ignore[attr-defined]
        ok = "/fail" not in request_line
        answer = json.dumps({"success": ok, "result": len(self.server.seen), "code": 1109,  # type: ignore[attr-defined]
                             "msg": "refused"}).encode()
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(answer)).encode() + b"\r\n\r\n" + answer)
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def dropping_server() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), DroppingHandler)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_connection_the_server_closed_is_replaced_and_no_call_is_sent_twice(
        dropping_server: socketserver.ThreadingTCPServer) -> None:
    port = dropping_server.server_address[1]
    with ControlClient(f"http://127.0.0.1:{port}", "token") as control:
        assert control.call("GET", "/clock") == 1
        time.sleep(0.05)  # the server's close has arrived
        assert control.call("POST", "/clock", {"step_ms": 1000}) == 2
        time.sleep(0.05)
        assert control.call("GET", "/projects/p/messages", params={"after": 3, "limit": 10, "x": True}) == 3
        time.sleep(0.05)
        with pytest.raises(ControlError) as refused:
            control.call("GET", "/fail")
        assert (refused.value.code, refused.value.msg) == (1109, "refused")
    assert dropping_server.seen == [  # type: ignore[attr-defined]
        "GET /_tuyacloud/clock HTTP/1.1 ", 'POST /_tuyacloud/clock HTTP/1.1 {"step_ms":1000}',
        "GET /_tuyacloud/projects/p/messages?after=3&limit=10&x=true HTTP/1.1 ", "GET /_tuyacloud/fail HTTP/1.1 "]


def test_only_http_urls_are_taken() -> None:
    with pytest.raises(ValueError, match="not an http"):
        ControlClient("localhost:8000", "token")
