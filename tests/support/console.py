"""Driving the web console over HTTP as a browser would: log in through the form, keep the cookie, send the
session's CSRF token with every POST."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import httpx

from support import web

ADMIN_PASSWORD = "console-test-password"  # the console test server's first admin password (tests/console/conftest.py)
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


class ConsoleClient(httpx.Client):
    def __init__(self, base_url: str, **kwargs: Any) -> None:
        kwargs.setdefault("verify", web.tls_context())  # one TLS context for all (support/web.py)
        super().__init__(base_url=base_url, timeout=30, follow_redirects=False, **kwargs)
        self.csrf = ""

    def login(self, username: str, password: str) -> httpx.Response:
        """Submit the login form; on success remember the session's CSRF token."""
        form = self.get("/console/login")
        match = CSRF_FIELD.search(form.text)
        assert match, form.text
        response = self.post("/console/login", data={"csrf_token": match.group(1), "username": username,
                                                      "password": password, "next": "/console/projects"})
        if response.status_code == 303:
            self.refresh_csrf()
        return response

    def refresh_csrf(self) -> str:
        page = self.get("/console/projects")
        match = CSRF_META.search(page.text)
        assert match and match.group(1), page.text[:500]
        self.csrf = match.group(1)
        return self.csrf

    def post_form(self, path: str, data: dict[str, Any] | list[tuple[str, str]] | None = None) -> httpx.Response:
        """POST a form with the session's CSRF token added."""
        items = list(data.items()) if isinstance(data, dict) else list(data or [])
        return self.post_raw(path, [*items, ("csrf_token", self.csrf)])

    def post_raw(self, path: str, items: list[tuple[str, Any]]) -> httpx.Response:
        """POST exactly these form fields (repeated names allowed), without adding the CSRF token."""
        body = urllib.parse.urlencode(items)
        return self.post(path, content=body, headers={"content-type": "application/x-www-form-urlencoded"})
