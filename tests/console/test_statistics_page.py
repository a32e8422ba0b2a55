"""The statistics page over HTTP: the numbers match the calls just made with a signed client, per day and per API,
for the period asked; charts are inline SVG with the numbers in tables beside them."""

from __future__ import annotations

import re
import time

from support.console import ConsoleClient
from support.pulsar import PulsarConsumer
from support.server import CloudServer
from support.signed import SignedClient


def _total(page: str, name: str) -> int:
    return int(re.search(rf'data-testid="total-{name}">([\d,]+)<', page).group(1).replace(",", ""))  # type: ignore


def _api_row(page: str, api: str) -> tuple[int, int]:
    row = re.search(rf'<tr data-api="{re.escape(api)}">.*?</tr>', page)
    assert row, api
    numbers = re.findall(r'<td class="num">(\d+)</td>', row.group(0))
    return int(numbers[0]), int(numbers[1])


def test_statistics_count_the_calls_made(console_server: CloudServer, console_client: ConsoleClient) -> None:
    project = console_server.create_project("Statistics")
    access_id = project["access_id"]
    devices = console_server.add_devices(access_id, "dj", 2)
    client = SignedClient(console_server.url, access_id, project["access_secret"])
    assert client.connect()["success"]
    for _ in range(3):
        assert client.get(f"/v1.0/devices/{devices[0]['id']}")["success"]
    bad = client.post(f"/v1.0/devices/{devices[0]['id']}/commands",
                      {"commands": [{"code": "switch_led", "value": 3}]})
    assert bad["code"] == 2008
    console_server.control("POST", f"/devices/{devices[1]['id']}/online", {"online": False})

    page = console_client.get(f"/console/projects/{access_id}/statistics")
    assert page.status_code == 200
    text = page.text
    assert (_total(text, "calls"), _total(text, "failures")) == (5, 1)
    assert _api_row(text, "GET /v1.0/devices/{device_id}") == (3, 0)
    assert _api_row(text, "POST /v1.0/devices/{device_id}/commands") == (1, 1)
    assert _api_row(text, "GET /v1.0/token") == (1, 0)
    today = time.strftime("%Y-%m-%d", time.gmtime(console_server.clock.now_ms() / 1000))
    row = re.search(rf'<tr data-day="{today}"><td>{today}</td><td class="num">(\d+)</td><td class="num">(\d+)</td>',
                    text)
    assert row and (int(row.group(1)), int(row.group(2))) == (5, 1)
    assert (_total(text, "devices"), _total(text, "online")) == (2, 1)
    for chart in ("chart-calls", "chart-apis", "chart-messages", "chart-devices"):
        for variant in ("wide", "narrow"):  # drawn twice: the stylesheet shows the one that fits the window
            assert re.search(rf'data-testid="{chart}">.*?<div class="chart-{variant}"><svg class="chart[^"]*"[^>]*'
                             r'role="img"', text, re.S), (chart, variant)
    assert text.count('<tr data-day="') == 7  # the default period

    month = console_client.get(f"/console/projects/{access_id}/statistics", params={"days": "30"}).text
    assert month.count('<tr data-day="') == 30 and _total(month, "calls") == 5
    silly = console_client.get(f"/console/projects/{access_id}/statistics", params={"days": "x"})
    assert silly.status_code == 200 and silly.text.count('<tr data-day="') == 7


def test_unknown_project_is_a_404(console_client: ConsoleClient) -> None:
    assert console_client.get("/console/projects/nope/statistics").status_code == 404


def _acked(page: str) -> int:
    found = re.search(r'<div class="n">([\d,]+)</div><div class="l">acknowledged by event / ', page)
    return int(found.group(1).replace(",", "")) if found else -1


def test_messages_sent_and_acknowledged(console_server: CloudServer, console_client: ConsoleClient) -> None:
    project = console_server.create_project("Statistics messages")
    access_id = project["access_id"]
    device = console_server.add_devices(access_id, "dj")[0]["id"]
    consumer = PulsarConsumer(console_server.port, access_id, project["access_secret"], auto_ack=True).connect()
    try:
        client = SignedClient(console_server.url, access_id, project["access_secret"])
        assert client.connect()["success"]
        assert client.post(f"/v1.0/devices/{device}/commands",
                           {"commands": [{"code": "switch_led", "value": False}]})["success"]
        consumer.get()
        deadline = time.monotonic() + 10
        while True:
            text = console_client.get(f"/console/projects/{access_id}/statistics").text
            if _acked(text) >= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    finally:
        consumer.close()
    assert 1 <= _acked(text) <= _total(text, "messages")
    assert "acknowledged by event / " in text and "Acked (event)" in text
