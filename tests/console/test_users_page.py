"""The users page of a custom project: create a user, set a user's password, authorise on an asset and remove that
authorisation, through the forms (session + CSRF), checked through the OpenAPI's login and a user token's view."""

from __future__ import annotations

import html
import re
from typing import Any

from support.console import ConsoleClient
from support.custom import add_asset, code, ok, sha
from support.server import CloudServer
from support.signed import SignedClient

ERROR = re.compile(r'data-testid="error">([^<]*)<')
REVOKE = re.compile(r'name="uid" value="([^"]+)"><input type="hidden" name="asset_id" value="([^"]+)">')


def _error(page: Any) -> str:
    found = ERROR.search(page.text)
    return html.unescape(found.group(1)) if found else ""


def _login(c: SignedClient, username: str, password: str) -> dict[str, Any]:
    return c.request("POST", "/v1.0/iot-03/users/login", json={"username": username, "password": sha(password)},
                     token="")


def _user_client(c: SignedClient, username: str, password: str) -> SignedClient:
    result = ok(_login(c, username, password))
    user = SignedClient(c.base_url, c.access_id, c.secret, host=c.host)
    user.access_token = result["access_token"]
    return user


def _uid(page: Any, username: str) -> str:
    found = re.search(rf'<option value="([^"]+)">{username}</option>', page.text)
    assert found, page.text
    return found.group(1)


def test_create_grant_revoke_and_set_password(console_server: CloudServer, console_client: ConsoleClient) -> None:
    project = console_server.create_project(name="Console users")
    pid = project["access_id"]
    base = f"/console/projects/{pid}/users"
    api = SignedClient(console_server.url, pid, project["access_secret"])
    assert api.connect()["success"]
    hall = add_asset(api, "Hall")
    device = console_server.control("POST", f"/projects/{pid}/devices", {"category": "cz", "asset_id": hall})[0]

    assert console_client.post_form(base, {"username": "op", "password": "first-pw"}).status_code == 303
    uid = _uid(console_client.get(base), "op")
    ok(_login(api, "op", "first-pw"))  # the plaintext typed in the console is what a client logs in with

    granted = console_client.post_form(f"{base}/grant", {"uid": uid, "asset_id": hall, "with_children": "on"})
    assert granted.status_code == 303
    page = console_client.get(base)
    assert "Hall + children" in page.text and 'data-testid="revoke"' in page.text
    assert REVOKE.findall(page.text) == [(uid, hall)]  # the remove button names this user and this asset
    user = _user_client(api, "op", "first-pw")
    assert ok(user.get(f"/v1.0/iot-03/devices/{device['id']}"))["id"] == device["id"]

    revoked = console_client.post_form(f"{base}/revoke", {"uid": uid, "asset_id": hall})
    assert revoked.status_code == 303
    page = console_client.get(base)
    assert "Authorisation removed" in page.text and "Hall + children" not in page.text
    assert REVOKE.findall(page.text) == []
    assert code(user.get(f"/v1.0/iot-03/devices/{device['id']}")) == 1106

    changed = console_client.post_form(f"{base}/password", {"uid": uid, "new_password": "second-pw"})
    assert changed.status_code == 303
    assert "Password of op changed" in console_client.get(base).text
    assert code(_login(api, "op", "first-pw")) == 2401
    ok(_login(api, "op", "second-pw"))


def test_refusals_show_the_reason_and_change_nothing(console_server: CloudServer,
                                                     console_client: ConsoleClient) -> None:
    project = console_server.create_project(name="Console refusals")
    pid = project["access_id"]
    base = f"/console/projects/{pid}/users"
    assert console_client.post_form(base, {"username": "kept", "password": "pw"}).status_code == 303
    uid = _uid(console_client.get(base), "kept")

    empty = console_client.post_form(f"{base}/password", {"uid": uid, "new_password": ""})
    assert empty.status_code == 400 and "must not be empty" in _error(empty)
    unknown = console_client.post_form(f"{base}/password", {"uid": "nobody", "new_password": "x"})
    assert unknown.status_code == 400 and "(code 2006)" in _error(unknown)
    no_asset = console_client.post_form(f"{base}/revoke", {"uid": uid, "asset_id": "no-such-asset"})
    assert no_asset.status_code == 400 and "(code 1000)" in _error(no_asset)
    no_user = console_client.post_form(f"{base}/revoke", {"uid": "nobody", "asset_id": "x"})
    assert no_user.status_code == 400 and "(code 2006)" in _error(no_user)
    # Without the session's CSRF token nothing happens.
    forged = console_client.post_raw(f"{base}/password", [("uid", uid), ("new_password", "forged")])
    assert forged.status_code == 403
    api = SignedClient(console_server.url, pid, project["access_secret"])
    ok(_login(api, "kept", "pw"))
    assert code(_login(api, "kept", "forged")) == 2401

    # Smart-home projects have no project users: the actions are not there.
    homes = console_server.create_project(name="Homes", method="smart_home")["access_id"]
    for action, form in (("password", {"uid": uid, "new_password": "x"}), ("revoke", {"uid": uid, "asset_id": "x"})):
        assert console_client.post_form(f"/console/projects/{homes}/users/{action}", form).status_code == 404


