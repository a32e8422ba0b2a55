"""What a careless client or a failing delivery must not break: acks naming no message (a stale or foreign
``messageId``) do not swallow later messages, an ack in a binary frame counts, and a consumer whose delivery
fails is disconnected (code 1011) so that it reconnects and gets its messages, instead of waiting forever.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from support.pulsar import PulsarConsumer, subscription, wait_for_subscription
from support.server import CloudServer
from tuyacloud.messaging.hub import Consumer, Hub


def _setup(cloud: CloudServer, name: str) -> tuple[str, str, str]:
    project = cloud.create_project(name=name)
    lamp = cloud.add_devices(project["access_id"], "dj")[0]["id"]
    return project["access_id"], project["access_secret"], lamp


def _report(cloud: CloudServer, lamp: str, value: int) -> None:
    cloud.control("POST", f"/devices/{lamp}/report", {"status": {"temp_value_v2": value}})


def test_acks_naming_no_message_do_not_swallow_later_messages(cloud: CloudServer) -> None:
    access_id, secret, lamp = _setup(cloud, "msg bogus ack")
    c = PulsarConsumer(cloud.port, access_id, secret, ack_timeout_ms=30_000)
    try:
        c.connect()
        c.ack(c.get())
        assert c.ws is not None
        for bogus in (base64.b64encode(b"999999999:0:-1").decode(), "not-a-message-id", "MTIz"):
            c.ws.send(json.dumps({"messageId": bogus}))
        wait_for_subscription(cloud.control, access_id, lambda s: s["backlog"] == 0 and s["last_ack_ms"])
        c.close()
        _report(cloud, lamp, 808)
        assert subscription(cloud.control, access_id)["backlog"] == 1
        c = PulsarConsumer(cloud.port, access_id, secret, ack_timeout_ms=30_000)
        c.connect()
        m = c.get()
        assert m.status_value("temp_value_v2") == 808
        c.ack(m)
        wait_for_subscription(cloud.control, access_id, lambda s: s["backlog"] == 0)
    finally:
        c.close()


def test_an_ack_in_a_binary_frame_counts(cloud: CloudServer) -> None:
    access_id, secret, _ = _setup(cloud, "msg binary ack")
    c = PulsarConsumer(cloud.port, access_id, secret, ack_timeout_ms=30_000)
    try:
        c.connect()
        m = c.get()
        assert c.ws is not None
        c.ws.send_binary(json.dumps({"messageId": m.message_id}).encode())
        wait_for_subscription(cloud.control, access_id, lambda s: s["backlog"] == 0)
        assert c.connected and c.errors == []
    finally:
        c.close()


def test_a_failed_delivery_disconnects_the_consumer_so_it_reconnects(cloud: CloudServer,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    access_id, secret, lamp = _setup(cloud, "msg delivery failure")
    assert cloud.state is not None and cloud.state.hub is not None
    hub = cloud.state.hub
    real = Hub._deliver_round
    failures: list[str] = []

    async def failing_once(self: Hub, consumer: Consumer, cursor: int) -> Any:
        if consumer.project.access_id == access_id and not failures:
            failures.append(consumer.id)
            raise RuntimeError("injected store failure")
        return await real(self, consumer, cursor)

    monkeypatch.setattr(hub, "_deliver_round", failing_once.__get__(hub))
    c = PulsarConsumer(cloud.port, access_id, secret, ack_timeout_ms=30_000)
    try:
        c.connect()
        deadline = time.monotonic() + 3
        while c.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert failures and not c.connected, "the consumer was left connected with nothing being delivered"
        assert c.received.empty()  # the bindUser event could not be delivered
        assert c.close_code == 1011 and "reconnect" in c.close_reason
        c.close()
        _report(cloud, lamp, 909)
        c = PulsarConsumer(cloud.port, access_id, secret, ack_timeout_ms=30_000, auto_ack=True)
        c.connect()
        got = c.get_many(2)
        assert got[0].data["bizCode"] == "bindUser" and got[1].status_value("temp_value_v2") == 909
        wait_for_subscription(cloud.control, access_id, lambda s: s["backlog"] == 0)
    finally:
        c.close()
