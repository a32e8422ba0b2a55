"""In a real browser (Debian's chromium): call an API in the explorer and see a successful response, verify a pasted
signature (a good one and a tampered one), and see the statistics page count the calls just made. Screenshots go
to artifacts/screenshots/ (explorer, verify-good, verify-tampered, statistics)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from support.connector_capture import capture_post
from support.server import CloudServer
from support.signed import SignedClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def assert_text_inside_charts(page: Any) -> None:
    """Every label of every chart shown lies inside its chart: none is cut at an edge."""
    outside = page.evaluate("""() => {
        const bad = [];
        for (const svg of document.querySelectorAll('svg.chart')) {
            const frame = svg.getBoundingClientRect();
            if (!frame.width) continue;  // the drawing for the other window size
            for (const text of svg.querySelectorAll('text')) {
                const box = text.getBoundingClientRect();
                if (box.left < frame.left - 1 || box.right > frame.right + 1 || box.top < frame.top - 1
                    || box.bottom > frame.bottom + 1)
                    bad.push(text.textContent + ' ' + Math.round(box.left - frame.left) + '..'
                             + Math.round(box.right - frame.left) + ' of ' + Math.round(frame.width));
            }
        }
        return bad;
    }""")
    assert not outside, f"chart text outside its chart: {outside}"


def _explorer_call(page: Any, cloud: CloudServer, access_id: str, device: str) -> None:
    page.goto(f"{cloud.url}/console/explorer?project={access_id}")
    page.fill('input[type="search"][data-filter]', "get v1.0/devices/{device_id}")
    link = page.locator('#catalogue a[href$="api=GET%20/v1.0/devices/%7Bdevice_id%7D"]')
    assert link.is_visible()
    assert page.locator('#catalogue li[data-text*="post "]').first.is_hidden()  # the filter hid the others
    link.click()
    page.wait_for_url(re.compile(r".*api=GET.*"))
    assert page.input_value('[data-testid="param-device_id"]') == device  # the project's device, prefilled
    page.click('[data-testid="send"]')
    page.wait_for_selector('[data-testid="exchange"]')


def test_explorer_calls_an_api(logged_in_page: Any, console_server: CloudServer, screenshot: Any) -> None:
    page = logged_in_page
    project = console_server.create_project("Browser explorer")
    device = console_server.add_devices(project["access_id"], "dj")[0]["id"]
    _explorer_call(page, console_server, project["access_id"], device)
    assert page.text_content('[data-testid="exchange"] [data-testid="verdict"]').strip() == "success"
    response = page.text_content('[data-testid="response"]')
    assert f'"id": "{device}"' in response and '"success": true' in response
    assert page.text_content('[data-testid="string-to-sign"]').endswith(f"/v1.0/devices/{device}")
    assert project["access_secret"] not in page.content()
    assert page.evaluate("window.scrollY") > 0  # the page jumped to the result
    page.evaluate("window.scrollTo(0, 0)")  # a full-page screenshot of a scrolled page misplaces sticky parts
    screenshot(page, "explorer")


def _verify(page: Any, cloud: CloudServer, captured: Any, body: str, client_sts: str = "") -> Any:
    """Paste the captured request (with ``body``) into the verify form and submit it; returns the verdict."""
    page.goto(f"{cloud.url}/console/verify")
    page.select_option('[data-testid="verify-method"]', captured.method)
    page.fill('[data-testid="verify-url"]', captured.url)
    page.fill('[data-testid="verify-headers"]', captured.header_lines())
    page.fill('[data-testid="verify-body"]', body)
    if client_sts:
        page.click("summary:has-text(\"The client's string to sign\")")
        page.fill('[data-testid="verify-client-sts"]', client_sts)
    page.click('[data-testid="verify-submit"]')
    return page.wait_for_selector('[data-testid="verdict"]')


def test_verify_a_good_and_a_tampered_signature(logged_in_page: Any, phone_page: Any, console_server: CloudServer,
                                                screenshot: Any, fits_width: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    page = logged_in_page
    project = console_server.create_project("Browser verify")
    device = console_server.add_devices(project["access_id"], "dj")[0]["id"]
    captured = capture_post(console_server, project, monkeypatch, f"/v1.0/devices/{device}/commands",
                            {"commands": [{"code": "switch_led", "value": True}]})
    verdict = _verify(page, console_server, captured, captured.body)
    assert verdict.get_attribute("data-verified") == "true"
    assert "Signature verified" in verdict.text_content()
    screenshot(page, "verify-good")

    # The same request with its body changed after signing; the client's logged string to sign pins the part.
    tampered = captured.body.replace("true", "false")
    verdict = _verify(page, console_server, captured, tampered, captured.string_to_sign)
    assert verdict.get_attribute("data-verified") == "false"
    assert page.locator('[data-testid="differs"]').all_text_contents() == ["body"]
    assert page.get_attribute('[data-testid="part-Content-SHA256"]', "data-same") == "false"
    assert page.get_attribute('[data-testid="part-url"]', "data-same") == "true"
    screenshot(page, "verify-tampered")

    # On a phone every column of the checks table stays readable (no three-character-wide column).
    _verify(phone_page, console_server, captured, tampered, captured.string_to_sign)
    screenshot(phone_page, "verify-tampered-phone")
    table = phone_page.locator('[data-testid="checks"]')
    fits_width(phone_page, table)
    for got in table.locator('[data-testid="got"]').all():
        box = got.bounding_box()
        assert box["width"] >= 250, f"the Got column is {box['width']:.0f}px wide on a phone"


def test_statistics_count_the_explorer_calls(logged_in_page: Any, phone_page: Any, console_server: CloudServer,
                                             screenshot: Any, fits_width: Any) -> None:
    page = logged_in_page
    project = console_server.create_project("Browser statistics")
    access_id = project["access_id"]
    device = min(d["id"] for d in console_server.add_devices(access_id, "dj", 3))  # the one listed first
    _explorer_call(page, console_server, access_id, device)  # the token call, then the device call
    page.click('[data-testid="send"]')  # again, with the kept token
    page.wait_for_selector('[data-testid="exchange"]')
    page.goto(f"{console_server.url}/console/projects/{access_id}/statistics")
    assert page.text_content('[data-testid="total-calls"]') == "3"
    row = page.locator('tr[data-api="GET /v1.0/devices/{device_id}"] td')
    assert row.all_text_contents()[1:3] == ["2", "0"]
    assert page.text_content('[data-testid="total-devices"]') == "3"
    assert page.locator('[data-testid="chart-calls"] svg title').first.text_content().startswith("API calls")
    screenshot(page, "statistics")

    # Long API paths (the longest label the chart meets) and a phone-sized window.
    client = SignedClient(console_server.url, access_id, project["access_secret"])
    assert client.connect()["success"]
    assert client.get(f"/v1.0/iot-03/devices/{device}/specification")["success"]
    client.post(f"/v2.0/cloud/thing/{device}/shadow/properties/issue", {"properties": {"switch_led": True}})
    phone_page.goto(f"{console_server.url}/console/projects/{access_id}/statistics")
    screenshot(phone_page, "statistics-phone")
    page.reload()
    screenshot(page, "statistics-long-apis")
    for shown in (page, phone_page):
        labels = shown.locator('[data-testid="chart-apis"] svg:visible text')
        assert labels.filter(has_text="/specification").count() == 1
        assert_text_inside_charts(shown)
        fits_width(shown, shown.locator('[data-testid="calls-per-api"]'))
    # On a phone the narrow drawing is shown, its text no smaller than 9 px once scaled.
    chart = phone_page.locator('[data-testid="chart-calls"] svg:visible')
    assert chart.evaluate("svg => svg.viewBox.baseVal.width") == 360
    assert chart.evaluate("svg => svg.getBoundingClientRect().width / svg.viewBox.baseVal.width * 11") >= 9
