"""The console's route table: every module in ``tuyacloud.console.pages`` contributes ``routes(deps)``.

Page modules are discovered, not listed, so a new page is one new file (docs/console.md, "Adding a page"). All of
them are mounted under ``/console`` behind :class:`tuyacloud.console.auth.ConsoleGate` (session + CSRF); static
files are served from ``/console/static`` without a session (the login page needs its stylesheet).
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles

from tuyacloud.console import pages
from tuyacloud.console.auth import ConsoleGate
from tuyacloud.console.deps import ConsoleDeps

STATIC = Path(__file__).parent / "static"


def page_routes(deps: ConsoleDeps) -> list[BaseRoute]:
    """Routes of every page module, paths relative to /console, in module-name order."""
    found: list[BaseRoute] = []
    for info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{pages.__name__}.{info.name}")
        build = getattr(module, "routes", None)
        if callable(build):
            found.extend(build(deps))
    return found


async def _home(request: Request) -> Response:
    return RedirectResponse("/console/projects", status_code=303)


def build_console_routes(deps: ConsoleDeps) -> list[BaseRoute]:
    router = Router(routes=page_routes(deps))
    return [
        Route("/console", _home, methods=["GET"]),
        Route("/console/", _home, methods=["GET"]),  # the URL `serve` prints, and so where a login returns to
        Mount("/console/static", app=StaticFiles(directory=STATIC), name="console-static"),
        Mount("/console", app=ConsoleGate(router, deps), name="console"),
    ]


def console_paths(routes: list[BaseRoute]) -> list[tuple[str, str]]:
    """(method, full path) of every guarded console route: the tests enumerate these to check each one."""
    out: list[tuple[str, str]] = []
    for route in routes:
        if isinstance(route, Mount) and route.name == "console":
            gate = route.app
            assert isinstance(gate, ConsoleGate)
            assert isinstance(gate.app, Router)
            for inner in gate.app.routes:
                if isinstance(inner, Route):
                    for method in sorted(inner.methods or {"GET"}):
                        if method != "HEAD":
                            out.append((method, "/console" + inner.path))
    return out
