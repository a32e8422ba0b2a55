"""Run ``tuyacloud`` with a stamp at each step of a command's way to the MQTT subscriber, for bench/mqtt.py --trace.

    python bench/traced_server.py OUT.json serve ...      # SIGUSR2: write the stamps to OUT.json

The stamps are ``time.monotonic()`` (system-wide, so they compare with the producer's send times and the
consumers' receipt times), per command, keyed by device id and the commanded ``countdown_1`` value (unique per
command in the benchmark). The steps are wrapped from outside (nothing in the product knows about them):

- ``request``: the route calls the domain's ``send_commands`` (the request was read, routed and authenticated);
- ``unit``: the SQLite writer runs the command's unit of work (it waited for the writer meanwhile);
- ``commit``: the writer sends its batch's COMMIT to the commit thread (the batch's other units ran meanwhile);
- ``durable``: the COMMIT is back on the event loop and the batch is announced to the message channels;
- ``relay``: the open-hub channel starts encrypting the message (it was woken and read the log meanwhile);
- ``encrypted``: the MQTT payload is ready and handed to the broker;
- ``written``: amqtt wrote the PUBLISH packet to the subscriber's socket (its task ran and took the write lock);
- ``acked``: the subscriber's PUBACK ended amqtt's QoS 1 flow for it (the broker holds the message until then);
- ``pulsar``: the Pulsar WebSocket frame of the same message was handed to its connection.

Stamping costs a few microseconds per step; the latencies of a traced run are a little higher than a plain one's.
"""

from __future__ import annotations

import functools
import gc
import os
import runpy
import signal
import sys
import time
from typing import Any

import orjson

CODE = "countdown_1"
STAMPS: dict[str, dict[str, float]] = {}
GC: list[tuple[int, float, float, int]] = []  # (generation, started, ms, objects freed) of each collection
_gc_started = [0.0]
_batch: list[str] = []  # keys of the units the writer ran since its last COMMIT
_payloads: dict[int, str] = {}  # id of an MQTT payload -> its key, until it is written
_acked: dict[int, str] = {}  # id of a message in flight on the direct QoS 1 path -> its key


def _key(device_id: str, pairs: Any) -> str | None:
    for code, value in pairs:
        if code == CODE:
            return f"{device_id}|{value}"
    return None


def _stamp(key: str | None, step: str) -> None:
    if key is not None:
        STAMPS.setdefault(key, {}).setdefault(step, time.monotonic())


def _data_key(data: dict[str, Any]) -> str | None:
    return _key(data.get("devId", ""), ((s.get("code"), s.get("value")) for s in data.get("status", ())))


YOUNG: dict[str, int] = {}  # what the first young collections of the run found, by type
_young_samples = [0]


def _gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        if _young_samples[0] > 0 and info["generation"] == 0:
            _young_samples[0] -= 1
            for obj in gc.get_objects(0):
                name = type(obj).__qualname__
                YOUNG[name] = YOUNG.get(name, 0) + 1
        _gc_started[0] = time.perf_counter()
    else:
        GC.append((info["generation"], time.monotonic(), (time.perf_counter() - _gc_started[0]) * 1000,
                   info["collected"]))


def _trace_qos1(qos1: Any) -> None:
    sender_send = qos1.QoS1Sender.send

    def traced_sender_send(self: Any, handler: Any, session: Any, topic: str, data: bytes) -> bool:
        sent = sender_send(self, handler, session, topic, data)
        if sent:
            key = _payloads.pop(id(data), None)
            _stamp(key, "written")
            if key is not None:
                message = session.inflight_out.get(session._packet_id)
                if message is not None and message.data is data:
                    _acked[id(message)] = key
        return sent

    qos1.QoS1Sender.send = traced_sender_send
    ended = qos1._ended

    def traced_ended(waiters: Any, session: Any, message: Any, waiter: Any) -> None:
        ended(waiters, session, message, waiter)
        _stamp(_acked.pop(id(message), None), "acked")

    qos1._ended = traced_ended


SQL: list[tuple[str, float, float, str]] = []  # (statement, started, ms, thread) of each COMMIT, checkpoint
_SQL_TIMED = ("COMMIT", "PRAGMA wal_checkpoint(PASSIVE)", "BEGIN IMMEDIATE")
BATCHES: list[tuple[float, float, int, int]] = []  # (started, ms, units, WAL bytes) of each of the writer's batches
ACKS: list[tuple[float, float, int]] = []  # (started, ms, acks) of each write of Pulsar acknowledgements
RENEWS: list[tuple[float, float, int]] = []  # the Pulsar consumer's lease renewals (before: delivery waited)
SAVES: list[tuple[float, float, int]] = []  # the open-hub channel's saves of positions (before: its pump waited)
REFRESHES: list[tuple[float, float, int]] = []  # the open-hub channel's refreshes of its links


