"""Login and logout.

The login form is the one public page. It cannot use a session's CSRF token (there is no session yet), so it uses
a double-submit token: a random value in a short-lived cookie that the form must echo, which a cross-site page
cannot read; that stops login CSRF (logging a victim in to an attacker's account).
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tuyacloud.console.auth import clear_session_cookie, form_of, secure_cookies, set_session_cookie
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.domain.access import console_accounts
from tuyacloud.domain.access.console_accounts import LoginRefused

LOGIN_CSRF_COOKIE = "tuyacloud_login_csrf"


def _safe_next(value: str) -> str:
    """Only a console path (no scheme, no //host) may follow a login: no open redirect."""
    if value.startswith("/console/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/projects"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def routes(deps: ConsoleDeps) -> list[BaseRoute]:
    def show(request: Request, error: str = "", status_code: int = 200, username: str = "") -> Response:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or deps.ctx().ids.urlsafe(24)
        next_url = _safe_next(request.query_params.get("next") or str(form_of(request).get("next") or ""))
        response = deps.render(request, "login.html", status_code, login_csrf=token, error=error,
                               next_url=next_url, username=username)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/console/login", httponly=True,
                            samesite="strict", secure=secure_cookies(request, deps))
        return response

    async def login_page(request: Request) -> Response:
        if request.state.console_session is not None:
            return deps.redirect(_safe_next(request.query_params.get("next", "")))
        return show(request)

    async def login(request: Request) -> Response:
        form = form_of(request)
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        given = str(form.get("csrf_token") or "")
        if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
            return show(request, "Your login form expired: please try again.", 403)
        username = str(form.get("username") or "")
        try:
            token, _ = await console_accounts.login(deps.ctx(), deps.policy, username,
                                                    str(form.get("password") or ""), client_address(request))
        except LoginRefused as refused:
            status = 429 if refused.locked_until_ms else 401
            return show(request, str(refused).capitalize() + ".", status, username=username)
        response = deps.redirect(_safe_next(str(form.get("next") or "")))
        set_session_cookie(response, request, deps, token)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
        return response

    async def logout(request: Request) -> Response:
        from tuyacloud.console.auth import SESSION_COOKIE

        await console_accounts.logout(deps.ctx(), request.cookies.get(SESSION_COOKIE, ""))
        response = deps.redirect("/console/login")
        clear_session_cookie(response)
        return response

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
