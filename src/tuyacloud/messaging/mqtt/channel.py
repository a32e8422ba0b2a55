"""The open-hub channel: reads each project's durable message log (the one the Pulsar service reads) and publishes
every message a credential's holder may see to that credential's topic, encrypted with its key, QoS 1.

A credential is attached while its client is subscribed to its topic (and, for a persistent session, also while it
is away: the broker keeps its QoS 1 messages as MQTT does). Delivery to it starts at the log position of its config
call and goes on in sequence order, so nothing committed is skipped, nothing uncommitted is sent, and one device's
messages arrive in the order they were committed. The position is saved, so a client that reconnects with the same
credential (paho's automatic reconnect) gets what it missed meanwhile; a new credential starts at its own config
call. Each project is served by one task per process, woken by the store when a commit appends messages.

With many links (a thousand connected clients of one project) delivery stays a matter of the links a message
reaches: they are found through an index of what each link's scope sees (``openhub.Audience``), not by asking
every link; the credentials' revocation and their holders' visibility are read again by a task beside delivery
(every ``REFRESH_S``), never in its way; expiry and revocation are looked at when the earliest of them is due, not
on every wake-up; and positions are saved ``SAVE_CHUNK`` rows per transaction, so a command's commit never waits
behind a thousand of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from tuyacloud.domain.access import openhub
from tuyacloud.domain.context import Context, Scope
from tuyacloud.messaging.mqtt import codec
from tuyacloud.messaging.wakeup import Wakeup
from tuyacloud.models import Device, HubCredential, Message
from tuyacloud.store.base import Tx

log = logging.getLogger("tuyacloud.mqtt")

BATCH = 500
REFRESH_S = 5.0  # how often a credential's revocation and its holder's visibility are read again
SAVE_CHUNK = 100  # link rows per transaction when positions are saved
FLUSH_S = 1.0  # how often delivery positions and counters are saved
HEARTBEAT_S = 5.0  # how often every attached link's row is touched (see messaging/mqtt/status.py)
PLACEMENTS_READ = 500  # devices per query when the placements the channel knows are read again
_MOVES = ("bindUser", "assetTransfer")  # events after which a device's placement is read again

# to the credential's topic (or the topic given: a sharing credential's device and home topics), QoS 1, in call order
Publish = Callable[[HubCredential, bytes, str | None], Awaitable[None]]
Kick = Callable[[HubCredential], Awaitable[None]]


@dataclass
class Link:
    """A credential attached to this process's broker.

    ``cursor`` is the last message it was handed or passed over; while it is attached, its position is also at
    least its project's ``floor`` (see ``position``), so that a round need not move a thousand cursors past the
    messages they may not see."""

    credential: HubCredential
    cursor: int
    persistent: bool = False
    scope: Scope | None = None
    sent: int = 0
    last_message_ms: int | None = None
    dirty: bool = False  # handed a message since its row was last saved
    connected: bool = True
    project: _Project | None = None  # while attached: whose floor it follows

    def position(self) -> int:
        """How far delivery to it has gone: its cursor, or its project's floor when that is further (a link
        attached behind the floor follows its own cursor until the next round has brought it up)."""
        project = self.project
        if project is None or self.credential.username in project.behind:
            return self.cursor
        return max(self.cursor, project.floor)

    def leave(self) -> None:
        """Detached: its position no longer follows the project's rounds."""
        self.cursor, self.project = self.position(), None


