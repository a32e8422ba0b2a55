"""The console's pages over HTTP: each page shows what the domain holds and each form changes it through the
domain (the same validation and Tuya errors as the OpenAPI)."""

from __future__ import annotations

import html
import re
from typing import Any

from support.console import ConsoleClient
from support.custom import ok
from support.server import CloudServer
from support.signed import SignedClient
from support.smarthome import create_home, smart_home_project, sync_user

ERROR = re.compile(r'data-testid="error">([^<]*)<')


def _error(page: Any) -> str:
    found = ERROR.search(page.text)
    return html.unescape(found.group(1)) if found else ""


def _page_of(page: Any) -> str:
    found = re.search(r'data-testid="page-of">([^<]*)<', page.text)
    assert found, "no page count on the devices list"
    return html.unescape(found.group(1)).strip()


def _create(c: ConsoleClient, **fields: Any) -> str:
    data = {"name": "Console project", "description": "made in a test", "method": "custom",
            "industry": "Smart Office", "region": "eu", **fields}
    items = [(k, v) for k, v in data.items() if k != "services"]
    items += [("services", s) for s in fields.get("services", ["iot_core", "device_status_notification"])]
    response = c.post_form("/console/projects/new", items)
    assert response.status_code == 303, _error(response)
    return str(response.headers["location"].rsplit("/", 1)[1])


def test_create_project_and_see_it_everywhere(console_server: CloudServer, console_client: ConsoleClient) -> None:
    access_id = _create(console_client, name="Warehouse <b>east</b>")
    listing = console_client.get("/console/projects")
    assert access_id in listing.text and "Warehouse &lt;b&gt;east&lt;/b&gt;" in listing.text  # escaped
    project = next(p for p in console_server.control("GET", "/projects") if p["access_id"] == access_id)
    assert (project["region"], project["method"], project["industry"]) == ("eu", "custom", "Smart Office")
    assert project["services"] == ["authorization", "device_status_notification", "iot_core"]
    overview = console_client.get(f"/console/projects/{access_id}")
    assert project["access_secret"] in overview.text  # in the reveal control's data-value, masked on screen
    assert "Custom Development" in overview.text and "Central Europe (eu)" in overview.text
    # The console is reached at 127.0.0.1 (data center us): the overview says which Host reaches eu.
    assert "Host: openapi.tuyaeu.com" in overview.text
    us_project = _create(console_client, name="Plain", region="us")
    assert "Host: openapi.tuyaus.com" not in console_client.get(f"/console/projects/{us_project}").text
    # The credentials work against the OpenAPI at once.
    client = SignedClient(console_server.url, access_id, project["access_secret"], host="openapi.tuyaeu.com")
    assert client.connect()["success"]


def test_bad_project_form_shows_the_reason(console_client: ConsoleClient) -> None:
    response = console_client.post_form("/console/projects/new", {"name": "", "method": "custom", "region": "us"})
    assert response.status_code == 400 and "project name" in _error(response)
    response = console_client.post_form("/console/projects/new", {"name": "x", "method": "custom", "region": "mars"})
    assert response.status_code == 400 and "data center" in _error(response)


def test_edit_rotate_and_allowlist(console_server: CloudServer, console_client: ConsoleClient) -> None:
    access_id = _create(console_client)
    base = f"/console/projects/{access_id}"
    edited = console_client.post_form(f"{base}/edit", {"name": "Renamed", "description": "new words",
                                                        "industry": "Energy", "method": "smart_home"})
    assert edited.status_code == 303
    first = next(p for p in console_server.control("GET", "/projects") if p["access_id"] == access_id)
    assert (first["name"], first["description"], first["industry"], first["method"]) == \
        ("Renamed", "new words", "Energy", "custom")  # the development method does not change
    assert console_client.post_form(f"{base}/rotate-secret").status_code == 303
    second = next(p for p in console_server.control("GET", "/projects") if p["access_id"] == access_id)
    assert second["access_secret"] != first["access_secret"]
    page = console_client.get(base)
    assert "New Access Secret issued" in page.text  # the flash, shown once
    assert "New Access Secret issued" not in console_client.get(base).text
    bad = console_client.post_form(f"{base}/allowlist", {"enabled": "on", "allowlist": "10.0.0.0/8\nnot-an-ip"})
    assert bad.status_code == 400 and "not-an-ip" in _error(bad)
    empty = console_client.post_form(f"{base}/allowlist", {"enabled": "on", "allowlist": ""})
    assert empty.status_code == 400 and "at least one address" in _error(empty)
    good = console_client.post_form(f"{base}/allowlist", {"enabled": "on", "allowlist": "10.0.0.0/8, 192.0.2.7"})
    assert good.status_code == 303
    third = next(p for p in console_server.control("GET", "/projects") if p["access_id"] == access_id)
    assert third["allowlist_enabled"] and third["allowlist"] == ["10.0.0.0/8", "192.0.2.7/32"]
    # The allowlist is enforced at once: loopback is not on it (code 1114).
    client = SignedClient(console_server.url, access_id, third["access_secret"], host="openapi.tuyaeu.com")
    assert client.connect()["code"] == 1114
    assert console_client.post_form(f"{base}/allowlist", {"allowlist": "10.0.0.0/8"}).status_code == 303
    assert client.connect()["success"]


