"""Home Assistant's login approved in the console as a person does it, in a browser: the user code shown on the
Apps & Homes tab, the pending QR login listed there, the Approve button, and the poll Home Assistant makes on
Submit then answering the token. (The SDK's own run over HTTPS is in tests/sharing/.)"""

from __future__ import annotations

from typing import Any

from support import web
from support.server import CloudServer
from support.sharing import HA_CLIENT_ID, HA_SCHEMA, household, new_project

LOGIN = "/v1.0/m/life/home-assistant/qrcode/tokens"


def test_a_home_assistant_login_approved_in_the_browser(logged_in_page: Any, console_server: CloudServer,
                                                        screenshot: Any) -> None:
    from playwright.sync_api import expect

    sh = new_project(console_server)
    erin = household(console_server, sh, "erin@example.com", ("dj", "cz"))
    params = {"clientid": HA_CLIENT_ID, "usercode": erin.user_code}
    started = web.post(f"{console_server.url}{LOGIN}", params={**params, "schema": HA_SCHEMA}).json()
    qrcode = started["result"]["qrcode"]
    page = logged_in_page
    page.goto(f"{console_server.url}/console/projects/{sh.project['access_id']}/apps")
    expect(page.get_by_test_id("user-code")).to_contain_text(erin.user_code)
    expect(page.get_by_test_id("ha-logins")).to_contain_text(qrcode)
    screenshot(page, "20-home-assistant-login")
    page.get_by_test_id("ha-logins").locator('button:has-text("Approve")').click()
    expect(page.get_by_test_id("flash")).to_contain_text("Login approved")
    expect(page.get_by_test_id("ha-logins")).to_contain_text("No login is waiting")
    answer = web.get(f"{console_server.url}{LOGIN}/{qrcode}", params=params).json()
    assert answer["success"] is True and answer["result"]["uid"] == erin.uid
