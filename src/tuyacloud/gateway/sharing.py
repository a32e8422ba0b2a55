"""The device-sharing API's edge (``/v1.0/m/...``, ``/v1.1/m/...``): Home Assistant's Tuya integration.

Two kinds of call. The QR login (``/v1.0/m/life/home-assistant/qrcode/tokens``) is plain: no signature, no
encryption. Every other call names its session in ``X-token``; the session's refresh token and the request id
give the request's keys (``sharing_crypto.py``). This edge checks ``X-sign`` over the headers and the encrypted
query and body, decrypts them, runs one handler of ``sharing_routes.py`` under the session user's visibility,
and encrypts the handler's ``result``. Failures are the usual plain envelope: a bad signature or undecryptable
data answers ``1004 sign invalid``, which is what makes Home Assistant ask the user to log in again.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from tuyacloud import bodies, envelope, limits, sharing_crypto
from tuyacloud.bodies import Body
from tuyacloud.domain.access import visibility
from tuyacloud.domain.context import Context
from tuyacloud.domain.smarthome import sharing
from tuyacloud.errors import (
    MissingHeader,
    ParamIllegal,
    RequestTimeInvalid,
    SignInvalid,
    SystemError_,
    TokenInvalid,
    TuyaError,
    UriPathInvalid,
)
from tuyacloud.gateway.asgi import _GONE, _base_url, _read_body
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.sharing_routes import ROUTES, SharingRoute
from tuyacloud.logs import loggable_path
from tuyacloud.signing import parse_query

log = logging.getLogger("tuyacloud.sharing")

PREFIXES = ("/v1.0/m/", "/v1.1/m/")
LOGIN_PATH = "/v1.0/m/life/home-assistant/qrcode/tokens"
_JSON_HEADERS = [(b"content-type", b"application/json")]


class SharingGateway:
    def __init__(self, ctx: Context, public_url: str | None = None) -> None:
        self.ctx = ctx
        self.public_url = public_url

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await _read_body(receive)
        if body is _GONE:
            return  # the client left before its body arrived: nobody to answer
        t = self.ctx.clock.now_ms()
        tid = self.ctx.ids.unique_hex()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            if body is None:
                raise ParamIllegal("the body is too large")
            path = scope["path"]
            limits.refuse_nul(path)
            if path == LOGIN_PATH or path.startswith(LOGIN_PATH + "/"):
                result: Any = await self._login(scope, headers)
            else:
                result = await self._signed(scope, headers, body)
            payload = envelope.success(result, t, tid)
        except TuyaError as exc:
            payload = envelope.failure(exc, t, tid)
        except Exception:  # never a stack trace on the wire
            log.exception("unexpected error on %s %s (tid %s)", scope["method"], loggable_path(None, scope["path"]),
                          tid)
            payload = envelope.failure(SystemError_(), t, tid)
        response_headers = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})

    def _endpoint(self, scope: dict[str, Any], headers: dict[str, str]) -> str:
        return (self.public_url or _base_url(scope, headers)).rstrip("/")

    async def _login(self, scope: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        query = dict(parse_query(scope.get("query_string", b"").decode("latin-1")))
        limits.refuse_nul(*query.keys(), *query.values())
        client_id, code = query.get("clientid", ""), query.get("usercode", "")
        method, path = scope["method"], scope["path"]
        if method == "POST" and path == LOGIN_PATH:
            login = await sharing.start_login(self.ctx, client_id, code, query.get("schema", ""))
            return {"qrcode": login.qrcode}
        qrcode = path[len(LOGIN_PATH) + 1:]
        if method != "GET" or not qrcode or "/" in qrcode:
            raise UriPathInvalid(f"{method} {path}")
        done = await sharing.redeem(self.ctx, qrcode, client_id, code)
        remaining = max(0, (done.token.expires_ms - self.ctx.clock.now_ms()) // 1000)
        return {
            "access_token": done.token.access_token, "refresh_token": done.token.refresh_token,
            "expire_time": remaining, "uid": done.user.id, "terminal_id": self.ctx.ids.hex(32),
            "endpoint": self._endpoint(scope, headers), "username": done.user.username,
        }

    def _route(self, method: str, path: str) -> tuple[SharingRoute, dict[str, str]]:
        for route in ROUTES:
            if route.method == method:
                matched = route.pattern.match(path)
                if matched:
                    return route, matched.groupdict()
        raise UriPathInvalid(f"{method} {path}")

    async def _signed(self, scope: dict[str, Any], headers: dict[str, str], body: bytes) -> str:
        route, path_params = self._route(scope["method"], scope["path"])
        access_token = headers.get("x-token", "")
        if not access_token:
            raise TokenInvalid("X-token header required")
        rid, given_sign, x_time = headers.get("x-requestid", ""), headers.get("x-sign", ""), headers.get("x-time", "")
        missing = [n for n, v in (("X-requestId", rid), ("X-sign", given_sign), ("X-time", x_time)) if not v]
        if missing:
            raise MissingHeader(f"{', '.join(missing)} header required")
        # Checked before any store or signature work, as the OpenAPI's edge checks ``t`` and ``sign``: int() of
        # thousands of digits raises, and compare_digest raises on non-ASCII text.
        if len(x_time) > limits.MAX_T_DIGITS or not (x_time.isascii() and x_time.isdigit()):
            raise RequestTimeInvalid("X-time must be epoch milliseconds")
        if not given_sign.isascii():
            raise SignInvalid("X-sign must be a hex digest")
        token, project = await sharing.session(self.ctx, access_token)
        signed = {"X-appKey": headers.get("x-appkey", ""), "X-requestId": rid, "X-sid": headers.get("x-sid", ""),
                  "X-time": x_time, "X-token": access_token}
        query_enc = dict(parse_query(scope.get("query_string", b"").decode("latin-1"))).get("encdata", "")
        body_enc = _body_encdata(body)
        key_hash = sharing_crypto.hash_key(rid, token.refresh_token)
        if not sharing_crypto.sign_ok(key_hash, signed, given_sign, query_enc, body_enc):
            raise SignInvalid()
        if abs(self.ctx.clock.now_ms() - int(x_time)) > self.ctx.policy.timestamp_window_s * 1000:
            raise RequestTimeInvalid()
        if route.live_token:
            sharing.require_live(self.ctx, token)
        try:
            key = sharing_crypto.secret(rid, key_hash, signed["X-sid"])
        except sharing_crypto.DecryptError as exc:
            raise SignInvalid(str(exc)) from exc
        params = _decrypt_json(query_enc, key) if query_enc else {}
        parsed_body = _decrypt_json(body_enc, key) if body_enc else None
        typed_body: Body | None = None
        if route.body is not None:  # the route's model, as the OpenAPI decodes its bodies (bodies.py)
            if not isinstance(parsed_body, dict):
                raise ParamIllegal("the body must be a JSON object")
            typed_body = bodies.convert(route.body, parsed_body)
        if not isinstance(params, dict):
            raise ParamIllegal("the query must be a JSON object")
        seen = await visibility.for_token(self.ctx, project, token)
        request = ApiRequest(ctx=self.ctx.scoped(seen), project=project, token=token, path_params=path_params,
                             params={str(k): v for k, v in params.items()}, body=typed_body,
                             client_ip=(scope.get("client") or ("",))[0] or "",
                             base_url=self._endpoint(scope, headers))
        result = await route.handler(request)
        return sharing_crypto.encrypt(orjson.dumps(result), key)


def _body_encdata(body: bytes) -> str:
    if not body.strip():
        return ""
    parsed = limits.loads(body)  # the same size, count and depth limits as the OpenAPI
    value = parsed.get("encdata", "") if isinstance(parsed, dict) else None
    if not isinstance(value, str):
        raise ParamIllegal("the body must be {\"encdata\": ...}")
    return value


def _decrypt_json(encdata: str, key: str) -> Any:
    try:
        return limits.loads(sharing_crypto.decrypt(encdata, key))
    except sharing_crypto.DecryptError as exc:
        raise SignInvalid(str(exc)) from exc
