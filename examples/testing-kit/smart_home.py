"""The code under test: a small home integration written on tuya-connector-python, as a user of Tuya's cloud
would write it. Nothing here knows about tuyacloud; the tests point it at a local cloud instead of Tuya's."""

from __future__ import annotations

from typing import Any

from tuya_connector import TuyaOpenAPI

DEVICE_OFFLINE = 2001


class Home:
    def __init__(self, endpoint: str, access_id: str, access_secret: str) -> None:
        self.api = TuyaOpenAPI(endpoint, access_id, access_secret)
        self.api.connect()

    def status(self, device_id: str) -> dict[str, Any]:
        response = self.api.get(f"/v1.0/iot-03/devices/{device_id}/status")
        return {item["code"]: item["value"] for item in response["result"]}

    def send(self, device_id: str, code: str, value: Any) -> dict[str, Any]:
        return self.api.post(f"/v1.0/iot-03/devices/{device_id}/commands",
                             {"commands": [{"code": code, "value": value}]})

    def lights_out(self, light_ids: list[str]) -> list[str]:
        """Switch every light off; returns the lights that could not be reached (offline)."""
        unreachable = []
        for light_id in light_ids:
            response = self.send(light_id, "switch_led", False)
            if not response["success"]:
                if response["code"] != DEVICE_OFFLINE:
                    raise RuntimeError(f"{light_id}: {response['code']} {response['msg']}")
                unreachable.append(light_id)
        return unreachable

    def too_warm(self, sensor_id: str, limit_c: float) -> bool:
        """The sensor reports tenths of a degree (``va_temperature`` 312 is 31.2 °C)."""
        return self.status(sensor_id)["va_temperature"] / 10 > limit_c
