"""The API Explorer's two halves that need no web framework: the catalogue of implemented endpoints (read from the
OpenAPI route table, so it lists exactly what the gateway serves, grouped by area as docs/api-coverage.md is),
and building a request signed with a project's credentials, step by step, for the page to show.

The route table is handed to the console when the app is built; this module reads a route only through the
:class:`RouteInfo` protocol (what any declared route has), so the console never imports the gateway.

Signing goes through ``signing.compute_signature``: the explorer shows the very string to sign and signature
that the gateway will verify, not a second implementation's.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from tuyacloud.bodies import Body, openapi_schema
from tuyacloud.catalog.datapoints import DpSpec
from tuyacloud.errors import ParamEmpty
from tuyacloud.models import Project
from tuyacloud.signing import BUSINESS_AUTH, compute_signature, is_token_path

_PARAM = re.compile(r"\{([a-z_]+)\}")


class ParamInfo(Protocol):
    """A declared query parameter of a route, as the explorer reads it."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def required(self) -> bool: ...
    @property
    def description(self) -> str: ...
    @property
    def minimum(self) -> int | None: ...
    @property
    def maximum(self) -> int | None: ...
    @property
    def enum(self) -> tuple[str, ...] | None: ...


class RouteInfo(Protocol):
    """A declared OpenAPI route, as the explorer reads it."""

    @property
    def key(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def area(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def service(self) -> str: ...
    @property
    def auth(self) -> str: ...
    @property
    def query(self) -> tuple[ParamInfo, ...]: ...
    @property
    def body(self) -> type[Body] | None: ...
    @property
    def path_params(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class ParamSpec:
    name: str
    location: str  # "path" | "query"
    type: str = "string"
    required: bool = False
    description: str = ""
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Endpoint:
    key: str  # "GET /v1.0/devices/{device_id}": also the usage statistics' API name
    method: str
    path: str
    area: str
    summary: str
    service: str
    auth: str
    params: tuple[ParamSpec, ...]
    body_schema: dict[str, Any] | None
    example_body: str  # JSON text built from the schema ("" when the API takes no body)

    @property
    def path_params(self) -> list[ParamSpec]:
        return [p for p in self.params if p.location == "path"]

    @property
    def query_params(self) -> list[ParamSpec]:
        return [p for p in self.params if p.location == "query"]

    @property
    def needs_token(self) -> bool:
        return self.auth == BUSINESS_AUTH


@dataclass(frozen=True)
class Area:
    name: str
    endpoints: tuple[Endpoint, ...]


def endpoint_of(route: RouteInfo) -> Endpoint:
    params = [ParamSpec(name, "path", required=True) for name in route.path_params]
    params += [ParamSpec(p.name, "query", p.type, p.required, p.description, p.minimum, p.maximum, p.enum)
               for p in route.query]
    schema = openapi_schema(route.body) if route.body is not None else None
    example = json.dumps(example_from_schema(schema), indent=2) if schema is not None else ""
    return Endpoint(route.key, route.method, route.path, route.area, route.summary, route.service, route.auth,
                    tuple(params), schema, example)


def catalogue(routes: Iterable[RouteInfo]) -> list[Area]:
    """Endpoints grouped by area, areas and endpoints in the order the route table registers them."""
    grouped: dict[str, list[Endpoint]] = {}
    for route in routes:
        grouped.setdefault(route.area, []).append(endpoint_of(route))
    return [Area(name, tuple(items)) for name, items in grouped.items()]


def find(routes: Iterable[RouteInfo], key: str) -> Endpoint | None:
    for route in routes:
        if route.key == key:
            return endpoint_of(route)
    return None


def example_from_schema(schema: Mapping[str, Any] | None, name: str = "") -> Any:
    """A value that satisfies ``schema``: required properties (all when none is required), one array item,
    the first enum value or the minimum. A person edits it; it only has to be a good start."""
    if not schema:
        return _NAMED_EXAMPLES.get(name)
    if "example" in schema:
        return schema["example"]
    if "default" in schema:
        return schema["default"]
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):  # the first of several forms
        if schema.get(key):
            return example_from_schema(schema[key][0], name)
    kind = schema.get("type")
    if kind == "object":
        props: Mapping[str, Any] = schema.get("properties", {})
        wanted = list(schema.get("required", [])) or list(props)
        return {key: example_from_schema(props.get(key, {}), key) for key in wanted}
    if kind == "array":
        return [example_from_schema(schema.get("items", {}), name)]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return True
    if kind == "string":
        return _NAMED_EXAMPLES.get(name, "")
    return _NAMED_EXAMPLES.get(name)


# A few names whose example is more useful than an empty string (a command switches something on).
_NAMED_EXAMPLES: dict[str, Any] = {"code": "switch_led", "value": True, "time_zone_id": "Europe/Berlin",
                                   "country_code": "1", "schema": "", "pairing_type": "EZ"}


def command_example(functions: Iterable[DpSpec]) -> str:
    """A commands body for a device: its first switch turned on, else its first function with a valid value
    (an Enum's first option, an Integer's minimum, read from the catalog's data points)."""
    chosen: tuple[str, Any] | None = None
    for f in functions:
        if f.type == "Boolean":
            chosen = (f.code, True)
            break
        if chosen is None and f.type == "Enum" and f.options:
            chosen = (f.code, f.options[0])
        elif chosen is None and f.type == "Integer":
            chosen = (f.code, f.minimum)
    if chosen is None:
        return ""
    return json.dumps({"commands": [{"code": chosen[0], "value": chosen[1]}]}, indent=2)


def fill_path(template: str, values: Mapping[str, str]) -> str:
    """The path with its ``{name}`` parameters filled in, each URL-quoted as one segment."""

    def one(match: re.Match[str]) -> str:
        value = (values.get(match.group(1)) or "").strip()
        if not value:
            raise ParamEmpty(f"{match.group(1)} is required")
        return quote(value, safe="")

    return _PARAM.sub(one, template)


@dataclass(frozen=True)
class BuiltRequest:
    """A request exactly as it goes on the wire, with how it was signed."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    target: str  # path + encoded query: what follows the host in the URL
    headers: dict[str, str]
    body: bytes
    string_to_sign: str
    sign_prefix: str  # client_id + access_token + t + nonce
    signature: str


def build_signed_request(project: Project, token: str, method: str, path: str,
                         query: Iterable[tuple[str, str]] = (), body: bytes = b"", *, t: str,
                         nonce: str | None = None) -> BuiltRequest:
    """Headers, string to sign and signature for one call with the project's credentials.

    ``token`` is the access token ("" for token calls and logins); token paths are signed without it whatever is
    given, as the protocol says. Empty query values are dropped, as clients drop unset parameters.
    """
    pairs = tuple((k, v) for k, v in query if v != "")
    nonce = uuid.uuid4().hex if nonce is None else nonce
    token = "" if is_token_path(path) else token
    signed = compute_signature(client_id=project.access_id, secret=project.access_secret, method=method, path=path,
                               query=pairs, body=body, t=t, access_token=token, nonce=nonce)
    headers = {"client_id": project.access_id, "sign": signed.sign, "t": t, "sign_method": "HMAC-SHA256",
               "nonce": nonce, "access_token": token, "lang": "en"}
    if body:
        headers["Content-Type"] = "application/json"
    encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    target = path + (f"?{encoded}" if encoded else "")
    return BuiltRequest(method.upper(), path, pairs, target, headers, body, signed.string_to_sign, signed.prefix,
                        signed.sign)


def mask(secret: str) -> str:
    """A secret as the explorer page shows it: enough to recognise, not enough to use."""
    if len(secret) <= 8:
        return "•" * len(secret)
    return secret[:4] + "•" * (len(secret) - 8) + secret[-4:]
