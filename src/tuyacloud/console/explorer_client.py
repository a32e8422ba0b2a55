"""The API Explorer's sender: signed requests through the real OpenAPI, in process.

Requests go through httpx into the whole ASGI app (``deps.app_of()``), so they pass the same gateway as any
client's: signature check, token check, authorisation, usage counting (the statistics page counts them), the
same envelope. In-process rather than over the network so it works whatever the server listens on, behind a
proxy or with TLS. The access token comes from the real token call (``GET /v1.0/token?grant_type=1``) and is
kept per project until it nears expiry or the API answers 1010. One httpx client serves every call of the server's
lifetime (made on the first call, closed by the app at shutdown with :meth:`ExplorerClient.aclose`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from tuyacloud.console.explorer import BuiltRequest, build_signed_request
from tuyacloud.models import Project
from tuyacloud.regions import REGIONS, RegionResolver

if TYPE_CHECKING:
    import httpx

TOKEN_INVALID = 1010
_MARGIN_MS = 60_000


@dataclass
class Exchange:
    """One request as sent and the response as received."""

    request: BuiltRequest
    url: str
    host: str
    status: int
    response_text: str
    response_json: Any
    elapsed_ms: float

    @property
    def success(self) -> bool:
        return isinstance(self.response_json, dict) and self.response_json.get("success") is True

    @property
    def pretty(self) -> str:
        if self.response_json is None:
            return self.response_text
        return orjson.dumps(self.response_json, option=orjson.OPT_INDENT_2).decode()


class ExplorerClient:
    def __init__(self, app_of: Callable[[], Any], resolver: RegionResolver, now_ms: Callable[[], int]) -> None:
        """``now_ms``: the cloud's clock (a call is signed with its ``t``, which the gateway checks against it)."""
        self._app_of = app_of
        self._resolver = resolver
        self._now_ms = now_ms
        self._tokens: dict[str, tuple[str, int]] = {}  # access_id -> (access token, expires at ms)
        self._http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient | None:
        """The client calls go through (None before the first call and after :meth:`aclose`)."""
        return self._http

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            import httpx  # on first use: importing it costs a server's start ~0.2 s of CPU for a page few open

            self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self._app_of()), timeout=30)
        return self._http

    async def aclose(self) -> None:
        """At the server's shutdown: close the client (a later call would make a new one)."""
        client, self._http = self._http, None
        if client is not None:
            await client.aclose()

    def host_for(self, project: Project, base_url: str) -> str:
        """The Host to send: the base URL's when it already selects the project's data center, else the data
        center's real endpoint name (which the region resolver maps)."""
        import httpx  # on first use: importing it costs a server's start ~0.2 s of CPU for a page few open

        host = httpx.URL(base_url).netloc.decode()
        if self._resolver.resolve(host) == project.region:
            return host
        return REGIONS[project.region].openapi_host

    async def send(self, project: Project, base_url: str, method: str, path: str,
                   query: list[tuple[str, str]], body: bytes, *, needs_token: bool) -> list[Exchange]:
        """The exchanges made: the token call first when a new token was needed, then the call itself (again
        with a fresh token if the kept one was refused)."""
        exchanges: list[Exchange] = []
        token = ""
        if needs_token:
            token = await self._token(project, base_url, exchanges)
        exchange = await self._call(project, base_url, method, path, query, body, token)
        if needs_token and _code(exchange) == TOKEN_INVALID and token:
            self._tokens.pop(project.access_id, None)
            exchanges.append(exchange)
            token = await self._token(project, base_url, exchanges)
            exchange = await self._call(project, base_url, method, path, query, body, token)
        exchanges.append(exchange)
        return exchanges

    async def _token(self, project: Project, base_url: str, exchanges: list[Exchange]) -> str:
        kept = self._tokens.get(project.access_id)
        if kept and kept[1] - _MARGIN_MS > self._now_ms():
            return kept[0]
        exchange = await self._call(project, base_url, "GET", "/v1.0/token", [("grant_type", "1")], b"", "")
        exchanges.append(exchange)
        result = exchange.response_json.get("result") if exchange.success else None
        if not isinstance(result, dict) or not result.get("access_token"):
            return ""
        expires_in = int(result.get("expire_time") or 0) * 1000
        self._tokens[project.access_id] = (str(result["access_token"]), self._now_ms() + expires_in)
        return str(result["access_token"])

    async def _call(self, project: Project, base_url: str, method: str, path: str, query: list[tuple[str, str]],
                    body: bytes, token: str) -> Exchange:
        built = build_signed_request(project, token, method, path, query, body, t=str(self._now_ms()))
        host = self.host_for(project, base_url)
        base = base_url.rstrip("/")
        client = self._client()
        started = time.perf_counter()
        response = await client.request(built.method, base + built.target, content=built.body,
                                        headers={**built.headers, "Host": host})
        elapsed = (time.perf_counter() - started) * 1000
        try:
            parsed = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            parsed = None
        return Exchange(built, base + built.target, host, response.status_code, response.text, parsed, elapsed)


def _code(exchange: Exchange) -> int | None:
    body = exchange.response_json
    return body.get("code") if isinstance(body, dict) else None
