"""Delivery of a project's messages to its Pulsar-WebSocket consumers, with Pulsar's Failover semantics.

Per subscription (project, env, name): the consumer holding the lease in the store is active, wherever it is
connected (any server process on the same PostgreSQL); others stand by and take over when the lease is released
or expires. The active consumer reads unacknowledged messages from the durable log in sequence order, keeps at
most ``MAX_INFLIGHT`` unacknowledged on the wire, redelivers after ``ackTimeoutMillis`` (and on a new consumer)
with a growing ``redeliveryCount``, and records acknowledgements in batches. It wakes when a commit appends
messages for its project (in-process callback, or LISTEN/NOTIFY across processes) and otherwise sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tuyacloud.clock import wall_ms
from tuyacloud.domain.context import Context
from tuyacloud.errors import StoreUnavailable
from tuyacloud.messaging import codec
from tuyacloud.messaging.wakeup import Wakeup
from tuyacloud.models import Message, Project
from tuyacloud.store.base import Tx
from tuyacloud.store.queries.messaging import ConsumerRow
from tuyacloud.supervision import Episode, TaskStatus

log = logging.getLogger("tuyacloud.messaging")

MAX_INFLIGHT = 1000
ROOM_LOW = MAX_INFLIGHT // 2  # this many in flight: an ack wakes delivery even while acks are being written
LEASE_MS = 5000
RENEW_S = 1.0
LEASE_MARGIN_MS = 1000  # a renewal still pending this close to the lease's end: delivery waits for it

SubKey = tuple[str, str, str]


@dataclass
class Consumer:
    """One connected WebSocket consumer; ``send`` writes a text frame (its UTF-8 bytes)."""

    project: Project
    env: str
    name: str
    send: Callable[[bytes], Awaitable[None]]
    ack_timeout_ms: int
    address: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    inflight: dict[int, int] = field(default_factory=dict)  # seq -> sent at (clock ms)
    acks: set[int] = field(default_factory=set)  # acks of messages not in flight here (earlier connections)
    acked: set[int] = field(default_factory=set)  # in-flight messages acknowledged since the last flush
    nacks: set[int] = field(default_factory=set)
    wake: Wakeup = field(default_factory=Wakeup)
    closed: bool = False
    recording: asyncio.Task[None] | None = None  # acknowledgements being written (see Hub._record_acks)
    record_failed: BaseException | None = None  # why the last write of acknowledgements failed, until seen

    @property
    def key(self) -> SubKey:
        return (self.project.access_id, self.env, self.name)

    def acknowledge(self, message_id: str, negative: bool = False) -> None:
        seq = codec.seq_of(message_id)
        if seq is None:
            return
        if negative:
            self.nacks.add(seq)
        elif self.inflight.pop(seq, None) is not None:
            self.acked.add(seq)
        else:
            self.acks.add(seq)
        if negative or self.recording is None or self.recording.done() or len(self.inflight) >= ROOM_LOW:
            # A round now can start writing acks, or send into room that was scarce. While acks are being written
            # the next ones wait for that write to end (it wakes the consumer): a round per ack would only cost.
            self.wake.set()


class Hub:
    def __init__(self, ctx: Context, status: TaskStatus | None = None) -> None:
        self.ctx = ctx
        # One episode for every consumer: an outage of the store is one log line, not one per connection.
        self._episode = Episode(log, "message delivery", status)
        self.process = uuid.uuid4().hex[:12]
        self._consumers: dict[SubKey, list[Consumer]] = {}
        self._deliveries: dict[SubKey, dict[int, int]] = {}  # seq -> times delivered (redeliveryCount)
        # Tallies of this process since start, read by /metrics: frames sent (redeliveries among them), positive
        # acknowledgements recorded, negative acknowledgements received.
        self.delivered = 0
        self.redelivered = 0
        self.acknowledged = 0
        self.nacked = 0
        ctx.store.message_listeners.append(self.messages_appended)

    def messages_appended(self, access_id: str) -> None:
        for key, consumers in self._consumers.items():
            if key[0] == access_id:
                for consumer in consumers:
                    consumer.wake.set()

    def connected(self, key: SubKey) -> list[Consumer]:
        return list(self._consumers.get(key, []))

    def consumer_counts(self) -> dict[SubKey, int]:
        """Consumers connected to this process, per subscription."""
        return {key: len(consumers) for key, consumers in self._consumers.items()}

    async def serve(self, consumer: Consumer) -> None:
        """Run one consumer until it is closed: stand by, become active, deliver."""
        key = consumer.key
        self._consumers.setdefault(key, []).append(consumer)
        owner = f"{self.process}:{consumer.id}"
        store = self.ctx.store
        now = self.ctx.clock.now_ms()
        row = ConsumerRow(consumer.id, key[0], key[1], key[2], consumer.address, now, now)

        async def register(tx: Tx) -> None:
            await tx.ensure_subscription(*key)
            await tx.upsert_consumer(row)

        active = False
        cursor = -1
        loop = asyncio.get_running_loop()
        renewal: asyncio.Task[tuple[bool, int]] | None = None  # the active consumer's lease being renewed
        renew_at = 0.0  # loop time of the next renewal
        held_until = 0  # wall ms until which the lease is ours, as the last renewal that succeeded took it
        try:
            await self._retrying(consumer, lambda: store.transaction(register))
            while not consumer.closed:
                try:
                    if not active:  # standing by (or just connected): try to take the lease, and wait for it
                        active, taken_at = await self._renew(consumer, owner, row)
                        if not active:
                            await self._wait(consumer, RENEW_S)
                            continue
                        cursor = -1  # taking over: start again from the subscription's position
                        held_until, renew_at = taken_at + LEASE_MS, loop.time() + RENEW_S
                    if renewal is None and (loop.time() >= renew_at or wall_ms() >= held_until - LEASE_MARGIN_MS):
                        renewal = self._renew_beside(consumer, owner, row)
                    if renewal is not None and (renewal.done() or wall_ms() >= held_until - LEASE_MARGIN_MS):
                        # the renewal's outcome; it is awaited (delivery stops) only once the lease we hold is
                        # about to run out: beyond it another consumer may have taken over
                        task, renewal = renewal, None
                        renew_at = loop.time() + RENEW_S
                        active, taken_at = await task
                        if not active:
                            continue  # another consumer holds the lease: stand by
                        held_until = taken_at + LEASE_MS
                    cursor = await self._deliver_round(consumer, cursor)
                    await self._wait(consumer, self._next_wait(consumer, loop.time() + RENEW_S if renewal
                                                               else renew_at))
                except StoreUnavailable as error:
                    # The store is down: keep the connection, wait, and go on where delivery was. A lease that
                    # ran out meanwhile is simply taken again (or by another consumer) when it is back.
                    await self._wait(consumer, self._episode.failed(error))
                    continue
                self._episode.ok()
        finally:
            consumer.closed = True
            self._consumers[key].remove(consumer)
            if not self._consumers[key]:
                del self._consumers[key]

            if renewal is not None:  # a renewal landing after the release below would take the lease again
                with contextlib.suppress(Exception):
                    await renewal
            if consumer.recording is not None:  # acknowledgements still being written: after them
                with contextlib.suppress(Exception):
                    await consumer.recording
                consumer.recording = None

            async def unregister(tx: Tx) -> None:
                if active and cursor >= 0 and (consumer.acked or consumer.acks):
                    mark = (min(consumer.inflight) - 1) if consumer.inflight else cursor
                    stray = sorted(consumer.acks | {s for s in consumer.acked if s > mark})
                    await tx.advance(*key, mark, stray, self.ctx.clock.now_ms())
                    self.acknowledged += len(consumer.acks) + len(consumer.acked)
                await tx.release_lease(*key, owner)
                await tx.delete_consumer(consumer.id)

            try:
                await store.transaction(unregister)
            except StoreUnavailable as error:  # the lease runs out by itself
                log.info("could not release a consumer's lease: %s", error)
            except Exception:
                log.exception("could not release a consumer's lease")
            for other in self._consumers.get(key, []):
                other.wake.set()  # a standby takes over at once

    async def _retrying(self, consumer: Consumer, call: Callable[[], Awaitable[object]]) -> None:
        """Run ``call`` until it works or the consumer goes away, backing off while the store is unavailable."""
        while not consumer.closed:
            try:
                await call()
            except StoreUnavailable as error:
                await self._wait(consumer, self._episode.failed(error))
                continue
            self._episode.ok()
            return

    def _renew_beside(self, consumer: Consumer, owner: str, row: ConsumerRow) -> asyncio.Task[tuple[bool, int]]:
        """Renew the active consumer's lease in a task beside delivery, which wakes the consumer when it ends.

        A renewal is a write: it waits for the writer's batch in flight and then its own COMMIT (on SQLite an
        fsync, slower when a checkpoint flushes at the same time). Delivery waiting for it held every message
        committed meanwhile back by that long, once a second: the slowest hundredth of the Pulsar consumer's
        messages. The lease it renews runs for ``LEASE_MS`` after the last renewal that succeeded, so
        delivery may go on meanwhile; it waits for the outcome only when that lease is about to end."""
        task = asyncio.create_task(self._renew(consumer, owner, row), name="message-lease")
        task.add_done_callback(lambda _: consumer.wake.set())
        return task

    async def _renew(self, consumer: Consumer, owner: str, row: ConsumerRow) -> tuple[bool, int]:
        """Take or keep the subscription's lease: whether it is ours, and the wall-clock time it was taken at."""
        row.last_seen_ms = self.ctx.clock.now_ms()
        # The lease is about processes being alive: wall-clock time, which every process on the database shares,
        # not the cloud clock (a test may step or freeze it in one process only, and a lease would then never run
        # out, or run out while its holder is alive, in another's view).
        wall = wall_ms()
        key = consumer.key

        async def work(tx: Tx) -> bool:
            await tx.upsert_consumer(row)
            project = await tx.get_project(key[0])
            if project is not None:
                consumer.project = project  # a rotated secret changes the message key
            return await tx.take_lease(*key, owner, wall, wall + LEASE_MS)

        return await self.ctx.store.transaction(work), wall

    def _next_wait(self, consumer: Consumer, deadline: float) -> float:
        loop_now = asyncio.get_running_loop().time()
        wait = max(0.0, deadline - loop_now)
        if consumer.ack_timeout_ms > 0 and consumer.inflight:
            oldest = min(consumer.inflight.values())
            due_in = (oldest + consumer.ack_timeout_ms - self.ctx.clock.now_ms()) / 1000
            wait = min(wait, max(0.0, due_in))
        return wait

    @staticmethod
    async def _wait(consumer: Consumer, seconds: float) -> None:
        await consumer.wake.wait(max(seconds, 0.001))
        consumer.wake.clear()

    async def _deliver_round(self, consumer: Consumer, cursor: int) -> int:
        """Start recording acks, redeliver what timed out or was negatively acknowledged, send what is new."""
        key = consumer.key
        store = self.ctx.store
        if consumer.record_failed is not None:  # the last write of acks failed (they are kept): say so here
            error, consumer.record_failed = consumer.record_failed, None
            raise error
        if cursor < 0:  # just became active: everything unacknowledged is (re)delivered
            if consumer.recording is not None:  # the mark read below must include acks being written
                with contextlib.suppress(Exception):
                    await consumer.recording
            sub = await store.get_subscription(*key)
            consumer.inflight.clear()
            cursor = sub.mark_seq if sub else 0
        elif (consumer.acked or consumer.acks) and (consumer.recording is None or consumer.recording.done()):
            self._record_acks(consumer, cursor)
        now = self.ctx.clock.now_ms()
        again = set(consumer.nacks)
        self.nacked += len(again)
        consumer.nacks.clear()
        inflight = consumer.inflight
        # the oldest first, at C speed: most rounds have nothing due, and the scan is of up to MAX_INFLIGHT entries
        if consumer.ack_timeout_ms > 0 and inflight and now - min(inflight.values()) >= consumer.ack_timeout_ms:
            again |= {s for s, sent in inflight.items() if now - sent >= consumer.ack_timeout_ms}
        if again:
            resend = await store.unacked_messages(*key, min(again) - 1, len(again) + MAX_INFLIGHT)
            for message in resend:
                if message.seq in again:
                    await self._send(consumer, message, now)
        room = MAX_INFLIGHT - len(consumer.inflight)
        if self.ctx.quotas is not None:  # opt-in monthly quotas: no more new messages than the month has left
            room = min(room, self.ctx.quotas.messages_left(key[0], now))
        if room > 0:
            for message in await store.unacked_messages(*key, cursor, room):
                await self._send(consumer, message, now)
                cursor = message.seq
        return cursor

    def _record_acks(self, consumer: Consumer, cursor: int) -> None:
        """Write the acknowledgements received so far, beside delivery rather than before it: a write is a durable
        commit (on PostgreSQL a group commit, a disk flush), and delivery waiting for it held every new message
        back by that long. One write at a time per consumer, so marks are written in the order they were made;
        acks that arrive meanwhile go with the next one. A failed write keeps its acks for the next, and the
        next round raises its error (the store is down: delivery backs off as before). Nothing is lost by
        writing later: an acknowledgement not yet written only means a redelivery after a crash, which
        at-least-once allows."""
        key = consumer.key
        # Everything sent up to the cursor that is no longer in flight is acknowledged; acks above the new mark
        # (out of order) are recorded individually, with those of messages sent on earlier connections.
        mark = (min(consumer.inflight) - 1) if consumer.inflight else cursor
        stray = sorted(consumer.acks | {s for s in consumer.acked if s > mark})
        acks, acked = consumer.acks, consumer.acked
        consumer.acks, consumer.acked = set(), set()

        async def ack(tx: Tx) -> None:
            await tx.advance(*key, mark, stray, self.ctx.clock.now_ms())

        async def record() -> None:
            try:
                await self.ctx.store.transaction(ack)
            except Exception as error:  # not recorded: keep them for the next write
                consumer.acks |= acks
                consumer.acked |= acked
                consumer.record_failed = error
                consumer.wake.set()
                return
            self.acknowledged += len(acks) + len(acked)  # counted once durable
            if consumer.acks or consumer.acked:
                consumer.wake.set()  # acks that came meanwhile: the next round writes them

        consumer.recording = asyncio.create_task(record(), name="message-acks")

    async def _send(self, consumer: Consumer, message: Message, now: int) -> None:
        deliveries = self._deliveries.setdefault(consumer.key, {})
        count = deliveries.get(message.seq, 0)
        deliveries[message.seq] = count + 1
        self.delivered += 1
        if count:
            self.redelivered += 1
        elif self.ctx.quotas is not None:
            self.ctx.quotas.message_sent(consumer.key[0], now)  # the monthly message quota (domain/projects/quotas.py)
        if len(deliveries) > 4 * MAX_INFLIGHT:  # forget counts of long-acknowledged messages
            for seq in sorted(deliveries)[: len(deliveries) - 2 * MAX_INFLIGHT]:
                deliveries.pop(seq, None)
        project = consumer.project
        payload = codec.tuya_message(message.protocol, message.data, project.access_secret,
                                     project.message_encryption, message.created_ms)
        frame = codec.frame(message.seq, payload, project.message_encryption, self.ctx.ids.unique_hex(),
                            message.created_ms, count, message.device_id)
        consumer.inflight[message.seq] = now
        await consumer.send(frame)