def test_services_authorisation_is_editable(console_server: CloudServer, console_client: ConsoleClient) -> None:
    access_id = _create(console_client, services=["iot_core"])
    page = console_client.get(f"/console/projects/{access_id}/services")
    assert "Smart Home Basic Service" in page.text and "Not authorised" in page.text
    saved = console_client.post_form(f"/console/projects/{access_id}/services",
                                     [("services", "iot_core"), ("services", "industry_basic")])
    assert saved.status_code == 303
    project = next(p for p in console_server.control("GET", "/projects") if p["access_id"] == access_id)
    assert project["services"] == ["authorization", "industry_basic", "iot_core"]
    bad = console_client.post_form(f"/console/projects/{access_id}/services", [("services", "nonsense")])
    assert bad.status_code == 400 and "nonsense" in _error(bad)


def test_devices_list_filters_and_pages(console_server: CloudServer, console_client: ConsoleClient) -> None:
    access_id = _create(console_client)
    console_server.add_devices(access_id, "cz", 22)
    lights = console_server.add_devices(access_id, "dj", 2)
    console_server.control("POST", f"/devices/{lights[0]['id']}/online", {"online": False})
    base = f"/console/projects/{access_id}/devices"
    first = console_client.get(base)
    assert first.text.count("/devices/vdev") == 20 and 'data-testid="next-page"' in first.text
    assert _page_of(first) == "Page 1 of 2" and 'data-testid="last-page"' in first.text
    second = console_client.get(f"{base}?page=2")
    assert second.text.count("/devices/vdev") == 4 and 'data-testid="next-page"' not in second.text
    assert _page_of(second) == "Page 2 of 2" and 'data-testid="first-page"' in second.text
    assert _page_of(console_client.get(f"{base}?page=99")) == "Page 2 of 2"  # past the end: the last page
    only_lights = console_client.get(f"{base}?category=dj")
    assert only_lights.text.count("/devices/vdev") == 2 and _page_of(only_lights) == "Page 1 of 1"
    # A filtered list knows its last page once there: before, it says more follow.
    plugs = console_client.get(f"{base}?category=cz")
    assert _page_of(plugs) == "Page 1 · more follow"
    assert _page_of(console_client.get(f"{base}?category=cz&page=2")) == "Page 2 of 2"
    offline = console_client.get(f"{base}?online=offline")
    assert offline.text.count("/devices/vdev") == 1 and lights[0]["id"] in offline.text
    named = console_client.get(f"{base}?q={lights[1]['name']}")
    assert lights[1]["id"] in named.text


