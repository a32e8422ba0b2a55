"""The embedded MQTT broker (amqtt, MQTT 3.1.1) in the server's event loop, with the open-hub's rules as plugins.

Authentication: a CONNECT must name an issued credential (username), its password and its client id, and the
credential must be neither expired nor revoked; otherwise CONNACK 5 (not authorised), which makes
tuya-iot-py-sdk fetch a new config. ACL: a client may subscribe to its own source topic only (anything else gets
SUBACK 0x80) and may not publish (the broker drops what it sends). Why amqtt: docs/mqtt.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from amqtt.adapters import StreamWriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin, BasePlugin, BaseTopicPlugin
from amqtt.session import Session
from amqtt.utils import gen_client_id

from tuyacloud.domain.access import openhub
from tuyacloud.domain.context import Context
from tuyacloud.messaging.mqtt.channel import OpenHubChannel
from tuyacloud.messaging.mqtt.edge import BAD_CONNECT, NO_CONNECT, NOT_AUTHORISED, OVER_LIMIT, MqttEdge
from tuyacloud.messaging.mqtt.keepalive import KeepAliveWatch
from tuyacloud.messaging.mqtt.qos1 import QoS1Sender, amqtt_flow
from tuyacloud.messaging.mqtt.reader import PacketReader
from tuyacloud.models import HubCredential

log = logging.getLogger("tuyacloud.mqtt")

TAKEOVER_WAIT_S = 5.0  # how long a take-over waits for the earlier connection of its client id to end


class _WithoutTraceback(logging.Filter):
    """amqtt logs a failed start (the port taken, say) with its traceback before raising; the caller reports that
    failure itself in one line, so the record of it is dropped while the broker starts."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is None


class Gate:
    """What the plugins ask: is this CONNECT allowed, may this session subscribe, what happened to it."""

    def __init__(self, ctx: Context, channel: OpenHubChannel) -> None:
        self.ctx = ctx
        self.channel = channel
        self.sessions: dict[str, HubCredential] = {}  # client id -> its credential, once authenticated
        self.keep_alives: dict[str, int] = {}  # client id -> the keep-alive its CONNECT asked for (KeepAliveWatch)

    async def authenticate(self, session: Session) -> bool:
        credential = await openhub.authenticate(self.ctx, session.username, session.password, session.client_id)
        if credential is None:
            log.debug("MQTT connection refused for %r", session.username)  # logged (folded) by the edge
            return False
        self.sessions[credential.client_id] = credential
        # amqtt 0.12 does nothing when a client's keep-alive passes (its broker handler's read timeout is a no-op),
        # yet with one set its reader reads every packet through wait_for: a task and three loop turns per PUBACK,
        # so at 1,000 messages a second the PUBACKs queued for hundreds of milliseconds (and their flows with them).
        # Without it the reader awaits each packet directly. The period is kept here for the KeepAliveWatch, which
        # enforces it (MQTT 3.1.1's CONNACK has none, so nothing else reads it).
        self.keep_alives[credential.client_id] = session.keep_alive
        session.keep_alive = 0
        return True

    def allowed(self, session: Session | None, topic: str | None, action: Action) -> bool:
        if session is None or topic is None or action == Action.PUBLISH:
            return False
        credential = self.sessions.get(session.client_id or "")
        return credential is not None and credential.username == session.username and openhub.covers(credential, topic)

    async def subscribed(self, client_id: str, topic: str, session: Session | None) -> None:
        credential = self.sessions.get(client_id)
        if credential is not None and openhub.covers(credential, topic):
            persistent = session is not None and not session.clean_session
            await self.channel.attach(credential, persistent)

    async def disconnected(self, client_id: str, session: Session | None) -> None:
        credential = self.sessions.get(client_id)
        if credential is None:
            return
        if session is None or session.clean_session:
            self.sessions.pop(client_id, None)
            self.keep_alives.pop(client_id, None)
        await self.channel.detach(credential.username)