def test_the_forms_in_a_browser(logged_in_page: Any, console_server: CloudServer, screenshot: Any) -> None:
    """The same actions as a person does them: the × on a grant asks first, then removes it; the password form
    sets a password the OpenAPI login accepts."""
    from playwright.sync_api import expect

    project = console_server.create_project(name="Browser users")
    pid = project["access_id"]
    api = SignedClient(console_server.url, pid, project["access_secret"])
    assert api.connect()["success"]
    add_asset(api, "Lobby")
    page = logged_in_page
    page.goto(f"{console_server.url}/console/projects/{pid}/users")
    page.fill('input[name="username"]', "desk")
    page.fill('input[name="password"]', "desk-pw-1")
    page.click('button:has-text("Add user")')
    expect(page.get_by_test_id("users")).to_contain_text("desk")
    page.locator('select[name="asset_id"]').select_option(label="Lobby")
    page.click('button:has-text("Authorise")')
    expect(page.get_by_test_id("grant")).to_contain_text("Lobby + children")
    screenshot(page, "11-users-actions")

    page.once("dialog", lambda dialog: dialog.dismiss())  # "Remove ...?" answered no: nothing happens
    page.get_by_test_id("revoke").click()
    expect(page.get_by_test_id("grant")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("revoke").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Authorisation removed")
    expect(page.get_by_test_id("grant")).to_have_count(0)

    page.fill('input[name="new_password"]', "desk-pw-2")
    page.click('button:has-text("Set password")')
    expect(page.get_by_test_id("flash")).to_contain_text("Password of desk changed")
    ok(_login(api, "desk", "desk-pw-2"))
    assert code(_login(api, "desk", "desk-pw-1")) == 2401


def test_more_users_than_a_page_are_reached_by_the_pager(console_server: CloudServer,
                                                          console_client: ConsoleClient) -> None:
    """A project with more users than one page (200) shows how many there are, the page it is on, and a pager to
    the others, whose users the grant and password forms then offer; nothing is left out silently."""
    import asyncio

    from tuyacloud.domain.industry import users
    from tuyacloud.domain.projects import projects

    pid = console_server.create_project(name="Many users")["access_id"]

    async def register(ctx: Any) -> None:
        project = await projects.get(ctx, pid)
        for start in range(0, 205, 41):
            await asyncio.gather(*(users.register(ctx, project, username=f"member{i:03d}", password=sha("pw"),
                                                  country_code="1") for i in range(start, start + 41)))

    console_server.in_domain(register)
    first = console_client.get(f"/console/projects/{pid}/users")
    assert first.status_code == 200
    assert "(205)" in first.text and 'data-testid="page-of">Page 1 of 2<' in first.text
    assert f'href="/console/projects/{pid}/users?page=2"' in first.text
    second = console_client.get(f"/console/projects/{pid}/users?page=2")
    shown_first = set(re.findall(r"<td>(member\d{3})</td>", first.text))
    shown_second = set(re.findall(r"<td>(member\d{3})</td>", second.text))
    assert len(shown_first) == 200 and len(shown_second) == 5 and not shown_first & shown_second
    # The forms of page 2 offer page 2's users.
    for name in shown_second:
        _uid(second, name)
    # A page past the end shows the last one.
    assert 'Page 2 of 2<' in console_client.get(f"/console/projects/{pid}/users?page=9").text
