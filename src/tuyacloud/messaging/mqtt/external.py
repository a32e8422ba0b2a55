"""An external Mosquitto 2 broker in place of the embedded one, so several server processes share one broker.

The server connects to Mosquitto as its dynamic-security administrator (``--mqtt-broker
mqtt://ADMIN:PASSWORD@HOST:PORT``) and manages the open-hub's clients through ``$CONTROL/dynamic-security/v1``:
- a config call creates a role allowing exactly one subscription (the credential's topic) and a client with the
  credential's username, password and client id in that role, before the call answers; Mosquitto then does the
  authentication (CONNACK 5 for anything else) and the ACL (SUBACK 0x80 for other topics; its default denies
  clients' publishes);
- expired or revoked credentials' clients and roles are deleted within ``SWEEP_S`` (which disconnects them), by
  the one process holding the housekeeping lease (domain/task_lease.py) among all that share the database;
- each credential is delivered to by one server process: the one that issued it, or, if that one stops touching
  the credential's row, whichever takes it over first (the row's ``node`` and ``last_seen_ms`` are the lease).
Mosquitto does not tell the server who is connected, so delivery goes on while a credential is valid (Mosquitto
drops messages for a clean session that is away) and the status shows which process delivers, not a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
from amqtt.client import MQTTClient

from tuyacloud.domain.context import Context
from tuyacloud.domain.task_lease import TaskLease
from tuyacloud.messaging.mqtt.channel import OpenHubChannel
from tuyacloud.models import HubCredential
from tuyacloud.store.base import Tx

log = logging.getLogger("tuyacloud.mqtt")

CONTROL = "$CONTROL/dynamic-security/v1"
SWEEP_S = 2.0
STALE_MS = 15_000  # a credential whose delivering process has not touched it for this long is taken over
FORGET_MS = 600_000  # expired credentials are looked at for removal this long after expiry
PUBLISH_ACL = "cloud/token/in/#"


def _role(credential: HubCredential) -> str:
    return f"openhub-{credential.username}"


@dataclass
class ExternalBroker:
    ctx: Context
    url: str  # mqtt://ADMIN:PASSWORD@HOST:PORT of the dynamic-security administrator
    sweeps: TaskLease | None = None  # removal of dead clients runs while this is held (None: always)
    node: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    channel: OpenHubChannel | None = None
    client: MQTTClient | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    removed: set[str] = field(default_factory=set)  # usernames whose clients this process deleted (recently)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 1883

    async def start(self) -> None:
        for name in ("amqtt", "transitions"):
            if logging.getLogger(name).level == logging.NOTSET:
                logging.getLogger(name).setLevel(logging.WARNING)
        await self._allow_publishing()
        self.client = MQTTClient(client_id=f"tuyacloud-{self.node}", config={"auto_reconnect": True})
        await self.client.connect(self.url)
        await self.client.subscribe([(f"{CONTROL}/response", 1)])
        self.tasks.append(asyncio.create_task(self._responses(), name="dynsec-responses"))
        self.channel = OpenHubChannel(self.ctx, self.publish, self.node)
        self.tasks.append(asyncio.create_task(self._sweep(), name="openhub-external-sweep"))

    async def _allow_publishing(self) -> None:
        """The administrator publishes every link's messages: allow it on the links' topics. Changing a role
        disconnects its clients, so this goes over a connection of its own (an existing ACL is left alone)."""
        once = MQTTClient(client_id=f"tuyacloud-setup-{self.node}", config={"auto_reconnect": False})
        await once.connect(self.url)
        command = {"command": "addRoleACL", "rolename": "admin", "acltype": "publishClientSend",
                   "topic": PUBLISH_ACL, "priority": 0, "allow": True}
        with contextlib.suppress(Exception):
            await once.publish(CONTROL, orjson.dumps({"commands": [command]}), qos=0)
            await asyncio.sleep(0.2)
        with contextlib.suppress(Exception):
            await once.disconnect()

    async def _responses(self) -> None:
        assert self.client is not None
        while True:
            message = await self.client.deliver_message()
            if message is None or message.publish_packet is None:
                continue
            try:
                body = orjson.loads(bytes(message.publish_packet.payload.data))
            except orjson.JSONDecodeError:
                continue
            for response in body.get("responses", []):
                future = self._pending.pop(str(response.get("correlationData", "")), None)
                if future is not None and not future.done():
                    future.set_result(response)

    async def command(self, cmd: dict[str, Any], check: bool = True) -> dict[str, Any]:
        """One dynamic-security command, answered (``error`` set when Mosquitto refused it)."""
        assert self.client is not None
        key = f"{self.node}-{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        await self.client.publish(CONTROL, orjson.dumps({"commands": [{**cmd, "correlationData": key}]}), qos=1)
        try:
            response = await asyncio.wait_for(future, timeout=10)
        finally:
            self._pending.pop(key, None)
        if check and response.get("error"):
            raise RuntimeError(f"Mosquitto refused {cmd['command']}: {response['error']}")
        return response

    async def provision(self, credential: HubCredential, password: str) -> None:
        """Before the config call answers: the client exists in Mosquitto, and this process delivers to it."""
        role = _role(credential)
        await self.command({"command": "createRole", "rolename": role, "acls": [
            {"acltype": "subscribeLiteral", "topic": credential.topic, "priority": 0, "allow": True}]})
        await self.command({"command": "createClient", "username": credential.username, "password": password,
                            "clientid": credential.client_id, "roles": [{"rolename": role}]})
        assert self.channel is not None
        await self.channel.attach(credential, persistent=False)

    async def publish(self, credential: HubCredential, payload: bytes, topic: str | None = None) -> None:
        assert self.client is not None
        async with self._lock:  # one at a time: Mosquitto sees them in the channel's order
            await self.client.publish(topic or credential.topic, payload, qos=1)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                if self.sweeps is None or self.sweeps.held:
                    await self._remove_dead()
                await self._adopt()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("open-hub sweep (external broker) failed")

    async def _remove_dead(self) -> None:
        now = self.ctx.clock.now_ms()
        for credential in await self.ctx.store.dead_credentials(now, now - FORGET_MS):
            if credential.username in self.removed:
                continue
            await self.command({"command": "deleteClient", "username": credential.username}, check=False)
            await self.command({"command": "deleteRole", "rolename": _role(credential)}, check=False)
            self.removed.add(credential.username)
        if len(self.removed) > 100_000:
            self.removed.clear()

    async def _adopt(self) -> None:
        """Credentials whose delivering process went quiet (stopped, crashed) are taken over here."""
        now = self.ctx.clock.now_ms()
        assert self.channel is not None
        for credential in await self.ctx.store.orphan_credentials(now, now - STALE_MS):

            async def claim(tx: Tx, username: str = credential.username) -> bool:
                return await tx.claim_credential(username, self.node, now, now - STALE_MS)

            if await self.ctx.store.transaction(claim):
                fresh = await self.ctx.store.get_credential(credential.username)
                if fresh is not None:
                    await self.channel.attach(fresh, persistent=False)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.channel is not None:
            await self.channel.close()
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.disconnect()