class _Broker(Broker):
    """amqtt's broker, whose TCP (and TLS) connections are read through a :class:`PacketReader` from their first
    byte (the same bytes to amqtt, but the PUBACKs of direct QoS 1 sends end their flows without its reader), and
    that runs each connection's edge (``edge.py``: limits, the CONNECT's time-out, authentication before any
    session is touched, the packet size cap, folded refusal logs) before amqtt's own session handling."""

    edge: MqttEdge | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._preauthenticated: set[int] = set()  # ids of sessions whose CONNECT the edge authenticated
        # client id -> (done when its connection's session handling is over, that connection's writer)
        self._serving: dict[str, tuple[asyncio.Future[None], asyncio.StreamWriter]] = {}

    async def stream_connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                               listener_name: str) -> None:
        connected = getattr(self, "_client_connected", None)
        if connected is None:  # not the amqtt this was written against: its own adapter
            await super().stream_connected(reader, writer, listener_name)
            return
        edge = self.edge
        if edge is None or not _edge_usable(self):
            await connected(listener_name, PacketReader(reader), StreamWriterAdapter(writer))
            return
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, (tuple, list)) and peer else ""
        reason = edge.admit(address)
        if reason is not None:
            edge.refusals.refused(address, OVER_LIMIT, reason)
            writer.transport.abort()  # nothing read, nothing answered: it holds no place
            return
        try:
            await self._edge_connected(edge, listener_name, address, reader, writer)
        finally:
            edge.release(address)

    async def _edge_connected(self, edge: MqttEdge, listener_name: str, address: str,
                              reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """amqtt's ``_client_connected`` and ``_initialize_client_session`` with the edge's checks, in this order:
        a complete CONNECT in time, then its credential, then (amqtt's own) the session it names."""
        refused: list[str] = []

        def refuse(kind: str, detail: str) -> None:
            if not refused:
                refused.append(kind)
                edge.refusals.refused(address, kind, detail)
            writer.close()

        packets = PacketReader(reader, edge.max_packet, refuse)
        adapter = StreamWriterAdapter(writer)
        server = self._servers.get(listener_name)
        if server is None:
            writer.close()
            return
        try:
            async with asyncio.timeout(edge.connect_timeout_s):
                handler, session = await BrokerProtocolHandler.init_from_connect(packets, adapter,
                                                                                 self.plugins_manager)
        except TimeoutError:
            refuse(NO_CONNECT, f"no complete CONNECT within {edge.connect_timeout_s:g} s")
            return
        except Exception as error:  # noqa: BLE001 - whatever a broken CONNECT makes amqtt raise, it is refused
            if packets.ended and not refused:  # the client closed first (a port probe): nothing to log
                writer.close()
                return
            refuse(BAD_CONNECT, str(error) or type(error).__name__)
            return
        if not await self._authenticate(session, self.listeners_config[listener_name]):
            with contextlib.suppress(Exception):  # CONNACK 5, then closed (tuya-iot-py-sdk fetches a new config)
                adapter.write(ConnackPacket.build(0, NOT_AUTHORIZED).to_bytes())
            refuse(NOT_AUTHORISED, f"username {session.username!r}, client id {session.client_id!r}")
            return
        client_id = session.client_id or ""
        took_over = False
        while (earlier := self._serving.get(client_id)) is not None:
            # MQTT-3.1.4-2: the earlier connection of this client id is closed, and its end (amqtt's, the gate's,
            # the channel's) is over before this one takes the session. amqtt's own take-over lets the earlier
            # connection's end mark the shared session disconnected after the new one took it: nothing was then
            # delivered to the new one. (A loop: two reconnects at once each close the one before.)
            earlier_done, earlier_writer = earlier
            earlier_writer.close()
            took_over = True
            try:
                async with asyncio.timeout(TAKEOVER_WAIT_S):
                    await asyncio.shield(earlier_done)
            except TimeoutError:
                break
        # after a take-over: the earlier connection's end made the gate forget this client id's credential
        if took_over and not await self._authenticate(session, self.listeners_config[listener_name]):
            with contextlib.suppress(Exception):
                adapter.write(ConnackPacket.build(0, NOT_AUTHORIZED).to_bytes())
            refuse(NOT_AUTHORISED, f"username {session.username!r}, client id {session.client_id!r}")
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._serving[client_id] = (done, writer)
        session = await self._take_session(session)
        self._preauthenticated.add(id(session))
        await server.acquire_connection()
        try:
            await self._handle_client_session(packets, adapter, session, handler, server, listener_name)
        except Exception as error:  # noqa: BLE001 - as amqtt: a session that ends in an error ends, quietly
            log.debug("MQTT session of %s ended: %r", session.client_id, error)
        finally:
            self._preauthenticated.discard(id(session))
            server.release_connection()
            done.set_result(None)
            if self._serving.get(client_id, (None,))[0] is done:
                del self._serving[client_id]

    async def _take_session(self, incoming: Session) -> Session:
        """amqtt's ``_initialize_client_session`` after its CONNECT was read, now only for an authenticated
        CONNECT: a clean session replaces the client id's earlier one, a persistent one continues it with the new
        connection's will and credentials (amqtt's take-over of a connected one follows in its session handling)."""
        if incoming.clean_session:
            if incoming.client_id:
                await self._delete_session(incoming.client_id)
            else:
                incoming.client_id = gen_client_id()
            incoming.parent = 0
            return incoming
        if incoming.client_id in self._sessions:
            existing, _ = self._sessions[incoming.client_id]
            for name in ("will_flag", "will_message", "will_topic", "will_qos", "keep_alive", "username", "password"):
                setattr(existing, name, getattr(incoming, name))
            existing.parent = 1
            return existing
        incoming.parent = 0
        return incoming

    async def _authenticate(self, session: Session, listener: Any) -> bool:
        """The edge authenticated this session's CONNECT already (one credential lookup per CONNECT)."""
        if id(session) in self._preauthenticated:
            return True
        return await super()._authenticate(session, listener)


def _edge_usable(broker: Broker) -> bool:
    """Whether amqtt has the parts the edge drives (0.12's): otherwise its own connection handling runs."""
    return all(hasattr(broker, name) for name in ("_servers", "_sessions", "_delete_session", "_handle_client_session",
                                                  "_authenticate", "listeners_config", "plugins_manager"))


class OpenHubAuthPlugin(BaseAuthPlugin):
    @dataclass
    class Config:
        gate: Any = None

    async def authenticate(self, *, session: Session) -> bool | None:
        gate: Gate = self.config.gate
        return await gate.authenticate(session)


class OpenHubAclPlugin(BaseTopicPlugin):
    @dataclass
    class Config:
        gate: Any = None

    async def topic_filtering(self, *, session: Session | None = None, topic: str | None = None,
                              action: Action | None = None) -> bool | None:
        gate: Gate = self.config.gate
        return gate.allowed(session, topic, action or Action.PUBLISH)


class OpenHubEventsPlugin(BasePlugin[Any]):
    @dataclass
    class Config:
        gate: Any = None

    async def on_broker_client_subscribed(self, *, client_id: str, topic: str, qos: int) -> None:
        gate: Gate = self.config.gate
        session = self.context.get_session(client_id) if hasattr(self.context, "get_session") else None
        try:
            await gate.subscribed(client_id, topic, session)
        except Exception:
            log.exception("attaching an open-hub link failed")

    async def on_broker_client_disconnected(self, *, client_id: str, client_session: Session) -> None:
        gate: Gate = self.config.gate
        try:
            await gate.disconnected(client_id, client_session)
        except Exception:
            log.exception("detaching an open-hub link failed")


@dataclass
class EmbeddedBroker:
    """amqtt on ``host:port`` (TLS when cert and key files are given), publishing the channel's messages."""

    ctx: Context
    host: str
    port: int
    certfile: str | None = None
    keyfile: str | None = None
    node: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    broker: Broker | None = None
    channel: OpenHubChannel | None = None
    gate: Gate | None = None
    keep_alive: KeepAliveWatch | None = None
    edge: MqttEdge = field(default_factory=MqttEdge)
    _publishing: set[asyncio.Future[Any]] = field(default_factory=set)
    _acks: QoS1Sender = field(default_factory=lambda: QoS1Sender())
    _direct: bool = False

    async def start(self) -> None:
        # amqtt logs every connection and subscription at INFO: the server's log keeps only its warnings
        for name in ("amqtt", "transitions"):
            if logging.getLogger(name).level == logging.NOTSET:
                logging.getLogger(name).setLevel(logging.WARNING)
        self.channel = OpenHubChannel(self.ctx, self.publish, self.node, self.kick)
        self.gate = Gate(self.ctx, self.channel)
        listener: dict[str, Any] = {"type": "tcp", "bind": f"{self.host}:{self.port}", "max_connections": -1}
        if self.certfile and self.keyfile:
            listener.update(ssl=True, certfile=self.certfile, keyfile=self.keyfile)
        plugin = {"gate": self.gate}
        config = {
            "listeners": {"default": listener},
            "plugins": {
                f"{__name__}.OpenHubAuthPlugin": plugin,
                f"{__name__}.OpenHubAclPlugin": plugin,
                f"{__name__}.OpenHubEventsPlugin": plugin,
            },
        }
        broker = _Broker(config, plugin_namespace=f"amqtt.broker.plugins.tuyacloud-{self.node}")
        broker.edge = self.edge
        drop_traceback = _WithoutTraceback()
        amqtt_log = logging.getLogger("amqtt.broker")
        amqtt_log.addFilter(drop_traceback)
        try:
            await broker.start()
        except BaseException:
            await self.channel.close()
            raise
        finally:
            amqtt_log.removeFilter(drop_traceback)
        self.broker = broker
        # Nothing may be listening to sent packets for the direct path to skip amqtt's per-packet event.
        self._direct = QoS1Sender.usable(broker)
        gate = self.gate
        self.keep_alive = KeepAliveWatch(lambda client_id: gate.keep_alives.get(client_id, 0), lambda: broker.sessions)
        self.keep_alive.start()
        self.edge.start()

    async def publish(self, credential: HubCredential, payload: bytes, topic: str | None = None) -> None:
        """Straight to the credential's connection when it is connected (the broker's own broadcast compares a
        message's topic with every subscription, which costs a millisecond per message at a thousand links);
        through the broadcast otherwise, so that the broker keeps it for a persistent session."""
        assert self.broker is not None
        session, handler = self.broker.sessions.get(credential.client_id, (None, None))
        if (session is not None and handler is not None and session.username == credential.username
                and session.transitions.is_connected()):
            if self._direct and self._acks.send(handler, session, topic or credential.topic, payload):
                return
            # amqtt's own QoS 1 flow in a task per message, as the broker's broadcast makes them: the handler's
            # write lock keeps their order (and the direct path stays off for this connection until they are done)
            task = asyncio.ensure_future(amqtt_flow(handler, session, topic or credential.topic, payload))
            self._publishing.add(task)
            self._acks.queued(handler, task)
            task.add_done_callback(self._published)
        else:
            await self.broker.internal_message_broadcast(topic or credential.topic, payload, 1)

    def _published(self, task: asyncio.Future[Any]) -> None:
        self._publishing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("an open-hub message was not acknowledged: %r", task.exception())

    async def kick(self, credential: HubCredential) -> None:
        """Close the connection of a credential that expired or was revoked (its reconnect gets CONNACK 5)."""
        if self.broker is None:
            return
        session, handler = self.broker.sessions.get(credential.client_id, (None, None))
        writer = getattr(handler, "writer", None)
        if session is not None and writer is not None and session.username == credential.username:
            try:  # the socket closes; the broker's reader sees it and ends the session as for any dropped client
                await writer.close()
            except Exception:
                log.exception("closing an expired open-hub connection failed")

    async def stop(self) -> None:
        await self.edge.stop()
        if self.keep_alive is not None:
            await self.keep_alive.stop()
        if self.channel is not None:
            await self.channel.close()
        for task in list(self._publishing):
            task.cancel()
        self._acks.close()
        if self.broker is not None:
            try:
                await self.broker.shutdown()
            except Exception:  # stopping must never keep the server from shutting down
                log.exception("MQTT broker shutdown failed")
