"""A factory reset as tuya-iot-py-sdk experiences it over the MQTT open-hub: a project user (CUSTOM login) resets
a device at its asset with ``TuyaDeviceManager.factory_reset``; its ``TuyaOpenMQ`` receives the status report
with the initial values, ``offline`` and ``delete``, and the SDK drops the device from its cache and tells its
listener, although the device has already left the user's asset when the messages are delivered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tuya_iot import AuthType, TuyaOpenAPI

from support.custom import ok
from support.openhub import eventually, make_site, mqtt_server, start_sdk
from support.server import CloudServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    s = mqtt_server(tmp_path_factory.mktemp("reset-openhub"))
    yield s
    s.stop()


def test_the_sdk_hears_a_reset_and_drops_the_device(server: CloudServer) -> None:
    site = make_site(server, ("gina",))
    access_id, light = site.project["access_id"], site.devices["gina"]["id"]
    quiet = server.control("POST", f"/projects/{access_id}/devices",
                           {"category": "dj", "asset_id": site.assets["gina"]})[0]["id"]
    api = TuyaOpenAPI(server.url, access_id, site.project["access_secret"], AuthType.CUSTOM)
    assert ok(api.connect("gina@example.com", "secret"))
    sdk = start_sdk(api)
    try:
        sdk.manager.update_device_caches([light, quiet])
        assert {light, quiet} <= set(sdk.manager.device_map)
        ok(sdk.manager.send_commands(light, [{"code": "bright_value_v2", "value": 250}]))
        eventually(lambda: sdk.manager.device_map[light].status["bright_value_v2"] == 250, what="the report")

        assert ok(sdk.manager.factory_reset(light)) is True
        eventually(lambda: light in sdk.listener.removed, what="delete")
        assert light not in sdk.manager.device_map
        # Before leaving, the device reported its factory status and went offline: the SDK heard both.
        assert sdk.listener.saw(light, lambda status, online, name: status.get("bright_value_v2") == 1000)
        assert sdk.listener.saw(light, lambda status, online, name: online is False)

        # A device the link had heard nothing of since it connected: the delete still reaches its user.
        assert ok(sdk.manager.factory_reset(quiet)) is True
        eventually(lambda: quiet in sdk.listener.removed, what="delete of the quiet device")
        # The user's token no longer sees the devices: they left the user's asset.
        gone = api.get(f"/v1.0/iot-03/devices/{light}")
        assert gone["success"] is False and gone["code"] == 1106
    finally:
        sdk.stop()
