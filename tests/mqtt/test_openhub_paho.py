"""The open-hub with paho-mqtt directly: the config calls, authentication, the topic ACL, who receives what, and
per-device order; against the real server and its embedded broker."""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from support.custom import code, ok
from support.openhub import (
    CUSTOM_PATH,
    SMART_HOME_PATH,
    WAIT_S,
    Site,
    Subscriber,
    config_body,
    eventually,
    get_config,
    make_site,
    mqtt_server,
)
from support.server import CloudServer
from tuyacloud.messaging.mqtt import codec

SETTLE_S = 1.5  # how long "nothing arrives" is watched for


def _switch(site: Site, name: str, on: bool) -> None:
    device = site.devices[name]["id"]
    ok(site.client.post(f"/v1.0/iot-03/devices/{device}/commands", {"commands": [{"code": "switch_led", "value": on}]}))


def test_config_answer_has_what_the_sdk_reads(hub: CloudServer, site: Site) -> None:
    user = site.users["alice"]
    for path in (CUSTOM_PATH, SMART_HOME_PATH):
        result = get_config(user, site.uids["alice"], path=path)
        assert result["url"] == f"tcp://127.0.0.1:{hub.settings.mqtt_port}"
        assert result["expire_time"] == 7200
        assert result["client_id"].startswith("tests.link_") and result["username"].startswith("cloud_")
        assert len(result["password"]) == 32
        topic = result["source_topic"]["device"]
        assert topic.startswith("cloud/token/in/") and result["sink_topic"]["device"].startswith("cloud/token/out/")
    again = get_config(user, site.uids["alice"])
    assert again["password"] != result["password"] and again["source_topic"] != result["source_topic"]


def test_bad_config_bodies_get_tuya_codes(hub: CloudServer, site: Site) -> None:
    user, uid = site.users["alice"], site.uids["alice"]
    cases = [
        ({"link_id": "x"}, 1100),  # no uid
        ({"uid": uid}, 1100),  # no link_id
        (config_body(uid, link_type="kafka"), 1109),
        (config_body(uid, topics="everything"), 1109),
        (config_body(uid, "3.0"), 1109),
        (config_body(uid, link_id="bad link id with spaces"), 1109),
        ({"uid": uid, "link_id": 7}, 1104),
        (config_body(site.uids["bob"]), 1106),  # another user's uid with alice's token
    ]
    for body, expected in cases:
        assert code(user.post(CUSTOM_PATH, body)) == expected, body
    assert code(user.post(CUSTOM_PATH, ["not", "an", "object"])) == 1109
    assert code(site.client.post(CUSTOM_PATH, config_body("nosuchuser"))) == 2006
    other = make_site(hub, ("mallory",))  # another project's user and project uid: not this project's
    for foreign in (other.uids["mallory"], other.project["uid"]):
        assert code(site.client.post(CUSTOM_PATH, config_body(foreign))) == 2006
    # the project's token may ask for one of its users (then the link sees what that user sees)
    assert get_config(site.client, site.uids["bob"])["username"].startswith("cloud_")


def test_without_a_broker_the_config_call_says_so(cloud: CloudServer) -> None:
    project = cloud.create_project(name="no mqtt")
    from support.signed import SignedClient

    c = SignedClient(cloud.url, project["access_id"], project["access_secret"])
    c.connect()
    response = c.post(CUSTOM_PATH, config_body(project["uid"]))
    assert response["code"] == 1106 and "MQTT" in response.get("detail", "")


def test_wrong_password_and_wrong_client_id_are_refused(site: Site) -> None:
    config = get_config(site.users["alice"], site.uids["alice"])
    wrong = Subscriber(config, password="x" * 32).start()
    wrong_id = Subscriber(config, client_id="someone-else").start()
    unknown = Subscriber({**config, "username": "cloud_nobody"}).start()
    try:
        for sub in (wrong, wrong_id, unknown):
            eventually(lambda sub=sub: sub.connack, what="CONNACK")
            assert sub.connack[0] == mqtt.CONNACK_REFUSED_NOT_AUTHORIZED
    finally:
        for sub in (wrong, wrong_id, unknown):
            sub.stop()


