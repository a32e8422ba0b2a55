"""Console authentication and authorisation against the real server: every route needs a session, every POST a
CSRF token; lock-out, hashing, logout, cookie flags, and secrets kept out of logs."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from support import web
from support.cli import cli_command, cli_env
from support.console import ADMIN_PASSWORD, ConsoleClient
from support.server import CloudServer, database_url_for_test
from tuyacloud.app import CloudState
from tuyacloud.clock import Clock
from tuyacloud.console.auth import PUBLIC_PATHS
from tuyacloud.console.routes import console_paths
from tuyacloud.server import banner
from tuyacloud.settings import Settings
from tuyacloud.store.engine import open_store

PARAMS = re.compile(r"\{([^}:]+)(:[^}]*)?\}")


def _routes(server: CloudServer) -> list[tuple[str, str]]:
    routes = console_paths(server.app.site.routes)
    assert len(routes) >= 20, routes  # the enumeration finds the page modules' routes
    return routes


def _concrete(path: str, server: CloudServer) -> str:
    """Fill path parameters with the demo project's real ids, so a handler would act if the gate let it."""
    assert server.state is not None and server.state.demo is not None
    values = {"access_id": server.state.demo.project.access_id, "device_id": server.state.demo.devices[0].id}
    return PARAMS.sub(lambda m: values.get(m.group(1), "x"), path)


def test_every_console_route_refuses_anonymous_requests(console_server: CloudServer) -> None:
    with web.client(base_url=console_server.url, timeout=30) as anonymous:
        for method, path in _routes(console_server):
            if path in PUBLIC_PATHS:
                continue
            response = anonymous.request(method, _concrete(path, console_server), data={"csrf_token": "x"})
            if method == "GET":
                assert response.status_code == 303, (method, path)
                assert response.headers["location"].startswith("/console/login?next="), (method, path)
            else:
                assert response.status_code == 401, (method, path, response.status_code)


def test_every_post_needs_the_session_csrf_token(console_server: CloudServer, console_client: ConsoleClient) -> None:
    before = console_server.control("GET", "/projects")
    for method, path in _routes(console_server):
        if method != "POST" or path in PUBLIC_PATHS:
            continue
        url = _concrete(path, console_server)
        missing = console_client.post_raw(url, [("name", "x")])
        assert missing.status_code == 403, (path, missing.status_code)
        wrong = console_client.post_raw(url, [("name", "x"), ("csrf_token", "not-the-token")])
        assert wrong.status_code == 403, (path, wrong.status_code)
        header = console_client.post(url, headers={"X-CSRF-Token": "nope"})
        assert header.status_code == 403, (path, header.status_code)
    assert console_server.control("GET", "/projects") == before  # nothing changed: no secret rotated, no project
    # The right token in the header works too (for scripts on console pages).
    demo = console_server.state.demo.project.access_id  # type: ignore[union-attr]
    ok = console_client.post(f"/console/projects/{demo}/services", headers={"X-CSRF-Token": console_client.csrf},
                             data={"services": ["iot_core", "device_status_notification"]})
    assert ok.status_code == 303


def test_console_root_and_unknown_pages(console_client: ConsoleClient) -> None:
    assert console_client.get("/console").headers["location"] == "/console/projects"
    missing = console_client.get("/console/projects/nosuchproject")
    assert missing.status_code == 404 and "Not found" in missing.text


def test_the_console_url_serve_prints_leads_to_the_projects_after_login(console_server: CloudServer) -> None:
    """`serve` prints .../console/; opened before logging in it goes to the login page, and the login returns to
    a page that exists (it answered 404 once)."""
    c = ConsoleClient(console_server.url)
    first = c.get("/console/")
    assert first.status_code == 303
    target = first.headers["location"]
    while target.startswith("/console/") and not target.startswith("/console/login"):
        target = c.get(target).headers["location"]
    assert target.startswith("/console/login?next=")
    next_page = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)["next"][0]
    form = c.get(target)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    done = c.post("/console/login", data={"csrf_token": token, "username": "admin", "password": ADMIN_PASSWORD,
                                          "next": next_page})
    assert done.status_code == 303
    landed = c.get(done.headers["location"], follow_redirects=True)
    assert landed.status_code == 200 and str(landed.url).endswith("/console/projects"), landed.url
    c.close()


