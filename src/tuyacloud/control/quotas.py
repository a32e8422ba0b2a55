"""Control API for quotas (domain/projects/quotas.py): a project's use of its limits, its plan, and the two
moves a test of back-off code needs: reset the month's counts, or move the project to another quota month.

Its routes join ``control/routes.py``'s table (same admin token, same envelope).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tuyacloud import limits
from tuyacloud.domain.context import Context
from tuyacloud.domain.projects import projects, quotas
from tuyacloud.errors import ParamIllegal

_FIELDS = ("plan", *quotas.FIGURES)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    data = limits.loads(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise ParamIllegal("body must be a JSON object")
    return data


def _integer(value: Any, rule: str) -> int:
    """A JSON integer (not a boolean, which Python counts as one), else ``rule`` as the 1109 message."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ParamIllegal(rule)
    return value


def _figure(name: str, value: Any) -> quotas.Figure:
    """A figure of the body: left out, null (the plan's) or an integer."""
    if value is None:
        return None
    if value is quotas.UNSET:
        return quotas.UNSET
    return _integer(value, quotas.figure_rule(name))


async def show(request: Request, ctx: Context) -> dict[str, Any]:
    """The plan, the quota month and its use of each limit, refusals since start."""
    return await quotas.status(ctx, await projects.get(ctx, request.path_params["access_id"]))


async def configure(request: Request, ctx: Context) -> dict[str, Any]:
    """``{"plan": "trial"|"off"|"default", "monthly_calls": N|null, "monthly_messages": N|null,
    "devices": N|null}``: what is left out stays as it was; null is the plan's figure."""
    body = await _body(request)
    unknown = set(body) - set(_FIELDS)
    if unknown:
        raise ParamIllegal(f"unknown fields {sorted(unknown)}; give any of {', '.join(_FIELDS)}")
    plan = body.get("plan", quotas.UNSET)
    if plan is not quotas.UNSET and plan is not None and not isinstance(plan, str):
        raise ParamIllegal(f"plan must be one of {', '.join(quotas.PLANS)} or default")
    figures = {name: _figure(name, body.get(name, quotas.UNSET)) for name in quotas.FIGURES}
    project = await projects.get(ctx, request.path_params["access_id"])
    await quotas.configure(ctx, project, plan=plan, **figures)
    return await quotas.status(ctx, project)


async def reset(request: Request, ctx: Context) -> dict[str, Any]:
    """The quota month's calls and messages start again from zero (and the frequency windows)."""
    project = await projects.get(ctx, request.path_params["access_id"])
    await quotas.reset(ctx, project)
    return await quotas.status(ctx, project)


async def month(request: Request, ctx: Context) -> dict[str, Any]:
    """``{"months": 1}`` (the default): the project's quota month moves on, with fresh counts."""
    body = await _body(request)
    project = await projects.get(ctx, request.path_params["access_id"])
    await quotas.move_month(ctx, project, _integer(body.get("months", 1), quotas.month_rule()))
    return await quotas.status(ctx, project)


ROUTES = [
    ("GET", "/_tuyacloud/projects/{access_id}/quotas", show, True),
    ("PUT", "/_tuyacloud/projects/{access_id}/quotas", configure, True),
    ("POST", "/_tuyacloud/projects/{access_id}/quotas/reset", reset, True),
    ("POST", "/_tuyacloud/projects/{access_id}/quotas/month", month, True),
]
