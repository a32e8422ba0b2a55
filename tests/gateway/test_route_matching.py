"""The route table's matching against a plain reference: every templated route tried in turn.

``RouteTable.match`` narrows what it tries (by segment count, first two segments, then the last segment); the
answer must be the plain one's for every path the API's own routes make, with a parameter filled in several ways,
a segment added, the last one changed, a trailing slash, and every method: the same route and parameters, or the
same refusal (1108, with its words).
"""

from __future__ import annotations

import re

import pytest

from tuyacloud.errors import TuyaError, UriPathInvalid
from tuyacloud.gateway.router import Route, RouteTable
from tuyacloud.gateway.routes import build_table

_PARAM = re.compile(r"\{([a-z_]+)\}")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def _pattern(route: Route) -> re.Pattern[str]:
    escaped = re.escape(route.path).replace(r"\{", "{").replace(r"\}", "}")
    return re.compile("^" + _PARAM.sub(r"(?P<\1>[^/]+)", escaped) + "$")


def _wild(route: Route) -> bool:
    return any("{" in s for s in route.path.split("/")[1:3])


class Reference:
    """Static routes first, then the templated ones in the order they were added, those with a parameter among
    the first two segments last (as the table has always answered)."""

    def __init__(self, table: RouteTable) -> None:
        self.static = {(r.method, r.path): r for r in table.routes if not r.path_params}
        templated = [r for r in table.routes if r.path_params]
        self.templated = [(_pattern(r), r) for r in [r for r in templated if not _wild(r)]
                          + [r for r in templated if _wild(r)]]
        self.paths = {r.path for r in table.routes}

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        if (method, path) in self.static:
            return self.static[(method, path)], {}
        known = path in self.paths
        for pattern, r in self.templated:
            m = pattern.match(path)
            if m is not None:
                if r.method == method:
                    return r, m.groupdict()
                known = True
        if known:
            raise UriPathInvalid(f"{method} is not supported on {path}")
        raise UriPathInvalid(f"no API at {path}")


def _paths(table: RouteTable) -> list[str]:
    paths: set[str] = set()
    for r in table.routes:
        for fill in ("vdevo1", "v1.0", "devices", "status", "x"):
            p = _PARAM.sub(fill, r.path)
            paths.update({p, p + "/", p + "/extra", p.rsplit("/", 1)[0] + "/zzz", p.rsplit("/", 1)[0] + "/" + fill})
    return sorted(paths)


def _answer(match: object, method: str, path: str) -> tuple[str, object]:
    try:
        route, params = match(method, path)  # type: ignore[operator]
    except TuyaError as exc:
        return "refused", (type(exc).__name__, exc.detail)
    return route.key, params


@pytest.mark.parametrize("method", METHODS)
def test_the_table_answers_as_trying_every_route(method: str) -> None:
    table = build_table()
    plain = Reference(table)
    paths = _paths(table)
    assert len(paths) > 1000
    for path in paths:
        assert _answer(table.match, method, path) == _answer(plain.match, method, path), path


def test_a_route_added_after_matching_is_found() -> None:
    """The narrowed lists are made at the first match: a route added later must be seen."""
    table = RouteTable()

    async def handler(_: object) -> None:
        return None

    table.add("GET", "/v1.0/things/{id}/a", handler, service="s", summary="", area="x")
    assert table.match("GET", "/v1.0/things/1/a")[0].path == "/v1.0/things/{id}/a"
    with pytest.raises(UriPathInvalid):
        table.match("GET", "/v1.0/things/1/b")
    table.add("GET", "/v1.0/things/{id}/{part}", handler, service="s", summary="", area="x")
    assert table.match("GET", "/v1.0/things/1/b") == (table.routes[1], {"id": "1", "part": "b"})
    assert table.match("GET", "/v1.0/things/1/a")[0] is table.routes[0]
