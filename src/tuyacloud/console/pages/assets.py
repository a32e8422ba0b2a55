"""Custom projects: the asset tree (with device counts) and the project users with their grants; add an asset, add
a user, set a user's password, authorise a user on an asset or take that away. Smart-home projects have no asset
system: their pages are under apps."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tuyacloud.console.common import error_text, field, project_of
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.domain import console_views
from tuyacloud.domain.industry import assets, authorization, users
from tuyacloud.errors import TuyaError
from tuyacloud.limits import parse_int
from tuyacloud.models import Project


def _custom_only(project: Project) -> None:
    if project.method != "custom":
        from starlette.exceptions import HTTPException

        raise HTTPException(404, "assets and project users belong to custom-development projects; "
                                 "smart-home projects have apps and homes")


def routes(deps: ConsoleDeps) -> list[BaseRoute]:
    async def tree_page(request: Request, error: str = "", status_code: int = 200) -> Response:
        project = await project_of(deps, request)
        _custom_only(project)
        tree, counts = await console_views.asset_tree(deps.ctx(), project)
        return deps.render(request, "assets.html", status_code, project=project, nav="overview", tab="assets",
                           tree=tree, counts=counts, error=error)

    async def add_asset(request: Request) -> Response:
        project = await project_of(deps, request)
        _custom_only(project)
        try:
            asset = await assets.add(deps.ctx(), project, field(request, "name"), field(request, "parent_id") or None)
        except TuyaError as error:
            return await tree_page(request, error_text(error), 400)
        return deps.redirect(f"/console/projects/{project.access_id}/assets", f"Added asset {asset.name}")

    async def users_page(request: Request, error: str = "", status_code: int = 200) -> Response:
        project = await project_of(deps, request)
        _custom_only(project)
        # One page of users (the forms below offer that page's users) and a pager to the others: a project with
        # more users than a page leaves none out silently. A page past the end shows the last one.
        ctx = deps.ctx()
        size = console_views.PAGE
        page_no = max(1, min(1_000_000, parse_int(request.query_params.get("page") or "") or 1))
        found, total = await authorization.project_users(ctx, project, size, offset=(page_no - 1) * size)
        pages = max(1, math.ceil(total / size))
        if page_no > pages:
            page_no = pages
            found, total = await authorization.project_users(ctx, project, size, offset=(page_no - 1) * size)
        tree, _ = await console_views.asset_tree(ctx, project)

        def page_url(n: int) -> str:
            return f"/console/projects/{project.access_id}/users?page={n}"

        return deps.render(request, "users.html", status_code, project=project, nav="overview", tab="users",
                           users=found, total=total, tree=tree, error=error, page_no=page_no, pages=pages,
                           more=page_no < pages, first_url=page_url(1), prev_url=page_url(page_no - 1),
                           next_url=page_url(page_no + 1), last_url=page_url(pages))

    async def add_user(request: Request) -> Response:
        project = await project_of(deps, request)
        _custom_only(project)
        try:
            # Clients send the SHA-256 hex of the password (the platform's convention); the console does the same,
            # so the plaintext typed here is the one tuya-iot-py-sdk's connect() takes.
            user = await users.register(deps.ctx(), project, username=field(request, "username"),
                                        password=users.client_password(field(request, "password")),
                                        nick_name=field(request, "nick_name"),
                                        country_code=field(request, "country_code"), creator="console")
        except TuyaError as error:
            return await users_page(request, error_text(error), 400)
        return deps.redirect(f"/console/projects/{project.access_id}/users", f"Added user {user.username}")

    async def grant(request: Request) -> Response:
        project = await project_of(deps, request)
        _custom_only(project)
        try:
            await authorization.authorize(deps.ctx(), project, field(request, "uid"), [field(request, "asset_id")],
                                          field(request, "with_children") == "on")
        except TuyaError as error:
            return await users_page(request, error_text(error), 400)
        return deps.redirect(f"/console/projects/{project.access_id}/users", "Authorisation saved")

    async def set_password(request: Request) -> Response:
        project = await project_of(deps, request)
        _custom_only(project)
        try:
            user = await users.get(deps.ctx(), project, field(request, "uid"))
            await users.reset_password(deps.ctx(), project, user.username,
                                       users.client_password(field(request, "new_password")))
        except TuyaError as error:
            return await users_page(request, error_text(error), 400)
        return deps.redirect(f"/console/projects/{project.access_id}/users", f"Password of {user.username} changed")

    async def revoke(request: Request) -> Response:
        project = await project_of(deps, request)
        _custom_only(project)
        try:
            await authorization.revoke(deps.ctx(), project, field(request, "uid"), [field(request, "asset_id")])
        except TuyaError as error:
            return await users_page(request, error_text(error), 400)
        return deps.redirect(f"/console/projects/{project.access_id}/users", "Authorisation removed")

    return [
        Route("/projects/{access_id}/assets", tree_page, methods=["GET"]),
        Route("/projects/{access_id}/assets", add_asset, methods=["POST"]),
        Route("/projects/{access_id}/users", users_page, methods=["GET"]),
        Route("/projects/{access_id}/users", add_user, methods=["POST"]),
        Route("/projects/{access_id}/users/grant", grant, methods=["POST"]),
        Route("/projects/{access_id}/users/revoke", revoke, methods=["POST"]),
        Route("/projects/{access_id}/users/password", set_password, methods=["POST"]),
    ]
