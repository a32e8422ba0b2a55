"""The OpenAPI edge as a bare ASGI application: route, authenticate, parse, call one handler, wrap.

It is written against ASGI directly rather than through a framework's Request/Response objects because the
per-request framework cost is most of the cost of a status read. Any exception becomes an
envelope: a ``TuyaError`` with its code, anything else code 500 without a trace (the trace goes to the log).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from tuyacloud import envelope, limits
from tuyacloud.bodies import Body
from tuyacloud.domain.access import tokens, visibility
from tuyacloud.domain.context import Context
from tuyacloud.domain.projects import projects
from tuyacloud.domain.projects.usage import UsageCounter
from tuyacloud.errors import (
    ApiNotSubscribed,
    MissingHeader,
    ParamIllegal,
    RequestTimeInvalid,
    SignInvalid,
    SystemError_,
    TuyaError,
)
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import Route, RouteTable
from tuyacloud.logs import loggable_path
from tuyacloud.regions import RegionResolver
from tuyacloud.signing import (
    BUSINESS_AUTH,
    TOKEN_AUTH,
    SignedRequest,
    matches_documented,
    parse_query,
    verify,
)

if TYPE_CHECKING:
    from tuyacloud.observe import RequestObserver

log = logging.getLogger("tuyacloud.gateway")

MAX_BODY = limits.MAX_BODY
_JSON_HEADERS = [(b"content-type", b"application/json")]


class Gateway:
    def __init__(self, ctx: Context, table: RouteTable, regions: RegionResolver, usage: UsageCounter,
                 public_url: str | None = None, observer: RequestObserver | None = None) -> None:
        self.ctx = ctx
        self.table = table
        self.regions = regions
        self.usage = usage
        self.public_url = public_url
        self.observer = observer  # metrics and the access log (observe.py)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        body = await _read_body(receive)
        if body is _GONE:
            return  # the client left (or the connection timed out) before its body arrived: nobody to answer
        # ASGI servers hand header names over in lower case.
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        payload = await self.respond(scope, headers, body, started)
        # With a length the server sends one plain body instead of chunked encoding.
        response_headers = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})

    async def respond(self, scope: dict[str, Any], headers: dict[str, str], body: bytes | None,
                      started: float) -> bytes:
        """The envelope (always HTTP 200, JSON) for one request: ``scope`` needs only ``method``, ``path``,
        ``query_string``, ``client`` and ``scheme``; ``headers`` are named in lower case; ``body`` is None when it
        was larger than any API accepts. The server's own protocol (tuyacloud/connections.py) calls this directly
        for OpenAPI paths, without ASGI's messages; :meth:`__call__` is the same for any ASGI server."""
        t = self.ctx.clock.now_ms()
        tid = self.ctx.ids.unique_hex()  # 32 hex like the platform's trace ids
        route: Route | None = None
        access_id = ""
        error: TuyaError | None = None
        try:
            if body is None:
                raise ParamIllegal(f"the body is larger than {MAX_BODY} bytes")
            route, path_params = self.table.match(scope["method"], scope["path"])
            request, access_id = await self._authenticate(scope, headers, body, route, path_params)
            if self.ctx.quotas is not None:  # opt-in quotas and frequency limits (domain/projects/quotas.py)
                self.ctx.quotas.admit(access_id, route.key, t)
            # a user token sees its authorised asset nodes only (domain/access/visibility.py); the project's sees all
            request.ctx = self.ctx.scoped(await visibility.for_token(self.ctx, request.project, request.token))
            result = await route.handler(request)
            payload = envelope.success(result, t, tid)
            failed = False
        except TuyaError as exc:
            error = exc
            payload = envelope.failure(error, t, tid)
            failed = True
        except Exception:  # never a stack trace on the wire
            log.exception("unexpected error on %s %s (tid %s)", scope["method"],
                          loggable_path(route.path if route else None, scope["path"]), tid)
            error = SystemError_()
            payload = envelope.failure(error, t, tid)
            failed = True
        if route is not None and access_id:
            self.usage.count(access_id, route.key, t, failed)
        if self.observer is not None:
            self.observer.gateway(scope, route.path if route is not None else None, error,
                                  time.perf_counter() - started, access_id, tid)
        return payload

    async def _authenticate(self, scope: dict[str, Any], headers: dict[str, str], body: bytes, route: Route,
                            path_params: dict[str, str]) -> tuple[ApiRequest, str]:
        client_id = headers.get("client_id", "")
        sign = headers.get("sign", "")
        t_header = headers.get("t", "")
        if not (client_id and sign and t_header):
            missing = [n for n, v in (("client_id", client_id), ("sign", sign), ("t", t_header)) if not v]
            raise MissingHeader(f"{', '.join(missing)} header required")
        _check_edge(headers, t_header, body)
        region = self.regions.resolve(headers.get("host"))
        project = await projects.for_request(self.ctx, client_id, region)
        client_ip = (scope.get("client") or ("",))[0] or ""
        projects.check_ip(project, client_ip)
        # Plain ASCII digits only: int() would also take "+17...", "1_7..." and surrounding blanks.
        if not (t_header.isascii() and t_header.isdigit()):
            raise RequestTimeInvalid("t must be epoch milliseconds")
        t_value = int(t_header)
        now = self.ctx.clock.now_ms()
        if abs(now - t_value) > self.ctx.policy.timestamp_window_s * 1000:
            raise RequestTimeInvalid()
        raw_query = scope.get("query_string", b"").decode("latin-1")
        access_token = headers.get("access_token", "")
        method, path, nonce = scope["method"], scope["path"], headers.get("nonce", "")
        # The documented variant alone first (nearly every request); every variant only when it does not match.
        if not matches_documented(method, path, raw_query, body, headers, client_id, sign, t_header, access_token,
                                  nonce, project.access_secret):
            signed = SignedRequest.received(
                method=method, path=path, raw_query=raw_query, body=body, headers=headers, client_id=client_id,
                sign=sign, t=t_header, access_token=access_token, nonce=nonce,
            )
            # The old algorithm signs neither path nor body: only for projects that opt in, and for the refresh
            # call that tuya-connector-nodejs still signs that way (a refresh token in the path is itself a secret).
            legacy = project.legacy_signing or path.startswith("/v1.0/token/")
            if verify(signed, project.access_secret, allow_legacy=legacy) is None:
                raise SignInvalid()
        token = None
        if route.auth == BUSINESS_AUTH:
            token = await tokens.authenticate(self.ctx, project, access_token, now)
        if route.auth != TOKEN_AUTH and route.service not in project.services:
            raise ApiNotSubscribed(f"the project is not authorised for the {route.service} service")
        pairs = parse_query(raw_query) if raw_query else []
        if "\x00" in path or (pairs and any("\x00" in k or "\x00" in v for k, v in pairs)):
            raise ParamIllegal("NUL characters are not allowed in the path or the query")
        params = route.parse_query(pairs)
        parsed_body: Body | None = None
        if route.decode is not None:
            parsed_body = _decode(route.decode, body)
        elif body and body.strip() not in (b"", b"{}"):
            _parse_json(body)  # a route without a body still refuses one that is not JSON (and then ignores it)
        request = ApiRequest(
            ctx=self.ctx, project=project, token=token, path_params=path_params, params=params, body=parsed_body,
            client_ip=client_ip, base_url=self.public_url or _base_url(scope, headers),
        )
        return request, project.access_id


