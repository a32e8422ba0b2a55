"""The console's views of gateways and sub-devices, frozen devices and IR blasters' remotes, over HTTP against the
real server: each page shows what the OpenAPI answers, and each change (freeze, a remote's key press) goes through
the OpenAPI's domain function, so tuya-iot-py-sdk sees its effect (a frozen device refuses commands with 1106)."""

from __future__ import annotations

import html
import re
from typing import Any

from tuya_iot import AuthType, TuyaOpenAPI

from support.console import ConsoleClient
from support.devapis import iot_py_manager, last_seq, messages_after, sdk_code, sdk_ok
from support.server import CloudServer

ERROR = re.compile(r'data-testid="error">([^<]*)<')
FLASH = re.compile(r'data-testid="flash">([^<]*)<')
DEVICE_LINK = re.compile(r'<td><a href="/console/projects/[^/]+/devices/(vdev[0-9a-z]+)"')


def _error(page: Any) -> str:
    found = ERROR.search(page.text)
    return html.unescape(found.group(1)) if found else ""


def _flash(page: Any) -> str:
    found = FLASH.search(page.text)
    return html.unescape(found.group(1)) if found else ""


def _listed(page: Any) -> set[str]:
    """The devices a devices list shows (the link in each row's first cell; a sub-device's badge links its
    gateway)."""
    table = page.text[page.text.index('data-testid="devices"'):]
    return set(DEVICE_LINK.findall(table[:table.index("</table>")]))


def _section(page: Any, testid: str) -> str:
    start = page.text.index(f'data-testid="{testid}"')
    return page.text[start:page.text.index("</table>", start)]