def test_add_virtual_device_and_control_it(console_server: CloudServer, console_client: ConsoleClient) -> None:
    access_id = _create(console_client)
    added = console_client.post_form(f"/console/projects/{access_id}/devices/new",
                                     {"category": "dj", "name": "Desk lamp", "count": "1"})
    assert added.status_code == 303
    device_url = added.headers["location"]
    device_id = device_url.rsplit("/", 1)[1]
    page = console_client.get(device_url)
    assert "Desk lamp" in page.text
    # Controls come from the instruction set: a switch, a slider with the range and step, an enum picker.
    assert 'data-testid="on-switch_led"' in page.text
    assert re.search(r'type="range" id="r-bright_value_v2" min="10" max="1000" step="1"', page.text)
    assert re.search(r'type="number" id="n-bright_value_v2" name="value" class="exact" min="10" max="1000" step="1"',
                     page.text)
    assert "<option selected>white</option>" in page.text
    # A day's countdown: the slider moves by 5 minutes, the number field (the value sent) takes any second.
    assert re.search(r'type="range" id="r-countdown_1" min="0" max="86400" step="300"', page.text)
    assert re.search(r'type="number" id="n-countdown_1" name="value" class="exact" min="0" max="86400" step="1"',
                     page.text)
    assert console_client.post_form(f"{device_url}/command",
                                    {"code": "countdown_1", "value": "5401"}).status_code == 303
    after = console_client.get(device_url).text
    assert 'data-label="Value">5401</td>' in after  # the command, in the device's log
    left = console_client.get(f"{device_url}/status.json").json()["status"]["countdown_1"]
    assert 5390 <= left <= 5401  # a virtual device counts it down
    assert re.search(r'data-duration="s">1 h 29 min 5\d s</output>|data-duration="s">1 h 30 min( 1 s)?</output>', after)
    # An HSV colour: a picker showing the current colour, and h, s, v fields sent as the JSON string clients send.
    assert re.search(r'type="color" value="#ff0000"[^>]*data-testid="picker-colour_data_v2"', page.text)
    colour = console_client.post_form(f"{device_url}/command",
                                      {"code": "colour_data_v2", "h": "120", "s": "500", "v": "1000"})
    assert colour.status_code == 303, _error(colour)
    assert console_client.get(f"{device_url}/status.json").json()["status"]["colour_data_v2"] == \
        '{"h":120,"s":500,"v":1000}'
    assert 'type="color" value="#80ff80"' in console_client.get(device_url).text
    bad_colour = console_client.post_form(f"{device_url}/command",
                                          {"code": "colour_data_v2", "h": "999", "s": "500", "v": "1000"})
    assert bad_colour.status_code == 400
    assert "colour_data_v2 field h must be an integer from 0 to 360" in _error(bad_colour)
    sent = console_client.post_form(f"{device_url}/command", {"code": "switch_led", "value": "false"})
    assert sent.status_code == 303
    state = console_client.get(f"{device_url}/status.json").json()
    assert state["status"]["switch_led"] is False and state["online"] is True
    assert console_client.post_form(f"{device_url}/command",
                                    {"code": "bright_value_v2", "value": "500"}).status_code == 303
    assert console_client.get(f"{device_url}/status.json").json()["status"]["bright_value_v2"] == 500
    # A bad value is refused with Tuya's message (code 2008), and nothing changes.
    bad = console_client.post_form(f"{device_url}/command", {"code": "bright_value_v2", "value": "5000"})
    assert bad.status_code == 400
    assert "bright_value_v2 must be an integer from 10 to 1000" in _error(bad) and "2008" in _error(bad)
    assert console_client.get(f"{device_url}/status.json").json()["status"]["bright_value_v2"] == 500
    unknown = console_client.post_form(f"{device_url}/command", {"code": "no_such_code", "value": "1"})
    assert unknown.status_code == 400 and "not a function of this device" in _error(unknown)
    # The command is in the device's log.
    assert "bright_value_v2" in console_client.get(device_url).text
    # Offline: the toggle, then commands answer "device is offline".
    assert console_client.post_form(f"{device_url}/online", {"online": "false"}).status_code == 303
    assert console_client.get(f"{device_url}/status.json").json()["online"] is False
    offline = console_client.post_form(f"{device_url}/command", {"code": "switch_led", "value": "true"})
    assert offline.status_code == 400 and "offline" in _error(offline).lower()
    assert console_client.post_form(f"{device_url}/online", {"online": "true"}).status_code == 303
    devices = console_server.control("GET", "/projects")  # the device is the project's, seen by the OpenAPI too
    assert any(p["access_id"] == access_id for p in devices)
    assert device_id.startswith("vdev")


def test_another_projects_device_is_not_shown(console_server: CloudServer, console_client: ConsoleClient) -> None:
    mine, other = _create(console_client), _create(console_client)
    device = console_server.add_devices(other, "cz")[0]
    response = console_client.get(f"/console/projects/{mine}/devices/{device['id']}")
    assert response.status_code == 400 and "not linked to this project" in response.text
    command = console_client.post_form(f"/console/projects/{mine}/devices/{device['id']}/command",
                                       {"code": "switch_1", "value": "true"})
    assert command.status_code == 400


