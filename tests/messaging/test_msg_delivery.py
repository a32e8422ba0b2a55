"""Delivery semantics of a subscription, with Apache Pulsar's meaning: redelivery after ``ackTimeoutMillis`` with
a growing ``redeliveryCount``, none after an ack, ``negativeAcknowledge`` redelivers at once, Failover (one
active consumer; a standby takes over the unacknowledged messages), a backlog kept while nobody is connected,
and the ``event-test`` topic's subscription independent of ``event``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from support.pulsar import PulsarConsumer, Received, subscription, wait_for_subscription
from support.server import CloudServer


@dataclass
class Lamp:
    cloud: CloudServer
    access_id: str
    secret: str
    device_id: str

    def report(self, value: int) -> None:
        """The lamp reports a colour temperature: one protocol-4 message."""
        changed = self.cloud.control("POST", f"/devices/{self.device_id}/report", {"status": {"temp_value_v2": value}})
        assert changed["changed"] == {"temp_value_v2": value}

    def backlog(self, env: str = "event") -> int:
        return int(subscription(self.cloud.control, self.access_id, env)["backlog"])

    def wait_backlog(self, count: int, env: str = "event", timeout: float = 5.0) -> dict[str, Any]:
        return wait_for_subscription(self.cloud.control, self.access_id, lambda s: s["backlog"] == count, env,
                                     timeout)


ConsumerFactory = Callable[..., PulsarConsumer]


@pytest.fixture
def lamp(cloud: CloudServer) -> Lamp:
    project = cloud.create_project(name="msg delivery")
    device = cloud.add_devices(project["access_id"], "dj")[0]
    return Lamp(cloud, project["access_id"], project["access_secret"], device["id"])


@pytest.fixture
def consumer(lamp: Lamp) -> Iterator[ConsumerFactory]:
    """Makes connected consumers on the lamp's project; all are closed at the end of the test."""
    made: list[PulsarConsumer] = []

    def make(**options: Any) -> PulsarConsumer:
        c = PulsarConsumer(lamp.cloud.port, lamp.access_id, lamp.secret, **options)
        made.append(c)
        return c.connect()

    try:
        yield make
    finally:
        for c in made:
            c.close()


def _value(m: Received) -> Any:
    return m.status_value("temp_value_v2")


def _drain_bind(c: PulsarConsumer) -> None:
    """The device's ``bindUser`` event comes first; acknowledge it."""
    bind = c.get()
    assert bind.data.get("bizCode") == "bindUser" and bind.redelivery == 0
    c.ack(bind)


def test_unacknowledged_message_is_redelivered_after_the_ack_timeout_then_not_after_the_ack(
        lamp: Lamp, consumer: ConsumerFactory) -> None:
    # 1 s: the test's ack of the third delivery must reach the server before the next redelivery falls due, also
    # when a loaded CI machine is slow to hand the message over (400 ms was not always enough)
    c = consumer(ack_timeout_ms=1000)
    _drain_bind(c)
    lamp.wait_backlog(0)
    lamp.report(101)
    first = c.get()
    assert lamp.backlog() == 1  # delivered, not acknowledged
    second = c.get(timeout=5)
    third = c.get(timeout=5)
    c.ack(third)
    assert [_value(m) for m in (first, second, third)] == [101, 101, 101]
    assert [m.redelivery for m in (first, second, third)] == [0, 1, 2]
    assert first.message_id == second.message_id == third.message_id
    assert second.at - first.at >= 0.9 and third.at - second.at >= 0.9  # not before the ack timeout
    assert second.at - first.at < 3.0  # ... but soon after it
    assert c.quiet(2.5) == [], "redelivered after the ack"  # 2.5 x the ack timeout
    row = lamp.wait_backlog(0)
    assert row["last_ack_ms"] is not None and row["oldest_unacked_ms"] is None