def _add(server: CloudServer, access_id: str, **body: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = server.control("POST", f"/projects/{access_id}/devices", body)
    return result


def _api(server: CloudServer, project: dict[str, Any]) -> TuyaOpenAPI:
    return iot_py_manager(server, project, AuthType.CUSTOM).api


def test_a_gateway_and_its_sub_devices_link_each_other(console_server: CloudServer,
                                                       console_client: ConsoleClient) -> None:
    project = console_server.create_project(name="Console gateways")
    aid = project["access_id"]
    gateway = _add(console_server, aid, category="wg2", name="Hall gateway")[0]
    subs = _add(console_server, aid, gateway_id=gateway["id"], category="dj", count=2)
    plain = _add(console_server, aid, category="cz", name="Plug")[0]
    base = f"/console/projects/{aid}/devices"

    page = console_client.get(f"{base}/{gateway['id']}")
    assert page.status_code == 200 and 'data-badge="gateway"' in page.text
    table = _section(page, "sub-devices")
    for sub in subs:  # a link to each sub-device, with its node id on the gateway's network
        assert f'href="{base}/{sub["id"]}"' in table and sub["node_id"] in table and sub["name"] in table
    assert 'data-testid="gateway-of"' not in page.text and 'data-testid="remotes"' not in page.text

    sub_page = console_client.get(f"{base}/{subs[0]['id']}")
    gateway_of = sub_page.text[sub_page.text.index('data-testid="gateway-of"'):]
    assert gateway_of.startswith(f'data-testid="gateway-of"><a href="{base}/{gateway["id"]}">Hall gateway</a>')
    assert subs[0]["node_id"] in sub_page.text and 'data-badge="sub-device"' in sub_page.text
    assert 'data-testid="sub-devices"' not in sub_page.text  # a sub-device is no gateway

    plain_page = console_client.get(f"{base}/{plain['id']}").text
    assert 'data-testid="sub-devices"' not in plain_page and 'data-testid="gateway-of"' not in plain_page

    # The list marks them and filters by the link.
    listing = console_client.get(base)
    assert _listed(listing) == {gateway["id"], plain["id"], *(s["id"] for s in subs)}
    assert listing.text.count('data-badge="gateway"') == 1 and listing.text.count('data-badge="sub-device"') == 2
    assert f'data-badge="sub-device" href="{base}/{gateway["id"]}"' in listing.text  # a badge links the gateway
    assert _listed(console_client.get(f"{base}?link=gateway")) == {gateway["id"]}
    sub_only = console_client.get(f"{base}?link=sub")
    assert _listed(sub_only) == {s["id"] for s in subs} and "Matching devices" in sub_only.text
    assert _listed(console_client.get(f"{base}?link=direct")) == {gateway["id"], plain["id"]}
    assert _listed(console_client.get(f"{base}?link=nonsense")) == _listed(listing)  # an unknown value: no filter

    # Sub-devices added from the gateway's page are the OpenAPI's sub-devices, at the gateway's place.
    added = console_client.post_form(f"{base}/{gateway['id']}/sub-devices",
                                     {"category": "kg", "name": "Stair switch", "count": "1"})
    assert added.status_code == 303 and added.headers["location"] == f"{base}/{gateway['id']}#sub-devices"
    listed = sdk_ok(_api(console_server, project).get(f"/v1.0/iot-03/devices/{gateway['id']}/sub-devices"))
    switch = next(d for d in listed if d["name"] == "Stair switch")
    assert len(listed) == 3 and switch["category"] == "kg" and len(switch["node_id"]) == 16
    assert f'href="{base}/{switch["id"]}"' in _section(console_client.get(f"{base}/{gateway['id']}"), "sub-devices")
    nested = console_client.post_form(f"{base}/{gateway['id']}/sub-devices", {"category": "wg2"})
    assert nested.status_code == 400 and "cannot be the sub-device" in _error(nested)
    not_gateway = console_client.post_form(f"{base}/{plain['id']}/sub-devices", {"category": "dj"})
    assert not_gateway.status_code == 400 and "2009" in _error(not_gateway)

    # Taking the gateway offline from the console takes its sub-devices with it (the domain's rule), as shown.
    assert console_client.post_form(f"{base}/{gateway['id']}/online", {"online": "false"}).status_code == 303
    offline = _section(console_client.get(f"{base}/{gateway['id']}"), "sub-devices")
    assert offline.count(">Offline<") == 3 and ">Online<" not in offline


def test_freeze_and_unfreeze_round_trip_through_the_openapi(console_server: CloudServer,
                                                           console_client: ConsoleClient) -> None:
    project = console_server.create_project(name="Console freeze")
    aid = project["access_id"]
    light, other = _add(console_server, aid, category="dj", count=2)
    api = _api(console_server, project)
    url = f"/console/projects/{aid}/devices/{light['id']}"
    state_path = f"/v1.0/iot-03/devices/{light['id']}/freeze-state"
    off = {"commands": [{"code": "switch_led", "value": False}]}
    page = console_client.get(url).text
    assert 'data-testid="toggle-frozen">Freeze<' in page and 'data-testid="frozen">No<' in page

    seq = last_seq(console_server, aid)
    frozen = console_client.post_form(f"{url}/freeze", {"state": "1"})
    assert frozen.status_code == 303 and frozen.headers["location"] == url
    assert "is frozen: it refuses commands" in _flash(console_client.get(url))
    assert sdk_ok(api.get(state_path)) == {"state": 1}
    refused = api.post(f"/v1.0/iot-03/devices/{light['id']}/commands", off)
    assert sdk_code(refused) == 1106 and "frozen" in refused["detail"]  # type: ignore[index]
    # As through the OpenAPI, freezing sends no message (the platform has none for it on this protocol).
    assert messages_after(console_server, aid, seq) == []

    page = console_client.get(url).text
    assert 'data-testid="frozen-state">frozen<' in page and 'data-testid="toggle-frozen">Unfreeze<' in page
    assert 'name="state" value="0"' in page
    by_console = console_client.post_form(f"{url}/command", {"code": "switch_led", "value": "false"})
    assert by_console.status_code == 400 and "frozen" in _error(by_console) and "1106" in _error(by_console)
    base = f"/console/projects/{aid}/devices"
    listing = console_client.get(base)
    assert listing.text.count('data-badge="frozen"') == 1
    assert _listed(console_client.get(f"{base}?frozen=yes")) == {light["id"]}
    assert _listed(console_client.get(f"{base}?frozen=no")) == {other["id"]}

    # A bad state is refused with the OpenAPI's code and changes nothing.
    bad = console_client.post_form(f"{url}/freeze", {"state": "7"})
    assert bad.status_code == 400 and "1109" in _error(bad)
    assert sdk_ok(api.get(state_path)) == {"state": 1}

    assert console_client.post_form(f"{url}/freeze", {"state": "0"}).status_code == 303
    assert sdk_ok(api.get(state_path)) == {"state": 0}
    assert sdk_ok(api.post(f"/v1.0/iot-03/devices/{light['id']}/commands", off)) is True
    assert "Unfreeze" not in console_client.get(url).text

    # Frozen through the OpenAPI: the console shows it.
    assert sdk_ok(api.put(state_path, {"state": 1})) is True
    assert 'data-testid="frozen-state">frozen<' in console_client.get(url).text


def test_an_ir_blasters_remotes_and_their_keys(console_server: CloudServer, console_client: ConsoleClient) -> None:
    project = console_server.create_project(name="Console infrared")
    aid = project["access_id"]
    blaster = _add(console_server, aid, category="qt", name="Living-room IR")[0]
    ac = console_server.control("POST", f"/infrareds/{blaster['id']}/remotes",
                                {"category_id": 5, "remote_name": "Bedroom AC", "brand_name": "Daikin"})
    tv = console_server.control("POST", f"/infrareds/{blaster['id']}/remotes",
                                {"category_id": 2, "remote_name": "Lounge TV", "brand_name": "Sony", "brand_id": 12,
                                 "remote_index": 3})
    url = f"/console/projects/{aid}/devices/{blaster['id']}"
    page = console_client.get(url)
    table = _section(page, "remotes")
    for remote, kind, brand in ((ac, "Air conditioner", "Daikin"), (tv, "Television", "Sony")):
        row = table[table.index(f'id="remote-{remote["remote_id"]}"'):]
        row = row[:row.index("</tr>")]
        assert remote["remote_name"] in row and kind in row and brand in row
        assert f'/devices/{blaster["id"]}/remotes/{remote["remote_id"]}/press"' in row  # a key pad per remote
    assert "#12, index 3" in table
    assert "Power off · Mode Cooling mode · Temperature 26 °C · Wind Automatic" in html.unescape(table)
    assert '<option value="Channel+">Channel up (Channel+)</option>' in table

    # A key press goes through the OpenAPI's path: the remote's state, the blaster's ir_send command and report.
    seq = last_seq(console_server, aid)
    pressed = console_client.post_form(f"{url}/remotes/{ac['remote_id']}/press", {"key": "PowerOn"})
    assert pressed.status_code == 303 and pressed.headers["location"] == f"{url}#remote-{ac['remote_id']}"
    after = console_client.get(url)
    assert _flash(after) == "Pressed PowerOn on Bedroom AC"
    assert "Power on · Mode Cooling mode" in html.unescape(_section(after, "remotes"))
    assert 'data-label="DP code">ir_send</td>' in after.text  # in the blaster's log
    api = _api(console_server, project)
    status = sdk_ok(api.get(f"/v2.0/infrareds/{blaster['id']}/remotes/{ac['remote_id']}/ac/status"))
    assert status["power"] == "1"
    assert [(m["protocol"], m["device_id"]) for m in messages_after(console_server, aid, seq)] == \
        [(4, blaster["id"])]

    bad = console_client.post_form(f"{url}/remotes/{tv['remote_id']}/press", {"key": "Nope"})
    assert bad.status_code == 400 and "no key 'Nope'" in _error(bad) and "2008" in _error(bad)
    stranger = console_client.post_form(f"{url}/remotes/vdevnotaremote/press", {"key": "Power"})
    assert stranger.status_code == 400 and "2010" in _error(stranger)
    # A frozen blaster refuses key presses like any command.
    assert console_client.post_form(f"{url}/freeze", {"state": "1"}).status_code == 303
    frozen = console_client.post_form(f"{url}/remotes/{tv['remote_id']}/press", {"key": "Power"})
    assert frozen.status_code == 400 and "1106" in _error(frozen)

    # A remote bound from the page is the OpenAPI's.
    bound = console_client.post_form(f"{url}/remotes", {"category_id": "8", "remote_name": "Ceiling fan",
                                                        "brand_name": "Dyson"})
    assert bound.status_code == 303
    listed = sdk_ok(api.get(f"/v2.0/infrareds/{blaster['id']}/remotes"))
    fan = next(r for r in listed if r["remote_name"] == "Ceiling fan")
    assert fan["category_id"] == 8 and fan["brand_name"] == "Dyson"
    assert bound.headers["location"] == f"{url}#remote-{fan['remote_id']}"
    unknown = console_client.post_form(f"{url}/remotes", {"category_id": "3"})
    assert unknown.status_code == 400 and "not supported" in _error(unknown)

    empty = _add(console_server, aid, category="qt")[0]
    assert "No remote yet" in console_client.get(f"/console/projects/{aid}/devices/{empty['id']}").text
    plug = _add(console_server, aid, category="cz")[0]
    assert 'data-testid="remotes"' not in console_client.get(f"/console/projects/{aid}/devices/{plug['id']}").text


def test_names_on_the_new_views_are_escaped(console_server: CloudServer, console_client: ConsoleClient) -> None:
    """Stored XSS: device, gateway, remote and brand names are user data; every page shows them escaped."""
    script, image = "<script>alert(1)</script>", "<img src=x onerror=alert(2)>"
    project = console_server.create_project(name="Console escaping")
    aid = project["access_id"]
    gateway = _add(console_server, aid, category="wg2", name=script)[0]
    sub = _add(console_server, aid, gateway_id=gateway["id"], category="dj", name=image)[0]
    blaster = _add(console_server, aid, category="qt", name="IR")[0]
    remote = console_server.control("POST", f"/infrareds/{blaster['id']}/remotes",
                                    {"category_id": 8, "remote_name": image, "brand_name": script})
    base = f"/console/projects/{aid}/devices"
    # The flashes after a change name the device or remote: escaped too.
    pressed = console_client.post_form(f"{base}/{blaster['id']}/remotes/{remote['remote_id']}/press",
                                       {"key": "PowerOn"})
    assert pressed.status_code == 303
    blaster_page = console_client.get(f"{base}/{blaster['id']}").text
    assert f"Pressed PowerOn on {html.escape(image, quote=False)}</div>" in blaster_page
    assert console_client.post_form(f"{base}/{gateway['id']}/freeze", {"state": "1"}).status_code == 303
    pages = {name: console_client.get(path).text for name, path in (
        ("gateway", f"{base}/{gateway['id']}"), ("sub-device", f"{base}/{sub['id']}"), ("list", base),
        ("sub-devices filter", f"{base}?link=sub"), ("frozen filter", f"{base}?frozen=yes"))}
    pages["blaster"] = blaster_page
    for name, text in pages.items():
        assert script not in text and image not in text, name
    assert f"{html.escape(script, quote=False)} is frozen" in pages["gateway"]
    assert html.escape(image, quote=False) in _section_text(pages["gateway"], "sub-devices")
    assert f">{html.escape(script, quote=False)}</a>" in pages["sub-device"]  # its gateway's name, linked
    assert html.escape(image, quote=False) in pages["sub-devices filter"]
    assert html.escape(script, quote=False) in pages["frozen filter"]
    remotes = _section_text(blaster_page, "remotes")
    assert html.escape(image, quote=False) in remotes and html.escape(script, quote=False) in remotes
    assert f'aria-label="Key of {html.escape(image)}"' in remotes  # in an attribute too


def _section_text(text: str, testid: str) -> str:
    start = text.index(f'data-testid="{testid}"')
    return text[start:text.index("</table>", start)]