def _trace_sqlite(sqlite: Any) -> None:
    """Time the writer's COMMITs and BEGINs and the checkpoints (a connection class of our own), and each batch."""
    import sqlite3
    import threading

    class TimedConnection(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> Any:  # type: ignore[override]
            if sql not in _SQL_TIMED:
                return super().execute(sql, *args)
            started = time.monotonic()
            try:
                return super().execute(sql, *args)
            finally:
                SQL.append((sql.split()[0] if sql[0] != "P" else "CHECKPOINT", started,
                            (time.monotonic() - started) * 1000, threading.current_thread().name))

    connect = sqlite3.connect

    def timed_connect(*args: Any, **kw: Any) -> Any:  # the store's own _connect, with our connection class
        return connect(*args, factory=TimedConnection, **kw)

    real_connect = sqlite._connect

    def traced_connect(path: str) -> Any:
        sqlite3.connect = timed_connect
        try:
            return real_connect(path)
        finally:
            sqlite3.connect = connect

    sqlite._connect = traced_connect
    commit_batch = sqlite.SqliteStore._commit_batch

    async def traced_commit_batch(self: Any, loop: Any, conn: Any, tx: Any, batch: Any) -> Any:
        started = time.monotonic()
        try:
            return await commit_batch(self, loop, conn, tx, batch)
        finally:
            try:
                wal = os.path.getsize(self.path + "-wal")  # does the log wrap (checkpoints catch up) or only grow?
            except OSError:
                wal = -1
            BATCHES.append((started, (time.monotonic() - started) * 1000, len(batch), wal))

    sqlite.SqliteStore._commit_batch = traced_commit_batch


def install() -> None:
    gc.callbacks.append(_gc)
    from amqtt.mqtt.protocol import handler as amqtt_handler

    from tuyacloud.domain.devices import commands
    from tuyacloud.messaging import hub
    from tuyacloud.messaging.mqtt import channel
    from tuyacloud.store import sqlite

    _trace_sqlite(sqlite)
    send_commands = commands.send_commands

    @functools.wraps(send_commands)
    async def traced_send(ctx: Any, project: Any, device_id: str, body: Any, *args: Any, **kw: Any) -> Any:
        _stamp(_key(device_id, body.pairs()), "request")
        return await send_commands(ctx, project, device_id, body, *args, **kw)

    commands.send_commands = traced_send  # type: ignore[assignment]

    # the unit's step: the domain's ``_apply`` (a client's command runs it directly in its unit), or in older trees
    # ``_write_changes`` (which ran every command's unit)
    apply = getattr(commands, "_apply", None)
    if apply is not None:
        @functools.wraps(apply)
        async def traced_apply(ctx: Any, tx: Any, device: Any, product: Any, cmds: Any, *args: Any) -> Any:
            key = _key(device.id, cmds or ())
            _stamp(key, "unit")
            if key is not None:
                _batch.append(key)
            return await apply(ctx, tx, device, product, cmds, *args)

        commands._apply = traced_apply  # type: ignore[attr-defined]
    else:
        write_changes = commands._write_changes

        @functools.wraps(write_changes)
        async def traced_write(ctx: Any, tx: Any, device_id: str, region: str, product: Any, cmds: Any,
                               *args: Any) -> Any:
            key = _key(device_id, cmds or ())
            _stamp(key, "unit")
            if key is not None:
                _batch.append(key)
            return await write_changes(ctx, tx, device_id, region, product, cmds, *args)

        commands._write_changes = traced_write  # type: ignore[assignment]

    check_identity = sqlite.SqliteStore._check_identity

    def traced_check(self: Any) -> Any:  # called once per batch, just before its COMMIT
        for key in _batch:
            _stamp(key, "commit")
        return check_identity(self)

    sqlite.SqliteStore._check_identity = traced_check  # type: ignore[method-assign]

    announce = sqlite.SqliteStore._announce

    def traced_announce(self: Any, touched: Any) -> Any:
        for key in _batch:
            _stamp(key, "durable")
        _batch.clear()
        return announce(self, touched)

    sqlite.SqliteStore._announce = traced_announce  # type: ignore[method-assign]

    payload = channel.codec.payload

    @functools.wraps(payload)
    def traced_payload(protocol: int, plaintext: bytes, *args: Any) -> bytes:
        key = _data_key(orjson.loads(plaintext)) if protocol == 4 else None
        _stamp(key, "relay")
        out = payload(protocol, plaintext, *args)
        _stamp(key, "encrypted")
        if key is not None:
            _payloads[id(out)] = key
        return out

    channel.codec.payload = traced_payload  # type: ignore[attr-defined]

    send_packet = amqtt_handler.ProtocolHandler._send_packet

    async def traced_send_packet(self: Any, packet: Any) -> Any:
        result = await send_packet(self, packet)
        data = getattr(packet, "data", None)
        if data is not None:
            _stamp(_payloads.pop(id(data), None), "written")
        return result

    amqtt_handler.ProtocolHandler._send_packet = traced_send_packet  # type: ignore[method-assign]

    mqtt_publish = amqtt_handler.ProtocolHandler.mqtt_publish

    async def traced_mqtt_publish(self: Any, topic: str, data: bytes, *args: Any, **kw: Any) -> Any:
        key = _payloads.get(id(data))
        result = await mqtt_publish(self, topic, data, *args, **kw)
        _stamp(key, "acked")
        return result

    amqtt_handler.ProtocolHandler.mqtt_publish = traced_mqtt_publish  # type: ignore[method-assign]

    try:  # the direct QoS 1 path (messaging/mqtt/qos1.py; an older tree, run with --src, has none)
        from tuyacloud.messaging.mqtt import qos1
    except ImportError:
        qos1 = None  # type: ignore[assignment]
    if qos1 is not None:
        _trace_qos1(qos1)

    hub_send = hub.Hub._send

    async def traced_hub_send(self: Any, consumer: Any, message: Any, now: int) -> Any:
        result = await hub_send(self, consumer, message, now)
        if message.protocol == 4:
            _stamp(_data_key(message.data), "pulsar")
        return result

    hub.Hub._send = traced_hub_send  # type: ignore[method-assign]

    record_acks = hub.Hub._record_acks

    def traced_record_acks(self: Any, consumer: Any, cursor: int) -> None:
        started, n = time.monotonic(), len(consumer.acks) + len(consumer.acked)
        record_acks(self, consumer, cursor)
        task = consumer.recording
        if task is not None:
            task.add_done_callback(lambda _: ACKS.append((started, (time.monotonic() - started) * 1000, n)))

    hub.Hub._record_acks = traced_record_acks  # type: ignore[method-assign]

    def timed(cls: Any, name: str, into: list[tuple[float, float, int]]) -> None:
        """Time each call of an async method that a delivery loop awaits (bookkeeping writes and reads)."""
        method = getattr(cls, name)

        async def wrapper(*args: Any, **kw: Any) -> Any:
            started = time.monotonic()
            try:
                return await method(*args, **kw)
            finally:
                into.append((started, (time.monotonic() - started) * 1000, 0))

        setattr(cls, name, wrapper)

    timed(hub.Hub, "_renew", RENEWS)
    timed(channel.OpenHubChannel, "_save", SAVES)
    timed(channel.OpenHubChannel, "_refresh", REFRESHES)


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]

    before: dict[str, int] = {}

    def objects() -> dict[str, int]:
        counts: dict[str, int] = {}
        for obj in gc.get_objects():
            name = type(obj).__qualname__
            counts[name] = counts.get(name, 0) + 1
        return counts

    def mark(*_: Any) -> None:  # SIGUSR1: count the collector's objects by type (the run's growth is printed)
        before.clear()
        before.update(objects())
        gc.set_debug(gc.DEBUG_SAVEALL)  # keep what the collections free, to count it by type at the dump
        _young_samples[0] = 3

    def dump(*_: Any) -> None:
        gc.set_debug(0)
        garbage: dict[str, int] = {}
        for obj in gc.garbage:
            name = type(obj).__qualname__
            garbage[name] = garbage.get(name, 0) + 1
        gc.garbage.clear()
        grown = {name: n - before.get(name, 0) for name, n in objects().items()} if before else {}
        with open(out, "wb") as fh:
            fh.write(orjson.dumps({**STAMPS, "_gc": GC, "_grown": grown, "_garbage": garbage, "_young": YOUNG,
                                   "_sql": SQL, "_batches": BATCHES, "_acks": ACKS,
                                   "_renews": RENEWS, "_saves": SAVES, "_refreshes": REFRESHES}))

    signal.signal(signal.SIGUSR1, mark)
    signal.signal(signal.SIGUSR2, dump)
    if os.environ.get("TRACE_SWITCH_INTERVAL"):  # an experiment's knob: the GIL switch interval the server sets
        interval = float(os.environ["TRACE_SWITCH_INTERVAL"])
        set_interval = sys.setswitchinterval
        sys.setswitchinterval = lambda _: set_interval(interval)
    if os.environ.get("TRACE_GC_THRESHOLD"):  # an experiment's knob: the thresholds the server sets after start-up
        wanted = tuple(int(n) for n in os.environ["TRACE_GC_THRESHOLD"].split(","))
        set_threshold = gc.set_threshold
        gc.set_threshold = lambda *_: set_threshold(*wanted)  # type: ignore[assignment]
    install()
    sys.argv = ["tuyacloud", *args]
    runpy.run_module("tuyacloud.cli.main", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
