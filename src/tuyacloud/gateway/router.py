"""The explicit route table of the OpenAPI: matching, declared parameters, and the OpenAPI document.

Every route declares its method, path template, API service, parameters and body shape once; the same
declaration validates requests (1100 for a missing required parameter, 1109 for an ill-typed one), documents
the API at ``/openapi.json`` and generates ``docs/api-coverage.md``.

A body is a typed model (``bodies.Body``, a msgspec Struct declared in the domain package of its subject): the
route decodes and checks it before the handler runs, and its JSON schema is the request body of the document.
Query parameters stay :class:`Param` declarations: they arrive as strings from the signed query, each with its
own strict grammar (``parse_int`` refuses what ``int()`` would take) and its own 1100/1109 answer, and the handler
already gets them typed (int, bool, str) in ``req.params``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuyacloud.bodies import Body, decoder, openapi_schema
from tuyacloud.errors import ParamEmpty, ParamIllegal, UriPathInvalid
from tuyacloud.limits import parse_int
from tuyacloud.signing import BUSINESS_AUTH

if TYPE_CHECKING:
    from tuyacloud.gateway.request import ApiRequest

Handler = Callable[["ApiRequest"], Awaitable[Any]]



@dataclass(frozen=True)
class Param:
    name: str
    type: str = "string"  # string | integer | boolean
    required: bool = False
    description: str = ""
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] | None = None

    def parse(self, raw: str) -> Any:
        if self.type == "integer":
            value = parse_int(raw)  # strict: int() would take "+5", "1_0" and blanks
            if value is None:
                raise ParamIllegal(f"{self.name} must be an integer")
            if self.minimum is not None and value < self.minimum:
                raise ParamIllegal(f"{self.name} must be at least {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                raise ParamIllegal(f"{self.name} must be at most {self.maximum}")
            return value
        if self.type == "boolean":
            if raw.lower() not in ("true", "false"):
                raise ParamIllegal(f"{self.name} must be true or false")
            return raw.lower() == "true"
        if self.enum is not None and raw not in self.enum:
            raise ParamIllegal(f"{self.name} must be one of {', '.join(self.enum)}")
        return raw

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": self.type}
        if self.minimum is not None:
            s["minimum"] = self.minimum
        if self.maximum is not None:
            s["maximum"] = self.maximum
        if self.enum is not None:
            s["enum"] = list(self.enum)
        return s


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    service: str
    summary: str
    area: str
    query: tuple[Param, ...] = ()
    body: type[Body] | None = None  # the request body's model, if it takes one
    auth: str = BUSINESS_AUTH
    path_params: tuple[str, ...] = field(default=())
    decode: Callable[[bytes], Body] | None = field(default=None, compare=False)  # bytes -> checked ``body``

    @functools.cached_property
    def key(self) -> str:
        """``METHOD /path``: quotas and usage count by it on every request, so it is made once per route."""
        return f"{self.method} {self.path}"

    def parse_query(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        if not self.query:  # most routes declare none: what the query holds is not theirs to read
            return {}
        given: dict[str, str] = {}
        for k, v in pairs:
            given.setdefault(k, v)
        parsed: dict[str, Any] = {}
        for p in self.query:
            raw = given.get(p.name)
            if raw is None or raw == "":
                if p.required:
                    raise ParamEmpty(f"{p.name} is required")
                continue
            parsed[p.name] = p.parse(raw)
        return parsed


_PARAM = re.compile(r"\{([a-z_]+)\}")


def _bucket(path: str) -> tuple[int, str, str]:
    segments = path.split("/")
    return len(segments), segments[1] if len(segments) > 1 else "", segments[2] if len(segments) > 2 else ""


_Candidates = tuple[tuple["re.Pattern[str]", "Route"], ...]


def _by_last_segment(entries: list[tuple[re.Pattern[str], Route]]) -> tuple[dict[str, _Candidates], _Candidates]:
    """``entries`` (in order) narrowed by the request's last path segment: a pattern whose last segment is literal
    matches only a path that ends with it, so for each such literal the entries that end with it or with a
    parameter, in their order; and those that end with a parameter for any other last segment."""
    def last(route: Route) -> str | None:
        segment = route.path.rsplit("/", 1)[-1]
        return None if "{" in segment else segment

    literals = {segment for _, route in entries if (segment := last(route)) is not None}
    narrowed = {literal: tuple(e for e in entries if last(e[1]) in (literal, None)) for literal in literals}
    return narrowed, tuple(e for e in entries if last(e[1]) is None)


class RouteTable:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._static: dict[tuple[str, str], Route] = {}
        # Templated routes bucketed by (segment count, first two segments), so a request tries a handful of
        # patterns rather than every one; routes with a parameter among those first segments are tried always.
        self._dynamic: dict[tuple[int, str, str], list[tuple[re.Pattern[str], Route]]] = {}
        self._wild: list[tuple[re.Pattern[str], Route]] = []
        self._paths: set[str] = set()
        # What match tries, by bucket and then by last segment (_by_last_segment), the wild routes after each
        # bucket's own: made at the first match after a route was added.
        self._index: dict[tuple[int, str, str], tuple[dict[str, _Candidates], _Candidates]] | None = None
        self._wild_index: tuple[dict[str, _Candidates], _Candidates] = ({}, ())

    def add(self, method: str, path: str, handler: Handler, *, service: str, summary: str, area: str,
            query: tuple[Param, ...] = (), body: type[Body] | None = None, auth: str = BUSINESS_AUTH) -> None:
        names = tuple(_PARAM.findall(path))
        route = Route(method, path, handler, service, summary, area, query, body, auth, names,
                      decoder(body) if body is not None else None)
        self.routes.append(route)
        self._paths.add(path)
        self._index = None
        if not names:
            self._static[(method, path)] = route
        else:
            escaped = re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
            pattern = re.compile("^" + _PARAM.sub(r"(?P<\1>[^/]+)", escaped) + "$")
            key = _bucket(path)
            if "{" in key[1] or "{" in key[2]:
                self._wild.append((pattern, route))
            else:
                self._dynamic.setdefault(key, []).append((pattern, route))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for a request; a trailing slash is ignored (iot-py calls ``/v1.0/devices/?...``)."""
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        route = self._static.get((method, path))
        if route is not None:
            return route, {}
        index = self._index
        if index is None:
            index = self._index = {key: _by_last_segment([*entries, *self._wild])
                                   for key, entries in self._dynamic.items()}
            self._wild_index = _by_last_segment(self._wild)
        segments = path.split("/")
        count = len(segments)
        narrowed, other = index.get((count, segments[1] if count > 1 else "", segments[2] if count > 2 else ""),
                                    self._wild_index)
        path_known = False
        for pattern, candidate in narrowed.get(segments[-1], other):
            m = pattern.match(path)
            if m is not None:
                if candidate.method == method:
                    return candidate, m.groupdict()
                path_known = True
        if path_known or path in self._paths:
            raise UriPathInvalid(f"{method} is not supported on {path}")
        raise UriPathInvalid(f"no API at {path}")

    def openapi(self, title: str = "tuyacloud OpenAPI", version: str = "1.0") -> dict[str, Any]:
        envelope = {
            "type": "object",
            "required": ["success", "t"],
            "properties": {
                "success": {"type": "boolean"},
                "t": {"type": "integer"},
                "tid": {"type": "string"},
                "result": {},
                "code": {"type": "integer"},
                "msg": {"type": "string"},
                "detail": {"type": "string", "description": "what the cloud adds beyond the platform's msg"},
            },
        }
        paths: dict[str, dict[str, Any]] = {}
        for r in self.routes:
            params: list[dict[str, Any]] = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                for n in r.path_params
            ]
            params += [
                {"name": p.name, "in": "query", "required": p.required, "description": p.description,
                 "schema": p.schema()}
                for p in r.query
            ]
            op: dict[str, Any] = {
                "summary": r.summary,
                "tags": [r.area],
                "operationId": f"{r.method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', r.path).strip('_')}",
                "parameters": params,
                "x-tuya-service": r.service,
                "x-tuya-auth": r.auth,
                "responses": {
                    "200": {
                        "description": "Tuya envelope (HTTP 200 even for errors)",
                        "content": {"application/json": {"schema": envelope}},
                    }
                },
            }
            if r.body is not None:
                op["requestBody"] = {"required": True,
                                     "content": {"application/json": {"schema": openapi_schema(r.body)}}}
            paths.setdefault(r.path, {})[r.method.lower()] = op
        return {"openapi": "3.0.3", "info": {"title": title, "version": version}, "paths": paths}

