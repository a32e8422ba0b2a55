"""A gateway's and an IR blaster's pages in a real browser at phone width (390 px): freezing from the button, a
sub-device reached from its gateway and back, a remote's key pressed, and no table hiding a column behind
sideways scrolling (the devices list with its new filters too)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from support.server import CloudServer


def test_gateway_and_ir_pages_on_a_phone(phone_page: Any, logged_in_page: Any, console_server: CloudServer,
                                         screenshot: Any, fits_width: Any) -> None:
    page = phone_page
    project = console_server.create_project(name="Phone gateways")
    aid = project["access_id"]
    gateway = console_server.control("POST", f"/projects/{aid}/devices", {"category": "wg2", "name": "Gateway"})[0]
    console_server.control("POST", f"/projects/{aid}/devices",
                           {"gateway_id": gateway["id"], "category": "dj", "count": 2, "name": "Zigbee bulb"})
    blaster = console_server.add_devices(aid, "qt")[0]
    console_server.control("POST", f"/infrareds/{blaster['id']}/remotes",
                           {"category_id": 5, "remote_name": "Bedroom air conditioner", "brand_name": "Mitsubishi"})
    base = f"{console_server.url}/console/projects/{aid}/devices"

    def fits() -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.url
        for table in page.locator("main table").all():
            fits_width(page, table)

    page.goto(f"{base}/{gateway['id']}")
    page.get_by_test_id("toggle-frozen").click()
    expect(page.get_by_test_id("flash")).to_contain_text("is frozen")
    expect(page.get_by_test_id("frozen-state")).to_have_text("frozen")
    expect(page.get_by_test_id("sub-devices").locator("tbody tr")).to_have_count(2)
    fits()
    page.locator("#sub-devices").scroll_into_view_if_needed()
    screenshot(page, "13-gateway-phone")
    page.get_by_test_id("sub-devices").locator("tbody tr a").first.click()
    expect(page.get_by_test_id("gateway-of")).to_contain_text("Gateway")
    page.get_by_test_id("gateway-of").locator("a").click()
    page.get_by_test_id("toggle-frozen").click()
    expect(page.get_by_test_id("flash")).to_contain_text("is unfrozen")
    expect(page.get_by_test_id("frozen-state")).to_have_count(0)

    page.goto(f"{base}/{blaster['id']}")
    remotes = page.get_by_test_id("remotes")
    remotes.locator("select").select_option("PowerOn")
    remotes.locator('button:has-text("Press")').click()
    expect(page.get_by_test_id("flash")).to_contain_text("Pressed PowerOn on Bedroom air conditioner")
    expect(page.get_by_test_id("remote-state")).to_contain_text("Power on")
    fits()
    page.locator("#remotes").scroll_into_view_if_needed()
    screenshot(page, "14-ir-blaster-phone")

    logged_in_page.goto(f"{base}/{blaster['id']}#remotes")  # the same at desktop width, to look at
    expect(logged_in_page.get_by_test_id("remote-state")).to_contain_text("Power on")
    screenshot(logged_in_page, "14b-ir-blaster")

    page.goto(f"{base}?link=sub")
    expect(page.get_by_test_id("devices").locator("tbody tr")).to_have_count(2)
    fits()
    screenshot(page, "15-devices-filtered-phone")
