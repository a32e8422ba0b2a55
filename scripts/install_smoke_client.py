"""The client half of scripts/install-smoke: drive a freshly installed server with tuya-connector-python only.

It reads the Access ID, Access Secret and the demo light from the banner the server printed, as a user would, and
runs the README's calls: token, status read, a command, and the command's status report over TuyaOpenPulsar.
Exits non-zero with a one-line reason on the first thing that does not work.
"""

from __future__ import annotations

import json
import queue
import re
import sys
import time
from typing import Any

from tuya_connector import TuyaCloudPulsarTopic, TuyaOpenAPI, TuyaOpenPulsar

MESSAGE_TIMEOUT_S = 30.0


def fail(reason: str) -> None:
    print(f"install smoke FAILED: {reason}", flush=True)
    sys.exit(1)


def banner_value(text: str, label: str) -> str:
    match = re.search(rf"^\s*{label}:\s*(\S+)\s*$", text, re.MULTILINE)
    if not match:
        fail(f"the banner has no {label!r} line")
    return match.group(1) if match else ""


def main(base_url: str, banner_file: str) -> None:
    with open(banner_file, encoding="utf-8") as file:
        banner = file.read()
    access_id, secret = banner_value(banner, "Access ID"), banner_value(banner, "Access Secret")
    light = re.search(r"^\s+(\S+)\s+dj\s+", banner, re.MULTILINE)
    if not light:
        fail("the banner lists no demo light (dj)")
    device_id = light.group(1) if light else ""

    api = TuyaOpenAPI(base_url, access_id, secret)
    connected = api.connect()
    if not connected or not connected.get("success"):
        fail(f"token: {connected}")
    status = api.get(f"/v1.0/iot-03/devices/{device_id}/status")
    if not status.get("success"):
        fail(f"status read: {status}")
    switch = {item["code"]: item["value"] for item in status["result"]}.get("switch_led")
    if not isinstance(switch, bool):
        fail(f"the light reports no switch_led: {status['result']}")
    wanted = not switch

    received: queue.Queue[Any] = queue.Queue()
    pulsar = TuyaOpenPulsar(access_id, secret, base_url.replace("http", "ws", 1) + "/", TuyaCloudPulsarTopic.PROD)
    pulsar.daemon = True
    pulsar.add_message_listener(received.put)
    pulsar.start()

    command = api.post(f"/v1.0/iot-03/devices/{device_id}/commands",
                       {"commands": [{"code": "switch_led", "value": wanted}]})
    if not command.get("success"):
        fail(f"command: {command}")
    deadline = time.monotonic() + MESSAGE_TIMEOUT_S
    while (left := deadline - time.monotonic()) > 0:
        try:
            data = json.loads(received.get(timeout=left))
        except queue.Empty:
            break
        values = {item.get("code"): item.get("value") for item in data.get("status", [])}
        if data.get("devId") == device_id and values.get("switch_led") == wanted:
            after = api.get(f"/v1.0/iot-03/devices/{device_id}/status")
            if {i["code"]: i["value"] for i in after["result"]}.get("switch_led") != wanted:
                fail(f"the status did not change: {after}")
            print(f"install smoke: token, status read, command and its message for {device_id} all work", flush=True)
            pulsar._stop_event.set()  # stop() races with the reader thread (see the message tests)
            return
    fail(f"no status message for the command within {MESSAGE_TIMEOUT_S:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
