"""Message service benchmark: from a signed command to the consumer holding the decrypted status report.

    python bench/messages.py [--engines sqlite,postgres] [--rates 100,1000] [--duration 10] [--sustain 10]
                             [--workers 1,2] [--consumer lean|classic] [--nice -10]

For each engine (and, on PostgreSQL, each ``--workers`` count): one ``tuyacloud serve --no-demo --no-simulator``,
pinned to core 0 with one worker (``--workers N`` > 1: not pinned, N workers need N cores). The producer and the
consumer are processes of their own, both on core 1. The consumer speaks the Pulsar WebSocket API as TuyaOpenPulsar
does: it decrypts and parses every message and acknowledges it. ``--consumer lean`` (the default) is a bare-socket
client (frames parsed by hand, orjson, one AES decryptor) costing ~25 µs of CPU per message; ``classic`` is the
websocket-client library the official client uses (several hundred µs per message: with it the bench, not the
server, was the bound of the sustained rate).
1. Latency at fixed rates: commands (``countdown_1`` = a unique value per command, signed before the run) paced at
   R per second over 32 keep-alive connections; latency = consumer receipt of that value's report - the moment the
   command was due (no coordinated omission).
2. Sustained rate: the same producer as fast as the server answers (``--connections``, 32 by default, each sending
   its next command when its last is answered) for ``--sustain`` seconds; events/s = messages received / (last
   receipt - start).
   CPU per event of each process (utime + stime from /proc/<pid>/stat): the server (all workers and threads), the
   PostgreSQL sessions serving it, PostgreSQL's background processes, the producer and the consumer. On a machine
   shared with other work the CPU per event is the figure to compare; the load average is printed beside it.
Checked in every run: every command answered success:true has its message at the consumer; per device, no message
arrives before that of a command answered before its own was sent; after the runs the server's /metrics shows no
unacknowledged message left on the subscription (acknowledgements recorded in the store, all workers).
PostgreSQL runs with its default durability (fsync on) in a throwaway cluster started by scripts/pg-test-cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent / "src"))

import websocket  # noqa: E402

import openapi as ob  # noqa: E402
from tuyacloud.messaging.codec import decrypt_ecb, message_key, ws_password  # noqa: E402

CODE = "countdown_1"


@dataclass
class Consumer:
    """A Pulsar-WebSocket consumer in a thread: decrypts, records receipt times per (device, value), acks."""

    url: str
    access_id: str
    secret: str
    received: dict[tuple[str, int], float] = field(default_factory=dict)
    arrivals: list[tuple[str, int]] = field(default_factory=list)  # every countdown report, in arrival order
    count: int = 0
    first: float = 0.0
    last: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        key = message_key(self.secret)
        ws = websocket.create_connection(
            f"{self.url}/ws/v2/consumer/persistent/{self.access_id}/out/event/{self.access_id}-sub"
            "?ackTimeoutMillis=30000&subscriptionType=Failover",
            header=[f"username: {self.access_id}", f"password: {ws_password(self.access_id, self.secret)}"],
            timeout=1,
        )
        self.ready.set()
        try:
            while not self.stop.is_set():
                try:
                    raw = ws.recv()
                except websocket.WebSocketTimeoutException:
                    continue
                if not raw:  # closed
                    break
                now = time.monotonic()
                frame = json.loads(raw)
                ws.send(json.dumps({"messageId": frame["messageId"]}))
                message = json.loads(base64.b64decode(frame["payload"]))
                if message["protocol"] != 4:
                    continue
                data = json.loads(decrypt_ecb(message["data"], key))
                for item in data["status"]:
                    if item["code"] == CODE:
                        self.received.setdefault((data["devId"], item["value"]), now)
                        self.arrivals.append((data["devId"], item["value"]))
                self.count += 1
                self.first = self.first or now
                self.last = now
        finally:
            ws.close()


@dataclass
class LeanConsumer(Consumer):
    """The same consumer (Pulsar WebSocket API, every message decrypted and acknowledged one by one) on a bare
    socket: frames parsed here, JSON by orjson, one ECB decryptor per key, the acknowledgements of what one
    ``recv`` brought written in one ``send`` (each still a frame of its own, masked as a client's must be). The
    websocket-client consumer used ~450 µs of CPU per message on the core it shares with the producer and the MQTT
    consumer (docs/performance.md, session 9); each message's receipt time is taken after its decryption, as
    before."""

    def run(self) -> None:
        import socket

        import orjson
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        decryptor = Cipher(algorithms.AES(message_key(self.secret)), modes.ECB()).decryptor()  # noqa: S305
        host, port = self.url.removeprefix("ws://").rsplit(":", 1)
        sock = socket.create_connection((host, int(port)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        path = (f"/ws/v2/consumer/persistent/{self.access_id}/out/event/{self.access_id}-sub"
                "?ackTimeoutMillis=30000&subscriptionType=Failover")
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"username: {self.access_id}\r\n"
                      f"password: {ws_password(self.access_id, self.secret)}\r\n\r\n").encode())
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += sock.recv(65536)
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"upgrade refused: {head[:200]!r}")
        sock.settimeout(1)
        self.ready.set()
        received = self.received
        arrivals = self.arrivals
        try:
            while not self.stop.is_set():
                try:
                    chunk = sock.recv(262144)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                buffer += chunk
                out = []
                at = 0
                while True:  # whole frames in the buffer (the server's are not masked)
                    if len(buffer) - at < 2:
                        break
                    opcode, size = buffer[at] & 0x0F, buffer[at + 1] & 0x7F
                    start = at + 2
                    if size == 126:
                        size, start = int.from_bytes(buffer[start:start + 2], "big"), start + 2
                    elif size == 127:
                        size, start = int.from_bytes(buffer[start:start + 8], "big"), start + 8
                    if len(buffer) < start + size:
                        break
                    payload, at = buffer[start:start + size], start + size
                    if opcode == 9:  # ping
                        out.append(_client_frame(10, payload))
                        continue
                    if opcode == 8:  # close
                        self.stop.set()
                        break
                    if opcode != 1:
                        continue
                    frame = orjson.loads(payload)
                    out.append(_client_frame(1, orjson.dumps({"messageId": frame["messageId"]})))
                    message = orjson.loads(base64.b64decode(frame["payload"]))
                    if message["protocol"] != 4:
                        continue
                    padded = decryptor.update(base64.b64decode(message["data"]))
                    data = orjson.loads(padded[:-padded[-1]])
                    now = time.monotonic()
                    for item in data["status"]:
                        if item["code"] == CODE:
                            received.setdefault((data["devId"], item["value"]), now)
                            arrivals.append((data["devId"], item["value"]))
                    self.count += 1
                    self.first = self.first or now
                    self.last = now
                buffer = buffer[at:]
                if out:
                    sock.sendall(b"".join(out))
        finally:
            sock.close()


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """A final client frame, masked (RFC 6455 5.3: a fresh random key per frame)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode, 0x80 | n]) if n < 126 else bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    repeated = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    return head + mask + masked


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def paced(port: int, project: ob.Project, devices: list[str], rate: int, seconds: float,
                start_value: int) -> dict[tuple[str, int], float]:
    """Commands at a fixed rate over 32 keep-alive connections (raw HTTP/1.1: a Python HTTP client would be the
    bottleneck); returns (device, value) -> scheduled send time of every command answered success. Latency is
    counted from the scheduled time, so a producer falling behind shows up in it (no coordinated omission).
    The "classic" producer: signs each command as it sends it, asyncio streams (``--producer classic``)."""
    sent: dict[tuple[str, int], float] = {}
    queue: asyncio.Queue[tuple[str, int, float] | None] = asyncio.Queue()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (item := await queue.get()) is not None:
                device, value, at = item
                body = json.dumps({"commands": [{"code": CODE, "value": value}]}, separators=(",", ":")).encode()
                path = f"/v1.0/devices/{device}/commands"
                headers = ob.signed_headers(project, "POST", path, body)
                head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
                writer.write(head.encode() + body)
                await writer.drain()
                response_head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"content-length: *(\d+)", response_head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
                if b'"success":true' in await reader.readexactly(length):
                    sent[(device, value)] = at
        finally:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(32)]
    begin = time.monotonic()
    for i in range(int(rate * seconds)):
        at = begin + i / rate
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((devices[i % len(devices)], (start_value + i) % 86400, at))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return sent