@dataclass
class _Project:
    access_id: str
    links: dict[str, Link] = field(default_factory=dict)
    wake: Wakeup = field(default_factory=Wakeup)
    task: asyncio.Task[None] | None = None
    refresher: asyncio.Task[None] | None = None  # re-reads revocation and visibility beside delivery
    audience: openhub.Audience[Link] = field(default_factory=openhub.Audience)
    due_ms: int = 0  # the earliest expiry or revocation among the links: nothing to check before it
    # Every attached link not in ``behind`` has been handed or passed every message up to ``floor``; ``behind``
    # holds those attached since the last round with a position below it (a reconnect resuming further back).
    floor: int = -1
    behind: dict[str, Link] = field(default_factory=dict)
    # Attached since the pump's last wake-up: admitted between two rounds (``_admit``), never in the middle of one,
    # where it would miss the round's messages handed out before it came.
    arriving: dict[str, Link] = field(default_factory=dict)
    # Where each device of its messages is (asset or home, owner uid; None: bound to nobody), with the device row's
    # owner and region to read it again by: read when a device is first met or has moved, and again for all of them
    # every REFRESH_S beside delivery (a device's move that sends no event is seen within that time).
    placements: dict[str, tuple[tuple[str, str] | None, str, str]] = field(default_factory=dict)
    saving: asyncio.Task[None] | None = None  # positions being saved beside delivery (see OpenHubChannel._save_beside)


