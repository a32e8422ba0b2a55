"""Helpers of the MQTT open-hub tests: a server with its broker on a free port, config calls, and a paho-mqtt
subscriber that decrypts what it receives the way tuya-iot-py-sdk does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from tuya_iot import TuyaDeviceListener, TuyaDeviceManager, TuyaOpenAPI, TuyaOpenMQ
from tuya_iot.device import TuyaDevice

from support.custom import add_asset, login, ok, register
from support.server import CloudServer, free_port
from support.signed import SignedClient
from tuyacloud.messaging.mqtt import codec

CUSTOM_PATH = "/v1.0/iot-03/open-hub/access-config"
SMART_HOME_PATH = "/v1.0/open-hub/access/config"
WAIT_S = 20.0  # generous: the machine running the tests may be busy


def mqtt_server(data_dir: Path, **overrides: Any) -> CloudServer:
    overrides.setdefault("mqtt_port", free_port())
    overrides.setdefault("create_demo", False)
    return CloudServer(data_dir, **overrides).start()


def config_body(uid: str, version: str = "2.0", link_id: str = "tests.link", **extra: Any) -> dict[str, Any]:
    return {"uid": uid, "link_id": link_id, "link_type": "mqtt", "topics": "device", "msg_encrypted_version": version,
            **extra}


def get_config(client: SignedClient, uid: str, version: str = "2.0", path: str = CUSTOM_PATH,
               link_id: str = "tests.link") -> dict[str, Any]:
    response = client.post(path, config_body(uid, version, link_id))
    assert response["success"] is True, response
    result: dict[str, Any] = response["result"]
    return result


def eventually(check: Callable[[], Any], timeout: float = WAIT_S, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.05)


class Subscriber:
    """One paho client on a credential: records CONNACK, SUBACK and every decrypted message."""

    def __init__(self, config: dict[str, Any], version: str = "2.0", *, password: str | None = None,
                 client_id: str | None = None, clean_session: bool = True, subscribe: str | None = None,
                 keepalive: int = 60) -> None:
        self.config = config
        self.keepalive = keepalive
        self.version = version
        self.key = config["password"][8:24]
        self.connack: list[int] = []
        self.suback: list[tuple[int, ...]] = []
        self.messages: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self.disconnects: list[int] = []  # paho's is_connected() stays True after the server closes the socket
        self._lock = threading.Lock()
        self._topic = subscribe or config["source_topic"]["device"]
        self.client = mqtt.Client(client_id or config["client_id"], clean_session=clean_session)
        self.client.username_pw_set(config["username"], password if password is not None else config["password"])
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda c, u, mid, granted: self.suback.append(tuple(granted))
        self.client.on_message = self._on_message
        self.client.on_disconnect = lambda c, u, rc: self.disconnects.append(rc)
        self.client.reconnect_delay_set(1, 2)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: int) -> None:
        self.connack.append(rc)
        if rc == 0:
            client.subscribe(self._topic, 1)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        envelope = json.loads(message.payload)
        envelope["data"] = codec.decrypt(envelope["data"], self.key, self.version, envelope["t"])
        with self._lock:
            self.raw.append(message.payload)
            self.messages.append(envelope)

    def start(self) -> Subscriber:
        scheme, _, rest = self.config["url"].partition("://")
        host, _, port = rest.rpartition(":")
        self.client.connect(host, int(port), keepalive=self.keepalive)
        self.client.loop_start()
        return self

    def ready(self) -> Subscriber:
        """Connected and subscribed (SUBACK received)."""
        eventually(lambda: self.suback, what="SUBACK")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def data(self) -> list[dict[str, Any]]:
        with self._lock:
            return [m["data"] for m in self.messages]

    def reports(self, device_id: str) -> list[dict[str, Any]]:
        """Status items of the device's protocol-4 messages, in arrival order."""
        with self._lock:
            found = [m["data"] for m in self.messages if m["protocol"] == 4 and m["data"]["devId"] == device_id]
        return [item for d in found for item in d["status"]]

    def devices(self) -> set[str]:
        return {d["devId"] for d in self.data()}


@dataclass(eq=False)  # the SDK keeps listeners in a set
class Recorder(TuyaDeviceListener):
    updates: list[tuple[str, dict[str, Any], bool, str]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update_device(self, device: TuyaDevice) -> None:
        with self.lock:
            self.updates.append((device.id, dict(device.status), bool(device.online), device.name))

    def add_device(self, device: TuyaDevice) -> None:
        with self.lock:
            self.added.append(device.id)

    def remove_device(self, device_id: str) -> None:
        with self.lock:
            self.removed.append(device_id)

    def saw(self, device_id: str, check: Any) -> bool:
        with self.lock:
            return any(d == device_id and check(status, online, name) for d, status, online, name in self.updates)


@dataclass
class Sdk:
    api: TuyaOpenAPI
    mq: TuyaOpenMQ
    manager: TuyaDeviceManager
    listener: Recorder

    def stop(self) -> None:
        self.mq.stop()


def start_sdk(api: TuyaOpenAPI) -> Sdk:
    mq = TuyaOpenMQ(api)
    mq.daemon = True  # its thread sleeps until the next renewal; the test process must not wait for it
    mq.start()
    manager = TuyaDeviceManager(api, mq)
    listener = Recorder()
    manager.add_device_listener(listener)
    eventually(lambda: mq.client is not None and mq.client.is_connected(), what="the SDK's MQTT connection")
    return Sdk(api, mq, manager, listener)


# --- a custom project with two users on two assets (a light each), so visibility can be checked ------------
@dataclass
class Site:
    project: dict[str, Any]
    client: SignedClient  # the project's token
    users: dict[str, SignedClient]  # username -> a client carrying the user's token
    uids: dict[str, str]
    devices: dict[str, dict[str, Any]]  # username -> the light at the user's asset
    assets: dict[str, str]


def make_site(server: CloudServer, names: tuple[str, ...] = ("alice", "bob")) -> Site:
    project = server.create_project(name="open-hub")
    c = SignedClient(server.url, project["access_id"], project["access_secret"])
    assert c.connect()["success"]
    users, uids, devices, assets = {}, {}, {}, {}
    for name in names:
        asset = add_asset(c, f"{name}'s flat")
        uid = register(c, f"{name}@example.com")
        ok(c.post("/v1.0/iot-03/assets/actions/user-authorized", {"uid": uid, "asset_id": asset}))
        devices[name] = server.control("POST", f"/projects/{project['access_id']}/devices",
                                       {"category": "dj", "asset_id": asset})[0]
        users[name], uids[name], assets[name] = login(c, f"{name}@example.com"), uid, asset
    return Site(project, c, users, uids, devices, assets)