def signed_commands(project: ob.Project, devices: list[str], n: int,
                    start_value: int) -> list[tuple[tuple[str, int], bytes]]:
    """The ``n`` commands of a paced run as the bytes to send, signed before the run starts (their ``t`` is the
    signing time, well inside the server's 900 s window): the server verifies each as usual, but the producer
    sharing a core with both consumers no longer spends ~100 µs of Python per command signing and formatting while
    the latency is being measured."""
    t = str(int(time.time() * 1000))
    out = []
    for i in range(n):
        device, value = devices[i % len(devices)], (start_value + i) % 86400
        body = json.dumps({"commands": [{"code": CODE, "value": value}]}, separators=(",", ":")).encode()
        path = f"/v1.0/devices/{device}/commands"
        headers = ob.signed_headers(project, "POST", path, body, t=t)
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        out.append(((device, value), head.encode() + body))
    return out


class _Link(asyncio.Protocol):
    """One keep-alive connection of the lean producer: one request at a time, its answer parsed by hand."""

    def __init__(self, producer: _Lean) -> None:
        self.producer = producer
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.current: tuple[tuple[str, int], float, float] | None = None  # (key, scheduled, written)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            self.buffer = buffer
            return
        at = buffer.lower().find(b"content-length:", 0, end)
        length = int(buffer[at + 15:buffer.index(b"\r\n", at)])
        if len(buffer) < end + 4 + length:
            self.buffer = buffer
            return
        self.buffer = buffer[end + 4 + length:]
        current, self.current = self.current, None
        if current is not None and b'"success":true' in buffer[end + 4:end + 4 + length]:
            self.producer.sent[current[0]] = current[1]
            self.producer.spans[current[0]] = (current[2], time.monotonic())
        self.producer.idle(self)

    def connection_lost(self, exc: Exception | None) -> None:
        # The server closes a keep-alive connection idle past its time-out (5 s by default), as any HTTP client
        # expects: an idle link is replaced; a request in flight on a closed link is counted lost, never as sent.
        self.transport = None
        producer = self.producer
        if self.current is None:
            if self in producer.free:
                producer.free.remove(self)
        else:
            self.current = None
            producer.busy -= 1
            producer.lost += 1
        producer.replace()
        producer.wake()


