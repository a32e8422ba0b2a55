"""HTTP for the tests: httpx with one TLS context per process, and a lean ``http.client`` client for the suite's
own plain-HTTP requests.

``httpx.Client()``, and so every ``httpx.get``/``post``/``request`` (each makes a client), builds a new TLS context
by default and loads the CA bundle into it: about 50 ms of CPU each, even for a plain ``http://`` URL. The suite
made thousands (a signed client per test, every control call, health polls every 50 ms while a process starts), a
large share of its CPU. Here the default ``verify`` is one context made once; a test that needs its own CA (the TLS
servers of ``tinytuya_tls.py``) still passes ``verify=``.

Even with that context, an httpx request costs about 970 µs of client CPU, five times what the standard library's
``http.client`` on a kept-alive connection costs (200 µs), and the helpers' own requests (signed calls, the control
API, health polls) were some 20,000 a run: ``LeanClient`` makes those, over plain ``http://``.
"""

from __future__ import annotations

import functools
import http.client
import os
import re
import select
import ssl
from collections.abc import Mapping
from typing import Any

import httpx
import orjson


def tls_context() -> ssl.SSLContext:
    """httpx's default context (the CA bundle it would load for every client), made once per value of the
    variables it reads (a test may trust a generated CA through ``SSL_CERT_FILE``, as the sharing tests do)."""
    return _context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()


def client(**options: Any) -> httpx.Client:
    options.setdefault("verify", tls_context())
    return httpx.Client(**options)


def request(method: str, url: str, **options: Any) -> httpx.Response:
    options.setdefault("verify", tls_context())
    return httpx.request(method, url, **options)


def get(url: str, **options: Any) -> httpx.Response:
    return request("GET", url, **options)


def post(url: str, **options: Any) -> httpx.Response:
    return request("POST", url, **options)


# --- a lean client for the suite's own plain-HTTP requests ------------------------------------------------------------
class LeanResponse:
    """What the suite reads of an answer: ``status_code``, ``headers`` (an ``http.client.HTTPMessage``: lookups
    ignore case, and a missing name gives None rather than a KeyError), ``content``, ``text`` and ``json()``."""

    __slots__ = ("status_code", "reason_phrase", "headers", "content", "url")

    def __init__(self, status_code: int, reason_phrase: str, headers: http.client.HTTPMessage, content: bytes,
                 url: str) -> None:
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self.content = content
        self.url = url

    @property
    def text(self) -> str:
        return self.content.decode(self.headers.get_content_charset() or "utf-8", errors="replace")

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        return orjson.loads(self.content)

    def __repr__(self) -> str:
        return f"<LeanResponse [{self.status_code} {self.reason_phrase}]>"


