"""The console in a real browser (Debian's chromium through Playwright), as a new user would go through it:
log in, create a project, reveal its secret, add a virtual device, switch it from its page and watch the status
change, take it offline and back. Screenshots of the main pages go to artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from support.console import ADMIN_PASSWORD
from support.server import CloudServer


def test_login_page_refuses_a_wrong_password(page: Any, console_server: CloudServer, screenshot: Any) -> None:
    page.goto(f"{console_server.url}/console/projects")
    expect(page).to_have_url(f"{console_server.url}/console/login?next=%2Fconsole%2Fprojects")
    screenshot(page, "01-login")
    page.fill('input[name="username"]', "admin")
    page.fill('input[name="password"]', "not-the-password")
    page.click('button[type="submit"]')
    expect(page.get_by_test_id("error")).to_contain_text("wrong username or password", ignore_case=True)
    page.fill('input[name="password"]', ADMIN_PASSWORD)
    page.click('button[type="submit"]')
    expect(page).to_have_url(f"{console_server.url}/console/projects")


def test_new_user_journey(logged_in_page: Any, console_server: CloudServer, screenshot: Any) -> None:
    page = logged_in_page
    screenshot(page, "02-projects")
    page.get_by_test_id("create-project").click()
    page.fill('input[name="name"]', "Browser project")
    page.fill('input[name="description"]', "Made by the browser test")
    page.select_option('select[name="industry"]', "Smart Building")
    page.select_option('select[name="region"]', "eu")
    page.click('button:has-text("Create")')
    expect(page.get_by_test_id("flash")).to_contain_text("Created cloud project Browser project")
    access_id = page.get_by_test_id("access-id").inner_text().strip()
    secret = next(p for p in console_server.control("GET", "/projects") if p["access_id"] == access_id)[
        "access_secret"]
    secret_box = page.get_by_test_id("access-secret")
    expect(secret_box).not_to_contain_text(secret)  # masked until revealed
    page.get_by_test_id("reveal-secret").click()
    expect(secret_box).to_have_text(secret)
    screenshot(page, "03-project-overview")

    # Add a virtual device: a light.
    page.click('nav.tabs a[data-tab="devices"]')
    page.select_option('[data-testid="add-category"]', "dj")
    page.fill('[data-testid="add-name"]', "Browser lamp")
    page.get_by_test_id("add-device").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Added virtual device Browser lamp")
    device_url = page.url
    page.goto(f"{console_server.url}/console/projects/{access_id}/devices")
    expect(page.get_by_test_id("devices")).to_contain_text("Browser lamp")
    screenshot(page, "04-devices")

    # Switch it off then on from its page; the status table shows each change.
    page.goto(device_url)
    switch_value = page.locator('tr[data-code="switch_led"] [data-value]')
    expect(switch_value).to_have_text("true")
    page.get_by_test_id("off-switch_led").click()
    expect(switch_value).to_have_text("false")
    page.get_by_test_id("on-switch_led").click()
    expect(switch_value).to_have_text("true")
    expect(page.get_by_test_id("logs")).to_contain_text("switch_led")
    # A change made elsewhere (a device report) appears without reloading: the page polls.
    device_id = device_url.rsplit("/", 1)[1]
    console_server.control("POST", f"/devices/{device_id}/report", {"status": {"switch_led": False}})
    expect(switch_value).to_have_text("false", timeout=10_000)
    screenshot(page, "05-device")

    # Offline and back.
    page.get_by_test_id("toggle-online").click()
    expect(page.get_by_test_id("online-state")).to_have_text("Offline")
    page.get_by_test_id("on-switch_led").click()
    expect(page.get_by_test_id("error")).to_contain_text("offline", ignore_case=True)
    page.get_by_test_id("toggle-online").click()
    expect(page.get_by_test_id("online-state")).to_have_text("Online")

    page.goto(f"{console_server.url}/console/projects/{access_id}/messages")
    expect(page.get_by_test_id("subscriptions")).to_contain_text(f"{access_id}-sub")
    screenshot(page, "06-messages")

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(f"{console_server.url}/console/login")


def test_a_bad_value_shows_tuyas_message(logged_in_page: Any, console_server: CloudServer) -> None:
    page = logged_in_page
    project = console_server.create_project(name="Slider project")
    device = console_server.add_devices(project["access_id"], "dj")[0]
    page.goto(f"{console_server.url}/console/projects/{project['access_id']}/devices/{device['id']}")
    control = page.locator('[data-control="bright_value_v2"]')
    slider = control.locator('input[type="range"]')
    expect(slider).to_have_attribute("min", "10")
    expect(slider).to_have_attribute("max", "1000")
    # The value beside the slider reads like every number of the console (and its range "10-1,000"), on the page
    # as served and as the slider moves.
    expect(control.locator("output")).to_have_text("1,000")
    slider.fill("999")
    expect(control.locator("output")).to_have_text("999")
    slider.fill("1000")
    expect(control.locator("output")).to_have_text("1,000")
    slider.fill("250")
    expect(control.locator("output")).to_have_text("250")
    expect(control.locator("input.exact")).to_have_value("250")  # the number field sent follows the slider
    control.locator('button:has-text("Set")').click()
    expect(page.locator('tr[data-code="bright_value_v2"] [data-value]')).to_have_text("250")
    # The browser keeps a slider in range; the field of a Json control does not: Tuya's message is shown.
    json_control = page.locator('[data-control="scene_data_v2"]')
    json_control.locator("textarea").fill('{"scene_num": 99, "scene_units": []}')
    json_control.locator('button:has-text("Send")').click()
    expect(page.get_by_test_id("error")).to_contain_text("scene_data_v2 field scene_num must be an integer from 1")


def test_colour_picker_and_countdown_slider(logged_in_page: Any, phone_page: Any, console_server: CloudServer,
                                            screenshot: Any) -> None:
    """A light's HSV colour is picked with a colour picker (its h, s, v fields follow, and the other way round)
    and sent as the JSON string clients send; its day-long countdown slider moves by 5 minutes while the number
    field beside it takes any second."""
    page = logged_in_page
    project = console_server.create_project(name="Colour project")
    device = console_server.add_devices(project["access_id"], "dj")[0]
    url = f"{console_server.url}/console/projects/{project['access_id']}/devices/{device['id']}"
    page.goto(url)
    colour = page.locator('[data-control="colour_data_v2"]')
    picker = page.get_by_test_id("picker-colour_data_v2")
    expect(picker).to_have_value("#ff0000")  # a new light starts at {"h":0,"s":1000,"v":1000}
    picker.fill("#00ff00")
    for k, v in {"h": "120", "s": "1000", "v": "1000"}.items():
        expect(colour.locator(f'input[name="{k}"]')).to_have_value(v)
    colour.locator('input[name="s"]').fill("500")
    expect(picker).to_have_value("#80ff80")
    colour.locator('button:has-text("Set")').click()
    expect(page.locator('tr[data-code="colour_data_v2"] [data-value]')).to_have_text('{"h":120,"s":500,"v":1000}')
    colour = page.locator('[data-control="colour_data_v2"]')
    colour.locator('input[name="h"]').fill("240")
    colour.locator('input[name="s"]').fill("1000")
    expect(page.get_by_test_id("picker-colour_data_v2")).to_have_value("#0000ff")

    countdown = page.locator('[data-control="countdown_1"]')
    slider, exact = countdown.locator('input[type="range"]'), countdown.locator("input.exact")
    expect(slider).to_have_attribute("step", "300")
    slider.fill("5400")
    expect(exact).to_have_value("5400")
    expect(countdown.locator("output")).to_have_text("1 h 30 min")
    exact.fill("5401")
    expect(countdown.locator("output")).to_have_text("1 h 30 min 1 s")
    countdown.locator('button:has-text("Set")').click()
    expect(page.get_by_test_id("flash")).to_contain_text("Sent countdown_1 = 5401")
    screenshot(page, "05b-device-controls")

    phone_page.goto(url)
    controls = phone_page.locator(".controls")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    for control in ("colour_data_v2", "countdown_1"):
        box = controls.locator(f'[data-control="{control}"]').bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (control, box)
        for part in controls.locator(f'[data-control="{control}"] input, [data-control="{control}"] button').all():
            inner = part.bounding_box()
            if inner:  # every input and button inside its control, none pushed off the side
                assert box["x"] <= inner["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"], control
    controls.locator('[data-control="colour_data_v2"]').scroll_into_view_if_needed()
    screenshot(phone_page, "05c-device-controls-phone")


def test_pages_fit_a_phone(phone_page: Any, console_server: CloudServer, screenshot: Any, fits_width: Any) -> None:
    """At 390 px the nav folds into a menu, no key page scrolls sideways and no table hides columns behind
    sideways scrolling (a screenshot of each to look at)."""
    page = phone_page
    demo = console_server.state.demo  # type: ignore[union-attr]
    assert demo is not None
    base = f"{console_server.url}/console/projects/{demo.project.access_id}"
    page.goto(f"{base}/devices/{demo.devices[0].id}")
    expect(page.locator("#sidenav")).to_be_hidden()
    page.click('[data-toggle="nav"]')
    expect(page.locator("#sidenav")).to_be_visible()
    page.click('[data-toggle="nav"]')
    screenshot(page, "07-device-phone")
    for table in page.locator("main table").all():
        fits_width(page, table)
    for name, url in [("07a-projects-phone", f"{console_server.url}/console/projects"),
                      ("07b-overview-phone", base), ("07c-devices-phone", f"{base}/devices"),
                      ("07d-messages-phone", f"{base}/messages"), ("07e-services-phone", f"{base}/services"),
                      ("07f-explorer-phone", f"{console_server.url}/console/explorer?project={demo.project.access_id}"),
                      ("07g-verify-phone", f"{console_server.url}/console/verify"),
                      ("07h-assets-phone", f"{base}/assets")]:
        page.goto(url)
        screenshot(page, name)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{url} scrolls sideways on a phone ({width}px)"
        for table in page.locator("main table").all():
            fits_width(page, table)


def test_the_other_project_pages(logged_in_page: Any, console_server: CloudServer, screenshot: Any) -> None:
    """Create form, services, assets, users (custom) and apps & homes (smart home), as a person sees them."""
    from support.smarthome import create_home, smart_home_project, sync_user

    page = logged_in_page
    page.get_by_test_id("create-project").click()
    expect(page.locator("h1")).to_have_text("Create Cloud Project")
    screenshot(page, "08-project-new")
    demo = console_server.state.demo  # type: ignore[union-attr]
    assert demo is not None
    base = f"{console_server.url}/console/projects/{demo.project.access_id}"
    page.goto(f"{base}/services")
    expect(page.get_by_test_id("services")).to_contain_text("IoT Core")
    screenshot(page, "09-services")
    page.goto(f"{base}/assets")
    page.fill('[data-testid="asset-name"]', "Building B")
    page.click('button:has-text("Add asset")')
    expect(page.get_by_test_id("assets")).to_contain_text("Building B")
    screenshot(page, "10-assets")
    page.goto(f"{base}/users")
    page.fill('input[name="username"]', "browser-user")
    page.fill('input[name="password"]', "browser-pass-1")
    page.click('button:has-text("Add user")')
    expect(page.get_by_test_id("users")).to_contain_text("browser-user")
    page.click('button:has-text("Authorise")')
    expect(page.get_by_test_id("flash")).to_contain_text("Authorisation saved")
    screenshot(page, "11-users")
    sh = smart_home_project(console_server, name="Browser smart home")
    uid = sync_user(sh.client, sh.schema, "bob@example.com")
    create_home(sh.client, uid, name="Bob's house")
    page.goto(f"{console_server.url}/console/projects/{sh.project['access_id']}/apps")
    expect(page.locator("main")).to_contain_text("Bob's house")
    expect(page.locator('nav.tabs a[data-tab="assets"]')).to_have_count(0)
    screenshot(page, "12-apps-homes")
