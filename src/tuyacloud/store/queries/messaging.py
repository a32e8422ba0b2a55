"""The message service's queries: the log read by subscriptions, acknowledgements, the failover lease,
connected consumers and retention. Mixed into ``Queries``; portable SQL like the rest of the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from tuyacloud.models import Message
from tuyacloud.store.queries.primitives import Primitives, dumps

_UNACKED = (
    "FROM messages m WHERE m.access_id = ? AND m.seq > ? AND NOT EXISTS ("
    "SELECT 1 FROM subscription_acks a WHERE a.access_id = m.access_id AND a.env = ? AND a.name = ? AND a.seq = m.seq)"
)


@dataclass
class SubscriptionRow:
    access_id: str
    env: str
    name: str
    mark_seq: int
    last_ack_ms: int | None
    owner: str | None
    lease_until_ms: int


@dataclass
class ConsumerRow:
    id: str
    access_id: str
    env: str
    name: str
    address: str
    connected_ms: int
    last_seen_ms: int


class MessageQueries(Primitives):
    touched_projects: set[str]  # projects this transaction appended messages for (the engine announces them)
    appended_messages: int

    # --- message outbox ---------------------------------------------------------------------------
    async def append_message(self, m: Message) -> None:
        await self.execute(
            "INSERT INTO messages (access_id, region, protocol, device_id, data, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
            (m.access_id, m.region, m.protocol, m.device_id, dumps(m.data), m.created_ms),
        )
        self.touched_projects.add(m.access_id)
        self.appended_messages += 1

    async def messages_after(self, access_id: str, after_seq: int, limit: int = 100) -> list[Message]:
        rows = await self.fetch(
            "SELECT access_id, region, protocol, device_id, data, created_ms, seq FROM messages "
            "WHERE access_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (access_id, after_seq, limit),
        )
        return [Message(r[0], r[1], int(r[2]), r[3], orjson.loads(r[4]), int(r[5]), int(r[6])) for r in rows]

    async def ensure_subscription(self, access_id: str, env: str, name: str) -> None:
        await self.execute(
            "INSERT INTO subscriptions (access_id, env, name, mark_seq, lease_until_ms) VALUES (?, ?, ?, 0, 0) "
            "ON CONFLICT (access_id, env, name) DO NOTHING",
            (access_id, env, name),
        )

    async def get_subscriptions(self, access_id: str) -> list[SubscriptionRow]:
        rows = await self.fetch(
            "SELECT access_id, env, name, mark_seq, last_ack_ms, owner, lease_until_ms FROM subscriptions "
            "WHERE access_id = ? ORDER BY env, name",
            (access_id,),
        )
        return [SubscriptionRow(r[0], r[1], r[2], int(r[3]), r[4], r[5], int(r[6])) for r in rows]

    async def get_subscription(self, access_id: str, env: str, name: str) -> SubscriptionRow | None:
        for sub in await self.get_subscriptions(access_id):
            if (sub.env, sub.name) == (env, name):
                return sub
        return None

    async def unacked_messages(self, access_id: str, env: str, name: str, after_seq: int,
                               limit: int) -> list[Message]:
        rows = await self.fetch(
            f"SELECT m.access_id, m.region, m.protocol, m.device_id, m.data, m.created_ms, m.seq {_UNACKED} "
            "ORDER BY m.seq LIMIT ?",
            (access_id, after_seq, env, name, limit),
        )
        return [Message(r[0], r[1], int(r[2]), r[3], orjson.loads(r[4]), int(r[5]), int(r[6])) for r in rows]

    async def backlog(self, access_id: str, env: str, name: str, mark_seq: int) -> tuple[int, int | None]:
        """(unacknowledged count, publish time of the oldest unacknowledged message)."""
        row = await self.fetch(f"SELECT COUNT(*), MIN(m.created_ms) {_UNACKED}", (access_id, mark_seq, env, name))
        count, oldest = row[0]
        return int(count), (int(oldest) if oldest is not None else None)

    async def all_backlogs(self) -> list[tuple[str, str, str, int]]:
        """(access id, env, subscription, unacknowledged count) of every subscription, in one query: what a
        metrics scrape reads (per-project calls would cost a round trip per subscription)."""
        rows = await self.fetch(
            "SELECT s.access_id, s.env, s.name, (SELECT COUNT(*) FROM messages m WHERE m.access_id = s.access_id "
            "AND m.seq > s.mark_seq AND NOT EXISTS (SELECT 1 FROM subscription_acks a WHERE a.access_id = s.access_id "
            "AND a.env = s.env AND a.name = s.name AND a.seq = m.seq)) FROM subscriptions s ORDER BY 1, 2, 3"
        )
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]

    async def acknowledge(self, access_id: str, env: str, name: str, seqs: Sequence[int], now_ms: int) -> int:
        """Record acks, then move the mark past every acknowledged prefix and forget the acks below it.

        Only acks of messages that exist in the project's log are recorded: the mark may jump to the highest
        ack, so an ack of an id that names no message (a stale or foreign ``messageId``) would otherwise mark
        every later message as acknowledged before it was even written.
        """
        for seq in seqs:
            await self.execute(
                "INSERT INTO subscription_acks (access_id, env, name, seq) "
                "SELECT ?, ?, ?, m.seq FROM messages m WHERE m.access_id = ? AND m.seq = ? "
                "ON CONFLICT (access_id, env, name, seq) DO NOTHING",
                (access_id, env, name, access_id, seq),
            )
        sub = await self.get_subscription(access_id, env, name)
        if sub is None:
            return 0
        first_unacked = await self.fetch(f"SELECT MIN(m.seq) {_UNACKED}", (access_id, sub.mark_seq, env, name))
        if first_unacked[0][0] is not None:
            mark = int(first_unacked[0][0]) - 1
        else:
            top = await self.fetch(
                "SELECT MAX(seq) FROM subscription_acks WHERE access_id = ? AND env = ? AND name = ?",
                (access_id, env, name),
            )
            mark = max(sub.mark_seq, int(top[0][0]) if top[0][0] is not None else sub.mark_seq)
        await self.execute(
            "UPDATE subscriptions SET mark_seq = ?, last_ack_ms = ? WHERE access_id = ? AND env = ? AND name = ?",
            (max(mark, sub.mark_seq), now_ms, access_id, env, name),
        )
        await self.execute(
            "DELETE FROM subscription_acks WHERE access_id = ? AND env = ? AND name = ? AND seq <= ?",
            (access_id, env, name, mark),
        )
        return mark

    async def advance(self, access_id: str, env: str, name: str, mark: int, stray_seqs: Sequence[int],
                      now_ms: int) -> None:
        """The active consumer's acknowledgements in one statement or two.

        The consumer knows its position exactly (it sent every message up to its cursor in order, and those not
        in flight are acknowledged), so the mark moves there directly; it never moves back, should a consumer
        whose lease expired still write. Acks of messages it did not send (from an earlier connection) are
        recorded one by one, and only for messages that exist, as ``acknowledge`` does.
        """
        await self.execute(
            "UPDATE subscriptions SET mark_seq = CASE WHEN mark_seq < ? THEN ? ELSE mark_seq END, last_ack_ms = ? "
            "WHERE access_id = ? AND env = ? AND name = ?",
            (mark, mark, now_ms, access_id, env, name),
        )
        if stray_seqs:
            await self.acknowledge(access_id, env, name, stray_seqs, now_ms)

    async def take_lease(self, access_id: str, env: str, name: str, owner: str, now_ms: int,
                         until_ms: int) -> bool:
        """Become (or stay) the active consumer: only when the lease is ours, free or expired."""
        changed = await self.execute(
            "UPDATE subscriptions SET owner = ?, lease_until_ms = ? WHERE access_id = ? AND env = ? AND name = ? "
            "AND (owner = ? OR owner IS NULL OR lease_until_ms < ?)",
            (owner, until_ms, access_id, env, name, owner, now_ms),
        )
        return changed == 1

    async def release_lease(self, access_id: str, env: str, name: str, owner: str) -> None:
        await self.execute(
            "UPDATE subscriptions SET owner = NULL, lease_until_ms = 0 "
            "WHERE access_id = ? AND env = ? AND name = ? AND owner = ?",
            (access_id, env, name, owner),
        )

    async def upsert_consumer(self, c: ConsumerRow) -> None:
        await self.execute(
            "INSERT INTO consumers (id, access_id, env, name, address, connected_ms, last_seen_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms",
            (c.id, c.access_id, c.env, c.name, c.address, c.connected_ms, c.last_seen_ms),
        )

    async def delete_consumer(self, consumer_id: str) -> None:
        await self.execute("DELETE FROM consumers WHERE id = ?", (consumer_id,))

    async def list_consumers(self, access_id: str, seen_after_ms: int) -> list[ConsumerRow]:
        rows = await self.fetch(
            "SELECT id, access_id, env, name, address, connected_ms, last_seen_ms FROM consumers "
            "WHERE access_id = ? AND last_seen_ms >= ? ORDER BY connected_ms",
            (access_id, seen_after_ms),
        )
        return [ConsumerRow(r[0], r[1], r[2], r[3], r[4], int(r[5]), int(r[6])) for r in rows]

    async def delete_messages_before(self, created_before_ms: int) -> int:
        """Retention: messages past it go, acknowledged or not (as Pulsar's retention/TTL does)."""
        return await self.execute("DELETE FROM messages WHERE created_ms < ?", (created_before_ms,))

    async def delete_stale_consumers(self, seen_before_ms: int) -> int:
        return await self.execute("DELETE FROM consumers WHERE last_seen_ms < ?", (seen_before_ms,))