class _Lean:
    def __init__(self) -> None:
        self.sent: dict[tuple[str, int], float] = {}
        # (written, answered) of each command answered success: per-device order is checked against them
        self.spans: dict[tuple[str, int], tuple[float, float]] = {}
        self.free: list[_Link] = []
        self.backlog: collections.deque[tuple[tuple[str, int], bytes, float]] = collections.deque()
        self.lost = 0
        self.done: asyncio.Future[None] | None = None
        self.busy = 0
        self.port = 0
        self.reconnecting: set[asyncio.Task[None]] = set()
        self.unsent = 0
        self.seconds = 0.0

    def replace(self) -> None:
        """Open a new link in place of one the server closed."""
        if self.port:
            task = asyncio.get_running_loop().create_task(self._connect())
            self.reconnecting.add(task)
            task.add_done_callback(self.reconnecting.discard)

    async def _connect(self) -> None:
        _, link = await asyncio.get_running_loop().create_connection(lambda: _Link(self), "127.0.0.1", self.port)
        if self.backlog:
            self._send(link, *self.backlog.popleft())
        else:
            self.free.append(link)

    def submit(self, key: tuple[str, int], data: bytes, at: float) -> None:
        if self.free:
            self._send(self.free.pop(), key, data, at)
        else:
            self.backlog.append((key, data, at))

    def _send(self, link: _Link, key: tuple[str, int], data: bytes, at: float) -> None:
        link.current = (key, at, time.monotonic())
        self.busy += 1
        assert link.transport is not None
        link.transport.write(data)

    def idle(self, link: _Link) -> None:
        self.busy -= 1
        if self.backlog:
            self._send(link, *self.backlog.popleft())
        else:
            self.free.append(link)
            self.wake()

    def wake(self) -> None:
        if self.done is not None and not self.done.done() and self.busy == 0 and not self.backlog:
            self.done.set_result(None)


async def paced_lean(port: int, requests: list[tuple[tuple[str, int], bytes]],
                     rate: int) -> dict[tuple[str, int], float]:
    """As :func:`paced` (32 keep-alive connections, one request at a time on each, latency from each command's
    scheduled time), with the commands signed before the run and the answers read by a bare protocol: per
    command one ``write`` and one parse of the answer's head, so that the producer's CPU is a small part of the
    core it shares with the consumers."""
    return (await lean_run(port, requests, rate, len(requests) / rate)).sent