def test_acknowledged_messages_are_never_redelivered(lamp: Lamp, consumer: ConsumerFactory) -> None:
    c = consumer(ack_timeout_ms=300, auto_ack=True)
    for value in (11, 12, 13):
        lamp.report(value)
    got = c.get_many(4)
    assert [m.data.get("bizCode") for m in got[:1]] == ["bindUser"]
    assert [_value(m) for m in got[1:]] == [11, 12, 13]
    assert all(m.redelivery == 0 for m in got)
    assert c.quiet(0.8) == []  # more than 2 x the ack timeout
    lamp.wait_backlog(0)
    assert c.errors == []


def test_negative_acknowledge_redelivers_at_once(lamp: Lamp, consumer: ConsumerFactory) -> None:
    c = consumer(ack_timeout_ms=30_000)
    _drain_bind(c)
    lamp.report(222)
    first = c.get()
    assert (_value(first), first.redelivery) == (222, 0)
    c.nack(first)
    again = c.get(timeout=2)  # far sooner than the 30 s ack timeout
    assert again.message_id == first.message_id and again.redelivery == 1 and _value(again) == 222
    assert again.at - first.at < 2
    c.ack(again)
    assert c.quiet(0.5) == []
    lamp.wait_backlog(0)


def test_failover_only_the_first_consumer_receives_and_the_standby_takes_over(lamp: Lamp,
                                                                                consumer: ConsumerFactory) -> None:
    first = consumer(ack_timeout_ms=30_000)
    bind = first.get()  # the first consumer is active
    standby = consumer(ack_timeout_ms=30_000)
    row = wait_for_subscription(lamp.cloud.control, lamp.access_id, lambda s: len(s["consumers"]) == 2)
    assert [c["active"] for c in row["consumers"]] == [True, False]
    lamp.report(301)
    lamp.report(302)
    got = first.get_many(2)
    assert [_value(m) for m in got] == [301, 302]
    first.ack(got[0])  # 301 acknowledged; bindUser and 302 left unacknowledged
    assert standby.quiet(0.7) == [], "a standby consumer received messages"
    lamp.wait_backlog(2)

    first.close()
    taken = standby.get_many(2, timeout=5)
    assert [m.message_id for m in taken] == [bind.message_id, got[1].message_id]  # in order, 301 not again
    assert all(m.redelivery > 0 for m in taken), [m.redelivery for m in taken]
    lamp.report(303)
    new = standby.get()
    assert (_value(new), new.redelivery) == (303, 0)
    for m in (*taken, new):
        standby.ack(m)
    row = lamp.wait_backlog(0)
    assert [c["active"] for c in row["consumers"]] == [True]
    assert standby.quiet(0.3) == []


def test_the_active_consumer_keeps_its_lease_past_its_length_while_delivering(lamp: Lamp,
                                                                                consumer: ConsumerFactory) -> None:
    """The lease (5 s) is renewed beside delivery, not before each second of it: an active consumer that stays
    connected and busy well past the lease's length keeps it, and its standby receives nothing. Were renewals
    lost, the standby would take the lease over after 5 s and get the unacknowledged messages."""
    first = consumer(ack_timeout_ms=30_000)
    _drain_bind(first)
    standby = consumer(ack_timeout_ms=30_000)
    wait_for_subscription(lamp.cloud.control, lamp.access_id, lambda s: len(s["consumers"]) == 2)
    sent: list[int] = []
    for i in range(14):  # 7 s, a message every half second; every other one is left unacknowledged
        lamp.report(400 + i)
        sent.append(400 + i)
        got = first.get()
        assert _value(got) == 400 + i
        if i % 2 == 0:
            first.ack(got)
        assert standby.quiet(0.5) == [], "the standby took over while the active consumer was alive"
    row = lamp.wait_backlog(7)
    assert [c["active"] for c in row["consumers"]] == [True, False]
    first.close()
    taken = standby.get_many(7, timeout=10)  # now the standby takes over what was left unacknowledged
    assert [_value(m) for m in taken] == sent[1::2]