def test_assets_and_users_of_a_custom_project(console_client: ConsoleClient) -> None:
    access_id = _create(console_client)
    base = f"/console/projects/{access_id}"
    assert console_client.post_form(f"{base}/assets", {"name": "Building A", "parent_id": "-1"}).status_code == 303
    tree = console_client.get(f"{base}/assets")
    assert "Building A" in tree.text
    building = re.search(r'<option value="([0-9a-f]{20})">Building A</option>', tree.text)
    assert building, tree.text
    assert console_client.post_form(f"{base}/assets", {"name": "Floor 1", "parent_id": building.group(1)}
                                    ).status_code == 303
    assert "Building A/Floor 1" in console_client.get(f"{base}/assets").text
    added = console_client.post_form(f"{base}/users", {"username": "operator1", "password": "pw-123456",
                                                       "nick_name": "Op"})
    assert added.status_code == 303
    users = console_client.get(f"{base}/users")
    uid = re.search(r'<option value="([^"]+)">operator1</option>', users.text)
    assert uid
    granted = console_client.post_form(f"{base}/users/grant", {"uid": uid.group(1), "asset_id": building.group(1),
                                                               "with_children": "on"})
    assert granted.status_code == 303
    assert "Building A + children" in console_client.get(f"{base}/users").text
    duplicate = console_client.post_form(f"{base}/users", {"username": "operator1", "password": "pw-123456"})
    assert duplicate.status_code == 400 and "taken" in _error(duplicate)
    # A device can be added at an asset node.
    placed = console_client.post_form(f"{base}/devices/new", {"category": "cz", "asset_id": building.group(1)})
    assert placed.status_code == 303
    assert re.search(r"Building A</td>\s*<td class=\"num\"><a [^>]*>1</a>", console_client.get(f"{base}/assets").text)


def test_apps_and_homes_of_a_smart_home_project(console_server: CloudServer, console_client: ConsoleClient) -> None:
    sh = smart_home_project(console_server, name="Console smart home")
    uid = sync_user(sh.client, sh.schema, "alice@example.com")
    home_id = create_home(sh.client, uid, name="Alice's flat")
    base = f"/console/projects/{sh.project['access_id']}"
    page = console_client.get(f"{base}/apps")
    assert sh.schema in page.text and "alice@example.com" in page.text and "Alice&#39;s flat" in page.text
    assert console_client.get(f"{base}/assets").status_code == 404  # no asset system in smart-home projects
    devices = console_client.get(f"{base}/devices")
    assert f'value="{home_id}|{uid}"' in devices.text
    added = console_client.post_form(f"{base}/devices/new", {"category": "dj", "home": f"{home_id}|{uid}",
                                                             "name": "Hall light"})
    assert added.status_code == 303, _error(added)
    device_id = added.headers["location"].rsplit("/", 1)[1]
    listed = ok(sh.client.get(f"/v1.0/users/{uid}/devices"))
    assert device_id in [d["id"] for d in listed]


def test_message_service_page(console_server: CloudServer, console_client: ConsoleClient) -> None:
    access_id = _create(console_client)
    device = console_server.add_devices(access_id, "cz")[0]
    console_server.control("POST", f"/devices/{device['id']}/report", {"status": {"switch_1": False}})
    page = console_client.get(f"/console/projects/{access_id}/messages")
    assert f"persistent://{access_id}/out/event" in page.text and f"{access_id}-sub" in page.text
    backlog = re.search(r'data-label="Env">event</td>\s*<td class="num kv" data-label="Backlog">(\d+)</td>', page.text)
    assert backlog and int(backlog.group(1)) >= 2  # bindUser + the report
    assert "none connected" in page.text


def test_counts_are_printed_alike_on_every_page(console_server: CloudServer, console_client: ConsoleClient) -> None:
    """1,001 devices read "1,001" on the projects list, the overview, the devices list and the statistics."""
    access_id = _create(console_client, name="Thousand devices")
    console_server.add_devices(access_id, "cz", 1001)
    base = f"/console/projects/{access_id}"
    projects = console_client.get("/console/projects").text
    row = projects[projects.index(access_id):]
    assert re.search(r'<td class="num kv" data-label="Devices">1,001</td>', row[:row.index("</tr>")])
    assert ">1,001</a>" in console_client.get(base).text
    listing = console_client.get(f"{base}/devices")
    assert "(1,001 in the project)" in listing.text and _page_of(listing) == "Page 1 of 51"
    stats = console_client.get(f"{base}/statistics").text
    assert re.search(r'data-testid="total-devices">1,001<', stats)
    assert re.search(r'<td class="num">1,001</td>', stats)  # the devices-per-day table
    assert "1001" not in re.sub(r"<svg.*?</svg>", "", stats, flags=re.S)
