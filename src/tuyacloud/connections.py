"""Connection hygiene: read time-outs, connection limits and request-head limits, enforced where bytes arrive.

uvicorn's httptools protocol reads a request head and body for as long as a client cares to send them, keeps
any number of connections, and buffers a header of any size: one client trickling bytes on a thousand
connections, or sending a 1.4 MiB header, costs everyone else. :class:`EdgeHttpProtocol` (a subclass of the
coalescing protocol every server here runs) adds, per connection:

- a deadline for the request head (from the connection's start, then from each request's first byte) and one for
  the body (from the end of the head); a request that misses one is answered 408 and the connection closed;
- an idle keep-alive time-out (kept by the same sweep as the deadlines, not by uvicorn's timer per answer);
- a limit on connections per client address and in total (over either, the connection is answered with Tuya
  code 1110 and closed at once, before it costs a request); at the total limit, the connection that has waited
  longest for its client's bytes (at least a second) is closed to make room instead, so slow clients spread over
  many addresses cannot keep the others out until their time-outs;
- the head's size and header count, and the body's size, as they arrive (tuyacloud/limits.py);
- WebSocket upgrades: a request line or header too long for the websockets library is answered rather than
  handed over (it would drop it silently), and a refused upgrade no longer logs an ASGI error.
- OpenAPI requests (the app's ``direct_route``) answered by the gateway directly, in a cycle of our own
  (:class:`_DirectCycle`) instead of uvicorn's ASGI one: no ASGI messages, no per-request event, one write per
  answer; every other request (console, control API, documents, WebSocket upgrades) keeps uvicorn's cycle.

Deadlines are kept by one sweep per server every fraction of a second, not a timer per request: a request pays
for a few integer additions. Refusals answer in the request's own language: the Tuya envelope
(HTTP 200, or 408 for a time-out) on API paths, plain text on the console, a JSON error on WebSocket paths;
then the connection stops reading, sends its answer, half-closes and is dropped after a short linger (so a
client still sending can read why).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import unquote

import httptools
import orjson
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from tuyacloud import envelope, limits
from tuyacloud.clock import Clock
from tuyacloud.coalescing import CoalescingHttpToolsProtocol
from tuyacloud.errors import ConcurrencyOverLimit, ParamIllegal, TuyaError
from tuyacloud.ids import IdSource
from tuyacloud.settings import Settings

_BASE = CoalescingHttpToolsProtocol  # its methods called directly: super() costs on every request

log = logging.getLogger("tuyacloud.connections")

_CONNECTION = "connection"  # what a connection that has sent nothing yet waits for
LINGER_S = 2.0  # after a refusal: how long a client may keep sending before the connection is dropped
FD_RESERVE = 64  # descriptors kept free of connections: the store, log files, the listening sockets
# Connections refused at connect are over the limits, so not counted: at most this many linger at once (the rest
# are closed at once), or a flood of them would hold the descriptors the limits keep free.
MAX_LINGERING_REFUSALS = 16
# At the total limit, a new connection takes the place of the one that has waited longest for its client's bytes
# (a request head, a body, or the next request), once that has waited at least this long.
EVICT_AFTER_S = 1.0
BAD_REQUEST_LOG_S = 60.0  # at most one log line this often for requests that are not HTTP


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keepalive_timeout_s: float = 5.0
    max_connections: int = 1000  # 0: no limit but the process's descriptor limit
    max_connections_per_address: int = 256  # 0: no limit
    max_header_bytes: int = limits.MAX_HEADER_BYTES
    max_headers: int = limits.MAX_HEADERS
    max_body: int = limits.MAX_BODY

    @classmethod
    def of(cls, settings: Settings) -> ConnectionLimits:
        return cls(header_timeout_s=settings.header_timeout_s, body_timeout_s=settings.body_timeout_s,
                   keepalive_timeout_s=settings.keepalive_timeout_s, max_connections=settings.max_connections,
                   max_connections_per_address=settings.max_connections_per_address)


def descriptor_limit() -> int | None:
    """The process's soft limit on open files, where the platform has one."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


