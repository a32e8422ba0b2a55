"""Raw-socket helpers for the hostile-client tests: requests no HTTP client library would send, and answers read
byte for byte (or their absence noticed)."""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass
from typing import Any

import orjson

from tuyacloud.signing import parse_query, sign_request

NO_ANSWER = b""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    closed: bool  # the server closed the connection after it

    def json(self) -> Any:
        return orjson.loads(self.body)


def parse_answer(raw: bytes, closed: bool) -> Answer | None:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(body)))
    return Answer(int(lines[0].split()[1]), headers, body[:length], closed)


def connect(port: int, source: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def read_answer(sock: socket.socket, timeout: float = 10.0) -> Answer | None:
    """Read until one whole response has arrived or the server closes; None when nothing came in ``timeout``."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    closed = False
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
        answer = parse_answer(data, False)
        if answer is not None and len(answer.body) >= int(answer.headers.get("content-length", 0)):
            if answer.headers.get("connection") == "close":
                answer.closed = _closes(sock, deadline)
            return answer
    return parse_answer(data, closed)


def _closes(sock: socket.socket, deadline: float) -> bool:
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closed the connection within ``seconds`` (an orderly close or a reset), and what it sent
    before."""
    sock.settimeout(seconds)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True, data
            data += chunk
    except TimeoutError:
        return False, data
    except ConnectionResetError:
        return True, data


def exchange(port: int, raw: bytes, timeout: float = 10.0, source: str = "127.0.0.1") -> Answer | None:
    with connect(port, source, timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
        return read_answer(sock, timeout)


def signed_head(access_id: str, secret: str, method: str, path: str, *, query: str = "", body: bytes = b"",
                token: str = "", nonce: str = "", extra: dict[str, str] | None = None, sign: str | None = None,
                t: str | None = None) -> bytes:
    """A request head signed the documented way (or with the given ``sign``/``t``), plus any extra headers."""
    t = t or str(int(time.time() * 1000))
    computed = sign_request(client_id=access_id, secret=secret, method=method, path=path, query=parse_query(query),
                            body=body, t=t, access_token=token, nonce=nonce)
    headers = {"host": "127.0.0.1", "client_id": access_id, "sign": sign or computed, "t": t,
               "access_token": token, **({"nonce": nonce} if nonce else {}), **(extra or {})}
    if body:
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(body))
    target = path + (f"?{query}" if query else "")
    lines = [f"{method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