# A request target sent as given: what httpx would send unchanged (it percent-encodes spaces, quotes, non-ASCII and
# the like, drops a fragment and resolves "." and ".." segments; such a URL takes httpx's own parsing instead).
_PLAIN_TARGET = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*").fullmatch
# Errors that say a kept-alive connection was closed by the server before it answered: the request is sent again
# once, on a new connection (never when the connection was new: that error is the answer).
_CLOSED_UNDER_US = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class LeanClient:
    """A keep-alive HTTP/1.1 client on the standard library's ``http.client``, for the suite's own requests to plain
    ``http://`` servers (``SignedClient``, ``CloudServer.control``, health polls of a starting process).

    Measured on a 2-core machine against a running server, the client's CPU per request: ``httpx.Client.request``
    about 970 µs, requests 950 µs, urllib3 500 µs, ``http.client`` on a kept-alive connection 200 µs. A run of the
    suite made some 20,000 requests through httpx from these helpers, 35 s of CPU. Through this client a signed
    device read (``SignedClient.get``, signing included) costs about 290 µs of client CPU instead of 780-940 µs, and a
    ``CloudServer.control`` call 210-270 µs instead of 1.1-1.3 ms.

    What it does, as httpx did for these callers: one kept-alive connection per (host, port) (more only while
    threads share the client), a URL encoded as httpx encodes it, ``content=`` or ``json=`` bodies (no
    ``Content-Length`` on an empty GET), a caller's ``host`` header sent instead of the automatic one, an answer
    with ``Connection: close`` closing the socket, a time-out per request, and failures raised as httpx's
    ``TransportError`` subclasses (``ConnectError`` when nothing listens), so the handlers written for httpx still
    catch them. An idle connection that the server has closed meanwhile (a keep-alive time-out) is replaced before
    use; one found closed while the request is sent is replaced and the request sent once more, as the server has
    not answered it. Plain ``http://`` only: ``client()`` (httpx) is for TLS.
    """

    def __init__(self, timeout: float | None = 30, headers: Mapping[str, str] | None = None) -> None:
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._idle: dict[tuple[str, int], list[http.client.HTTPConnection]] = {}
        self._closed = False

    # --- requests -------------------------------------------------------------------------------------------------
    def request(self, method: str, url: str, *, content: bytes | str | None = None, json: Any = None,
                params: Mapping[str, Any] | None = None, headers: Mapping[str, Any] | None = None,
                timeout: float | None = None) -> LeanResponse:
        """One request, its whole answer read. ``timeout`` (seconds, for the connect and for each read or write) is
        the client's when not given."""
        if self._closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        host, port, target = _parse(url, params)
        body, sent = self._prepare(content, json, headers)
        timeout = self.timeout if timeout is None else timeout
        idle = self._idle.setdefault((host, port), [])
        conn = self._reusable(idle)
        if conn is not None:
            try:
                return self._exchange(conn, idle, method, url, target, body, sent, timeout)
            except _CLOSED_UNDER_US:
                pass  # closed by the server before it answered: once more, on a new connection
            except (OSError, http.client.HTTPException) as exc:
                raise _transport_error(exc, connecting=False) from exc
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.connect()
        except OSError as exc:
            conn.close()
            raise _transport_error(exc, connecting=True) from exc
        try:
            return self._exchange(conn, idle, method, url, target, body, sent, timeout)
        except (OSError, http.client.HTTPException) as exc:
            raise _transport_error(exc, connecting=False) from exc

    def get(self, url: str, **options: Any) -> LeanResponse:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> LeanResponse:
        return self.request("POST", url, **options)

    def put(self, url: str, **options: Any) -> LeanResponse:
        return self.request("PUT", url, **options)

    def patch(self, url: str, **options: Any) -> LeanResponse:
        return self.request("PATCH", url, **options)

    def delete(self, url: str, **options: Any) -> LeanResponse:
        return self.request("DELETE", url, **options)

    # --- life -----------------------------------------------------------------------------------------------------
    @property
    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Closes the idle connections; one in use by another thread is closed when its answer is read."""
        self._closed = True
        for idle in list(self._idle.values()):
            while idle:
                idle.pop().close()

    def __enter__(self) -> LeanClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- inside ---------------------------------------------------------------------------------------------------
    def _prepare(self, content: bytes | str | None, json: Any,
                 headers: Mapping[str, Any] | None) -> tuple[bytes | None, dict[str, Any]]:
        sent = {**self.headers, **headers} if headers else dict(self.headers)
        names = {name.lower() for name in sent}
        if "accept" not in names:
            sent["Accept"] = "*/*"  # as httpx
        if json is not None and content is None:
            content = orjson.dumps(json)
            if "content-type" not in names:
                sent["Content-Type"] = "application/json"
        if isinstance(content, str):
            content = content.encode()
        # None for no body: http.client then sends Content-Length: 0 on POST, PUT and PATCH only, as httpx does
        return content or None, sent

    @staticmethod
    def _reusable(idle: list[http.client.HTTPConnection]) -> http.client.HTTPConnection | None:
        """An idle connection the server has not closed (nothing to read on it: an idle HTTP connection that is
        readable has its end of file, or bytes nobody asked for, waiting)."""
        while idle:
            try:
                conn = idle.pop()
            except IndexError:  # another thread took the last one
                return None
            sock = conn.sock
            if sock is not None:
                poller = select.poll()
                poller.register(sock, select.POLLIN)
                if not poller.poll(0):
                    return conn
            conn.close()
        return None

    def _exchange(self, conn: http.client.HTTPConnection, idle: list[http.client.HTTPConnection], method: str,
                  url: str, target: str, body: bytes | None, headers: dict[str, Any],
                  timeout: float | None) -> LeanResponse:
        try:
            if conn.timeout != timeout:
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
            conn.request(method, target, body, headers)
            answer = conn.getresponse()
            content = answer.read()
            answer.close()
        except BaseException:
            conn.close()
            raise
        # http.client has already let go of a socket the server closes (Connection: close, or HTTP/1.0)
        if conn.sock is not None and not answer.will_close and not self._closed:
            idle.append(conn)
        else:
            conn.close()
        return LeanResponse(answer.status, answer.reason, answer.headers, content, url)


def _parse(url: str, params: Mapping[str, Any] | None) -> tuple[str, int, str]:
    """(host, port, request target) of a plain ``http://`` URL, the target as httpx would send it."""
    if not url.startswith("http://"):
        raise ValueError(f"LeanClient speaks plain http:// only (web.client() is httpx, with TLS): {url!r}")
    slash = url.find("/", 7)
    authority, target = (url[7:], "/") if slash < 0 else (url[7:slash], url[slash:])
    if params is None and _PLAIN_TARGET(target) and "/." not in target and "?" not in authority:
        host, port = _authority(authority)
        return host, port, target
    parsed = httpx.URL(url)
    if params is not None:
        parsed = parsed.copy_merge_params(params)
    return parsed.host, parsed.port or 80, parsed.raw_path.decode("ascii")


@functools.lru_cache(maxsize=256)
def _authority(authority: str) -> tuple[str, int]:
    parsed = httpx.URL(f"http://{authority}/")
    return parsed.host, parsed.port or 80


def _transport_error(exc: BaseException, connecting: bool) -> httpx.TransportError:
    """httpx's exception for a failure of the standard library's, so a handler written for httpx catches it."""
    if isinstance(exc, TimeoutError):
        return httpx.ConnectTimeout(str(exc)) if connecting else httpx.ReadTimeout(str(exc))
    if connecting:
        return httpx.ConnectError(str(exc) or type(exc).__name__)
    if isinstance(exc, http.client.RemoteDisconnected):
        return httpx.RemoteProtocolError("Server disconnected without sending a response.")
    if isinstance(exc, http.client.HTTPException):
        return httpx.RemoteProtocolError(str(exc) or type(exc).__name__)
    if isinstance(exc, ConnectionError):
        return httpx.ReadError(str(exc) or type(exc).__name__)
    return httpx.NetworkError(str(exc) or type(exc).__name__)
