"""Message service benchmark: from a signed command to the consumer holding the decrypted status report.

    python bench/messages.py [--engines sqlite,postgres] [--rates 100,1000] [--duration 10] [--sustain 10] [--nice -10]

For each engine: one `tuyacloud serve --no-simulator` pinned to core 0; the load generator and the consumer share
core 1. A websocket-client consumer (the Pulsar WebSocket API, as TuyaOpenPulsar speaks it) decrypts every message
and acknowledges it.
1. Latency at fixed rates: commands (`countdown_1` = a unique value per command) paced at R per second from an
   asyncio producer; latency = consumer receipt of that value's report - the moment the command was sent.
2. Sustained rate: wrk sends commands as fast as the server takes them (32 connections); the consumer counts what
   arrives. "Nothing lost" = every command answered success:true has its message delivered.
PostgreSQL runs with its default durability (fsync on) in a throwaway cluster started by scripts/pg-test-cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import concurrent.futures
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
        self.current: tuple[tuple[str, int], float] | None = None

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
        self.free: list[_Link] = []
        self.backlog: collections.deque[tuple[tuple[str, int], bytes, float]] = collections.deque()
        self.lost = 0
        self.done: asyncio.Future[None] | None = None
        self.busy = 0
        self.port = 0
        self.reconnecting: set[asyncio.Task[None]] = set()

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
        link.current = (key, at)
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
    loop = asyncio.get_running_loop()
    producer = _Lean()
    producer.port = port
    for _ in range(32):
        _, link = await loop.create_connection(lambda: _Link(producer), "127.0.0.1", port)
        producer.free.append(link)
    begin = time.monotonic()
    i, n = 0, len(requests)
    while i < n:
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
    producer.port = 0  # closing our links below: none is replaced
    for link in producer.free:
        if link.transport is not None:
            link.transport.close()
    return producer.sent


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


def wait_for(consumer: Consumer, keys: list[tuple[str, int]], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(k not in consumer.received for k in keys):
        time.sleep(0.05)


@dataclass
class EngineResult:
    engine: str
    latency: dict[int, tuple[float, float, int, int]] = field(default_factory=dict)  # rate -> p50, p99, sent, lost
    sustained: float = 0.0
    sustained_commands: float = 0.0
    sustained_ok: int = 0
    sustained_received: int = 0
    cpu_us_per_event: float = 0.0  # server CPU time (all its threads) per message received, sustained run
    pg_us_per_event: float = 0.0  # the PostgreSQL cluster's CPU time (sessions and background) per message received


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all threads), from /proc: the cost per event that a busy machine
    does not distort the way it distorts a rate."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_engine(engine: str, rates: list[int], duration: float, sustain: float, devices_n: int) -> EngineResult:
    result = EngineResult(engine)
    work = Path(tempfile.mkdtemp(prefix=f"bench-msg-{engine}-"))
    db_args: list[str] = []
    pg_dir = None
    if engine == "postgres":
        env = {**os.environ, "PGTEST_FSYNC": "on"}
        out = subprocess.run(["bash", str(ob.ROOT / "scripts" / "pg-test-cluster"), "start"], capture_output=True,
                             text=True, env=env, check=True).stdout
        exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
        pg_dir = exports["PGTEST_DIR"]
        ob.POSTMASTER[:] = [int(Path(pg_dir, "data", "postmaster.pid").read_text().split()[0])]
        db_args = ["--database-url", exports["TUYACLOUD_TEST_DATABASE_URL"]]
        if ob.PRIORITY:  # --nice: the postmaster and the sessions it forks from now on
            postmaster = Path(pg_dir, "data", "postmaster.pid").read_text().split()[0]
            subprocess.run(["renice", "-n", ob.PRIORITY[-1], "-p", postmaster], capture_output=True, check=False)
            ob.raise_priority(int(postmaster))
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
        server = ob.start_server(f"tuyacloud[{engine}]", [*ob.tuyacloud_cmd(), "serve", "--no-demo", "--no-simulator",
                                                          "--port", str(port), *base], port, work / "server.log", 0)
        project.token = ob.get_token(port, project)
        consumer = Consumer(f"ws://127.0.0.1:{port}", project.access_id, project.secret)
        thread = threading.Thread(target=consumer.run, daemon=True)
        thread.start()
        consumer.ready.wait(10)
        time.sleep(1.0)  # the backlog of device-added events drains first
        os.sched_setaffinity(0, {1})
        value = 0
        for rate in rates:
            # The producer runs in its own process: sharing this one's GIL with the consumer would slow both.
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                sent, _ = pool.submit(produce, port, project, devices, rate, duration, value).result()
            value += int(rate * duration) + 1
            wait_for(consumer, list(sent))
            latencies = [(consumer.received[k] - at) * 1000 for k, at in sent.items() if k in consumer.received]
            lost = sum(1 for k in sent if k not in consumer.received)
            result.latency[rate] = (percentile(latencies, 50), percentile(latencies, 99), len(sent), lost)
        entries = []
        for i, device in enumerate(devices * max(1, 400 // len(devices))):
            body = json.dumps({"commands": [{"code": "switch_1", "value": i % 2 == 0}]}, separators=(",", ":"))
            path = f"/v1.0/devices/{device}/commands"
            entries.append({"method": "POST", "path": path, "body": body,
                            "headers": ob.signed_headers(project, "POST", path, body.encode())})
        requests_file = work / "commands.lua"
        ob.write_requests(requests_file, entries)
        before = consumer.count
        cpu_before = cpu_seconds(server.proc.pid)
        pg_before = ob.cluster_cpu()
        started = time.monotonic()
        wrk = ob.run_wrk(f"http://127.0.0.1:{port}", requests_file, sustain, 32, 1, 1)
        deadline = time.monotonic() + 30
        while consumer.count - before < wrk.ok and time.monotonic() < deadline:
            time.sleep(0.1)
        received = consumer.count - before
        result.cpu_us_per_event = (cpu_seconds(server.proc.pid) - cpu_before) / max(received, 1) * 1e6
        result.pg_us_per_event = (ob.cluster_cpu() - pg_before) / max(received, 1) * 1e6
        span = max(consumer.last - started, 1e-9)
        result.sustained = received / span
        result.sustained_commands = wrk.ok / wrk.seconds
        result.sustained_ok, result.sustained_received = wrk.ok, received
    finally:
        if consumer is not None:
            consumer.stop.set()
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
    parser.add_argument("--src", type=Path, help="run the server from this source tree (e.g. a worktree of an "
                        "older commit, as a baseline) instead of the checkout's src/")
    parser.add_argument("--nice", type=int, default=None, help="run the server, PostgreSQL, wrk, the producer and "
                        "the consumer at this nice value, their scheduler autogroups too (e.g. -10, as root, on a "
                        "machine shared with other work: across sessions, autogroups share the cores equally "
                        "whatever the nice values)")
    args = parser.parse_args(argv)
    if args.nice is not None:
        ob.PRIORITY[:] = ["nice", "-n", str(args.nice)]
        os.nice(args.nice - os.nice(0))  # this process too (the consumer), and the producer it starts
        ob.raise_priority(os.getpid())
    if args.src:
        ob.SRC_PATH[0] = args.src.resolve()
    ob.require_tools()
    results = [run_engine(e, [int(r) for r in args.rates.split(",")], args.duration, args.sustain, args.devices)
               for e in args.engines.split(",")]
    print("\nMessage service: command -> decrypted message at the consumer")
    print(f"{'engine':<10} {'rate/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'sent':>7} {'lost':>5}")
    ok = True
    for r in results:
        for rate, (p50, p99, sent, lost) in r.latency.items():
            print(f"{r.engine:<10} {rate:>7} {p50:>8.1f} {p99:>8.1f} {sent:>7} {lost:>5}")
            ok &= lost == 0
    print(f"\n{'engine':<10} {'commands/s':>11} {'events/s received':>18} {'ok commands':>12} {'received':>9} "
          f"{'server CPU us/event':>20} {'events/server CPU-s':>20} {'PostgreSQL CPU us/event':>24}")
    for r in results:
        # Events per second of the server's CPU: what the server could sustain with a core to itself, which the
        # sustained rate (bounded by the commands it is sent, on a machine it shares) does not say.
        per_cpu_s = 1e6 / r.cpu_us_per_event if r.cpu_us_per_event else float("nan")
        print(f"{r.engine:<10} {r.sustained_commands:>11.0f} {r.sustained:>18.0f} {r.sustained_ok:>12} "
              f"{r.sustained_received:>9} {r.cpu_us_per_event:>20.0f} {per_cpu_s:>20.0f} "
              f"{r.pg_us_per_event if r.engine == 'postgres' else float('nan'):>24.0f}")
        ok &= r.sustained_received >= r.sustained_ok
    sqlite = next((r for r in results if r.engine == "sqlite"), None)
    if sqlite and 1000 in sqlite.latency:
        p99 = sqlite.latency[1000][1]
        print(f"\nTargets (SQLite): p99 at 1000/s < 50 ms: {p99:.1f} ms {'MET' if p99 < 50 else 'MISSED'}; "
              f"sustained >= 5000/s: {sqlite.sustained:.0f}/s {'MET' if sqlite.sustained >= 5000 else 'MISSED'}")
    print("nothing lost" if ok else "MESSAGES LOST")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
