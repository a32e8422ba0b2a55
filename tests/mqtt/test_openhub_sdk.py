"""tuya-iot-py-sdk 0.6.6 unchanged against the real server: ``TuyaOpenAPI.connect()`` with a user's login,
``TuyaOpenMQ`` fetching its config and connecting to the embedded broker, ``TuyaDeviceManager`` with a device
listener. CUSTOM mode asks for message version 2.0 (AES-GCM), SMART_HOME for 1.0 (AES-ECB); each event reaches the
SDK's device cache and its listener."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tuya_iot import AuthType, TuyaOpenAPI

from support.custom import ok
from support.openhub import Sdk, Site, eventually, make_site, mqtt_server, start_sdk
from support.server import CloudServer
from support.smarthome import add_home_device, create_home, smart_home_project, sync_user


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """The simulator runs: a curtain's movement after a command is a report the device makes by itself."""
    s = mqtt_server(tmp_path_factory.mktemp("sdk"), simulator=True)
    yield s
    s.stop()


def _custom(server: CloudServer) -> tuple[Sdk, Site, list[str]]:
    site = make_site(server, ("erin",))
    access_id = site.project["access_id"]
    curtain = server.control("POST", f"/projects/{access_id}/devices",
                             {"category": "cl", "asset_id": site.assets["erin"]})
    api = TuyaOpenAPI(server.url, access_id, site.project["access_secret"], AuthType.CUSTOM)
    assert ok(api.connect("erin@example.com", "secret"))
    sdk = start_sdk(api)
    ids = [site.devices["erin"]["id"], curtain[0]["id"]]
    sdk.manager.update_device_caches(ids)
    assert set(ids) <= set(sdk.manager.device_map)
    return sdk, site, ids


def _smart_home(server: CloudServer) -> tuple[Sdk, str, str, list[str]]:
    sh = smart_home_project(server, name="sdk open-hub")
    uid = sync_user(sh.client, sh.schema, "frank@example.com")
    home = create_home(sh.client, uid)
    access_id = sh.project["access_id"]
    ids = [add_home_device(server, access_id, uid, home, "dj")["id"],
           add_home_device(server, access_id, uid, home, "cl")["id"]]
    api = TuyaOpenAPI(server.url, access_id, sh.project["access_secret"], AuthType.SMART_HOME)
    assert ok(api.connect("frank@example.com", "secret", "1", sh.schema))
    sdk = start_sdk(api)
    sdk.manager.update_device_list_in_smart_home()
    assert set(ids) <= set(sdk.manager.device_map)
    return sdk, uid, home, ids


def _exercise(server: CloudServer, sdk: Sdk, light: str, curtain: str) -> None:
    """An OpenAPI command, a simulator report, an injected report, offline/online: cache and listener follow."""
    m, heard = sdk.manager, sdk.listener
    ok(m.send_commands(light, [{"code": "switch_led", "value": True}, {"code": "bright_value_v2", "value": 420}]))
    eventually(lambda: heard.saw(light, lambda s, o, n: s.get("bright_value_v2") == 420), what="the command's report")
    assert m.device_map[light].status["bright_value_v2"] == 420 and m.device_map[light].status["switch_led"] is True

    before = m.device_map[curtain].status.get("percent_state", 0)
    ok(m.send_commands(curtain, [{"code": "percent_control", "value": 100 if before < 50 else 0}]))
    server.control("POST", "/clock", {"step_ms": 5000})  # the simulated motor runs on the cloud's clock
    eventually(lambda: heard.saw(curtain, lambda s, o, n: s.get("percent_state", before) != before),
               what="the simulator's percent_state report")

    server.control("POST", f"/devices/{light}/report", {"status": {"bright_value_v2": 777}})
    eventually(lambda: heard.saw(light, lambda s, o, n: s.get("bright_value_v2") == 777), what="the injected report")
    assert m.device_map[light].status["bright_value_v2"] == 777

    server.control("POST", f"/devices/{light}/online", {"online": False})
    eventually(lambda: m.device_map[light].online is False, what="offline")
    assert heard.saw(light, lambda s, o, n: o is False)
    server.control("POST", f"/devices/{light}/online", {"online": True})
    eventually(lambda: m.device_map[light].online is True, what="online")


def test_custom_mode_receives_reports_and_events(server: CloudServer) -> None:
    sdk, site, (light, curtain) = _custom(server)
    try:
        assert sdk.mq.mq_config.url.startswith("tcp://")
        _exercise(server, sdk, light, curtain)
        ok(site.client.request("PUT", f"/v1.0/iot-03/devices/{light}", json={"name": "Erin's lamp"}))
        eventually(lambda: sdk.manager.device_map[light].name == "Erin's lamp", what="nameUpdate")
        # a new device at the user's asset: bindUser, and the SDK loads it into its cache and tells the listener
        added = server.control("POST", f"/projects/{site.project['access_id']}/devices",
                               {"category": "cz", "asset_id": site.assets["erin"]})[0]["id"]
        eventually(lambda: added in sdk.listener.added, what="bindUser")
        assert added in sdk.manager.device_map
        ok(sdk.manager.remove_device(curtain))
        eventually(lambda: curtain in sdk.listener.removed, what="delete")
        assert curtain not in sdk.manager.device_map
    finally:
        sdk.stop()


def test_smart_home_mode_receives_reports_and_events(server: CloudServer) -> None:
    sdk, uid, home, (light, curtain) = _smart_home(server)
    try:
        _exercise(server, sdk, light, curtain)
        ok(sdk.api.put(f"/v1.0/devices/{light}", {"name": "Frank's lamp"}))
        eventually(lambda: sdk.manager.device_map[light].name == "Frank's lamp", what="nameUpdate")
        added = add_home_device(server, sdk.api.access_id, uid, home, "cz")["id"]
        eventually(lambda: added in sdk.listener.added, what="bindUser")
        ok(sdk.manager.remove_device(curtain))
        eventually(lambda: curtain in sdk.listener.removed, what="delete")
    finally:
        sdk.stop()


def test_the_sdk_renews_its_credential_and_keeps_receiving(tmp_path: Path) -> None:
    """With a 70 s credential the SDK renews after 10 s (it sleeps expire_time - 60): a new config call, a new
    connection, the old one closed; messages keep coming on the new one."""
    server = mqtt_server(tmp_path, simulator=False, mqtt_link_ttl_s=70)
    try:
        sdk, site, (light, _) = _custom(server)
        try:
            first = sdk.mq.mq_config.username
            assert sdk.mq.mq_config.expire_time == 70
            eventually(lambda: sdk.mq.mq_config.username != first, timeout=40, what="the SDK's renewal")
            eventually(lambda: sdk.mq.client.is_connected(), what="the renewed connection")
            ok(sdk.manager.send_commands(light, [{"code": "bright_value_v2", "value": 555}]))
            eventually(lambda: sdk.listener.saw(light, lambda s, o, n: s.get("bright_value_v2") == 555),
                       what="a report after the renewal")
        finally:
            sdk.stop()
    finally:
        server.stop()
