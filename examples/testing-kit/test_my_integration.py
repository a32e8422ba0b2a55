"""A user's tests of their own integration (smart_home.py), run against a local tuyacloud by the fixtures that
installing tuyacloud gives pytest: no conftest.py, no mocks; tuya-connector-python talks HTTP to a real cloud."""

from __future__ import annotations

from tuya_connector import TuyaOpenAPI

from smart_home import Home


def test_switch_off(tuya_cloud):  # the README's ten-line example
    light = tuya_cloud.add_device("dj")
    api = TuyaOpenAPI(tuya_cloud.url, tuya_cloud.access_id, tuya_cloud.access_secret)
    api.connect()
    api.post(f"/v1.0/iot-03/devices/{light.id}/commands", {"commands": [{"code": "switch_led", "value": False}]})
    status = api.get(f"/v1.0/iot-03/devices/{light.id}/status")["result"]
    assert {"code": "switch_led", "value": False} in status
    tuya_cloud.control.take_offline(light.id)
    assert api.get(f"/v1.0/iot-03/devices/{light.id}")["result"]["online"] is False


def test_lights_out_reports_the_unreachable_light(tuya_project):
    lights = tuya_project.add_devices("dj", count=3)
    tuya_project.control.take_offline(lights[1].id)
    home = Home(tuya_project.url, tuya_project.access_id, tuya_project.access_secret)

    assert home.lights_out([light.id for light in lights]) == [lights[1].id]
    assert home.status(lights[0].id)["switch_led"] is False
    offs = [m.device_id for m in tuya_project.messages(protocol=4) if m.status.get("switch_led") is False]
    assert offs == [lights[0].id, lights[2].id]


def test_too_warm_follows_the_sensor(tuya_project):
    sensor = tuya_project.add_device("wsdcg", name="Nursery")
    home = Home(tuya_project.url, tuya_project.access_id, tuya_project.access_secret)

    tuya_project.control.report(sensor.id, va_temperature=312)
    assert home.too_warm(sensor.id, limit_c=30)
    tuya_project.control.report(sensor.id, va_temperature=215)
    assert not home.too_warm(sensor.id, limit_c=30)


def test_the_curtain_opens_over_time(tuya_cloud):
    curtain = tuya_cloud.add_device("cl")
    home = Home(tuya_cloud.url, tuya_cloud.access_id, tuya_cloud.access_secret)
    tuya_cloud.control.freeze()

    assert home.send(curtain.id, "control", "open")["success"]
    assert home.status(curtain.id)["percent_state"] == 0  # time stands still: the motor has not moved
    tuya_cloud.control.step(seconds=20)  # 10 % a second: fully open after ten
    tuya_cloud.wait_for_message(lambda m: m.status.get("percent_state") == 100, device_id=curtain.id)
    assert home.status(curtain.id)["percent_state"] == 100


def test_offline_and_online_events_are_sent(tuya_project):
    plug = tuya_project.add_device("cz")
    tuya_project.new_messages()  # skip the device's bindUser event

    tuya_project.control.take_offline(plug.id)
    tuya_project.control.bring_online(plug.id)
    assert [m.biz_code for m in tuya_project.new_messages(device_id=plug.id)] == ["offline", "online"]
