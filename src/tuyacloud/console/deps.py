"""What console pages are given: the domain context, settings, the template renderer and the app's parts.

One object handed to every page module's ``routes(deps)``; pages read the context per request (``deps.ctx()``)
because it exists only after start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tuyacloud.console import render
from tuyacloud.domain.access.console_accounts import ConsolePolicy
from tuyacloud.domain.context import Context
from tuyacloud.domain.projects.usage import UsageCounter
from tuyacloud.settings import Settings

if TYPE_CHECKING:
    from tuyacloud.console.explorer_client import ExplorerClient


@dataclass
class ConsoleDeps:
    ctx_of: Callable[[], Context]
    settings: Settings
    policy: ConsolePolicy
    # The OpenAPI route table (gateway.router.RouteTable): the API Explorer's catalogue of endpoints.
    table: Any = None
    # In-memory API usage counters: flush them (``await deps.usage.flush(deps.ctx())``) before reading statistics.
    usage: UsageCounter | None = None
    # The whole ASGI app (OpenAPI included), for in-process signed calls: httpx.ASGITransport(app=deps.app_of()).
    app_of: Callable[[], Any] | None = None
    # The API Explorer's sender (console/explorer_client.py), set when its routes are built; the app closes it at
    # shutdown.
    explorer: ExplorerClient | None = None

    def ctx(self) -> Context:
        return self.ctx_of()

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render.page(request, template, status_code, **context)

    @staticmethod
    def redirect(url: str, flash: str | None = None) -> Response:
        """303 to ``url`` after a successful POST; ``flash`` is shown once on the next page."""
        response = RedirectResponse(url, status_code=303)
        if flash:
            render.set_flash(response, flash)
        return response
