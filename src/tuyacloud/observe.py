"""What every HTTP request leaves behind: a metrics sample and, with ``--access-log``, one log line.

The OpenAPI gateway reports its requests itself (it knows the route it matched and the Tuya code it answered,
and wrapping its ``send`` would cost every signed call); everything Starlette serves (control API, console,
documents, /metrics) goes through :meth:`RequestObserver.site`, which times the call and reads the status from
the response and the route template from what Starlette's router left in the scope.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

from tuyacloud.errors import TuyaError, code_and_message
from tuyacloud.logs import AccessLog, loggable_path
from tuyacloud.metrics import UNMATCHED, Metrics

SUCCESS = "success"


class RequestObserver:
    def __init__(self, metrics: Metrics, access_log: AccessLog | None = None) -> None:
        self.metrics = metrics
        self.access_log = access_log

    def gateway(self, scope: dict[str, Any], route_path: str | None, error: TuyaError | None, seconds: float,
                access_id: str, tid: str) -> None:
        """An OpenAPI request answered (always HTTP 200, the outcome is the envelope's code); ``route_path`` is the
        matched route's template, None when no route matched."""
        code = SUCCESS if error is None else str(code_and_message(error)[0])
        template = route_path if route_path is not None else UNMATCHED
        method = scope["method"]
        self.metrics.requests.record(method, template, 200, code, seconds)
        if self.access_log is not None:
            self.access_log.write(
                method=method, route=template, path=loggable_path(route_path, scope["path"]),
                status=200, code=code, seconds=seconds, client=_client(scope), client_id=access_id, tid=tid)

    async def site(self, app: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Run a Starlette-served HTTP request and observe it."""
        started = time.perf_counter()
        status = 500  # if the app fails before answering, the server answers 500

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, capture)
        finally:
            seconds = time.perf_counter() - started
            template = site_route(scope)
            self.metrics.requests.record(scope["method"], template, status, "", seconds)
            if self.access_log is not None:
                known = None if template == UNMATCHED or template.endswith("/*") else template
                self.access_log.write(method=scope["method"], route=template,
                                      path=loggable_path(known, scope["path"]), status=status, code="",
                                      seconds=seconds, client=_client(scope))


def site_route(scope: dict[str, Any]) -> str:
    """The route template of a request Starlette routed: the path with each path parameter's value put back as
    ``{name}``; ``<mount>/*`` for what a mounted app (static files, the console's gate) answered without a route
    of its own; ``unmatched`` when no route matched. Bounded, whatever paths clients send."""
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return UNMATCHED
    if not (inspect.isfunction(endpoint) or inspect.ismethod(endpoint)):
        return f"{scope.get('root_path', '')}/*"
    params = scope.get("path_params") or {}
    path = scope["path"]
    if not params:
        return path
    names = {str(v): k for k, v in params.items()}
    return "/".join(f"{{{names[s]}}}" if s in names else s for s in path.split("/"))


def _client(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""
