"""The embedded broker's edge against hostile clients, with paho-mqtt and raw sockets on a real server: a refused
CONNECT never touches the connected holder of its client id, a connection without a complete CONNECT is closed after
the CONNECT time-out, MQTT connections count in the server's connection limits, an oversized or malformed packet
closes its connection, and refusals are logged once per address and kind a minute (before: a wrong password kicked
the holder off, a silent or trickling connection stayed open for ever, MQTT connections were not counted, a client
could send 256 MB packets, and every refusal was a log line)."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from support.custom import ok
from support.hostile import closed_within
from support.openhub import Site, Subscriber, eventually, get_config, make_site, mqtt_server
from support.server import CloudServer
from tuyacloud.messaging.mqtt import edge

CONNECT_TIMEOUT_S = 1.0
SETTLE_S = 1.5


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    server = mqtt_server(tmp_path_factory.mktemp("edge"), simulator=False, mqtt_connect_timeout_s=CONNECT_TIMEOUT_S)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def site(hub: CloudServer) -> Site:
    return make_site(hub)


# --- raw MQTT ---------------------------------------------------------------------------------------------------------
def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _text(value: str) -> bytes:
    data = value.encode()
    return len(data).to_bytes(2, "big") + data


def connect_packet(client_id: str, username: str, password: str, clean: bool = True) -> bytes:
    body = _text("MQTT") + bytes([4, 0xC0 | (0x02 if clean else 0)]) + (60).to_bytes(2, "big")
    body += _text(client_id) + _text(username) + _text(password)
    return b"\x10" + _length(len(body)) + body


def _open(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _switch(site: Site, on: bool, name: str = "alice") -> None:
    device = site.devices[name]["id"]
    ok(site.client.post(f"/v1.0/iot-03/devices/{device}/commands", {"commands": [{"code": "switch_led", "value": on}]}))


def _still_served(site: Site, holder: Subscriber) -> None:
    """The holder is still connected and subscribed: a new report reaches it."""
    before = len(holder.reports(site.devices["alice"]["id"]))
    _switch(site, len(holder.reports(site.devices["alice"]["id"])) % 2 == 0)
    eventually(lambda: len(holder.reports(site.devices["alice"]["id"])) > before, what="a report to the holder")
    assert holder.disconnects == [] and holder.connack == [0]


# --- 1. authentication before take-over -------------------------------------------------------------------------------
@pytest.mark.parametrize("clean_session", [True, False], ids=["clean", "persistent"])
def test_a_refused_connect_never_touches_the_connected_holder_of_its_client_id(site: Site,
                                                                               clean_session: bool) -> None:
    config = get_config(site.users["alice"], site.uids["alice"])
    holder = Subscriber(config, clean_session=clean_session).start().ready()
    intruders: list[Subscriber] = []
    try:
        _still_served(site, holder)
        # the holder's client id with a wrong password, with an unknown username, and with another link's username
        bob = get_config(site.users["bob"], site.uids["bob"])
        for credentials in ({"password": "x" * 32}, {"username": "cloud_nobody"},
                            {"username": bob["username"], "password": bob["password"]}):
            for clean in (True, False):
                forged = {**config, "username": credentials.get("username", config["username"])}
                intruder = Subscriber(forged, password=credentials.get("password", config["password"]),
                                      clean_session=clean)
                intruders.append(intruder.start())
        for intruder in intruders:
            eventually(lambda intruder=intruder: intruder.connack, what="the intruder's CONNACK")
            assert intruder.connack[0] == mqtt.CONNACK_REFUSED_NOT_AUTHORIZED
        time.sleep(SETTLE_S)  # a kick would show as a disconnect of the holder
        _still_served(site, holder)
    finally:
        for sub in (holder, *intruders):
            sub.stop()


@pytest.mark.parametrize("clean_session", [True, False], ids=["clean", "persistent"])
def test_the_holder_itself_may_take_its_session_over(site: Site, clean_session: bool) -> None:
    """The right credential on the same client id is a reconnect (paho's, while the server still holds the
    earlier connection): the earlier connection is closed and the new one is served (before, amqtt's take-over
    left a persistent session marked disconnected, and the new connection received nothing)."""
    config = get_config(site.users["alice"], site.uids["alice"])
    first = Subscriber(config, clean_session=clean_session).start().ready()
    second = Subscriber(config, clean_session=clean_session).start().ready()
    try:
        assert second.connack == [0]
        eventually(lambda: first.disconnects, what="the first connection closed by the take-over")
        first.client.loop_stop()  # or paho reconnects it and takes the session back
        before = len(second.reports(site.devices["alice"]["id"]))
        _switch(site, True)
        eventually(lambda: len(second.reports(site.devices["alice"]["id"])) > before, what="a report")
    finally:
        first.client.disconnect()
        second.stop()


# --- 2. the CONNECT time-out ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sent", [b"", b"\x10", b"\x10\x80", connect_packet("c", "u", "p")[:12]],
                         ids=["nothing", "first-byte", "partial-length", "partial-connect"])
def test_a_connection_without_a_complete_connect_is_closed_after_the_time_out(hub: CloudServer, sent: bytes) -> None:
    with _open(hub.settings.mqtt_port) as sock:
        started = time.monotonic()
        if sent:
            sock.sendall(sent)
        closed, data = closed_within(sock, CONNECT_TIMEOUT_S + 4)
        took = time.monotonic() - started
    assert closed and data == b"", "the connection stayed open"
    assert CONNECT_TIMEOUT_S * 0.9 <= took <= CONNECT_TIMEOUT_S + 3, took


def test_a_slow_but_complete_connect_is_served(hub: CloudServer, site: Site) -> None:
    config = get_config(site.users["alice"], site.uids["alice"])
    packet = connect_packet(config["client_id"], config["username"], config["password"])
    with _open(hub.settings.mqtt_port) as sock:
        for i in range(0, len(packet), len(packet) // 3 + 1):  # in three parts within the time-out
            sock.sendall(packet[i:i + len(packet) // 3 + 1])
            time.sleep(CONNECT_TIMEOUT_S / 5)
        sock.settimeout(5)
        assert sock.recv(4) == b"\x20\x02\x00\x00"


# --- 4. packet size -----------------------------------------------------------------------------------------------
def test_an_oversized_connect_is_refused_from_its_fixed_header(hub: CloudServer) -> None:
    with _open(hub.settings.mqtt_port) as sock:
        sock.sendall(b"\x10" + _length(edge.MAX_PACKET + 1) + b"\x00\x04MQTT")  # the rest never needs to come
        closed, data = closed_within(sock, CONNECT_TIMEOUT_S / 2)
    assert closed and data == b""


def test_a_connection_closed_before_its_connect_is_not_a_refusal(hub: CloudServer,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A port probe (a load balancer's health check) opens and closes: nothing to log."""
    caplog.set_level(logging.INFO, logger="tuyacloud.mqtt")
    for sent in (b"", b"\x10\x05\x00"):
        with _open(hub.settings.mqtt_port, "127.0.0.9") as sock:
            sock.sendall(sent)
    time.sleep(SETTLE_S)
    assert not [r for r in caplog.records if "127.0.0.9" in r.getMessage()]