@dataclass
class ConnectionGuard:
    """What the connections of one server share: the counts, the deadline sweep, and the cloud's clock and id
    source (a refusal's envelope carries the cloud's ``t`` and a trace id like every other answer)."""

    limits: ConnectionLimits
    clock: Clock
    ids: IdSource
    total: int = 0
    lingering: int = 0  # connections refused at connect, answered and not yet closed
    per_address: dict[str, int] = field(default_factory=dict)
    watched: set[EdgeHttpProtocol] = field(default_factory=set)
    max_total: int = 0
    _sweeper: asyncio.TimerHandle | None = None
    # The head of a direct answer up to its length, for the server's current default headers (uvicorn renews
    # their list, with the date, every second): made once per list, not per response.
    head_source: object = None
    head_prefix: bytes = b""
    # Requests that are not HTTP at all (a TLS hello on the plain port, a scanner's garbage): uvicorn logs a
    # warning for each, so one client could fill the log. One line per BAD_REQUEST_LOG_S, with the count since.
    bad_requests: int = 0
    bad_logged_at: float | None = None

    def bad_request(self, logger: logging.Logger, now: float) -> None:
        """Note a request the parser refused; log it if no such line was written in the last minute."""
        self.bad_requests += 1
        if self.bad_logged_at is not None and now - self.bad_logged_at < BAD_REQUEST_LOG_S:
            return
        if self.bad_logged_at is None:
            logger.warning("Invalid HTTP request received (answered 400; more are counted, logged once a minute).")
        else:
            logger.warning("Invalid HTTP request received: %d in the last %.0f s (answered 400).", self.bad_requests,
                           now - self.bad_logged_at)
        self.bad_logged_at, self.bad_requests = now, 0

    def __post_init__(self) -> None:
        # Never more connections than descriptors: past that, accept() fails for everyone, the admin included.
        fds = descriptor_limit()
        ceiling = max(1, fds - FD_RESERVE) if fds else 0
        wanted = self.limits.max_connections
        self.max_total = min(wanted, ceiling) if wanted and ceiling else wanted or ceiling
        if wanted and ceiling and ceiling < wanted:
            log.warning("max connections lowered from %d to %d: the process may open %d files", wanted, ceiling,
                        fds)

    @property
    def sweep_interval(self) -> float:
        shortest = min(self.limits.header_timeout_s, self.limits.body_timeout_s, self.limits.keepalive_timeout_s,
                       LINGER_S)
        return min(1.0, max(0.05, shortest / 4))

    def admit(self, address: str, now: float) -> str | None:
        """Count a new connection in, or say why not.

        At the total limit, the connection that has waited longest for its client (a head, a body or the next
        request, for at least EVICT_AFTER_S) is closed to make room: slow clients from many addresses, each under
        the per-address limit, would otherwise keep everyone else out until their time-outs."""
        per = self.limits.max_connections_per_address
        if per and self.per_address.get(address, 0) >= per:
            return f"{per} connections from {address} is the limit per address"
        if self.max_total and self.total >= self.max_total:
            victim = self._longest_waiting(now)
            if victim is None:
                return f"the server has {self.total} connections, its limit"
            victim.evict(self.total)
        self.total += 1
        self.per_address[address] = self.per_address.get(address, 0) + 1
        return None

    def release(self, address: str) -> None:
        self.total -= 1
        left = self.per_address.get(address, 1) - 1
        if left > 0:
            self.per_address[address] = left
        else:
            self.per_address.pop(address, None)

    def _longest_waiting(self, now: float) -> EdgeHttpProtocol | None:
        """The connection waiting for its client's bytes the longest, if that is at least EVICT_AFTER_S
        (a scan, only made at the total limit)."""
        best, best_since = None, now - EVICT_AFTER_S
        for protocol in self.watched:
            since = protocol.waiting_since()
            if since is not None and since <= best_since:
                best, best_since = protocol, since
        return best

    def watch(self, protocol: EdgeHttpProtocol) -> None:
        self.watched.add(protocol)
        if self._sweeper is None:
            self._sweeper = protocol.loop.call_later(self.sweep_interval, self._sweep, protocol.loop)

    def unwatch(self, protocol: EdgeHttpProtocol) -> None:
        self.watched.discard(protocol)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweeper = None
        now = loop.time()
        for protocol in list(self.watched):
            try:
                protocol.check_progress(now)
            except Exception:  # one connection's trouble must not stop the sweep for the others
                log.exception("closing a connection past its deadline failed")
                self.watched.discard(protocol)
        if self.watched:
            self._sweeper = loop.call_later(self.sweep_interval, self._sweep, loop)