def test_backlog_is_kept_while_nobody_is_connected_and_delivered_in_order_on_connect(
        lamp: Lamp, consumer: ConsumerFactory) -> None:
    c = consumer(ack_timeout_ms=30_000)
    _drain_bind(c)
    lamp.wait_backlog(0)
    c.close()
    wait_for_subscription(lamp.cloud.control, lamp.access_id, lambda s: s["consumers"] == [])

    values = [500 + i for i in range(8)]
    for value in values:
        lamp.report(value)
    assert lamp.backlog() == 8

    again = consumer(ack_timeout_ms=30_000)
    got = again.get_many(8)
    assert [_value(m) for m in got] == values
    assert all(m.redelivery == 0 for m in got)
    for m in got[:3]:
        again.ack(m)
    lamp.wait_backlog(5)
    again.close()

    # What was delivered but not acknowledged comes again after a reconnect, marked as a redelivery.
    third = consumer(ack_timeout_ms=30_000)
    rest = third.get_many(5)
    assert [_value(m) for m in rest] == values[3:]
    assert all(m.redelivery >= 1 for m in rest)
    for m in rest:
        third.ack(m)
    lamp.wait_backlog(0)
    assert third.quiet(0.3) == []


def test_event_test_topic_has_its_own_subscription(lamp: Lamp, consumer: ConsumerFactory) -> None:
    prod = consumer(ack_timeout_ms=30_000)
    test = consumer(ack_timeout_ms=30_000, env="event-test", auto_ack=True)
    lamp.report(77)
    on_test = test.get_many(2)
    on_prod = prod.get_many(2)
    assert [m.data.get("bizCode") for m in on_test][:1] == ["bindUser"] and _value(on_test[1]) == 77
    assert [m.data for m in on_prod] == [m.data for m in on_test]  # the same messages on both topics
    # Acknowledging on event-test leaves event's backlog alone.
    lamp.wait_backlog(0, env="event-test")
    assert lamp.backlog("event") == 2
    assert subscription(lamp.cloud.control, lamp.access_id, "event")["last_ack_ms"] is None
    rows = {r["env"]: r for r in lamp.cloud.control("GET", f"/projects/{lamp.access_id}/subscriptions")}
    assert rows["event-test"]["topic"] == f"persistent://{lamp.access_id}/out/event-test"
    assert [c["active"] for c in rows["event-test"]["consumers"]] == [True]
    for m in on_prod:
        prod.ack(m)
    lamp.wait_backlog(0)
    assert test.quiet(0.3) == [] and prod.quiet(0.1) == []


def test_a_consumer_that_negotiated_per_message_deflate_gets_compressed_frames(lamp: Lamp) -> None:
    """A client that negotiated per-message deflate (the ``websockets`` library offers it by default) gets every
    message, in order: its connection keeps websockets' own framing (frames are written straight to the connection
    only when no extension was negotiated)."""
    import asyncio
    import base64
    import json

    from websockets.asyncio.client import connect

    from support.pulsar import decrypt_ecb, password_for

    url = (f"ws://127.0.0.1:{lamp.cloud.port}/ws/v2/consumer/persistent/{lamp.access_id}/out/event/"
           f"{lamp.access_id}-sub?ackTimeoutMillis=30000&subscriptionType=Failover")

    def report() -> None:
        for value in range(100, 106):
            lamp.report(value)

    async def consume() -> tuple[list[Any], list[str]]:
        headers = {"username": lamp.access_id, "password": password_for(lamp.access_id, lamp.secret)}
        async with connect(url, additional_headers=headers) as ws:
            extensions = [type(e).__name__ for e in ws.protocol.extensions]
            values: list[Any] = []
            while len(values) < 6:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                await ws.send(json.dumps({"messageId": frame["messageId"]}))
                message = json.loads(base64.b64decode(frame["payload"]))
                data = json.loads(decrypt_ecb(message["data"], lamp.secret))
                values += [s["value"] for s in data.get("status", []) if s["code"] == "temp_value_v2"]
                if data.get("bizCode") == "bindUser":
                    await asyncio.to_thread(report)
            return values, extensions

    values, extensions = asyncio.run(consume())
    assert extensions == ["PerMessageDeflate"]
    assert values == list(range(100, 106))
