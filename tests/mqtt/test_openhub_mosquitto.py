"""External-broker mode against a real Mosquitto 2 with its dynamic-security plugin: the server creates each
credential's client and role there, Mosquitto authenticates and enforces the ACL, the server publishes; with two
servers on one PostgreSQL database (the scale-out set-up), either may issue, any commits are delivered, and when
the delivering server stops the other takes its links over."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import paho.mqtt.client as mqtt
import pytest
from tuya_iot import AuthType, TuyaOpenAPI

from support import mosquitto
from support.custom import ok
from support.openhub import Site, Subscriber, eventually, get_config, make_site, mqtt_server, start_sdk
from support.server import CloudServer
from tuyacloud.messaging.mqtt import external
from tuyacloud.messaging.mqtt.external import ExternalBroker

pytestmark = pytest.mark.skipif(not mosquitto.available(), reason="needs Debian's mosquitto (apt-get install -y "
                                "--no-install-recommends mosquitto): the external-broker tests run a real one")
ON_POSTGRES = bool(os.environ.get("TUYACLOUD_TEST_DATABASE_URL"))
SETTLE_S = 1.5


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[mosquitto.Mosquitto]:
    m = mosquitto.start(tmp_path_factory.mktemp("mosquitto"))
    yield m
    m.stop()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, broker: mosquitto.Mosquitto) -> Iterator[list[CloudServer]]:
    """Two servers on one PostgreSQL database (one on SQLite), both using the one Mosquitto."""
    first = mqtt_server(tmp_path_factory.mktemp("ext-a"), simulator=False, mqtt_broker_url=broker.admin_url)
    started = [first]
    try:
        if ON_POSTGRES:
            started.append(mqtt_server(tmp_path_factory.mktemp("ext-b"), simulator=False,
                                       mqtt_broker_url=broker.admin_url, database_url=first.settings.database_url))
        yield started
    finally:
        for s in reversed(started):
            s.stop()


@pytest.fixture(scope="module")
def ext_site(servers: list[CloudServer]) -> Site:
    return make_site(servers[0])


def _switch(site: Site, name: str, on: bool) -> None:
    device = site.devices[name]["id"]
    ok(site.client.post(f"/v1.0/iot-03/devices/{device}/commands", {"commands": [{"code": "switch_led", "value": on}]}))


def test_config_points_at_mosquitto_and_it_enforces_the_credentials(broker: mosquitto.Mosquitto,
                                                                    ext_site: Site) -> None:
    alice = get_config(ext_site.users["alice"], ext_site.uids["alice"])
    bob = get_config(ext_site.users["bob"], ext_site.uids["bob"], "1.0")
    assert alice["url"] == f"tcp://127.0.0.1:{broker.port}"
    wrong = Subscriber(alice, password="y" * 32).start()
    thief = Subscriber(alice, subscribe=bob["source_topic"]["device"]).start()
    a = Subscriber(get_config(ext_site.users["alice"], ext_site.uids["alice"])).start().ready()
    b = Subscriber(bob, "1.0").start().ready()
    try:
        eventually(lambda: wrong.connack and thief.suback, what="CONNACK and SUBACK")
        assert wrong.connack[0] in (mqtt.CONNACK_REFUSED_NOT_AUTHORIZED, mqtt.CONNACK_REFUSED_BAD_USERNAME_PASSWORD)
        assert thief.suback[0] == (128,) and a.suback[0] == (1,)
        b.client.publish(bob["source_topic"]["device"], b"forged", qos=1).wait_for_publish(5)
        time.sleep(SETTLE_S)
        assert b.raw == []
        for on in (True, False):
            _switch(ext_site, "alice", on)
            _switch(ext_site, "bob", on)
        ids = {n: ext_site.devices[n]["id"] for n in ("alice", "bob")}
        eventually(lambda: len(a.data()) >= 2 and len(b.data()) >= 2, what="both users' reports")
        time.sleep(SETTLE_S)
        assert a.devices() == {ids["alice"]} and b.devices() == {ids["bob"]} and thief.messages == []
        assert [s["value"] for s in b.reports(ids["bob"]) if s["code"] == "switch_led"] == [True, False]
    finally:
        for sub in (wrong, thief, a, b):
            sub.stop()


def test_the_sdk_through_mosquitto(servers: list[CloudServer]) -> None:
    server = servers[-1]
    site = make_site(server, ("gina",))
    api = TuyaOpenAPI(server.url, site.project["access_id"], site.project["access_secret"], AuthType.CUSTOM)
    assert ok(api.connect("gina@example.com", "secret"))
    sdk = start_sdk(api)
    light = site.devices["gina"]["id"]
    try:
        sdk.manager.update_device_caches([light])
        ok(sdk.manager.send_commands(light, [{"code": "bright_value_v2", "value": 321}]))
        eventually(lambda: sdk.listener.saw(light, lambda s, o, n: s.get("bright_value_v2") == 321), what="report")
        server.control("POST", f"/devices/{light}/online", {"online": False})
        eventually(lambda: sdk.manager.device_map[light].online is False, what="offline")
    finally:
        sdk.stop()


def test_expired_and_revoked_clients_are_removed_from_mosquitto(servers: list[CloudServer]) -> None:
    server = servers[0]
    site = make_site(server, ("hank", "ida"))
    hank = get_config(site.users["hank"], site.uids["hank"])
    connected = Subscriber(hank).start().ready()
    try:
        ida = get_config(site.users["ida"], site.uids["ida"])
        ok(site.client.request("DELETE", f"/v1.0/iot-02/users/{site.uids['ida']}"))
        server.clock.step(7201_000)  # past hank's expiry: his client is deleted (and disconnected)
        for s in servers[1:]:
            s.clock.step(7201_000)
        eventually(lambda: connected.disconnects, what="the expired client's disconnection")
        for config in (hank, ida):
            assert _refused_within(config, REMOVAL_S), f"{config['username']} still accepted after {REMOVAL_S} s"
    finally:
        connected.stop()
        for s in servers:
            s.clock.step(-7201_000)


@pytest.mark.skipif(not ON_POSTGRES, reason="two servers share one PostgreSQL database")
def test_two_servers_share_the_broker_and_take_over_links(tmp_path: Path, broker: mosquitto.Mosquitto) -> None:
    first = mqtt_server(tmp_path / "a", simulator=False, mqtt_broker_url=broker.admin_url)
    second = mqtt_server(tmp_path / "b", simulator=False, mqtt_broker_url=broker.admin_url,
                         database_url=first.settings.database_url)
    try:
        site = make_site(first, ("jo",))
        from support.custom import login

        via_second = login(site.client, "jo@example.com")
        via_second.base_url = second.url
        config = get_config(via_second, site.uids["jo"])  # issued (and delivered to) by the second server
        sub = Subscriber(config).start().ready()
        light = site.devices["jo"]["id"]
        try:
            ok(site.client.post(f"/v1.0/iot-03/devices/{light}/commands",
                                {"commands": [{"code": "bright_value_v2", "value": 100}]}))  # through the first
            eventually(lambda: any(s["value"] == 100 for s in sub.reports(light)), what="report via the second")
            second.stop()  # the first takes the link over once the second's lease runs out
            ok(site.client.post(f"/v1.0/iot-03/devices/{light}/commands",
                                {"commands": [{"code": "bright_value_v2", "value": 200}]}))
            eventually(lambda: any(s["value"] == 200 for s in sub.reports(light)), timeout=45,
                       what="report after the takeover")
        finally:
            sub.stop()
    finally:
        second.stop()
        first.stop()


# The server removes a dead credential's client within one sweep (external.SWEEP_S, 2 s); a disconnection can be
# seen before the removal has reached Mosquitto, so a refusal is awaited, not assumed at the first try.
REMOVAL_S = 15.0


def _refused_within(config: dict[str, Any], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        late = Subscriber(config).start()
        late.client.reconnect_delay_set(30, 60)
        try:
            eventually(lambda late=late: late.connack, what="CONNACK")
            if late.connack[0] in (mqtt.CONNACK_REFUSED_NOT_AUTHORIZED, mqtt.CONNACK_REFUSED_BAD_USERNAME_PASSWORD):
                return True
        finally:
            late.stop()
        time.sleep(0.5)
    return False


def test_only_the_housekeeping_lease_holder_removes_dead_clients(tmp_path: Path,
                                                                 broker: mosquitto.Mosquitto) -> None:
    """Two server processes' worth of cloud on one database (serve --workers 2, or two hosts): a dead credential's
    client is deleted from Mosquitto by the process holding the housekeeping lease, not by every process."""
    first = mqtt_server(tmp_path / "a", simulator=False, mqtt_broker_url=broker.admin_url)
    second = mqtt_server(tmp_path / "b", simulator=False, mqtt_broker_url=broker.admin_url,
                         database_url=first.settings.effective_database_url)  # the first's SQLite file too
    servers = [first, second]
    try:
        site = make_site(first, ("lou",))
        config = get_config(site.users["lou"], site.uids["lou"])

        def holders() -> list[bool]:
            return [bool(s.control("GET", "/health")["tasks"]["housekeeping"].get("sweeps")) for s in servers]

        eventually(lambda: sorted(holders()) == [False, True], what="one process holding the housekeeping lease")
        for s in servers:
            s.clock.step(7201_000)  # past the credential's expiry
        assert _refused_within(config, REMOVAL_S), "the expired client is still accepted"
        time.sleep(3 * external.SWEEP_S)  # every process has swept a few times since
        removed = [config["username"] in cast(ExternalBroker, s.state.mqtt).removed for s in servers if s.state]
        assert removed == holders(), (removed, holders())
    finally:
        for s in reversed(servers):
            s.stop()
