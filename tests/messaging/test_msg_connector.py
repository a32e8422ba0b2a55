"""End to end with tuya-connector-python 0.1.2's ``TuyaOpenPulsar``: it connects with its own URL and headers,
decrypts (ECB, ignoring ``em``) and hands its listener the ``data`` string of a status report caused by a
command sent through ``TuyaOpenAPI``, then acknowledges it, which empties the subscription's backlog.
"""

from __future__ import annotations

import json
import queue
import time
from typing import Any

from tuya_connector import TuyaCloudPulsarTopic, TuyaOpenAPI, TuyaOpenPulsar

from support.pulsar import wait_for_subscription
from support.server import CloudServer


def _stop(pulsar: TuyaOpenPulsar) -> None:
    """``TuyaOpenPulsar.stop()`` sets ``ws_app`` to None while its thread may still use it (it then dies with an
    AttributeError); stopping the loop first and closing the socket ends the thread cleanly."""
    pulsar._stop_event.set()
    pulsar.message_listeners = set()
    if pulsar.ws_app is not None:
        pulsar.ws_app.close()


def _next_data(received: queue.Queue[Any], accept: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            text = received.get(timeout=left)
        except queue.Empty:
            break
        assert isinstance(text, str), f"the listener got {type(text)}, not the decrypted data string"
        data = json.loads(text)
        seen.append(data)
        if accept(data):
            return data
    raise AssertionError(f"no matching message within {timeout} s; got {seen}")


def test_connector_pulsar_receives_and_acknowledges_a_status_report(cloud: CloudServer) -> None:
    project = cloud.create_project(name="msg connector")
    access_id, secret = project["access_id"], project["access_secret"]
    device = cloud.add_devices(access_id, "dj")[0]
    api = TuyaOpenAPI(cloud.url, access_id, secret)
    assert api.connect()["success"] is True

    received: queue.Queue[Any] = queue.Queue()
    pulsar = TuyaOpenPulsar(access_id, secret, f"ws://127.0.0.1:{cloud.port}/", TuyaCloudPulsarTopic.PROD)
    pulsar.daemon = True
    pulsar.add_message_listener(received.put)
    pulsar.start()
    try:
        # The device's bindUser event, queued before anyone connected, comes first.
        bind = _next_data(received, lambda d: d.get("bizCode") == "bindUser", timeout=10)
        assert bind["devId"] == device["id"] and bind["bizData"]["devId"] == device["id"]

        response = api.post(f"/v1.0/devices/{device['id']}/commands",
                            {"commands": [{"code": "temp_value_v2", "value": 456}]})
        assert response["success"] is True, response
        report = _next_data(received, lambda d: "status" in d, timeout=10)
        assert report["devId"] == device["id"] and report["productKey"] == device["product_id"]
        assert report["dataId"]
        status = {item["code"]: item for item in report["status"]}
        assert status["temp_value_v2"]["value"] == 456 and status["temp_value_v2"]["23"] == "456"
        assert isinstance(status["temp_value_v2"]["t"], int)
        live = {s["code"]: s["value"] for s in api.get(f"/v1.0/devices/{device['id']}/status")["result"]}
        assert live["temp_value_v2"] == 456

        # connector-py acknowledges after its listener returns: the backlog empties.
        row = wait_for_subscription(cloud.control, access_id, lambda s: s["backlog"] == 0, timeout=10)
        assert row["last_ack_ms"] is not None
        assert [c["active"] for c in row["consumers"]] == [True]
        assert received.empty()
    finally:
        _stop(pulsar)
    wait_for_subscription(cloud.control, access_id, lambda s: s["consumers"] == [], timeout=10)
