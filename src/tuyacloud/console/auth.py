"""The console's gate: every request under ``/console`` (but the login page and static files) needs a live
session, and every state-changing request a matching CSRF token.

It is an ASGI wrapper around the whole console router rather than a decorator on each handler, so a page module
cannot forget it: a new route is protected the moment it is registered.

- Session: a random token in the ``tuyacloud_console`` cookie (HttpOnly, SameSite=Lax, Secure over TLS, path
  /console); the store keeps its SHA-256 (see domain/access/console_accounts.py).
- CSRF: synchronizer token per session. A POST (any method but GET/HEAD/OPTIONS) must carry it as the form field
  ``csrf_token`` or the ``X-CSRF-Token`` header; otherwise 403 and the handler never runs.
- Anonymous: GET/HEAD redirect to the login page (``?next=`` the page asked for); anything else gets 401.
- A domain error (TuyaError) a handler lets escape becomes an error page with the Tuya code and message.
- Form bodies (application/x-www-form-urlencoded, at most 1 MiB) are parsed here once and handed to handlers as
  ``request.state.form`` (a starlette FormData); the raw body is still readable with ``await request.body()``.
"""

from __future__ import annotations

import urllib.parse

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tuyacloud.console import render
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.domain.access import console_accounts
from tuyacloud.domain.access.console_accounts import ConsoleAccountError
from tuyacloud.errors import (
    ClientIdInvalid,
    DataNotExist,
    DeviceNotExist,
    TuyaError,
    code_and_message,
    human_text,
)
from tuyacloud.models import ConsoleSession

SESSION_COOKIE = "tuyacloud_console"
PUBLIC_PATHS = frozenset({"/console/login"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY = 1 << 20
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
     b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
]


def session_of(request: Request) -> ConsoleSession:
    """The logged-in session of a console request (the gate guarantees one on every non-public page)."""
    session: ConsoleSession | None = getattr(request.state, "console_session", None)
    assert session is not None, "console page reached without a session"
    return session


def error_page(request: Request, error: Exception) -> Response:
    """A domain error that escaped a handler, as a readable page: the Tuya code and message, never a trace."""
    if isinstance(error, HTTPException):
        return render.page(request, "error.html", error.status_code, heading=f"Error {error.status_code}",
                           message=error.detail)
    if isinstance(error, TuyaError):
        code, _ = code_and_message(error)
        message = human_text(error)
        missing = isinstance(error, (ClientIdInvalid, DeviceNotExist, DataNotExist))
        return render.page(request, "error.html", 404 if missing else 400,
                           heading="Not found" if missing else "Refused", message=f"{message} (code {code})")
    return render.page(request, "error.html", 400, heading="Refused", message=str(error))


def form_of(request: Request) -> FormData:
    form: FormData | None = getattr(request.state, "form", None)
    return form if form is not None else FormData()


def secure_cookies(request: Request, deps: ConsoleDeps) -> bool:
    return bool(deps.settings.tls) or request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, deps: ConsoleDeps, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=deps.policy.session_ttl_s, path="/console", httponly=True,
                        samesite="lax", secure=secure_cookies(request, deps))


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/console")


def _parse_form(headers: dict[bytes, bytes], body: bytes) -> FormData:
    content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded" or not body:
        return FormData()
    text = body.decode("utf-8", "replace")
    pairs: list[tuple[str, str | UploadFile]] = list(urllib.parse.parse_qsl(text, keep_blank_values=True))
    return FormData(pairs)


def _holds_nul(scope: Scope, form: FormData) -> bool:
    """A NUL in the path, a query value or a form field: refused before any page runs, as the OpenAPI does (no
    field has one, and PostgreSQL's text cannot store or look one up: the page failed with a 500)."""
    query = scope.get("query_string", b"").decode("latin-1")
    texts = [scope["path"], *(t for kv in urllib.parse.parse_qsl(query, keep_blank_values=True) for t in kv)]
    texts += [t for kv in form.multi_items() for t in kv if isinstance(t, str)]
    return any("\x00" in text for text in texts)


class ConsoleGate:
    def __init__(self, app: ASGIApp, deps: ConsoleDeps) -> None:
        self.app = app
        self.deps = deps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        method = scope["method"]
        body = b""
        if method not in SAFE_METHODS:
            chunks, size, more = [], 0, True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY:
                    await PlainTextResponse("request body too large", 413)(scope, receive, send_secure)
                    return
                chunks.append(chunk)
                more = message.get("more_body", False)
            body = b"".join(chunks)
        headers = dict(scope.get("headers", []))
        form = _parse_form(headers, body)
        if _holds_nul(scope, form):
            await PlainTextResponse("NUL characters are not allowed in the path, the query or the form",
                                    400)(scope, receive, send_secure)
            return
        request = Request(scope)
        session = await console_accounts.session_of(self.deps.ctx(), request.cookies.get(SESSION_COOKIE, ""))
        state = scope.setdefault("state", {})
        state["console_session"] = session
        state["form"] = form
        refused = self._refusal(scope, request, session, form, headers)
        if refused is not None:
            await refused(scope, receive, send_secure)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_secure(message)

        try:
            await self.app(scope, replay if method not in SAFE_METHODS else receive, send_tracked)
        except (TuyaError, ConsoleAccountError, HTTPException) as error:
            if started:
                raise
            await error_page(request, error)(scope, receive, send_secure)

    def _refusal(self, scope: Scope, request: Request, session: ConsoleSession | None, form: FormData,
                 headers: dict[bytes, bytes]) -> Response | None:
        if scope["path"] in PUBLIC_PATHS:
            return None  # the login page checks its own (pre-session) CSRF token
        method = scope["method"]
        if session is None:
            if method in SAFE_METHODS:
                target = scope["path"] + ("?" + scope["query_string"].decode("latin-1") if scope["query_string"]
                                          else "")
                return RedirectResponse("/console/login?" + urllib.parse.urlencode({"next": target}), 303)
            return PlainTextResponse("log in first", 401)
        if method not in SAFE_METHODS:
            given = headers.get(b"x-csrf-token", b"").decode("latin-1") or str(form.get("csrf_token") or "")
            if not console_accounts.csrf_matches(session, given):
                return PlainTextResponse("missing or wrong CSRF token: reload the page and try again", 403)
        return None