async def lean_run(port: int, requests: list[tuple[tuple[str, int], bytes]], rate: int, seconds: float,
                   connections: int = 32) -> _Lean:
    """The lean producer's run. ``rate`` > 0: paced (see :func:`paced_lean`). ``rate`` 0: as fast as the server
    answers (a closed loop of ``connections``, each sending its next command when the last is answered, as wrk
    does) for ``seconds``, then the commands in flight are answered and the rest are not sent."""
    loop = asyncio.get_running_loop()
    producer = _Lean()
    producer.port = port
    for _ in range(connections):
        _, link = await loop.create_connection(lambda: _Link(producer), "127.0.0.1", port)
        producer.free.append(link)
    begin = time.monotonic()
    i, n = 0, len(requests)
    if rate <= 0:
        for key, data in requests:
            producer.submit(key, data, begin)
        await asyncio.sleep(seconds)
        producer.unsent = len(producer.backlog)
        producer.backlog.clear()
    while i < n and rate > 0:
        now = time.monotonic()
        while i < n and begin + i / rate <= now:  # everything due (a late wake-up sends what it owes at once)
            key, data = requests[i]
            producer.submit(key, data, begin + i / rate)
            i += 1
        if i < n:
            await asyncio.sleep(max(0.0, begin + i / rate - time.monotonic()))
    producer.done = loop.create_future()
    producer.wake()
    if producer.busy or producer.backlog:
        await producer.done
    producer.seconds = time.monotonic() - begin
    producer.port = 0  # closing our links below: none is replaced
    for link in producer.free:
        if link.transport is not None:
            link.transport.close()
    return producer


def produce(port: int, project: ob.Project, devices: list[str], rate: int, seconds: float,
            start_value: int, lean: bool = True) -> tuple[dict[tuple[str, int], float], float]:
    """Process entry point: time.monotonic is system-wide, so send times compare with the consumer's. Returns what
    was sent and the producer's CPU seconds during the paced run (not counting the signing before it)."""
    os.sched_setaffinity(0, {1})
    if not lean:
        started = time.process_time()
        sent = asyncio.run(paced(port, project, devices, rate, seconds, start_value))
        return sent, time.process_time() - started
    import uvloop

    requests = signed_commands(project, devices, int(rate * seconds), start_value)
    started = time.process_time()
    sent = uvloop.run(paced_lean(port, requests, rate))
    return sent, time.process_time() - started


@dataclass
class Produced:
    """What a producer process sent: its commands answered success, when, and its own CPU."""

    sent: dict[tuple[str, int], float]  # key -> scheduled time (latency counts from it)
    spans: dict[tuple[str, int], tuple[float, float]]  # key -> (written, answered)
    cpu: float  # the producer's CPU seconds during the run (the signing before it not counted)
    seconds: float  # from the first command to the last answer
    lost: int  # commands in flight on a connection the server closed
    unsent: int  # ``rate`` 0: signed commands left when the time was up (0 or the run was cut short)


def producer_process(conn: Any, port: int, project: ob.Project, devices: list[str], rate: int, seconds: float,
                     start_value: int, count: int, connections: int = 32) -> None:
    """Process entry point of :class:`Producer`: signs ``count`` commands, says so, waits for the go, runs."""
    os.sched_setaffinity(0, {1})
    import uvloop

    requests = signed_commands(project, devices, count, start_value)
    conn.send("signed")
    conn.recv()
    started = time.process_time()
    run = uvloop.run(lean_run(port, requests, rate, seconds, connections))
    conn.send(Produced(run.sent, run.spans, time.process_time() - started, run.seconds, run.lost, run.unsent))


class Producer:
    """The lean producer in a process of its own (core 1), started and signing before :meth:`go`, so that the
    CPU counted around a run is the run's."""

    def __init__(self, port: int, project: ob.Project, devices: list[str], rate: int, seconds: float,
                 start_value: int, count: int, connections: int = 32) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.proc = context.Process(target=producer_process, daemon=True, args=(
            child, port, project, devices, rate, seconds, start_value, count, connections))
        self.proc.start()
        if not self.conn.poll(600):
            raise ob.BenchError("the producer did not sign its commands in 600 s")
        self.conn.recv()

    def go(self) -> None:
        self.conn.send("go")

    def result(self, timeout: float) -> Produced:
        if not self.conn.poll(timeout):
            raise ob.BenchError(f"the producer did not finish in {timeout:.0f} s")
        produced: Produced = self.conn.recv()
        self.proc.join(10)
        return produced


