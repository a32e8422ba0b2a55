"""Helpers shared by console pages: the project a URL names, form fields, and the project's tab list."""

from __future__ import annotations

from starlette.requests import Request

from tuyacloud.console.auth import form_of
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.domain.projects import projects
from tuyacloud.errors import TuyaError, code_and_message, human_text
from tuyacloud.models import Project


async def project_of(deps: ConsoleDeps, request: Request) -> Project:
    """The project of ``{access_id}`` in the path; an unknown one escapes as ClientIdInvalid (a 404 page)."""
    return await projects.get(deps.ctx(), request.path_params["access_id"])


def field(request: Request, name: str, default: str = "") -> str:
    """One form field as text (the gate parsed the form)."""
    value = form_of(request).get(name)
    return value if isinstance(value, str) else default


def fields(request: Request, name: str) -> list[str]:
    return [v for v in form_of(request).getlist(name) if isinstance(v, str)]


def error_text(error: TuyaError) -> str:
    """What a person sees when the domain refuses: Tuya's message, our detail and the code, as the
    OpenAPI would answer."""
    code, _ = code_and_message(error)
    return f"{human_text(error)} (code {code})"