class _Refused(Exception):
    """Raised inside an httptools callback to stop parsing; the refusal itself is in ``protocol._refusal``."""


@dataclass(frozen=True)
class Refusal:
    error: TuyaError
    status: int  # for console and WebSocket paths (the API answers 200 but for time-outs)
    api_status: int = 200


def _render(refusal: Refusal, url: bytes, guard: ConnectionGuard) -> bytes:
    """The whole HTTP response for a refusal, in the language of the path it was for."""
    if url.startswith(b"/ws/"):
        status, kind, body = refusal.status, b"application/json", orjson.dumps({"error": str(refusal.error)})
    elif url.startswith(b"/console"):
        status, kind, body = refusal.status, b"text/plain; charset=utf-8", str(refusal.error).encode()
    else:
        status, kind, body = refusal.api_status, b"application/json", envelope.failure(
            refusal.error, guard.clock.now_ms(), guard.ids.unique_hex())
    reason = {200: b"OK", 408: b"Request Timeout", 413: b"Content Too Large", 414: b"URI Too Long",
              431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}.get(status, b"Refused")
    return b"".join([b"HTTP/1.1 %d " % status, reason, b"\r\ncontent-type: ", kind, b"\r\ncontent-length: ",
                     str(len(body)).encode(), b"\r\nconnection: close\r\n\r\n", body])


Respond = Callable[[dict[str, Any], dict[str, str], bytes, float], Awaitable[bytes]]
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_JSON_HEAD = b"content-type: application/json\r\ncontent-length: "
_END_KEEP, _END_CLOSE = b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n"
_ERROR_500 = (b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n"
              b"content-length: 21\r\nconnection: close\r\n\r\nInternal Server Error")


