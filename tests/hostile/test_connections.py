"""Connection hygiene against real sockets on a real server: slow heads and bodies are cut at their deadlines,
idle keep-alive connections closed, and connection counts capped per address and in total, so slow or greedy
clients cannot lock the others out (before: a connection sending two bytes of a 100-byte body stayed open forever,
and 1,100 of them under a 1,024 descriptor limit locked every client out)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import pytest

from support.custom import ok
from support.hostile import closed_within, connect, exchange, read_answer
from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.clock import Clock

SLOW_HEAD = b"POST /v1.0/devices HTTP/1.1\r\nHost: 127.0.0.1\r\nclient_"
SLOW_BODY = b"POST /v1.0/devices HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{}"


def _server(tmp_path: Path, **limits: Any) -> CloudServer:
    return CloudServer(tmp_path, create_demo=False, simulator=False, **limits).start()


@pytest.fixture
def quick(tmp_path: Path) -> Iterator[CloudServer]:
    """Short deadlines so the tests wait seconds, not the defaults' tens of seconds."""
    server = _server(tmp_path, header_timeout_s=1.0, body_timeout_s=1.0, keepalive_timeout_s=1.0)
    yield server
    server.stop()


def test_a_slow_request_head_is_answered_408_and_closed(quick: CloudServer) -> None:
    with connect(quick.port) as sock:
        sock.sendall(SLOW_HEAD)
        closed, data = closed_within(sock, 6)
    assert closed, "the connection stayed open"
    assert data.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in data, data


def test_a_connection_that_sends_nothing_is_closed(quick: CloudServer) -> None:
    with connect(quick.port) as sock:
        closed, _ = closed_within(sock, 6)
    assert closed


def test_a_slow_body_is_answered_408_and_closed(quick: CloudServer) -> None:
    """The issue's case: Content-Length 100 and two bytes."""
    with connect(quick.port) as sock:
        sock.sendall(SLOW_BODY)
        closed, data = closed_within(sock, 6)
    assert closed, "the connection stayed open"
    assert data.startswith(b"HTTP/1.1 408") and b"body did not arrive" in data, data


