"""Verify signature: paste a request (method, URL, headers, body) from any client and see whether the server
accepts its signature, and if not which part differs from what the server computes; the platform's most common
support question. The diagnosis is ``domain/access/signature_check.py``; this page only parses the form and renders.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tuyacloud.console.common import field
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.domain.access import signature_check
from tuyacloud.errors import TuyaError
from tuyacloud.signing import BUSINESS_AUTH

METHODS = ("GET", "POST", "PUT", "DELETE")


def routes(deps: ConsoleDeps) -> list[BaseRoute]:
    def needs_token(method: str, path: str) -> bool | None:
        """Whether the API takes an access token, from the route table; None for a path it does not know."""
        try:
            route, _ = deps.table.match(method, path)
        except TuyaError:
            return None
        return bool(route.auth == BUSINESS_AUTH)

    def page(request: Request, values: dict[str, str], report: signature_check.SignatureReport | None = None,
             pasted_headers: dict[str, str] | None = None) -> Response:
        return deps.render(request, "verify.html", nav="verify", methods=METHODS, values=values, report=report,
                           pasted_headers=pasted_headers or {})

    async def form(request: Request) -> Response:
        return page(request, {"method": "GET", "url": "", "headers": "", "body": "", "client_sts": ""})

    async def check(request: Request) -> Response:
        # Browsers send textarea line breaks as CRLF: the request that was signed had whatever the client sent,
        # almost always LF (or no line break at all).
        values = {name: field(request, name).replace("\r\n", "\n") for name in
                  ("method", "url", "headers", "body", "client_sts")}
        headers = signature_check.parse_headers(values["headers"])
        pasted = signature_check.PastedRequest(
            method=values["method"] or "GET", url=values["url"], headers=headers,
            body=values["body"].encode(), client_string_to_sign=values["client_sts"],
        )
        report = await signature_check.check(deps.ctx(), pasted, needs_token)
        return page(request, values, report, headers)

    return [
        Route("/verify", form, methods=["GET"]),
        Route("/verify", check, methods=["POST"]),
    ]