class OpenHubChannel:
    def __init__(self, ctx: Context, publish: Publish, node: str, kick: Kick | None = None) -> None:
        self.ctx = ctx
        self.publish = publish
        self.kick = kick  # disconnects a client whose credential expired or was revoked
        self.node = node
        self._projects: dict[str, _Project] = {}
        self._by_user: dict[str, Link] = {}
        ctx.store.message_listeners.append(self.messages_appended)

    # --- attachment (called by the broker's plugin) ------------------------------------------------------------
    async def attach(self, credential: HubCredential, persistent: bool) -> None:
        """The credential's client subscribed to its topic: deliver from its saved position on."""
        existing = self._by_user.get(credential.username)
        if existing is not None:
            existing.connected = True
            existing.persistent = persistent
        else:
            link = Link(credential, max(credential.delivered_seq, credential.start_seq), persistent)
            link.scope = await openhub.scope_of(self.ctx, credential)
            self._by_user[credential.username] = link
            project = self._projects.get(credential.access_id)
            if project is None:
                project = self._projects[credential.access_id] = _Project(credential.access_id)
                project.task = asyncio.create_task(self._pump(project), name=f"openhub-{credential.access_id}")
                project.refresher = asyncio.create_task(self._refresher(project),
                                                        name=f"openhub-refresh-{credential.access_id}")
            project.arriving[credential.username] = link
            project.wake.set()

        async def work(tx: Tx) -> None:
            await tx.credential_connected(credential.username, self.node, self.ctx.clock.now_ms())

        await self.ctx.store.transaction(work)

    async def detach(self, username: str) -> None:
        """The client went away. A persistent session keeps receiving (into the broker's queue for it)."""
        link = self._by_user.get(username)
        if link is None:
            return
        link.connected = False
        project = self._projects.get(link.credential.access_id)
        if not link.persistent:
            self._by_user.pop(username, None)
            if project is not None:
                project.arriving.pop(username, None)
                project.links.pop(username, None)
                project.behind.pop(username, None)
                project.audience.remove(username)
            link.leave()
        if project is not None:
            await self._saved(project)  # a save in flight says "connected": this one must land after it
        await self._save([link])

    def connected(self) -> list[Link]:
        return [link for link in self._by_user.values() if link.connected]

    def messages_appended(self, access_id: str) -> None:
        project = self._projects.get(access_id)
        if project is not None:
            project.wake.set()

    async def close(self) -> None:
        tasks = [t for p in self._projects.values() for t in (p.task, p.refresher) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for project in self._projects.values():
            await self._saved(project)
        with contextlib.suppress(Exception):
            await self._save(list(self._by_user.values()), disconnected=True)
        self._projects.clear()
        self._by_user.clear()
        with contextlib.suppress(ValueError):
            self.ctx.store.message_listeners.remove(self.messages_appended)

    # --- delivery -------------------------------------------------------------------------------------------------
    async def _pump(self, project: _Project) -> None:
        loop = asyncio.get_running_loop()
        next_flush = loop.time() + FLUSH_S
        next_beat = loop.time() + HEARTBEAT_S
        while True:
            await project.wake.wait(FLUSH_S)
            project.wake.clear()
            try:
                self._admit(project)
                await self._expire_due(project)
                while project.links and await self._round(project) == BATCH:
                    pass
                saving = project.saving is not None and not project.saving.done()
                if saving:
                    pass  # one save at a time: the links stay dirty, and the next wake-up after it saves them
                elif loop.time() >= next_beat:  # connected links are shown as connected while this goes on
                    next_beat = next_flush = loop.time() + HEARTBEAT_S
                    self._save_beside(project, list(project.links.values()))
                elif loop.time() >= next_flush:
                    next_flush = loop.time() + FLUSH_S
                    self._save_beside(project, [link for link in project.links.values() if link.dirty])
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed round is retried on the next wake-up; delivery never stops for good
                log.exception("open-hub delivery failed for project %s", project.access_id)
                await asyncio.sleep(0.5)
                project.wake.set()

    @staticmethod
    def _admit(project: _Project) -> None:
        """Links attached since the last wake-up join the project's rounds (and its index)."""
        for username, link in project.arriving.items():
            if project.floor < 0 or (not project.links and not project.behind):
                project.floor = link.cursor
            elif link.cursor < project.floor:
                project.behind[username] = link
            link.project = project
            project.links[username] = link
            project.audience.put(username, link, link.scope)
            project.due_ms = min(project.due_ms or _due(link.credential), _due(link.credential))
        project.arriving.clear()

    async def _refresher(self, project: _Project) -> None:
        """Every ``REFRESH_S``, re-read the links' revocation and visibility (in a few queries for all of them),
        beside delivery: the pump goes on with what it has meanwhile and picks the new scopes up between two
        messages. A revocation read here reaches the pump through ``due_ms``, so a revoked link gets nothing
        committed after the next message round (at most ``REFRESH_S`` after the revocation plus one round)."""
        loop = asyncio.get_running_loop()
        next_read = loop.time() + REFRESH_S
        while True:
            await asyncio.sleep(max(0.0, next_read - loop.time()))
            next_read = loop.time() + REFRESH_S  # one read every REFRESH_S, however long a read takes
            try:
                await self._refresh(project)
            except asyncio.CancelledError:
                raise
            except Exception:  # read again next time; delivery goes on with the scopes it has
                log.exception("could not read open-hub links again for project %s", project.access_id)

    async def _refresh(self, project: _Project) -> None:
        if not project.links:
            return
        links = list(project.links.values())
        stored = {c.username: c for c in await self.ctx.store.credentials_of_project(
            project.access_id, self.ctx.clock.now_ms())}
        scopes = await openhub.scopes_of(self.ctx, [link.credential for link in links])
        due = project.due_ms
        for link in links:
            username = link.credential.username
            if project.links.get(username) is not link:  # detached (or replaced) while this read
                continue
            fresh = stored.get(username)
            if fresh is not None and fresh.revoked_ms != link.credential.revoked_ms:
                link.credential.revoked_ms = fresh.revoked_ms
                due = min(due, _due(link.credential))
            link.scope = scopes.get(username)
            project.audience.put(username, link, link.scope)
        if due < project.due_ms:
            project.due_ms = due
            project.wake.set()
        await self._read_placements(project)

    async def _expire_due(self, project: _Project) -> None:
        """Drop (and disconnect) the links whose credential expired or was revoked, once the earliest of those
        times has come (the pump wakes at least every ``FLUSH_S``, so within about a second of it)."""
        now = self.ctx.clock.now_ms()
        if not project.links or now < project.due_ms:
            return
        due: int | None = None
        for link in list(project.links.values()):
            if not openhub.is_valid(link.credential, now):  # nothing more to send it
                project.links.pop(link.credential.username, None)
                project.behind.pop(link.credential.username, None)
                link.leave()
                self._by_user.pop(link.credential.username, None)
                project.audience.remove(link.credential.username)
                if self.kick is not None and link.connected:
                    await self.kick(link.credential)
            else:
                due = _due(link.credential) if due is None else min(due, _due(link.credential))
        project.due_ms = due or 0

    async def _round(self, project: _Project) -> int:
        floor, behind = project.floor, project.behind
        low = min(floor, *(link.cursor for link in behind.values())) if behind else floor
        messages = await self.ctx.store.messages_after(project.access_id, low, BATCH)
        if project.audience.scoped:
            await self._meet(project, messages)
        now = self.ctx.clock.now_ms()
        for message in messages:
            plaintext: bytes | None = None
            for link in await self._audience(project, message):
                at = link.cursor if link.credential.username in behind else max(link.cursor, floor)
                if at >= message.seq:
                    continue
                link.cursor = message.seq
                link.dirty = True
                if not openhub.is_valid(link.credential, now):
                    continue
                c = link.credential
                if c.version == openhub.SHARING:  # Home Assistant: plain JSON on the device's (or home's) topic
                    cached = project.placements.get(message.device_id)
                    home = cached[0][0] if cached is not None and cached[0] is not None else None
                    topic = openhub.sharing_topic(c, message.protocol, message.device_id, message.data, home)
                    await self.publish(c, codec.plain_payload(message.protocol, message.data, message.created_ms),
                                       topic)
                else:
                    plaintext = plaintext or orjson.dumps(message.data)
                    await self.publish(c, codec.payload(message.protocol, plaintext, c.message_key, c.version,
                                                        message.created_ms), None)
                link.sent += 1
                link.last_message_ms = now
        if messages:  # links that may not see some of the messages move past them too: the floor does that
            top = messages[-1].seq
            if project.floor < top:
                project.floor = top
            behind.clear()  # those behind have been brought up to ``top`` (no link joins in the middle of a round)
        return len(messages)

    async def _audience(self, project: _Project, message: Message) -> list[Link]:
        """The links that may see the message, from the index of what each sees (``openhub.Audience``)."""
        if message.protocol == 20 and message.data.get("bizCode") in _MOVES:
            project.placements.pop(message.device_id, None)
        if not project.audience.scoped:  # every link sees the whole project: no placement to look up
            return project.audience.recipients(None, {})
        return project.audience.recipients(await self._placement(project, message), message.data)

    async def _placement(self, project: _Project, message: Message) -> tuple[str, str] | None:
        cached = project.placements.get(message.device_id)
        if cached is not None:
            return cached[0]
        device = await self.ctx.store.get_device(message.device_id, message.region)
        if device is None:  # removed: judged by the binding its delete event names
            return None
        if len(project.placements) >= 200_000:
            project.placements.clear()
        project.placements[device.id] = (_placement_of(device), device.access_id, device.region)
        return project.placements[device.id][0]

    async def _meet(self, project: _Project, messages: list[Message]) -> None:
        """Read the placements of the round's devices met for the first time in one query per region (a thousand
        devices' first messages would otherwise be a thousand reads one after the other, in delivery's way); one
        not found that way (a device of an app linked to the project) is read on its own by ``_placement``."""
        new: dict[str, set[str]] = {}
        for message in messages:
            if message.device_id not in project.placements:
                new.setdefault(message.region, set()).add(message.device_id)
        for region, ids in new.items():
            wanted = sorted(ids)
            for start in range(0, len(wanted), PLACEMENTS_READ):
                for device in await self.ctx.store.get_devices(project.access_id, region,
                                                               wanted[start:start + PLACEMENTS_READ]):
                    project.placements.setdefault(device.id, (_placement_of(device), device.access_id,
                                                              device.region))

    async def _read_placements(self, project: _Project) -> None:
        """Read again where every device the channel has met is (a few queries for all of them), beside delivery:
        the pump then never waits for a device read but for a device it meets for the first time or that moved.
        A device no longer found keeps its last placement, which judges its delete event."""
        known = dict(project.placements)
        groups: dict[tuple[str, str], list[str]] = {}
        for device_id, (_, owner, region) in known.items():
            groups.setdefault((owner, region), []).append(device_id)
        for (owner, region), ids in groups.items():
            for start in range(0, len(ids), PLACEMENTS_READ):
                for device in await self.ctx.store.get_devices(owner, region, ids[start:start + PLACEMENTS_READ]):
                    entry = project.placements.get(device.id)
                    if entry is not None and entry is known.get(device.id):  # not moved (and read) meanwhile
                        project.placements[device.id] = (_placement_of(device), device.access_id, device.region)

    def _save_beside(self, project: _Project, links: list[Link]) -> None:
        """Save delivery positions in a task beside delivery rather than in the pump's way.

        A save is a write: it waits for the writer's batch in flight and then its own COMMIT (an fsync on SQLite,
        slower when a checkpoint flushes at the same time). The pump waiting for it held every message committed
        meanwhile back by that long, once a second: the slowest hundredth of the subscriber's messages. Nothing
        depends on the save being done before the next message goes out: a position is only where a client that
        reconnects resumes (never moved back), so one saved a moment later means at most a redelivery after a
        crash, which QoS 1 allows. One save per project at a time, so ``connected`` flags land in order; a save
        that fails leaves its links dirty with their counts, for the next."""
        if not links:
            return

        async def save() -> None:
            try:
                await self._save(links)
            except Exception:
                log.exception("could not save open-hub delivery positions for project %s", project.access_id)

        project.saving = asyncio.create_task(save(), name=f"openhub-save-{project.access_id}")
        project.saving.add_done_callback(lambda _: project.wake.set())  # dirty links wait for the next flush

    @staticmethod
    async def _saved(project: _Project) -> None:
        if project.saving is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await project.saving
            project.saving = None

    async def _save(self, links: list[Link], disconnected: bool = False) -> None:
        if not links:
            return
        now = self.ctx.clock.now_ms()
        rows: list[tuple[str, int, int, int | None, bool]] = []
        for link in links:
            rows.append((link.credential.username, link.position(), link.sent, link.last_message_ms,
                         link.connected and not disconnected))
            link.sent, link.dirty = 0, False

        def work(chunk: list[tuple[str, int, int, int | None, bool]]) -> Callable[[Tx], Awaitable[None]]:
            async def run(tx: Tx) -> None:
                for username, cursor, sent, last, connected in chunk:
                    await tx.credential_progress(username, cursor, sent, last, now, connected)
            return run

        # SAVE_CHUNK rows per transaction: a command's commit waits for at most one chunk, not for all the links.
        for start in range(0, len(rows), SAVE_CHUNK):
            try:
                await self.ctx.store.transaction(work(rows[start:start + SAVE_CHUNK]))
            except BaseException:  # not saved: the counts and the positions go with the next save
                for link, (_, _, sent, _, _) in zip(links[start:], rows[start:], strict=True):
                    link.sent += sent
                    link.dirty = True
                raise


def _placement_of(device: Device) -> tuple[str, str] | None:
    """(asset or home id, owner uid); a factory-reset device is bound to nobody: judged by its delete event, like a
    removed device."""
    return (device.asset_id, device.owner_uid) if device.asset_id or device.owner_uid else None


def _due(credential: HubCredential) -> int:
    """When the credential stops being valid (its expiry, or its revocation if that is earlier)."""
    if credential.revoked_ms is None:
        return credential.expires_ms
    return min(credential.expires_ms, credential.revoked_ms)


def link_view(link: Link) -> dict[str, Any]:
    c = link.credential
    return {"username": c.username, "client_id": c.client_id, "uid": c.uid, "expires_ms": c.expires_ms,
            "connected": link.connected, "cursor": link.position()}
