"""Template rendering: one Jinja2 environment with autoescaping on, and the context every page gets.

Every page sees ``account`` (the logged-in username), ``csrf_token`` (put it in every form as a hidden
``csrf_token`` field), ``flash`` (a one-time notice set by the previous POST) and ``nav`` (the active left-nav
entry, set by the page). Every count a page prints goes through the ``num`` filter (thousands separators), so
21,000 devices read the same on every page.
"""

from __future__ import annotations

import functools
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tuyacloud.models import Project
from tuyacloud.regions import REGIONS

if TYPE_CHECKING:  # Jinja2 is imported when the first page renders: a server that serves no page never pays for it
    from jinja2 import Environment

TEMPLATES = Path(__file__).parent / "templates"
FLASH_COOKIE = "tuyacloud_flash"

def format_ms(ms: int | None) -> str:
    if not ms:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) + " UTC"


def format_number(value: Any) -> str:
    """Counts as a person reads them, alike on every page: ``21,000`` (the charts' axes and tooltips use the same
    thousands separator). Whole floats print as integers; anything that is not a number prints unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def region_name(code: str) -> str:
    region = REGIONS.get(code)
    return f"{region.name} ({code})" if region else code


def to_json(value: Any) -> Markup:
    """JSON for a data attribute or a <pre>; escaped by the caller's autoescape like any other text."""
    return Markup.escape(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True,
                      default_for_string=True), trim_blocks=True, lstrip_blocks=True)
    env.filters["ms"] = format_ms
    env.filters["num"] = format_number
    env.filters["region"] = region_name
    env.filters["json"] = to_json
    env.globals["regions"] = REGIONS
    env.globals["project_tabs"] = project_tabs
    return env


def project_tabs(project: Project) -> list[tuple[str, str, str]]:
    """(key, label, href) of the tabs of a project page; the other pages' tabs follow the development method."""
    base = f"/console/projects/{project.access_id}"
    tabs = [("overview", "Overview", base), ("services", "Service API", f"{base}/services"),
            ("devices", "Devices", f"{base}/devices")]
    if project.method == "custom":
        tabs += [("assets", "Assets", f"{base}/assets"), ("users", "Users", f"{base}/users")]
    else:
        tabs += [("apps", "Apps & Homes", f"{base}/apps")]
    tabs += [("messages", "Messages", f"{base}/messages"),
             ("explorer", "API Explorer", f"/console/explorer?project={project.access_id}"),
             ("statistics", "Statistics", f"{base}/statistics")]
    return tabs


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    session = getattr(request.state, "console_session", None)
    flash = request.cookies.get(FLASH_COOKIE)
    values = {
        "request": request,
        "account": session.username if session else None,
        "csrf_token": session.csrf_token if session else "",
        "flash": urllib.parse.unquote(flash) if flash else None,
        **context,
    }
    html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/console")
    return response


def set_flash(response: Response, message: str) -> None:
    response.set_cookie(FLASH_COOKIE, urllib.parse.quote(message[:300]), max_age=60, path="/console",
                        httponly=True, samesite="lax")