def _check_edge(headers: dict[str, str], t_header: str, body: bytes) -> None:
    """The limits checked before any store or signature work (tuyacloud/limits.py): a few comparisons on an
    ordinary request, and a bounded cost on a hostile one."""
    if len(t_header) > limits.MAX_T_DIGITS:
        raise RequestTimeInvalid("t must be epoch milliseconds")
    nonce = headers.get("nonce")
    if nonce is not None and len(nonce) > limits.MAX_NONCE:
        raise ParamIllegal(f"nonce is longer than {limits.MAX_NONCE} characters")
    method = headers.get("sign_method")
    if method and method.upper() != limits.SIGN_METHOD:
        raise SignInvalid(f"sign_method must be {limits.SIGN_METHOD}")
    names = headers.get("signature-headers")
    if names and (names.count(":") >= limits.MAX_SIGNATURE_HEADERS
                  or len(names) > limits.MAX_SIGNATURE_HEADER_NAME):
        listed = [n for n in names.split(":") if n.strip()]
        if len(listed) > limits.MAX_SIGNATURE_HEADERS:
            raise ParamIllegal(f"Signature-Headers lists more than {limits.MAX_SIGNATURE_HEADERS} headers")
        if any(len(n) > limits.MAX_SIGNATURE_HEADER_NAME for n in listed):
            raise ParamIllegal(f"a Signature-Headers name is longer than {limits.MAX_SIGNATURE_HEADER_NAME} "
                               "characters")
    if body:
        limits.check_json(body)


def _decode(decode: Callable[[bytes], Body], body: bytes) -> Body:
    """The route's typed body. Not JSON, or a string with a NUL: refused in the words of :func:`_parse_json`."""
    if b"\\u0000" in body:
        _parse_json(body)
    try:
        return decode(body)  # a shape error is already the model's refusal (bodies.decoder)
    except msgspec.DecodeError as exc:
        _parse_json(body)  # orjson's words for what is wrong, as before typed bodies
        raise ParamIllegal(f"the body is not valid JSON: {exc}") from exc


def _parse_json(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        parsed = orjson.loads(body)  # within the limits: _check_edge has seen it
    except orjson.JSONDecodeError as exc:
        raise ParamIllegal(f"the body is not valid JSON: {exc.msg}") from exc
    if b"\\u0000" in body and limits.has_nul(parsed):
        raise ParamIllegal("NUL characters are not allowed in the body")
    return parsed


def _base_url(scope: dict[str, Any], headers: dict[str, str]) -> str:
    scheme = scope.get("scheme", "http")
    host = headers.get("host") or "127.0.0.1"
    return f"{scheme}://{host}"


_GONE = b"gone"  # a distinct object: identity, never value, tells it from a body


async def _read_body(receive: Any) -> bytes | None:
    """The raw body (signatures hash these exact bytes); None when it is larger than any API accepts, _GONE when
    the client disconnected before sending all of it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return _GONE
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks) if size <= MAX_BODY else None