def test_an_idle_keep_alive_connection_is_closed(quick: CloudServer) -> None:
    with connect(quick.port) as sock:
        sock.sendall(b"GET /_tuyacloud/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = read_answer(sock)
        assert answer is not None and answer.status == 200 and not answer.closed
        closed, _ = closed_within(sock, 6)
    assert closed


def test_a_request_trickled_within_its_deadline_is_served(quick: CloudServer) -> None:
    request = b"GET /_tuyacloud/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with connect(quick.port) as sock:
        for i in range(0, len(request), 10):
            sock.sendall(request[i:i + 10])
            time.sleep(0.05)
        answer = read_answer(sock)
    assert answer is not None and answer.status == 200


def test_connections_per_address_are_limited_and_others_still_served(tmp_path: Path) -> None:
    server = _server(tmp_path, max_connections_per_address=5, header_timeout_s=30)
    try:
        with ExitStack() as held:
            for _ in range(5):
                held.enter_context(connect(server.port, "127.0.0.2")).sendall(SLOW_HEAD)
            time.sleep(0.3)
            refused = exchange(server.port, b"GET /_tuyacloud/health HTTP/1.1\r\nHost: x\r\n\r\n", source="127.0.0.2")
            assert refused is not None and refused.status == 200 and refused.closed, refused
            assert refused.json()["code"] == 1110 and "per address" in refused.json().get("detail", "")
            # another address is not affected
            other = exchange(server.port, b"GET /_tuyacloud/health HTTP/1.1\r\nHost: x\r\n\r\n", source="127.0.0.3")
            assert other is not None and other.json()["success"] is True
        time.sleep(0.5)  # the held connections are gone: the address is welcome again
        again = exchange(server.port, b"GET /_tuyacloud/health HTTP/1.1\r\nHost: x\r\n\r\n", source="127.0.0.2")
        assert again is not None and again.json()["success"] is True, again
    finally:
        server.stop()


def test_total_connections_are_limited(tmp_path: Path) -> None:
    server = _server(tmp_path, max_connections=6, max_connections_per_address=0, header_timeout_s=30)
    try:
        with ExitStack() as held:
            for i in range(6):
                held.enter_context(connect(server.port, f"127.0.1.{i + 1}")).sendall(SLOW_HEAD)
            time.sleep(0.3)
            refused = exchange(server.port, b"GET /_tuyacloud/health HTTP/1.1\r\nHost: x\r\n\r\n", source="127.0.2.1")
            assert refused is not None and refused.json()["code"] == 1110, refused
        time.sleep(0.5)
        again = exchange(server.port, b"GET /_tuyacloud/health HTTP/1.1\r\nHost: x\r\n\r\n", source="127.0.2.1")
        assert again is not None and again.json()["success"] is True
    finally:
        server.stop()


def test_slow_clients_do_not_starve_a_signed_client(tmp_path: Path) -> None:
    """Forty slow connections from one address: most are refused at once, the rest cut at the head deadline;
    meanwhile a signed client on another address gets its answers."""
    server = _server(tmp_path, max_connections_per_address=10, header_timeout_s=2.0)
    try:
        project = server.create_project()
        client = SignedClient(server.url, project["access_id"], project["access_secret"])
        ok(client.connect())
        with ExitStack() as held:
            slow = [held.enter_context(connect(server.port, "127.0.0.9")) for _ in range(40)]
            for sock in slow:
                with suppress(OSError):
                    sock.sendall(SLOW_HEAD)
            for _ in range(5):
                assert ok(client.get("/v1.0/iot-03/devices", {"page_size": 5})) is not None
            verdicts = [closed_within(sock, 8) for sock in slow]
        assert all(closed for closed, _ in verdicts)
        assert sum(b'"code":1110' in data for _, data in verdicts) >= 30
        assert sum(data.startswith(b"HTTP/1.1 408") for _, data in verdicts) == 10
    finally:
        server.stop()


def test_a_body_over_the_limit_is_refused_as_it_arrives(quick: CloudServer) -> None:
    """Chunked, so no length announces it: refused once a mebibyte has arrived, not read to the end."""
    head = b"POST /v1.0/devices HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    with connect(quick.port) as sock:
        sock.sendall(head)
        try:
            for _ in range(40):
                sock.sendall(chunk)
        except OSError:
            pass
        answer = read_answer(sock)
    assert answer is not None and answer.status == 200, answer
    assert answer.json()["code"] == 1109 and "larger than 1048576 bytes" in answer.json().get("detail", "")


def test_a_refusal_carries_the_cloud_clock_and_a_trace_id(tmp_path: Path) -> None:
    """A refusal made where bytes arrive, before any route, still answers on the cloud's clock (a test that froze
    it sees that instant in ``t``, as in every other envelope) with a trace id from the cloud's id source."""
    frozen = 1_700_000_000_000
    server = CloudServer(tmp_path, clock=Clock(frozen_at_ms=frozen), create_demo=False, simulator=False).start()
    try:
        headers = b"".join(b"x-h%d: 1\r\n" % i for i in range(150))
        answer = exchange(server.port, b"GET /v1.0/devices HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        assert answer is not None, "no answer"
        body = answer.json()
        assert body["success"] is False and "request headers" in body.get("detail", ""), body
        assert body["t"] == frozen, body
        assert len(body["tid"]) == 32 and int(body["tid"], 16) >= 0, body
    finally:
        server.stop()


def test_at_the_total_limit_a_new_client_takes_the_place_of_the_longest_waiting_slow_one(tmp_path: Path) -> None:
    """Slow clients from many addresses, each under the per-address limit, fill the total: a new client is served
    at once (the connection that has waited longest for its client's bytes is closed to make room), not after the
    slow ones' time-outs (before: refused with 1110 until the body time-out, 30 s by default)."""
    server = _server(tmp_path, max_connections=6, max_connections_per_address=2, header_timeout_s=30,
                     body_timeout_s=30)
    try:
        with ExitStack() as held:
            slow = []
            for i in range(6):
                sock = held.enter_context(connect(server.port, f"127.0.3.{i + 1}"))
                sock.sendall(SLOW_BODY)
                slow.append(sock)
                time.sleep(0.05)
            time.sleep(1.5)  # past the age a connection must have waited before it can be evicted
            served = exchange(server.port, b"GET /_tuyacloud/health HTTP/1.1\r\nHost: x\r\n\r\n", source="127.0.4.1")
            assert served is not None and served.json()["success"] is True, served
            verdicts = [closed_within(sock, 0.5) for sock in slow]
            # one of them (the longest waiting, as the sweeps saw it) was told why and closed; the others wait on
            evicted = [data for closed, data in verdicts if closed]
            assert len(evicted) == 1, verdicts
            assert b'"code":1110' in evicted[0] and b"needed the connection" in evicted[0], evicted
    finally:
        server.stop()


def test_connections_refused_at_connect_do_not_hold_descriptors(tmp_path: Path) -> None:
    """A flood of connections over the per-address limit is answered and closed, only a few left lingering for
    their client to read why (before: each held its descriptor for 2 s, past the limits' budget, and 1,100 from
    one address under a 1,024 descriptor limit filled the table: accept() failed for everyone)."""
    server = _server(tmp_path, max_connections_per_address=5, header_timeout_s=30)
    try:
        time.sleep(0.3)
        before = len(list(Path("/proc/self/fd").iterdir()))
        with ExitStack() as held:
            for _ in range(200):
                with suppress(OSError):
                    held.enter_context(connect(server.port, "127.0.5.1")).sendall(SLOW_HEAD)
            time.sleep(0.5)
            grown = len(list(Path("/proc/self/fd").iterdir())) - before
        # the 200 client sockets, 5 admitted server sides, at most 16 lingering refusals (and a little slack)
        assert grown <= 200 + 5 + 16 + 8, grown
    finally:
        server.stop()


def test_requests_that_are_not_http_are_logged_once_a_minute_not_once_each(quick: CloudServer) -> None:
    """A TLS hello on the plain port, a scanner's garbage: each is answered 400, and the log gets one line for all of
    them (uvicorn wrote a warning per request, so one client could fill the disk with them)."""
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        for n in range(30):
            answer = exchange(quick.port, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes([n]) * 40)
            assert answer is not None and answer.status == 400, answer
        answer = exchange(quick.port, b"GET /\xff\xfe HTTP/1.1\r\nhost: x\r\n\r\n")
        assert answer is not None and answer.status == 400, answer
    finally:
        logger.removeHandler(handler)
    lines = [r.getMessage() for r in seen if "Invalid HTTP request" in r.getMessage()]
    assert len(lines) == 1 and "logged once a minute" in lines[0], lines
    served = exchange(quick.port, b"GET /_tuyacloud/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    assert served is not None and served.status == 200  # the server still serves