def test_another_links_topic_cannot_be_subscribed_and_publishing_is_dropped(site: Site) -> None:
    alice = get_config(site.users["alice"], site.uids["alice"])
    bob = get_config(site.users["bob"], site.uids["bob"])
    thief = Subscriber(alice, subscribe=bob["source_topic"]["device"]).start()
    wildcard = Subscriber(get_config(site.users["alice"], site.uids["alice"]), subscribe="cloud/token/in/#").start()
    own = Subscriber(bob).start().ready()
    try:
        for sub in (thief, wildcard):
            eventually(lambda sub=sub: sub.suback, what="SUBACK")
            assert sub.suback[0] == (128,)
        assert own.suback[0] == (1,)
        # bob publishes onto his own topic: the broker drops it, so he receives nothing from himself
        info = own.client.publish(bob["source_topic"]["device"], b'{"protocol": 4, "data": "forged"}', qos=1)
        info.wait_for_publish(5)
        time.sleep(SETTLE_S)
        assert own.raw == []
        _switch(site, "bob", True)
        eventually(lambda: own.devices() == {site.devices["bob"]["id"]}, what="bob's own report")
        assert thief.messages == [] and wildcard.messages == []
    finally:
        for sub in (thief, wildcard, own):
            sub.stop()


def test_each_link_receives_only_what_its_token_sees(site: Site) -> None:
    alice = Subscriber(get_config(site.users["alice"], site.uids["alice"], "1.0"), "1.0").start().ready()
    bob = Subscriber(get_config(site.users["bob"], site.uids["bob"])).start().ready()
    project = Subscriber(get_config(site.client, site.project["uid"])).start().ready()
    try:
        for round_ in (True, False):
            _switch(site, "alice", round_)
            _switch(site, "bob", round_)
        ids = {name: site.devices[name]["id"] for name in ("alice", "bob")}
        eventually(lambda: len(project.data()) >= 4, what="the project link's four reports")
        eventually(lambda: len(alice.data()) >= 2 and len(bob.data()) >= 2, what="the users' reports")
        time.sleep(SETTLE_S)
        assert alice.devices() == {ids["alice"]} and bob.devices() == {ids["bob"]}
        assert project.devices() == set(ids.values())
        assert [s["value"] for s in alice.reports(ids["alice"]) if s["code"] == "switch_led"] == [True, False]
        first = alice.messages[0]
        assert first["protocol"] == 4 and first["pv"] == "2.0" and isinstance(first["t"], int) and first["sign"]
    finally:
        for sub in (alice, bob, project):
            sub.stop()


def test_per_device_order_under_concurrent_commands(hub: CloudServer, site: Site) -> None:
    lights = hub.control("POST", f"/projects/{site.project['access_id']}/devices", {"category": "dj", "count": 4})
    sub = Subscriber(get_config(site.client, site.project["uid"])).start().ready()
    values = list(range(10, 260, 10))

    def drive(device_id: str) -> None:
        for v in values:
            ok(site.client.post(f"/v1.0/iot-03/devices/{device_id}/commands",
                                {"commands": [{"code": "bright_value_v2", "value": v}]}))

    threads = [threading.Thread(target=drive, args=(d["id"],)) for d in lights]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for d in lights:
            seen = eventually(
                lambda d=d: (r := [s["value"] for s in sub.reports(d["id"]) if s["code"] == "bright_value_v2"])
                and len(r) >= len(values) and r, what=f"all reports of {d['id']}")
            assert seen == values, d["id"]
    finally:
        sub.stop()


def test_expired_and_revoked_credentials_are_refused(tmp_path: Path) -> None:
    server = mqtt_server(tmp_path, simulator=False, mqtt_link_ttl_s=300)
    try:
        site = make_site(server, ("carol", "dave"))
        carol = get_config(site.users["carol"], site.uids["carol"])
        assert carol["expire_time"] == 300
        early = Subscriber(carol).start().ready()
        early.client.reconnect_delay_set(30, 60)
        server.clock.step(301_000)
        # a connected client whose credential expires is disconnected (and its reconnects are refused)
        eventually(lambda: early.disconnects, what="the expired client's disconnection")
        early.stop()
        late = Subscriber(carol).start()
        eventually(lambda: late.connack, what="CONNACK")
        assert late.connack[0] == mqtt.CONNACK_REFUSED_NOT_AUTHORIZED
        late.stop()
        server.clock.step(-301_000)
        # deleting a user revokes the credentials issued to the user's tokens at once
        dave = get_config(site.users["dave"], site.uids["dave"])
        ok(site.client.request("DELETE", f"/v1.0/iot-02/users/{site.uids['dave']}"))
        gone = Subscriber(dave).start()
        eventually(lambda: gone.connack, what="CONNACK")
        assert gone.connack[0] == mqtt.CONNACK_REFUSED_NOT_AUTHORIZED
        gone.stop()
    finally:
        server.stop()


def _reconnect_and_get(config: dict[str, object], light: str, brightness: int, what: str) -> None:
    """paho back on the persistent session of ``config``: the light's ``bright_value_v2`` report arrives."""
    back = Subscriber(config, clean_session=False).start()
    try:
        eventually(lambda: any(s["code"] == "bright_value_v2" and s["value"] == brightness
                               for s in back.reports(light)), what=what)
    finally:
        back.stop()