def test_login_form_needs_its_own_csrf_token(console_server: CloudServer) -> None:
    with web.client(base_url=console_server.url, timeout=30) as c:
        response = c.post("/console/login", data={"username": "admin", "password": ADMIN_PASSWORD})
        assert response.status_code == 403
        assert "tuyacloud_console" not in response.headers.get("set-cookie", "")


def test_no_open_redirect_after_login(console_server: CloudServer) -> None:
    c = ConsoleClient(console_server.url)
    form = c.get("/console/login?next=https://evil.example/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    response = c.post("/console/login", data={"csrf_token": token, "username": "admin", "password": ADMIN_PASSWORD,
                                              "next": "//evil.example/x"})
    assert response.headers["location"] == "/console/projects"
    c.close()


def test_session_cookie_flags_and_security_headers(console_server: CloudServer) -> None:
    c = ConsoleClient(console_server.url)
    response = c.login("admin", ADMIN_PASSWORD)
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "tuyacloud_console=" in v)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP
    page = c.get("/console/projects")
    assert page.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    c.close()


def test_session_cookie_is_secure_under_tls(tmp_path: Path) -> None:
    server = CloudServer(tmp_path, tls=True, create_demo=False, simulator=False,
                         console_admin_password=ADMIN_PASSWORD).start()
    try:
        with web.client(base_url=server.url, timeout=30) as c:  # plain HTTP here: send the Secure cookie by hand
            form = c.get("/console/login")
            assert "Secure" in form.headers["set-cookie"]
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
            response = c.post("/console/login", headers={"cookie": f"tuyacloud_login_csrf={token}"},
                              data={"csrf_token": token, "username": "admin", "password": ADMIN_PASSWORD})
        cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie" and "tuyacloud_console=" in v]
        assert cookies and "Secure" in cookies[0]
    finally:
        server.stop()


def test_logout_invalidates_the_session(console_server: CloudServer) -> None:
    c = ConsoleClient(console_server.url)
    assert c.login("admin", ADMIN_PASSWORD).status_code == 303
    stolen = c.cookies.get("tuyacloud_console")
    assert c.post_form("/console/logout").status_code == 303
    with web.client(base_url=console_server.url, timeout=30, cookies={"tuyacloud_console": stolen or ""}) as other:
        assert other.get("/console/projects").status_code == 303  # the old cookie no longer opens anything
    c.close()


def _read_account_row(server: CloudServer, username: str) -> tuple[Any, ...]:
    async def read() -> tuple[Any, ...]:
        store = await open_store(server.settings.effective_database_url)
        try:
            rows = await store.fetch("SELECT username, password_hash FROM console_accounts WHERE username = ?",
                                     (username,))
            return tuple(rows[0])
        finally:
            await store.close()

    return asyncio.run(read())


def test_passwords_are_stored_as_salted_scrypt_hashes(tmp_path: Path) -> None:
    # at the server's own cost (test servers hash at a low one unless told otherwise)
    server = CloudServer(tmp_path, password_scrypt_n=Settings.password_scrypt_n, create_demo=False, simulator=False,
                         console_admin_password=ADMIN_PASSWORD).start()
    try:
        _, stored = _read_account_row(server, "admin")
    finally:
        server.stop()
    assert ADMIN_PASSWORD not in stored
    kind, n, r, p, salt, digest = stored.split("$")
    assert (kind, int(n), int(r), int(p)) == ("scrypt", 1 << 14, 8, 1)
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 32


def _cli(server: CloudServer, *args: str) -> subprocess.CompletedProcess[str]:
    where = ["--database-url", server.settings.database_url] if server.settings.database_url else \
        ["--data-dir", str(server.settings.data_dir)]
    return subprocess.run([*cli_command(), "admin", *args, *where], capture_output=True, text=True,
                          env=cli_env(), timeout=60)


