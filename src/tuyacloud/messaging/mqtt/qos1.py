"""QoS 1 publishes written straight to an amqtt connection, in amqtt's own session state, without a task each.

amqtt's ``mqtt_publish`` runs each QoS 1 message as a chain of four coroutines in a task of its own that waits for
the PUBACK with a 5-second ``wait_for``: per message a task, several futures, a timer and some twenty objects that
the garbage collector scans for as long as the message is in flight, and the PUBLISH is written only when that task
first runs, a turn of the event loop later. At 1,000 messages a second those in-flight flows were most of the young
generation, whose collections then paused the loop for milliseconds (docs/performance.md, session 6).

:class:`QoS1Sender` does what that flow does, in the same places: the PUBLISH (amqtt's own packet) is written at
once; the message sits in ``session.inflight_out`` under its packet id, where amqtt's redelivery to a reconnecting
persistent session finds it, and a future sits among the handler's PUBACK waiters, which amqtt's reader resolves
when the PUBACK comes; the future's callback then ends the flow as amqtt's would. As in amqtt, a message not
acknowledged within ``ACK_TIMEOUT_S`` is given up and logged (checked whenever that connection sends again).

Order per connection is kept: writes happen in call order, and ``send`` declines (the caller then uses amqtt's task
path) while amqtt holds the connection's write lock or a message of that connection on the task path is not done,
so nothing overtakes what waits there. It also declines when amqtt does not look as expected (a private attribute
renamed in a later version), so an upgrade costs speed, never messages.

Two costs per message are cut beside amqtt's flow (docs/performance.md, session 8). The PUBLISH is written as bytes
built here (:func:`publish_bytes`, the same bytes amqtt's packet classes make, a test compares them) instead of
through three packet objects; ``publish_packet`` of the in-flight message, which amqtt reads only to know that it
was sent once (its redelivery builds a DUP packet from the message's own fields), is a shared marker. And the first
direct send to a connection puts its socket writes on a :class:`~tuyacloud.coalescing.CoalescingTransport`: what a
round of the open-hub pump publishes to one subscriber leaves in one ``send`` instead of one per message (every
write to that connection, amqtt's own included, goes through it, so nothing is reordered).

The PUBACKs of a connection with direct sends are taken off the stream by its :class:`~.reader.PacketReader` and
end their flows here (:func:`_puback`) rather than through amqtt's reader, which made a task per PUBACK
(docs/performance.md, session 9).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import weakref
from typing import Any

from amqtt.events import MQTTEvents
from amqtt.mqtt.constants import QOS_1
from amqtt.mqtt.puback import PubackPacket
from amqtt.mqtt.publish import PublishPacket
from amqtt.session import OutgoingApplicationMessage, Session

from tuyacloud.coalescing import CoalescingTransport
from tuyacloud.messaging.mqtt.reader import PacketReader

log = logging.getLogger("tuyacloud.mqtt")

ACK_TIMEOUT_S = 5.0  # amqtt's own QoS 1 flow gives a PUBACK this long
# what ``publish_packet`` of a directly sent message holds: amqtt only asks whether it is set (sent once)
SENT = PublishPacket.build("sent", b"", 1, False, QOS_1, False)
# what a flow's waiter gets for a PUBACK taken off the stream (:func:`_puback`): amqtt keeps it as the message's
# ``puback_packet`` and only asks whether that is set (acknowledged)
ACKED = PubackPacket.build(1)


def publish_bytes(topic: bytes, packet_id: int, payload: bytes) -> bytes:
    """A QoS 1 PUBLISH (no DUP, no retain) as MQTT 3.1.1 frames it: fixed header, topic, packet id, payload."""
    length = 4 + len(topic) + len(payload)
    header = bytearray(b"\x32")
    while True:
        byte, length = length & 0x7F, length >> 7
        header.append(byte | 0x80 if length else byte)
        if not length:
            break
    return b"".join((header, len(topic).to_bytes(2, "big"), topic, packet_id.to_bytes(2, "big"), payload))


class _Connection:
    __slots__ = ("pending", "queued")

    def __init__(self) -> None:
        self.pending: collections.deque[tuple[float, asyncio.Future[Any]]] = collections.deque()  # by deadline
        self.queued: set[asyncio.Future[Any]] = set()  # this connection's messages on amqtt's task path


class QoS1Sender:
    def __init__(self) -> None:
        self._connections: weakref.WeakKeyDictionary[Any, _Connection] = weakref.WeakKeyDictionary()

    @staticmethod
    def usable(broker: Any) -> bool:
        """The direct path skips amqtt's "packet sent" event, and the PUBACKs it takes off the stream skip its
        "packet received" event: only when no plugin listens to either."""
        callbacks = getattr(getattr(broker, "plugins_manager", None), "_event_plugin_callbacks", None)
        return (isinstance(callbacks, dict) and MQTTEvents.PACKET_SENT not in callbacks
                and MQTTEvents.PACKET_RECEIVED not in callbacks)

    def queued(self, handler: Any, task: asyncio.Future[Any]) -> None:
        """A message of this connection went to amqtt's task path: direct sends wait until it is done."""
        connection = self._connection(handler)
        connection.queued.add(task)
        task.add_done_callback(connection.queued.discard)

    def send(self, handler: Any, session: Session, topic: str, payload: bytes) -> bool:
        """Write one QoS 1 PUBLISH now and track its PUBACK; False (nothing done) when it must not go this way."""
        waiters = getattr(handler, "_puback_waiters", None)
        lock = getattr(handler, "_write_lock", None)
        writer = getattr(handler, "writer", None)
        if not isinstance(waiters, dict) or not isinstance(lock, asyncio.Lock) or lock.locked() or writer is None:
            return False
        connection = self._connection(handler)
        if connection.queued:
            return False
        loop = asyncio.get_running_loop()
        now = loop.time()
        pending = connection.pending
        while pending and (pending[0][1].done() or pending[0][0] <= now):
            waiter = pending.popleft()[1]
            if not waiter.done():
                waiter.set_exception(TimeoutError(f"no PUBACK within {ACK_TIMEOUT_S:.0f} s"))
        packet_id = session.next_packet_id  # skips the ids in flight
        message = OutgoingApplicationMessage(packet_id, topic, QOS_1, payload, False)
        message.publish_packet = SENT  # a redelivery by amqtt then sets DUP
        waiter = loop.create_future()
        session.inflight_out[packet_id] = message
        waiters[packet_id] = waiter
        waiter.add_done_callback(functools.partial(_ended, waiters, session, message))
        pending.append((now + ACK_TIMEOUT_S, waiter))
        try:
            writer.write(publish_bytes(topic.encode(), packet_id, payload))
        except Exception as error:  # the connection is going away: its end cancels the waiter (``_ended``)
            log.debug("an open-hub message could not be written, kept in flight: %r", error)
        return True

    def close(self) -> None:
        self._connections.clear()

    def _connection(self, handler: Any) -> _Connection:
        connection = self._connections.get(handler)
        if connection is None:
            connection = self._connections[handler] = _Connection()
            _coalesce(handler)
            reader = getattr(handler, "reader", None)
            if isinstance(reader, PacketReader) and isinstance(getattr(handler, "_puback_waiters", None), dict):
                reader.on_puback = functools.partial(_puback, handler._puback_waiters)
        return connection