def test_a_malformed_remaining_length_closes_the_connection(hub: CloudServer) -> None:
    with _open(hub.settings.mqtt_port) as sock:
        sock.sendall(b"\x10\xff\xff\xff\xff\x01")
        closed, _ = closed_within(sock, CONNECT_TIMEOUT_S / 2)
    assert closed


def test_an_authenticated_link_sending_an_oversized_packet_is_closed(site: Site) -> None:
    config = get_config(site.users["alice"], site.uids["alice"])
    link = Subscriber(config).start().ready()
    try:
        link.client.publish(config["source_topic"]["device"], b"x" * 1000, qos=0)  # small: dropped, still connected
        time.sleep(SETTLE_S)
        assert link.disconnects == []
        link.client.publish(config["source_topic"]["device"], b"x" * (edge.MAX_PACKET + 10), qos=0)
        eventually(lambda: link.disconnects, what="the link's connection closed")
        assert link.disconnects[0] != 0  # not a DISCONNECT of its own
    finally:
        link.stop()


def test_a_subscribe_under_the_cap_is_served(hub: CloudServer, site: Site) -> None:
    """A link's largest packet: one SUBSCRIBE of many topics (the sharing SDK batches its devices' topics)."""
    config = get_config(site.users["alice"], site.uids["alice"])
    link = Subscriber(config).start().ready()
    try:
        topics = [(f"{config['source_topic']['device']}/dev/{i:040d}/sta", 0) for i in range(500)]  # ~35 KB
        link.client.subscribe(topics)
        eventually(lambda: len(link.suback) == 2, what="the second SUBACK")
        assert link.disconnects == []
    finally:
        link.stop()


# --- 5. folded refusal logs ---------------------------------------------------------------------------------------
def _refusal_lines(caplog: pytest.LogCaptureFixture, address: str, kind: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "tuyacloud.mqtt" and address in r.getMessage() and f"({kind})" in r.getMessage()]