def test_cli_creates_accounts_and_sets_passwords(console_server: CloudServer) -> None:
    created = _cli(console_server, "create", "--username", "scripted", "--password", "scripted-pass-1")
    assert created.returncode == 0, created.stderr
    assert "scripted-pass-1" not in created.stdout + created.stderr
    assert _cli(console_server, "create", "--username", "scripted", "--password", "x" * 10).returncode == 1
    assert _cli(console_server, "create", "--username", "short", "--password", "short").returncode == 1
    c = ConsoleClient(console_server.url)
    assert c.login("scripted", "scripted-pass-1").status_code == 303
    changed = _cli(console_server, "set-password", "--username", "scripted", "--password", "another-pass-2")
    assert changed.returncode == 0, changed.stderr
    assert c.get("/console/projects").status_code == 303  # a new password ends the account's sessions
    assert ConsoleClient(console_server.url).login("scripted", "scripted-pass-1").status_code == 401
    assert ConsoleClient(console_server.url).login("scripted", "another-pass-2").status_code == 303
    listed = _cli(console_server, "list", "--json")
    assert '"scripted"' in listed.stdout and "scrypt$" not in listed.stdout


def test_lock_out_after_repeated_failures_per_address_and_username(tmp_path: Path) -> None:
    clock = Clock()
    server = CloudServer(tmp_path, clock=clock, create_demo=False, simulator=False,
                         console_admin_password=ADMIN_PASSWORD).start()
    try:
        c = ConsoleClient(server.url)
        for _ in range(4):
            assert c.login("admin", "wrong-password").status_code == 401
        locked = c.login("admin", "wrong-password")
        assert locked.status_code == 429 and "too many failed logins" in locked.text.lower()
        # Locked: even the right password is refused, without being checked.
        assert c.login("admin", ADMIN_PASSWORD).status_code == 429
        clock.step(15 * 60 * 1000 + 1000)
        assert c.login("admin", ADMIN_PASSWORD).status_code == 303
        # Per address and username: guessing other names from this address does not lock it out of admin (behind
        # a proxy every client shares one address); each guessed name is locked for this address on its own.
        for _ in range(5):
            ConsoleClient(server.url).login("nobody", "wrong-password")
        assert ConsoleClient(server.url).login("nobody", "wrong-password").status_code == 429
        assert ConsoleClient(server.url).login("admin", ADMIN_PASSWORD).status_code == 303
    finally:
        server.stop()


def test_sessions_expire(tmp_path: Path) -> None:
    clock = Clock()
    server = CloudServer(tmp_path, clock=clock, create_demo=False, simulator=False, console_session_ttl_s=60,
                         console_admin_password=ADMIN_PASSWORD).start()
    try:
        c = ConsoleClient(server.url)
        assert c.login("admin", ADMIN_PASSWORD).status_code == 303
        assert c.get("/console/projects").status_code == 200
        clock.step(61_000)
        assert c.get("/console/projects").status_code == 303
    finally:
        server.stop()


def test_secrets_never_reach_the_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # a random first password; a new, empty database, so that the log lines of its creation are checked too
    server = CloudServer(tmp_path, create_demo=False, simulator=False, database_url=database_url_for_test()).start()
    try:
        assert server.state is not None
        first = server.state.first_admin_password
        assert first and len(first) >= 16
        shown = banner(server.settings, server.state, None)
        assert shown.count(first) == 1 and "username: admin" in shown
        c = ConsoleClient(server.url)
        c.login("admin", "a-wrong-password")
        assert c.login("admin", first).status_code == 303
        created = c.post_form("/console/projects/new", {"name": "Logged?", "method": "custom", "region": "us"})
        access_id = created.headers["location"].rsplit("/", 1)[1]
        c.post_form(f"/console/projects/{access_id}/rotate-secret")
        secret = server.control("GET", "/projects")[-1]["access_secret"]
        # Everything the server side logged (the test's own HTTP client logs its requests: not the server's).
        text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
        assert text  # the capture saw the server's records
        for value in (first, "a-wrong-password", secret, c.cookies.get("tuyacloud_console") or "-", c.csrf):
            assert value not in text
    finally:
        server.stop()
    # A second start on the same data: accounts exist, so no new password is made or printed.
    again = CloudServer(tmp_path, create_demo=False, simulator=False)
    again.settings.database_url = server.settings.database_url
    again.start()
    try:
        assert again.state is not None and again.state.first_admin_password is None
        assert "password" not in banner(again.settings, again.state, None)
    finally:
        again.stop()


def test_banner_without_first_admin_shows_the_console_url() -> None:
    from tuyacloud.settings import Settings

    text = banner(Settings(port=8123), CloudState(), None)
    assert "http://127.0.0.1:8123/console/" in text and "password" not in text