class _DirectCycle:
    """One OpenAPI request answered by the gateway directly (:meth:`EdgeHttpProtocol._run_direct`), in place of
    uvicorn's ``RequestResponseCycle``: the same attributes that uvicorn's protocol and this module read of a cycle
    (``scope``, ``body``, ``more_body``, ``disconnected``, ``response_started``/``_complete``, ``keep_alive``,
    ``message_event.set()``), without the per-request ``asyncio.Event``, the ASGI messages and the header checks.
    A future is made only when the body has not all arrived by the time the request's task runs."""

    __slots__ = ("scope", "body", "more_body", "disconnected", "response_started", "response_complete", "keep_alive",
                 "waiting_for_100_continue", "waiter")

    def __init__(self, scope: dict[str, Any], keep_alive: bool, expect_100_continue: bool) -> None:
        self.scope = scope
        self.body = bytearray()
        self.more_body = True
        self.disconnected = self.response_started = self.response_complete = False
        self.keep_alive = keep_alive
        self.waiting_for_100_continue = expect_100_continue
        self.waiter: asyncio.Future[None] | None = None

    @property
    def message_event(self) -> _DirectCycle:
        return self  # uvicorn's protocol wakes a cycle with ``cycle.message_event.set()``

    def set(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class EdgeWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol with frames capped at what a consumer sends (acks), that releases its
    connection's place when it ends, and that takes a denied handshake (HTTP 401 with a reason) as complete."""

    release: Callable[[], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # websockets 15 (the release amqtt pins) calls the cap max_size; later releases max_message_size
        name = "max_message_size" if hasattr(self.conn, "max_message_size") else "max_size"
        setattr(self.conn, name, limits.MAX_WS_FRAME)

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            super().connection_lost(exc)
        finally:
            release, self.release = self.release, None
            if release is not None:
                release()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body", False):
            # uvicorn counts only an accepted handshake as complete and logs every refusal as an ASGI error
            self.handshake_complete = True


class EdgeHttpProtocol(CoalescingHttpToolsProtocol):
    """See the module docstring. Built per server by :func:`http_protocol`, which binds the shared guard and
    copies the limits the request path reads into class attributes (one lookup each).

    The request path sets no timer and reads no clock: the guard's sweep looks at what each connection is waiting
    for (a head: a request begun, or none yet, and no cycle for it; a body: a cycle still expecting more) and
    notes when it first saw it waiting for that; the same wait seen past its time-out ends the connection.
    """

    guard: ConnectionGuard
    header_timeout_s: float
    body_timeout_s: float
    keepalive_timeout_s: float
    max_header_bytes: int
    max_headers: int
    max_body: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self.guard.limits.keepalive_timeout_s  # type: ignore[assignment]
        self.deadline = 0.0  # after a refusal: when the lingering connection is dropped
        self._address = ""
        self._counted = False
        self._refused = False
        self._refusal: Refusal | None = None
        self._lingering = False  # refused at connect and counted in guard.lingering
        self._idle_cycle: object = None  # the finished request a sweep first saw this connection idle after, and when
        self._idle_since = 0.0
        self._waiting_for: object = None  # what the last sweep saw this connection wait for, and since when
        self._waiting_since = 0.0
        self._scope_seen: object = None  # the request whose bytes _since_head counts (see data_received)
        self._since_head = self._slack = self._chunk = 0
        self._body_bytes = 0
        self.url = b""
        # OpenAPI paths go to the gateway without ASGI (the app's ``direct_route``, tuyacloud/app.py), unless the app
        # is wrapped (a middleware must see every request) or mounted under a root path.
        direct = getattr(self.app, "direct_route", None)
        self._direct: Callable[[str], Respond | None] | None = None if self.root_path else direct

    # --- connection -----------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, (tuple, list)) and peer else ""
        reason = self.guard.admit(address, self.loop.time())
        if reason is not None:
            # Not handed to uvicorn at all: answered and dropped before it costs a request (lingering only while
            # few do: these are past the limits, their descriptors are not budgeted).
            self.transport = transport
            linger = self.guard.lingering < MAX_LINGERING_REFUSALS
            self._answer(Refusal(ConcurrencyOverLimit(reason), 503), linger=linger)
            if linger:
                self.guard.lingering += 1
                self._lingering = True
            return
        self._address, self._counted = address, True
        super().connection_made(transport)
        # a direct answer is one write: sent at once unless earlier writes wait for the turn's flush (coalescing.py)
        self._write_now: Callable[[bytes], None] = getattr(self.transport, "write_now", self.transport.write)
        self._waiting_for, self._waiting_since = _CONNECTION, self.loop.time()
        self.guard.watch(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.unwatch(self)
        if self._counted:
            self._counted = False
            self.guard.release(self._address)
        if self.flow is None:  # refused at connect: uvicorn never saw it
            if self._lingering:
                self._lingering = False
                self.guard.lingering -= 1
            return
        super().connection_lost(exc)

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        """uvicorn's own (inlined: one call fewer per request), plus the head-size bound and quiet refusals."""
        if self._refused:
            return  # lingering after a refusal: read and drop
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        size = self._chunk = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refusal is not None:  # raised by one of our callbacks: answered, not logged as a bad request
                self._refuse(self._refusal)
                return
            msg = "Invalid HTTP request received."
            self.guard.bad_request(self.logger, time.monotonic())
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        # Bytes since the chunk in which the current request began (that chunk counted whole, as its "slack": it may
        # hold the previous body's end). A head still incomplete with more than the limit past the slack is too
        # large for sure; checked here, per chunk, so httptools never buffers much more of it.
        if self.scope is not self._scope_seen:
            self._scope_seen = self.scope
            self._since_head = self._slack = size
        else:
            self._since_head += size
        if self._since_head - self._slack > self.max_header_bytes and self._awaiting_head() and not self._refused:
            self._refuse(self._head_too_large())

    # --- deadlines ----------------------------------------------------------------------------------------------
    def _awaiting_head(self) -> bool:
        """A request begun (or none yet on this connection) whose head has not all arrived."""
        cycle = self.cycle
        return cycle is None or (cycle.scope is not self.scope and cycle.response_complete)

    def waiting_since(self) -> float | None:
        """Since when this connection has waited for its client (as the sweeps saw it), or None when it is not
        waiting for it: refused, or the application's turn. An idle keep-alive connection counts from when a sweep
        first saw it idle."""
        if self._refused:
            return None
        cycle = self.cycle
        if self._awaiting_head() or (cycle is not None and cycle.more_body and not cycle.response_complete
                                     and not cycle.disconnected):
            return self._waiting_since if self._waiting_for is not None else self.loop.time()
        if cycle is not None and cycle.response_complete and self._idle_cycle is cycle:
            return self._idle_since
        return None

    def evict(self, total: int) -> None:
        """Close this connection at once to make room for a new one (see ConnectionGuard.admit); its place in the
        counts is given up now, not when the loop gets to its close."""
        cycle = self.cycle
        idle = cycle is not None and cycle.response_complete and not self._awaiting_head()
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()
        self.pipeline.clear()
        self._refused = True
        if not idle and not (cycle is not None and cycle.response_started):
            reason = f"the request did not arrive before the server, at its limit of {total} connections, " \
                     "needed the connection"
            self.transport.write(_render(Refusal(ConcurrencyOverLimit(reason), 503), self.url, self.guard))
        self.transport.close()
        self.guard.unwatch(self)
        if self._counted:
            self._counted = False
            self.guard.release(self._address)

    def check_progress(self, now: float) -> None:
        """Called by the guard's sweep: end a connection that has waited too long for the same head or body."""
        if self._refused:
            if now >= self.deadline:
                self.transport.close()
            return
        cycle = self.cycle
        waiting: object
        if self._awaiting_head():
            waiting, limit, what = self.scope, self.header_timeout_s, "head"
        elif cycle is not None and cycle.more_body and not cycle.response_complete and not cycle.disconnected:
            waiting, limit, what = cycle, self.body_timeout_s, "body"
        elif cycle is not None and cycle.response_complete and not self.pipeline:
            # idle between requests: the marker is the answered request's header list (the head's is its scope)
            waiting, limit, what = cycle.scope["headers"], self.keepalive_timeout_s, "idle"
        else:
            self._waiting_for = None  # the application's turn, or idle between requests (uvicorn's keep-alive)
            if cycle is not None and cycle.response_complete and self._idle_cycle is not cycle:
                self._idle_cycle, self._idle_since = cycle, now
            return
        if waiting is None:
            waiting = _CONNECTION  # nothing received yet
        if waiting is not self._waiting_for:
            if not (self._waiting_for is _CONNECTION and what == "head"):  # the first head's time runs from connect
                self._waiting_since = now
            self._waiting_for = waiting
        elif now - self._waiting_since >= limit:
            if what == "idle":  # uvicorn's keep-alive time-out: closed without an answer
                self.transport.close()
                return
            self._refuse(Refusal(ParamIllegal(f"the request {what} did not arrive within {limit:g} s"), 408,
                                 api_status=408))

    # --- parser callbacks -------------------------------------------------------------------------------------
    def on_headers_complete(self) -> None:
        if len(self.headers) > self.max_headers:
            self._stop(Refusal(ParamIllegal(f"more than {self.max_headers} request headers"), 431))
        # an upper bound first (counted bytes plus this chunk); the exact sum only when that is over the limit
        if self._since_head + self._chunk > self.max_header_bytes and self._head_size() > self.max_header_bytes:
            self._stop(self._head_too_large())
        self._body_bytes = 0
        # uvicorn's own from here, but for OpenAPI paths a lean cycle run by _run_direct
        parser = self.parser
        scope: dict[str, Any] = self.scope  # type: ignore[assignment]
        scope["method"] = parser.get_method().decode("ascii")
        http_version = parser.get_http_version()
        if http_version != "1.1":
            scope["http_version"] = http_version
        if parser.should_upgrade() and self._should_upgrade():
            return
        parsed_url = httptools.parse_url(self.url)
        raw_path = parsed_url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = unquote(path)
        keep_alive = http_version != "1.0" and parser.should_keep_alive()
        app: Any = self._direct(path) if self._direct is not None else None
        cycle: Any
        if app is not None:
            scope["path"], scope["raw_path"], scope["query_string"] = path, raw_path, parsed_url.query or b""
            cycle = _DirectCycle(scope, keep_alive, self.expect_100_continue)
        else:
            root = self.root_path
            scope.update(asgi={"version": self.asgi_version, "spec_version": "2.3"}, server=self.server,
                         root_path=root, state=self.app_state.copy(), path=root + path,
                         raw_path=root.encode("ascii") + raw_path, query_string=parsed_url.query or b"")
            app = self.app
            if self.limit_concurrency is not None and (len(self.connections) >= self.limit_concurrency
                                                       or len(self.tasks) >= self.limit_concurrency):
                app = service_unavailable
                self.logger.warning("Exceeded concurrency limit.")
            cycle = RequestResponseCycle(
                scope=scope,  # type: ignore[arg-type]
                transport=self.transport, flow=self.flow, logger=self.logger, access_logger=self.access_logger,
                access_log=self.access_log, default_headers=self.server_state.default_headers,
                message_event=asyncio.Event(), expect_100_continue=self.expect_100_continue, keep_alive=keep_alive,
                on_response=self.on_response_complete)
        existing = self.cycle
        self.cycle = cycle
        if existing is None or existing.response_complete:
            self._start_asgi_task(cycle, app)
        else:  # pipelined: queued until the one before is answered
            self.flow.pause_reading()
            self.pipeline.appendleft((cycle, app))

    def on_message_begin(self) -> None:
        """uvicorn's, with a smaller scope: what only ASGI applications read is added for them in
        :meth:`on_headers_complete`."""
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self.scope = {"type": "http", "http_version": "1.1", "client": self.client,  # type: ignore[typeddict-item]
                      "scheme": self.scheme, "headers": self.headers}

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self.max_body:
            self._stop(Refusal(ParamIllegal(f"the body is larger than {self.max_body} bytes"), 413))
        _BASE.on_body(self, body)

    # --- running a request ---------------------------------------------------------------------------------
    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        if type(cycle) is not _DirectCycle:
            _BASE._start_asgi_task(self, cycle, app)
            return
        task = self.loop.create_task(self._run_direct(cycle, app))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    async def _run_direct(self, cycle: _DirectCycle, respond: Respond) -> None:
        """One OpenAPI request: its body, the gateway's envelope, and the answer in one write (HTTP 200, JSON)."""
        started = time.perf_counter()
        try:
            if cycle.more_body:
                if cycle.waiting_for_100_continue and not self.transport.is_closing():
                    self.transport.write(_CONTINUE)
                cycle.waiting_for_100_continue = False
                while cycle.more_body and not cycle.disconnected:
                    self.flow.resume_reading()
                    cycle.waiter = self.loop.create_future()
                    await cycle.waiter
                cycle.waiter = None
            if cycle.disconnected:
                return  # the client left (or timed out) before its body arrived: nobody to answer
            scope = cycle.scope
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            payload = await respond(scope, headers, bytes(cycle.body), started)
        except BaseException as exc:  # as uvicorn's cycle: logged, answered 500 if nothing was sent yet
            self.logger.error("Exception in ASGI application\n", exc_info=exc)
            if not cycle.disconnected:
                cycle.disconnected = True
                self.transport.write(_ERROR_500)
                self.transport.close()
            return
        if cycle.disconnected:
            return
        guard = self.guard
        default_headers = self.server_state.default_headers
        if guard.head_source is not default_headers:
            guard.head_prefix = b"".join([b"HTTP/1.1 200 OK\r\n", *(b"%s: %s\r\n" % pair for pair in default_headers),
                                          _JSON_HEAD])
            guard.head_source = default_headers
        keep_alive = cycle.keep_alive
        cycle.response_started = cycle.response_complete = True
        self._write_now(b"".join((guard.head_prefix, b"%d" % len(payload), _END_KEEP if keep_alive else _END_CLOSE,
                                  b"" if scope["method"] == "HEAD" else payload)))
        if not keep_alive:
            self.transport.close()
        self.on_response_complete()

    def on_response_complete(self) -> None:
        """uvicorn's, but without a keep-alive timer armed after every answer and cancelled at the next request:
        the guard's sweep closes a connection idle for longer than the keep-alive time-out (:meth:`check_progress`)."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        if self.flow.read_paused:
            self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)

    # --- WebSocket upgrade ------------------------------------------------------------------------------------
    def handle_websocket_upgrade(self) -> None:
        """uvicorn's hand-over to the WebSocket protocol, with our protocol and the line-length check."""
        if len(self.url) + 16 > limits.MAX_UPGRADE_LINE:
            self._refuse(Refusal(ParamIllegal(f"the request line is longer than {limits.MAX_UPGRADE_LINE} bytes"),
                                 414))
            return
        if any(len(name) + len(value) + 4 > limits.MAX_UPGRADE_LINE for name, value in self.headers):
            self._refuse(Refusal(ParamIllegal(f"a header line is longer than {limits.MAX_UPGRADE_LINE} bytes"), 431))
            return
        self.guard.unwatch(self)
        self.connections.discard(self)
        output = [self.scope["method"].encode(), b" ", self.url, b" HTTP/1.1\r\n"]
        for name, value in self.scope["headers"]:
            output += [name, b": ", value, b"\r\n"]
        output.append(b"\r\n")
        protocol = EdgeWebSocketProtocol(config=self.config, server_state=self.server_state,
                                         app_state=self.app_state)
        if self._counted:  # the connection's place in the counts goes with it
            self._counted = False
            protocol.release = lambda: self.guard.release(self._address)
        protocol.connection_made(self.transport)
        protocol.data_received(b"".join(output))
        self.transport.set_protocol(protocol)

    # --- refusals -----------------------------------------------------------------------------------------------
    def _head_size(self) -> int:
        return len(self.url) + 16 + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _head_too_large(self) -> Refusal:
        return Refusal(ParamIllegal(f"the request head is larger than {self.max_header_bytes} bytes"), 431)

    def _stop(self, refusal: Refusal) -> None:
        """Refuse from inside a parser callback: httptools turns the exception into a parse error, which
        :meth:`data_received` answers with the refusal."""
        self._refusal = refusal
        raise _Refused()

    def _refuse(self, refusal: Refusal) -> None:
        if self._refused:
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # the application may be waiting for the body: it is told the client left, and answers no one
            cycle.disconnected = True
            cycle.message_event.set()
            if cycle.response_started:
                self._refused = True
                self.transport.close()
                return
        self.pipeline.clear()
        self._answer(refusal)

    def _answer(self, refusal: Refusal, linger: bool = True) -> None:
        self._refused = True
        self.transport.write(_render(refusal, self.url, self.guard))
        if linger and self.transport.can_write_eof():
            self.transport.write_eof()
            self.deadline = self.loop.time() + LINGER_S
            self.guard.watch(self)
        else:
            self.transport.close()


def http_protocol(limits_: ConnectionLimits | Settings, clock: Clock, ids: IdSource) -> type[EdgeHttpProtocol]:
    """The protocol class to give ``uvicorn.Config(http=...)``: one guard (counts, sweep) per server, answering
    refusals with the server's own ``clock`` and ``ids`` (those the app was created with: ``app.state``)."""
    bound = limits_ if isinstance(limits_, ConnectionLimits) else ConnectionLimits.of(limits_)
    attributes = {"guard": ConnectionGuard(bound, clock, ids), "header_timeout_s": bound.header_timeout_s,
                  "body_timeout_s": bound.body_timeout_s,
                  "keepalive_timeout_s": bound.keepalive_timeout_s, "max_header_bytes": bound.max_header_bytes,
                  "max_headers": bound.max_headers, "max_body": bound.max_body}
    return cast(type[EdgeHttpProtocol], type("EdgeHttpProtocol", (EdgeHttpProtocol,), attributes))