async def amqtt_flow(handler: Any, session: Session, topic: str, payload: bytes) -> None:
    """One message through amqtt's own QoS 1 flow (its write lock keeps the order), for when :class:`QoS1Sender`
    declines; like ``mqtt_publish``, except at the connection's end. amqtt cancels the PUBACK waiters then, and its
    flow removes the message from ``session.inflight_out`` in a ``finally``, so a persistent session that came back
    never got it (the open-hub channel has already counted it as delivered). Here an unacknowledged message goes back
    in flight, where amqtt's resend to the reconnecting session finds it, as :func:`_ended` keeps a direct one."""
    flow = getattr(handler, "_handle_qos1_message_flow", None)
    if flow is None:  # amqtt changed: its public flow, which loses such a message, rather than none
        await handler.mqtt_publish(topic, payload, QOS_1, retain=False)
        return
    message = OutgoingApplicationMessage(session.next_packet_id, topic, QOS_1, payload, False)
    try:
        await flow(message)  # puts the message in flight before it first waits
    except asyncio.CancelledError:
        if message.puback_packet is None and message.packet_id not in session.inflight_out:
            session.inflight_out[message.packet_id] = message  # type: ignore[index]
        raise


def _coalesce(handler: Any) -> None:
    """The connection's writes joined per loop turn (see the module's doc), when it is the usual TCP stream."""
    stream = getattr(getattr(handler, "writer", None), "_writer", None)  # amqtt's adapter -> asyncio's StreamWriter
    transport = getattr(stream, "_transport", None)
    if isinstance(stream, asyncio.StreamWriter) and transport is not None and not isinstance(transport,
                                                                                          CoalescingTransport):
        stream._transport = CoalescingTransport(transport, asyncio.get_running_loop())  # type: ignore[attr-defined]


def _puback(waiters: dict[int, asyncio.Future[Any]], packet_id: int) -> None:
    """A PUBACK taken off the stream by the connection's :class:`PacketReader`: what amqtt's ``handle_puback``
    does with it, without a task (the flow's waiter, direct or amqtt's own, gets a PUBACK packet: a shared one,
    since amqtt only asks whether a message has one)."""
    waiter = waiters.get(packet_id)
    if waiter is None:
        log.warning("Received PUBACK for unknown pending message Id: '%s'", packet_id)
    elif waiter.done():
        log.warning("PUBACK waiter with Id '%s' already done", packet_id)
    else:
        waiter.set_result(ACKED)


def _ended(waiters: dict[int, Any], session: Session, message: OutgoingApplicationMessage,
           waiter: asyncio.Future[Any]) -> None:
    """The end of one message's flow (PUBACK, timeout, or the connection's end), as amqtt's own flow ends it.

    The connection's end (amqtt cancels its waiters) leaves the message in ``session.inflight_out``: a persistent
    session that reconnects gets it again from there (amqtt resends what is in flight when a connection starts).
    Removed at that point, as amqtt's own flow does in a ``finally``, a message written in the moment its client
    was disconnecting was lost, since the open-hub channel had already moved that session's position past it (a CI
    run caught it). A timeout still removes it, as amqtt's does."""
    packet_id = message.packet_id
    if waiters.get(packet_id) is waiter:
        del waiters[packet_id]
    if waiter.cancelled():  # the connection closed: the message stays in flight for a persistent session
        return
    if session.inflight_out.get(packet_id) is message:  # type: ignore[arg-type]
        del session.inflight_out[packet_id]  # type: ignore[arg-type]
    error = waiter.exception()
    if error is None:
        message.puback_packet = waiter.result()
    else:
        log.warning("an open-hub message was not acknowledged: %r", error)