def consumer_process(conn: Any, kind: str, url: str, access_id: str, secret: str) -> None:
    """Process entry point of :class:`ConsumerProcess`: the consumer's socket loop in a thread, this one answering
    the bench's questions (rarely: the GIL stays with the consumer)."""
    os.sched_setaffinity(0, {1})
    consumer = (LeanConsumer if kind == "lean" else Consumer)(url, access_id, secret)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    conn.send(consumer.ready.wait(20))
    while True:
        request, arg = conn.recv()
        if request == "count":
            conn.send((consumer.count, consumer.last))
        elif request == "wait":  # (keys, timeout): until the consumer has them all; how many it has not
            keys, timeout = arg
            deadline = time.monotonic() + timeout
            missing = [k for k in keys if k not in consumer.received]
            while missing and time.monotonic() < deadline:
                time.sleep(0.05)
                missing = [k for k in missing if k not in consumer.received]
            conn.send(len(missing))
        elif request == "received":  # (receipt times, arrival positions) of the keys asked for
            received, arrivals = consumer.received, consumer.arrivals
            position: dict[tuple[str, int], int] = {}
            for i, k in enumerate(arrivals[:]):  # a copy: the consumer thread appends meanwhile
                position.setdefault(k, i)
            conn.send({k: (received[k], position[k]) for k in arg if k in received})
        elif request == "stop":
            consumer.stop.set()
            thread.join(5)
            conn.send(None)
            return


class ConsumerProcess:
    """The consumer (``--consumer lean``: :class:`LeanConsumer`; ``classic``: :class:`Consumer`, the official
    client's library) in a process of its own on core 1, beside the producer: it no longer shares the bench
    process's GIL, and its CPU is read from /proc apart from everything else."""

    def __init__(self, kind: str, url: str, access_id: str, secret: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.proc = context.Process(target=consumer_process, args=(child, kind, url, access_id, secret),
                                    daemon=True)
        self.proc.start()
        if not (self.conn.poll(60) and self.conn.recv()):
            raise ob.BenchError(f"the {kind} consumer did not connect")

    def ask(self, request: str, arg: Any = None) -> Any:
        self.conn.send((request, arg))
        return self.conn.recv()

    def count(self) -> tuple[int, float]:
        """(messages received so far, monotonic time of the last)."""
        return self.ask("count")  # type: ignore[no-any-return]

    def wait_for(self, keys: list[tuple[str, int]], timeout: float = 10) -> int:
        """Wait until every key's message is in; the number still missing."""
        return self.ask("wait", (keys, timeout))  # type: ignore[no-any-return]

    def received(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], tuple[float, int]]:
        """key -> (receipt time, position in arrival order) of the keys received."""
        return self.ask("received", keys)  # type: ignore[no-any-return]

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            if self.proc.is_alive():
                self.ask("stop")
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


def order_violations(spans: dict[tuple[str, int], tuple[float, float]],
                     received: dict[tuple[str, int], tuple[float, int]]) -> int:
    """Commands whose message arrived before that of a command to the same device answered before this one was
    sent (the order the service promises: per device, a message never overtakes one acknowledged earlier)."""
    by_device: dict[str, list[tuple[float, float, int]]] = collections.defaultdict(list)
    for key, (written, answered) in spans.items():
        if key in received:
            by_device[key[0]].append((written, answered, received[key][1]))
    bad = 0
    for commands in by_device.values():
        by_answer = sorted(commands, key=lambda c: c[1])
        j, latest = 0, -1
        for written, _, position in sorted(commands):
            while j < len(by_answer) and by_answer[j][1] < written:
                latest = max(latest, by_answer[j][2])
                j += 1
            bad += latest > position
    return bad


@dataclass
class EngineResult:
    engine: str
    workers: int = 1
    consumer: str = "lean"
    latency: dict[int, tuple[float, float, int, int]] = field(default_factory=dict)  # rate -> p50, p99, sent, lost
    sustained: float = 0.0
    sustained_commands: float = 0.0
    sustained_ok: int = 0
    sustained_received: int = 0
    lost: int = 0  # commands answered success whose message never came (every run)
    out_of_order: int = 0  # messages that overtook one of the same device's acknowledged earlier (every run)
    backlog: int = -1  # the subscription's unacknowledged messages after the runs, from /metrics (-1: unread)
    # CPU per message received in the sustained run, µs: the server (all its processes and threads), the
    # PostgreSQL sessions serving it, PostgreSQL's background processes, the producer, the consumer
    cpu_us: dict[str, float] = field(default_factory=dict)
    load: float = 0.0  # the machine's load average (1 min) at the end of the sustained run

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_us.get("server", 0.0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all threads), from /proc: the cost per event that a busy machine
    does not distort the way it distorts a rate."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_workers(name: str, cmd: list[str], port: int, log: Path, workers: int) -> ob.Server:
    """``serve --workers N`` (N > 1), not pinned: N workers need N cores (bench/scaleout.py does the same)."""
    import scaleout

    with log.open("wb") as fh:
        proc = subprocess.Popen([*ob.PRIORITY, *cmd, "--workers", str(workers)], stdout=fh,
                                stderr=subprocess.STDOUT, env=ob.child_env(), start_new_session=True)
    ob.raise_priority(proc.pid)
    server = ob.Server(name, port, proc, log)
    deadline = time.monotonic() + 120
    while b"tuyacloud is serving" not in log.read_bytes() or len(scaleout._children(proc.pid)) < workers:
        if proc.poll() is not None or time.monotonic() > deadline:
            ob.stop_server(server)
            raise ob.BenchError(f"{name} did not start:\n{server.tail()}")
        time.sleep(0.2)
    time.sleep(1.0 + workers)  # the other workers are ready too
    return server