def test_a_persistent_session_gets_what_was_sent_while_it_was_away(hub: CloudServer, site: Site) -> None:
    config = get_config(site.users["alice"], site.uids["alice"])
    sub = Subscriber(config, clean_session=False).start().ready()
    light = site.devices["alice"]["id"]
    _switch(site, "alice", True)
    eventually(lambda: sub.reports(light), what="the first report")
    sub.stop()  # away, with its session kept by the broker
    ok(site.client.post(f"/v1.0/iot-03/devices/{light}/commands",
                        {"commands": [{"code": "bright_value_v2", "value": 640}]}))
    time.sleep(SETTLE_S)
    _reconnect_and_get(config, light, 640, what="the report sent while the session was away")


def _raw_packet(sock: socket.socket) -> tuple[int, bytes]:
    """One MQTT packet read off a raw socket: its first byte and its body."""
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "the server closed the connection"
            data += chunk
        return data

    first, length, shift = exactly(1)[0], 0, 0
    while True:
        byte = exactly(1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return first, exactly(length)


@pytest.fixture(params=["direct", "amqtt's flow"])
def send_path(request: pytest.FixtureRequest, hub: CloudServer) -> Iterator[str]:
    """The two ways the broker writes a QoS 1 report: straight to the connection (the usual one) or through amqtt's
    own flow, a task per message (taken while amqtt holds the connection's write lock, which a test cannot time; so
    the direct way is switched off for the test instead)."""
    broker = hub.state.mqtt if hub.state is not None else None
    assert broker is not None and broker._direct
    if request.param != "direct":
        broker._direct = False
    try:
        yield request.param
    finally:
        broker._direct = True


def test_a_message_unacknowledged_when_a_persistent_session_drops_comes_again(hub: CloudServer, site: Site,
                                                                              send_path: str) -> None:
    """A QoS 1 report written to a persistent session's connection, never acknowledged, then the connection drops
    (a client that went away in the moment the report was sent): MQTT 3.1.1 section 4.4 has the server send it again
    when the session reconnects. The open-hub channel counts it as delivered, so only the broker's in-flight copy can
    bring it back (it was dropped when the connection ended, and a CI run lost a report so). On either send path."""
    config = get_config(site.users["alice"], site.uids["alice"])
    key = str(config["password"])[8:24]
    light = site.devices["alice"]["id"]
    brightness = 610 if send_path == "direct" else 620  # a change each time, so that each run has its report
    sock = _raw_connect(config, keepalive=60, clean=False)
    try:
        topic = str(config["source_topic"]["device"]).encode()  # type: ignore[index]
        body = struct.pack("!H", 1) + struct.pack("!H", len(topic)) + topic + b"\x01"
        sock.sendall(bytes([0x82, len(body)]) + body)
        assert _raw_packet(sock)[0] == 0x90  # SUBACK
        ok(site.client.post(f"/v1.0/iot-03/devices/{light}/commands",
                            {"commands": [{"code": "bright_value_v2", "value": brightness}]}))
        while True:  # read, never acknowledge, until the report is among what was written
            first, packet = _raw_packet(sock)
            if first & 0xF0 != 0x30:
                continue
            name_length = struct.unpack("!H", packet[:2])[0]
            envelope = json.loads(packet[2 + name_length + 2:])
            data = codec.decrypt(envelope["data"], key, "2.0", envelope["t"])
            if envelope["protocol"] == 4 and {"code": "bright_value_v2", "value": brightness} in [
                    {"code": s["code"], "value": s["value"]} for s in data["status"]]:
                break
    finally:
        sock.close()  # gone without a PUBACK or a DISCONNECT
    _reconnect_and_get(config, light, brightness, what="the unacknowledged report, sent again")


def test_tls_listener_with_the_generated_ca(tmp_path: Path) -> None:
    server = mqtt_server(tmp_path, simulator=False, tls=True)
    try:
        project = server.create_project(name="tls")
        from support.signed import SignedClient

        c = SignedClient(server.url, project["access_id"], project["access_secret"])
        c.connect()
        config = get_config(c, project["uid"])
        assert config["url"] == f"ssl://127.0.0.1:{server.settings.mqtt_port}"
        plug = server.add_devices(project["access_id"], "cz")[0]["id"]
        sub = Subscriber(config)
        sub.client.tls_set(ca_certs=str(tmp_path / "tls" / "ca.pem"))
        sub.start().ready()
        try:
            ok(c.post(f"/v1.0/iot-03/devices/{plug}/commands", {"commands": [{"code": "switch_1", "value": True}]}))
            eventually(lambda: sub.devices() == {plug}, what="a report over TLS")
        finally:
            sub.stop()
    finally:
        server.stop()


def test_a_connected_link_follows_authorisation_changes(hub: CloudServer) -> None:
    site = make_site(hub, ("kim", "lee"))
    lee = Subscriber(get_config(site.users["lee"], site.uids["lee"])).start().ready()
    kims_light = site.devices["kim"]["id"]
    try:
        _switch(site, "kim", True)
        _switch(site, "lee", True)
        eventually(lambda: lee.devices() == {site.devices["lee"]["id"]}, what="lee's own report")
        time.sleep(SETTLE_S)
        assert kims_light not in lee.devices()
        ok(site.client.post("/v1.0/iot-03/assets/actions/user-authorized",
                            {"uid": site.uids["lee"], "asset_id": site.assets["kim"]}))
        value = [False]

        def kims_report_reaches_lee() -> bool:
            value[0] = not value[0]
            _switch(site, "kim", value[0])
            time.sleep(0.5)
            return kims_light in lee.devices()

        eventually(kims_report_reaches_lee, what="kim's device's reports at lee's link after the grant")
        # deleting lee revokes the credential: the connected client is disconnected
        ok(site.client.request("DELETE", f"/v1.0/iot-02/users/{site.uids['lee']}"))
        eventually(lambda: lee.disconnects, what="the revoked client's disconnection")
    finally:
        lee.stop()


def test_a_busy_default_port_leaves_the_server_running_without_mqtt(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """`serve` without --mqtt-port on a machine where 1883 is taken (a second server): it starts, says so in one
    line (no traceback), and the config calls answer 1106; an explicitly chosen port that is taken stops the start
    instead."""
    import socket

    from support.signed import SignedClient

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = mqtt_server(tmp_path, simulator=False, mqtt_port=port, mqtt_port_default=True)
        try:
            project = server.create_project(name="busy port")
            c = SignedClient(server.url, project["access_id"], project["access_secret"])
            c.connect()
            assert code(c.post(CUSTOM_PATH, config_body(project["uid"]))) == 1106
        finally:
            server.stop()
        said = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert any("MQTT open-hub off" in r.getMessage() for r in said), said
        assert [r.getMessage() for r in said if r.exc_info] == []
        with pytest.raises(RuntimeError, match="did not start"):
            mqtt_server(tmp_path / "explicit", simulator=False, mqtt_port=port)


def _raw_connect(config: dict[str, object], keepalive: int, *, clean: bool = True) -> socket.socket:
    """A bare MQTT 3.1.1 CONNECT (clean or persistent session, username and password) on a plain socket, CONNACK
    read: a client that then says nothing at all, which paho never is (it pings on its own)."""

    def field(value: object) -> bytes:
        raw = str(value).encode()
        return struct.pack("!H", len(raw)) + raw

    body = field("MQTT") + bytes([4, 0xC2 if clean else 0xC0]) + struct.pack("!H", keepalive)
    body += field(config["client_id"]) + field(config["username"]) + field(config["password"])
    assert len(body) < 128  # one byte of remaining length
    host, _, port = str(config["url"]).partition("://")[2].rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=WAIT_S)
    sock.sendall(bytes([0x10, len(body)]) + body)
    assert sock.recv(4) == b"\x20\x02\x00\x00"  # CONNACK, accepted
    return sock


def test_a_client_silent_past_its_keep_alive_is_disconnected(site: Site) -> None:
    """MQTT 3.1.1 section 3.1.2.10: nothing received for one and a half keep-alive periods closes the connection,
    and not earlier. A pinging client with the same keep-alive stays connected and keeps receiving."""
    config = get_config(site.client, site.project["uid"], link_id="tests.silent")
    pinging = Subscriber(get_config(site.client, site.project["uid"], link_id="tests.pinging"), keepalive=1)
    pinging.start().ready()
    try:
        sock = _raw_connect(config, keepalive=1)
        connected = time.monotonic()
        assert sock.recv(1) == b""  # the server closed it (a timeout here raises)
        silent_for = time.monotonic() - connected
        assert silent_for >= 1.5, silent_for
        sock.close()
        time.sleep(1.5)  # longer than the pinging client's 1.5 s, so it is judged on its pings
        assert pinging.disconnects == []
        _switch(site, "alice", True)
        _switch(site, "alice", False)
        device = site.devices["alice"]["id"]
        eventually(lambda: [r["value"] for r in pinging.reports(device) if r["code"] == "switch_led"][-2:]
                   == [True, False], what="both reports at the pinging client")
    finally:
        pinging.stop()