def test_refusals_are_logged_once_per_address_and_kind_then_summed_up(hub: CloudServer, site: Site,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tuyacloud.mqtt")
    config = get_config(site.users["alice"], site.uids["alice"])
    assert hub.state is not None
    refusals = hub.state.mqtt.edge.refusals
    for _ in range(30):
        with _open(hub.settings.mqtt_port, "127.0.0.5") as sock:
            sock.sendall(connect_packet(config["client_id"], config["username"], "wrong password!"))
            sock.settimeout(5)
            assert sock.recv(4) == b"\x20\x02\x00\x05"
    with _open(hub.settings.mqtt_port, "127.0.0.6") as sock:
        sock.sendall(connect_packet(config["client_id"], config["username"], "wrong password!"))
        assert closed_within(sock, 5)[0]
    socks = [_open(hub.settings.mqtt_port, "127.0.0.5") for _ in range(5)]  # another kind: silent connections
    try:
        for sock in socks:
            assert closed_within(sock, CONNECT_TIMEOUT_S + 4)[0]
    finally:
        for sock in socks:
            sock.close()
    eventually(lambda: _refusal_lines(caplog, "127.0.0.5", edge.NO_CONNECT), what="the silent connections' line")
    assert len(_refusal_lines(caplog, "127.0.0.5", edge.NOT_AUTHORISED)) == 1
    assert len(_refusal_lines(caplog, "127.0.0.6", edge.NOT_AUTHORISED)) == 1
    assert len(_refusal_lines(caplog, "127.0.0.5", edge.NO_CONNECT)) == 1
    assert not any("wrong password" in r.getMessage() for r in caplog.records)  # never the password
    # once the window is over, one line sums up the rest
    refusals.window_s = 0.5
    eventually(lambda: any("29 more connections from 127.0.0.5 refused (not authorised)" in line
                           for line in _refusal_lines(caplog, "127.0.0.5", edge.NOT_AUTHORISED)),
               timeout=10, what="the summary line")
    # each address and kind has its own window: this summary may come a moment after the other one
    eventually(lambda: any("4 more connections from 127.0.0.5 refused (no CONNECT in time)" in line
                           for line in _refusal_lines(caplog, "127.0.0.5", edge.NO_CONNECT)),
               timeout=10, what="the silent connections' summary line")
    refusals.window_s = edge.FOLD_WINDOW_S


# --- 3. connection limits -----------------------------------------------------------------------------------------
def _http_status(port: int, source: str) -> tuple[bool, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)) as sock:
        sock.sendall(b"GET /_tuyacloud/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return closed_within(sock, 5)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[CloudServer]:
    server = mqtt_server(tmp_path, simulator=False, max_connections_per_address=3, max_connections=6,
                         mqtt_connect_timeout_s=30.0)
    yield server
    server.stop()


def test_mqtt_connections_count_in_the_per_address_limit(limited: CloudServer) -> None:
    port, mqtt_port = limited.port, limited.settings.mqtt_port
    with ExitStack() as stack:
        held = [stack.enter_context(_open(mqtt_port, "127.0.0.7")) for _ in range(3)]
        time.sleep(0.3)
        over = stack.enter_context(_open(mqtt_port, "127.0.0.7"))
        closed, data = closed_within(over, 2)
        assert closed and data == b"", "a 4th connection from the address was kept"
        # the same count as HTTP's: an HTTP request from that address is refused too
        closed, answer = _http_status(port, "127.0.0.7")
        assert b"1110" in answer and b"limit per address" in answer, answer
        # the others are open, and another address is served
        assert not any(closed_within(sock, 0.2)[0] for sock in held)
        assert b"200 OK" in _http_status(port, "127.0.0.8")[1]
        held[0].close()
    # places given back when the MQTT connections end
    time.sleep(0.5)
    assert b"200 OK" in _http_status(port, "127.0.0.7")[1]


def test_mqtt_connections_count_in_the_total_limit(limited: CloudServer) -> None:
    mqtt_port = limited.settings.mqtt_port
    with ExitStack() as stack:
        for i in range(6):
            stack.enter_context(_open(mqtt_port, f"127.0.1.{i + 1}"))
        time.sleep(0.3)
        closed, data = closed_within(stack.enter_context(_open(mqtt_port, "127.0.1.100")), 2)
        assert closed and data == b"", "a connection over the total was kept"
        closed, answer = _http_status(limited.port, "127.0.1.101")
        assert b"1110" in answer and b"its limit" in answer, answer  # MQTT connections are never evicted
    time.sleep(0.5)
    assert b"200 OK" in _http_status(limited.port, "127.0.1.101")[1]