def subscription_backlog(port: int, log: Path, access_id: str) -> int:
    """The subscription's unacknowledged messages, as the server's /metrics says (read from the store, so all
    workers' acknowledgements count): the server side of "nothing lost", beside what the consumer saw."""
    import urllib.request

    token = re.search(r"Bearer ([0-9a-f]+)", log.read_text(errors="replace"))
    if token is None:
        return -1
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                     headers={"Authorization": f"Bearer {token.group(1)}"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (our own server)
        text = answer.read().decode()
    found = re.search(r'^tuyacloud_subscription_backlog\{[^}]*project="' + re.escape(access_id) + r'"[^}]*\} (\S+)',
                      text, re.MULTILINE)
    return int(float(found.group(1))) if found else 0


def run_engine(engine: str, rates: list[int], duration: float, sustain: float, devices_n: int, workers: int = 1,
               consumer_kind: str = "lean", profile: Path | None = None, pg_transport: str = "tcp",
               connections: int = 32) -> EngineResult:
    import scaleout

    result = EngineResult(engine, workers, consumer_kind)
    work = Path(tempfile.mkdtemp(prefix=f"bench-msg-{engine}-"))
    db_args: list[str] = []
    pg_dir = None
    postmaster = 0
    if engine == "postgres":
        # max_connections 100 (PostgreSQL's default; the test clusters have 300): the outbox horizon's read of
        # pg_locks, about one per batch, visits every connection slot (docs/scaling.md). Two workers use 42.
        env = {**os.environ, "PGTEST_FSYNC": "on",
               "PGTEST_OPTIONS": f"-c max_connections=100 {os.environ.get('PGTEST_OPTIONS', '')}"}
        out = subprocess.run(["bash", str(ob.ROOT / "scripts" / "pg-test-cluster"), "start"], capture_output=True,
                             text=True, env=env, check=True).stdout
        exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
        pg_dir = exports["PGTEST_DIR"]
        postmaster = int(Path(pg_dir, "data", "postmaster.pid").read_text().split()[0])
        ob.POSTMASTER[:] = [postmaster]
        url = exports["TUYACLOUD_TEST_DATABASE_URL"]
        if pg_transport == "unix":  # the cluster's socket directory is PGTEST_DIR (pg-test-cluster's -k)
            url = f"postgresql://postgres@/postgres?host={pg_dir}&port={url.rsplit(':', 1)[1].split('/')[0]}"
        db_args = ["--database-url", url]
        if ob.PRIORITY:  # --nice: the postmaster and the sessions it forks from now on
            subprocess.run(["renice", "-n", ob.PRIORITY[-1], "-p", str(postmaster)], capture_output=True,
                           check=False)
            ob.raise_priority(postmaster)
    server = None
    consumer = None
    try:
        base = ["--data-dir", str(work), *db_args]
        created = json.loads(ob.run_cli(["project", "create", "--name", "bench", "--json", *base], 120))
        project = ob.Project(created["access_id"], created["access_secret"])
        made = json.loads(ob.run_cli(["device", "add-virtual", "--project", project.access_id, "--category", "cz",
                                      "--count", str(devices_n), "--json", *base], 600))
        devices = [d["id"] for d in made]
        port = ob.free_port()
        cmd = [*ob.tuyacloud_cmd(), "serve", "--no-demo", "--no-simulator", "--port", str(port), *base]
        name = f"tuyacloud[{engine}" + (f" x{workers}]" if workers > 1 else "]")
        log = work / "server.log"
        server = (start_workers(name, cmd, port, log, workers) if workers > 1
                  else ob.start_server(name, cmd, port, log, 0))
        project.token = ob.get_token(port, project)
        consumer = ConsumerProcess(consumer_kind, f"ws://127.0.0.1:{port}", project.access_id, project.secret)
        time.sleep(1.0)  # the backlog of device-added events drains first
        os.sched_setaffinity(0, {1})
        value = 0
        for rate in rates:
            producer = Producer(port, project, devices, rate, duration, value, int(rate * duration))
            producer.go()
            produced = producer.result(duration + 120)
            value += int(rate * duration) + 1
            consumer.wait_for(list(produced.sent))
            got = consumer.received(list(produced.sent))
            latencies = [(got[k][0] - at) * 1000 for k, at in produced.sent.items() if k in got]
            lost = sum(1 for k in produced.sent if k not in got)
            result.lost += lost
            result.out_of_order += order_violations(produced.spans, got)
            result.latency[rate] = (percentile(latencies, 50), percentile(latencies, 99), len(produced.sent), lost)
        if sustain > 0:
            # commands enough for 8,000/s, each with a value of its own (countdown_1 takes 0..86400)
            count = min(int(8000 * sustain), 86400 - value)
            producer = Producer(port, project, devices, 0, sustain, value, count, connections)
            count_before, _ = consumer.count()
            before = scaleout.sample(server.proc.pid, postmaster)
            consumer_before = consumer.cpu()
            spy = scaleout.Profiler(profile, server.proc.pid, sustain)
            spying = spy.start(f"{engine}-x{workers}-sustained")
            started = time.monotonic()
            producer.go()
            produced = producer.result(sustain + 120)
            missing = consumer.wait_for(list(produced.sent), 30)
            after = scaleout.sample(server.proc.pid, postmaster)
            consumer_after = consumer.cpu()
            count_after, last = consumer.count()
            result.load = os.getloadavg()[0]
            spy.stop(spying)
            got = consumer.received(list(produced.sent))
            result.lost += missing
            result.out_of_order += order_violations(produced.spans, got)
            if produced.unsent == 0:
                print(f"warning: the producer ran out of its {count} commands before {sustain:g} s", file=sys.stderr)
            received = count_after - count_before
            n = max(received, 1)
            result.cpu_us = {"server": (after.server - before.server) / n * 1e6,
                             "pg sessions": (after.backends - before.backends) / n * 1e6,
                             "pg background": (after.background - before.background) / n * 1e6,
                             "producer": produced.cpu / n * 1e6,
                             "consumer": (consumer_after - consumer_before) / n * 1e6}
            result.sustained = received / max(last - started, 1e-9)
            result.sustained_commands = len(produced.sent) / max(produced.seconds, 1e-9)
            result.sustained_ok, result.sustained_received = len(produced.sent), received
        deadline = time.monotonic() + 10  # acknowledgements are recorded after the consumer sent them
        while (backlog := subscription_backlog(port, log, project.access_id)) > 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        result.backlog = backlog
    finally:
        if consumer is not None:
            consumer.close()
        if server is not None:
            ob.stop_server(server)
        if pg_dir:
            ob.POSTMASTER.clear()
            subprocess.run(["bash", str(ob.ROOT / "scripts" / "pg-test-cluster"), "stop", pg_dir], check=False)
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--rates", default="100,1000")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per fixed-rate run")
    parser.add_argument("--sustain", type=float, default=10.0, help="seconds of the sustained-rate run")
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--workers", default="1", help="server worker counts to run on PostgreSQL, e.g. 1,2 "
                        "(`serve --workers N`; SQLite runs one)")
    parser.add_argument("--consumer", choices=("lean", "classic"), default="lean",
                        help="lean: a bare-socket Pulsar WS client; classic: the websocket-client library, as "
                        "the official client uses")
    parser.add_argument("--connections", type=int, default=32, help="the sustained run's connections (each "
                        "sends its next command when its last is answered; the paced runs use 32)")
    parser.add_argument("--pg-transport", choices=("tcp", "unix"), default="tcp", help="how the server reaches "
                        "PostgreSQL: TCP on 127.0.0.1, or the cluster's Unix socket (same host)")
    parser.add_argument("--profile", type=Path, help="record the server with py-spy during each sustained run "
                        "(DIR/<engine>-x<workers>-sustained.txt, collapsed stacks; it costs the server CPU)")
    parser.add_argument("--src", type=Path, help="run the server from this source tree (e.g. a worktree of an "
                        "older commit, as a baseline) instead of the checkout's src/")
    parser.add_argument("--nice", type=int, default=None, help="run the server, PostgreSQL, wrk, the producer and "
                        "the consumer at this nice value, their scheduler autogroups too (e.g. -10, as root, on a "
                        "machine shared with other work: across sessions, autogroups share the cores equally "
                        "whatever the nice values)")
    args = parser.parse_args(argv)
    if args.nice is not None:
        ob.PRIORITY[:] = ["nice", "-n", str(args.nice)]
        os.nice(args.nice - os.nice(0))  # this process too, and the producer and consumer it starts
        ob.raise_priority(os.getpid())
    if args.src:
        ob.SRC_PATH[0] = args.src.resolve()
    ob.require_tools()
    rates = [int(r) for r in args.rates.split(",")]
    results = []
    for engine in args.engines.split(","):
        for workers in [int(w) for w in args.workers.split(",")] if engine == "postgres" else [1]:
            results.append(run_engine(engine, rates, args.duration, args.sustain, args.devices, workers,
                                      args.consumer, args.profile, args.pg_transport, args.connections))
    ok = True
    print(f"\nMessage service: command -> decrypted message at the consumer ({args.consumer} consumer, its own "
          "process; producer and consumer on core 1)")
    print(f"{'engine':<12} {'rate/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'sent':>7} {'lost':>5}")
    for r in results:
        name = r.engine + (f" x{r.workers}" if r.workers > 1 else "")
        for rate, (p50, p99, sent, lost) in r.latency.items():
            print(f"{name:<12} {rate:>7} {p50:>8.1f} {p99:>8.1f} {sent:>7} {lost:>5}")
    if args.sustain > 0:
        print(f"\nSustained ({args.sustain:g} s, {args.connections} connections as fast as answered): CPU per "
              "event, µs (per process, /proc/<pid>/stat)")
        print(f"{'engine':<12} {'commands/s':>11} {'events/s':>9} {'ok cmds':>8} {'received':>9} {'server':>7} "
              f"{'pg sess':>8} {'pg bg':>6} {'producer':>9} {'consumer':>9} {'events/server CPU-s':>20} "
              f"{'load':>5}")
        for r in results:
            name = r.engine + (f" x{r.workers}" if r.workers > 1 else "")
            c = r.cpu_us
            # Events per second of the server's CPU: what the server could sustain with a core to itself, which
            # the sustained rate (bounded by everything sharing the machine's two cores) does not say.
            per_cpu_s = 1e6 / c["server"] if c.get("server") else float("nan")
            pg, nan = r.engine == "postgres", float("nan")
            print(f"{name:<12} {r.sustained_commands:>11.0f} {r.sustained:>9.0f} {r.sustained_ok:>8} "
                  f"{r.sustained_received:>9} {c['server']:>7.0f} "
                  f"{c['pg sessions'] if pg else nan:>8.0f} {c['pg background'] if pg else nan:>6.0f} "
                  f"{c['producer']:>9.0f} {c['consumer']:>9.0f} {per_cpu_s:>20.0f} {r.load:>5.1f}")
    for r in results:
        name = r.engine + (f" x{r.workers}" if r.workers > 1 else "")
        fine = r.lost == 0 and r.out_of_order == 0 and r.backlog == 0 and r.sustained_received >= r.sustained_ok
        print(f"{name}: {r.lost} acknowledged commands without their message, {r.out_of_order} messages out of "
              f"device order, {r.backlog} unacknowledged at the server after the runs (/metrics)"
              + ("" if fine else "  <-- FAILED"))
        ok &= fine
    sqlite = next((r for r in results if r.engine == "sqlite"), None)
    if sqlite and 1000 in sqlite.latency:
        p99 = sqlite.latency[1000][1]
        print(f"\nTargets (SQLite): p99 at 1000/s < 50 ms: {p99:.1f} ms {'MET' if p99 < 50 else 'MISSED'}; "
              f"sustained >= 5000/s: {sqlite.sustained:.0f}/s {'MET' if sqlite.sustained >= 5000 else 'MISSED'}")
    for r in results:
        if r.engine == "postgres" and args.sustain > 0:
            print(f"Target (PostgreSQL x{r.workers}): sustained >= 3000 events/s: {r.sustained:.0f}/s "
                  f"{'MET' if r.sustained >= 3000 else 'MISSED'}")
    print("nothing lost, per-device order kept" if ok else "MESSAGES LOST OR OUT OF ORDER")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
