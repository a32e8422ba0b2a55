"""MQTT open-hub benchmark: from a signed command to the decrypted message at an MQTT subscriber, beside the Pulsar
WebSocket consumer of the same server in the same run.

    python bench/mqtt.py [--engines sqlite] [--rates 100,1000] [--duration 8] [--sustain 8] [--version 2.0]
    python bench/mqtt.py --rates 1000 --sustain 0 --src /path/to/other/src     # another tree as the baseline
    python bench/mqtt.py --rates 1000 --sustain 0 --cprofile /tmp/p.prof      # Python calls per command
    python bench/mqtt.py --rates 1000 --sustain 0 --py-spy /tmp/spy            # where the server's loop spends
    python bench/mqtt.py --rates 1000 --sustain 0 --lag /tmp/lag.json          # the server loop's lag

One `tuyacloud serve --no-simulator --mqtt-port P` pinned to core 0 (the embedded broker runs in its event loop);
the producer (its own process) and both consumers share core 1. The MQTT consumer is an MQTT 3.1.1 subscriber on
a credential from the project's own access-config call (it sees every device), QoS 1 (a PUBACK per message),
decrypting each message as tuya-iot-py-sdk does; the Pulsar consumer speaks the Pulsar WebSocket API, decrypting
and acknowledging each message. By default all three are lean (commands signed before the run, bare sockets: the
load generator shares a core with nothing else of the benchmark's, so its CPU per command is printed too);
``--producer classic`` runs the earlier ones (signing as it sends, paho-mqtt, websocket-client).
1. Latency at fixed rates (paced commands, latency from each command's scheduled time), for both consumers.
2. Sustained: wrk sends commands as fast as the server takes them; both consumers count what arrives; "nothing
   lost" = every command answered success:true has its message at the MQTT subscriber too.
Beside the latencies it prints the server's CPU time (all threads) per command of each fixed-rate run: each command
costs its request, its commit and two deliveries, and that figure moves far less than a latency on a shared machine.
``--cprofile FILE`` runs the server under cProfile (its latencies are then not comparable) and prints the Python
calls per command, the measure that a busy machine does not distort at all; ``--py-spy DIR`` samples the server's
threads at normal speed during each fixed-rate run (raw stacks and a flame graph).
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import json
import multiprocessing
import os
import re
import signal
import socket
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

import orjson  # noqa: E402
import paho.mqtt.client as paho  # noqa: E402

import messages as mb  # noqa: E402
import openapi as ob  # noqa: E402
from tuyacloud.messaging.mqtt.codec import decrypt  # noqa: E402

CODE = mb.CODE
NICE: list[int | None] = [None]  # --nice
PRODUCER = ["lean"]  # --producer
LEAN_PULSAR = [True]  # the consumer processes' copy of --producer (lean: bench/messages.py's LeanConsumer)


@dataclass
class MqttConsumer:
    """paho-mqtt on one open-hub credential: decrypts, records receipt time per (device, value)."""

    config: dict[str, str | dict[str, str]]
    version: str
    received: dict[tuple[str, int], float] = field(default_factory=dict)
    count: int = 0
    last: float = 0.0
    subscribed: threading.Event = field(default_factory=threading.Event)

    def start(self) -> paho.Client:
        cfg = self.config
        key = str(cfg["password"])[8:24]
        client = paho.Client(str(cfg["client_id"]))
        client.username_pw_set(str(cfg["username"]), str(cfg["password"]))
        topic = cfg["source_topic"]["device"]  # type: ignore[index]

        def on_message(c: paho.Client, u: object, message: paho.MQTTMessage) -> None:
            now = time.monotonic()
            envelope = json.loads(message.payload)
            if envelope["protocol"] != 4:
                return
            data = decrypt(envelope["data"], key, self.version, envelope["t"])
            for item in data["status"]:
                if item["code"] == CODE:
                    self.received.setdefault((data["devId"], item["value"]), now)
            self.count += 1
            self.last = now

        client.on_connect = lambda c, u, f, rc: c.subscribe(topic, 1)
        client.on_subscribe = lambda c, u, mid, granted: self.subscribed.set()
        client.on_message = on_message
        host, port = str(cfg["url"]).split("://", 1)[1].rsplit(":", 1)
        client.connect(host, int(port))
        client.loop_start()
        return client


@dataclass
class LeanMqttConsumer:
    """The same subscriber (MQTT 3.1.1 on the open-hub credential, QoS 1, every message decrypted as
    tuya-iot-py-sdk does and acknowledged by a PUBACK of its own) on a bare socket in one thread: packets parsed
    here, the PUBACKs of what one ``recv`` brought written in one ``send``, one AES-GCM object for the key, orjson.
    paho's loop used ~200-270 µs of CPU per message on the core it shares with the producer and the Pulsar consumer
    (docs/performance.md, session 9); each message's receipt time is taken after its decryption, as before. A
    PINGREQ every 20 s keeps the connection within its 60 s keep-alive (the server enforces it)."""

    config: dict[str, str | dict[str, str]]
    version: str
    received: dict[tuple[str, int], float] = field(default_factory=dict)
    count: int = 0
    last: float = 0.0
    subscribed: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> LeanMqttConsumer:
        cfg = self.config
        host, port = str(cfg["url"]).split("://", 1)[1].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def text(value: str) -> bytes:
            raw = value.encode()
            return len(raw).to_bytes(2, "big") + raw

        connect = (text("MQTT") + bytes([4, 0xC2]) + (60).to_bytes(2, "big") + text(str(cfg["client_id"]))
                   + text(str(cfg["username"])) + text(str(cfg["password"])))
        topic = cfg["source_topic"]["device"]  # type: ignore[index]
        subscribe = (1).to_bytes(2, "big") + text(topic) + b"\x01"
        self.sock.sendall(b"\x10" + remaining_length(len(connect)) + connect
                          + b"\x82" + remaining_length(len(subscribe)) + subscribe)
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key = str(self.config["password"])[8:24].encode()
        gcm = AESGCM(key)
        sock, received = self.sock, self.received
        sock.settimeout(1)
        buffer = b""
        pinged = time.monotonic()
        try:
            while not self.stop.is_set():
                if time.monotonic() - pinged > 20:
                    sock.sendall(b"\xc0\x00")
                    pinged = time.monotonic()
                try:
                    chunk = sock.recv(262144)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                buffer += chunk
                acks = []
                at = 0
                while len(buffer) - at >= 2:  # whole packets in the buffer
                    kind = buffer[at]
                    size, shift, i = 0, 0, at + 1
                    while i < len(buffer):
                        size |= (buffer[i] & 0x7F) << shift
                        shift += 7
                        i += 1
                        if not buffer[i - 1] & 0x80:
                            break
                    else:
                        break
                    if len(buffer) < i + size:
                        break
                    body, at = buffer[i:i + size], i + size
                    if kind >> 4 == 9:  # SUBACK
                        self.subscribed.set()
                    if kind >> 4 != 3:  # not a PUBLISH (CONNACK, SUBACK, PINGRESP)
                        continue
                    topic_end = 2 + int.from_bytes(body[:2], "big")
                    payload = body[topic_end + 2:] if (kind >> 1) & 3 else body[topic_end:]
                    if (kind >> 1) & 3:
                        acks.append(b"\x40\x02" + body[topic_end:topic_end + 2])
                    envelope = orjson.loads(payload)
                    if envelope["protocol"] != 4:
                        continue
                    if self.version == "2.0":
                        blob = base64.b64decode(envelope["data"])
                        n = int.from_bytes(blob[:4], "big")
                        data = orjson.loads(gcm.decrypt(blob[4:4 + n], blob[4 + n:], str(envelope["t"]).encode()))
                    else:
                        data = decrypt(envelope["data"], key.decode(), self.version, envelope["t"])
                    now = time.monotonic()
                    for item in data["status"]:
                        if item["code"] == CODE:
                            received.setdefault((data["devId"], item["value"]), now)
                    self.count += 1
                    self.last = now
                buffer = buffer[at:]
                if acks:
                    sock.sendall(b"".join(acks))
        finally:
            with contextlib.suppress(OSError):
                sock.sendall(b"\xe0\x00")  # DISCONNECT
            sock.close()

    def disconnect(self) -> None:
        self.stop.set()

    def loop_stop(self) -> None:
        pass


def remaining_length(n: int) -> bytes:
    """MQTT's variable-length "remaining length" field (7 bits a byte, high bit: more follow)."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def await_receipts(consumer: Any, sent: dict[Any, float], timeout: float = 15.0) -> tuple[list[float], int]:
    """Wait up to ``timeout`` for ``consumer.received`` (key -> receipt time) to hold every key of ``sent`` (key -> the
    moment it was due); the latencies in ms of what arrived, and how many did not."""
    deadline = time.monotonic() + timeout
    received = consumer.received
    while time.monotonic() < deadline and any(k not in received for k in sent):
        time.sleep(0.2)
        received = consumer.received
    latencies = [(received[k] - at) * 1000 for k, at in sent.items() if k in received]
    return latencies, sum(1 for k in sent if k not in received)


def own_priority(nice: int | None) -> None:
    """With ``--nice``: this process in a session (so a scheduler autogroup) of its own at that nice value, as
    bench/openapi.py runs its server and wrk, so that other sessions' work on the two cores disturbs less."""
    if nice is None:
        return
    with contextlib.suppress(OSError):
        os.setsid()
    os.setpriority(os.PRIO_PROCESS, 0, nice)
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(str(nice))


def produce(nice: int | None, *args: Any) -> tuple[dict[tuple[str, int], float], float]:
    own_priority(nice)
    return mb.produce(*args)  # type: ignore[no-any-return]


def _consumer_main(kind: str, args: tuple[object, ...], conn: Any, nice: int | None = None,
                   lean: bool = True) -> None:
    """A consumer in a process of its own (pinned to core 1): two consumers in one process would wait on each
    other's GIL, and that wait would be counted as the server's latency. Answers "snapshot" requests on ``conn``
    with what it received so far (time.monotonic is system-wide, so its times compare with the producer's)."""
    os.sched_setaffinity(0, {1})
    own_priority(nice)
    LEAN_PULSAR[0] = lean
    consumer: Any
    if kind == "mqtt":
        consumer = (LeanMqttConsumer if lean else MqttConsumer)(*args)  # type: ignore[arg-type]
        client = consumer.start()
        ready = consumer.subscribed
    else:
        consumer = (mb.LeanConsumer if LEAN_PULSAR[0] else mb.Consumer)(*args)  # type: ignore[arg-type]
        threading.Thread(target=consumer.run, daemon=True).start()
        ready = consumer.ready
    conn.send(ready.wait(10))
    try:
        while (request := conn.recv()) != "stop":
            full = request == "snapshot"
            conn.send((dict(consumer.received) if full else {}, consumer.count, consumer.last, time.process_time()))
    finally:
        if kind == "mqtt":
            client.disconnect()
            client.loop_stop()
        else:
            consumer.stop.set()


class RemoteConsumer:
    """The parent's handle on a consumer process: ``count``/``last`` for the sustained run, ``received`` for the
    latency runs (one round trip each)."""

    def __init__(self, kind: str, *args: object) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_consumer_main, args=(kind, args, child, NICE[0], PRODUCER[0] == "lean"),
                                daemon=True)
        self.proc.start()
        if not self.conn.recv():
            raise ob.BenchError(f"the {kind} consumer did not get ready within 10 s")

    @property
    def received(self) -> dict[tuple[str, int], float]:
        self.conn.send("snapshot")
        return self.conn.recv()[0]  # type: ignore[no-any-return]

    def progress(self) -> tuple[int, float]:
        self.conn.send("count")
        _, count, last, _ = self.conn.recv()
        return count, last

    def cpu(self) -> float:
        """The consumer process's CPU seconds so far (its receiving, decrypting and acknowledging)."""
        self.conn.send("count")
        return self.conn.recv()[3]  # type: ignore[no-any-return]

    def stop(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send("stop")
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


@dataclass
class Result:
    engine: str
    latency: dict[int, dict[str, tuple[float, float, int, int]]] = field(default_factory=dict)
    sustained_ok: int = 0
    sustained_commands: float = 0.0
    received: dict[str, int] = field(default_factory=dict)
    rate: dict[str, float] = field(default_factory=dict)
    rss_mb: float = 0.0
    steps: dict[int, list[tuple[str, float, float, int]]] = field(default_factory=dict)
    cpu_us: dict[int, float] = field(default_factory=dict)  # rate -> server CPU µs per command
    # rate -> the load generator's CPU µs per command: producer, MQTT consumer, Pulsar consumer (core 1)
    client_us: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    lag: dict[int, str] = field(default_factory=dict)  # rate -> the server loop's lag (--lag)
    usage: dict[int, str] = field(default_factory=dict)  # rate -> user/sys and wake-ups per command, per thread
    commits: dict[int, float] = field(default_factory=dict)  # rate -> commits per command
    idle: list[str] = field(default_factory=list)
    calls_per_command: float = 0.0


def threads(pid: int) -> dict[str, tuple[float, float, int]]:
    """Per thread name (threads of one name summed): user and system CPU seconds and voluntary context switches
    (each a sleep: for the event loop, one wake-up per switch). The commit thread's fsyncs count as its system
    time; the loop's epoll and socket calls as the loop's."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, tuple[float, float, int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
            status = (task / "status").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        name = "loop" if task.name == str(pid) else name.rstrip("0123456789_")
        fields = stat.rsplit(")", 1)[1].split()
        switches = next(int(line.split()[1]) for line in status.splitlines()
                        if line.startswith("voluntary_ctxt_switches"))
        user, system, n = out.get(name, (0.0, 0.0, 0))
        out[name] = (user + int(fields[11]) / tick, system + int(fields[12]) / tick, n + switches)
    return out


def usage_between(before: dict[str, tuple[float, float, int]],
                  after: dict[str, tuple[float, float, int]]) -> dict[str, tuple[float, float, int]]:
    zero = (0.0, 0.0, 0)
    return {name: (a[0] - before.get(name, zero)[0], a[1] - before.get(name, zero)[1],
                   a[2] - before.get(name, zero)[2]) for name, a in after.items()}


def commits(port: int, token: str) -> int:
    """Commits so far (the count of the commit batch histogram on /metrics)."""
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith("tuyacloud_commit_batch_units_count"):
                return int(float(line.split()[-1]))
    return 0


def describe(usage: dict[str, tuple[float, float, int]], per: float, unit: str) -> str:
    """usage per ``per`` (commands or seconds): CPU µs user+sys and wake-ups, per thread."""
    parts = []
    for name, (user, system, switches) in sorted(usage.items(), key=lambda item: -(item[1][0] + item[1][1])):
        if user + system > 0 or switches > 0:
            parts.append(f"{name} {user / per * 1e6:.0f}+{system / per * 1e6:.0f} µs, {switches / per:.2f} wakes")
    total_user = sum(u for u, _, _ in usage.values())
    total_sys = sum(s for _, s, _ in usage.values())
    return (f"user {total_user / per * 1e6:.0f} + sys {total_sys / per * 1e6:.0f} µs per {unit} ("
            + "; ".join(parts) + ")")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_cmd(cprofile: Path | None, trace: Path | None = None, lag: Path | None = None) -> list[str]:
    """The server's command line up to the CLI's arguments: plain, with a cProfile switched on and off by
    signal (bench/profiled_server.py), so that it holds the fixed-rate runs only, or with a stamp at each step of a
    command's way (bench/traced_server.py)."""
    if cprofile is not None:
        return [sys.executable, str(BENCH_DIR / "profiled_server.py"), str(cprofile)]
    if trace is not None:
        return [sys.executable, str(BENCH_DIR / "traced_server.py"), str(trace)]
    if lag is not None:
        return [sys.executable, str(BENCH_DIR / "lag_server.py"), str(lag)]
    return ob.tuyacloud_cmd()


STEPS = ("sent", "request", "unit", "commit", "durable", "relay", "encrypted", "written", "received", "acked")


def breakdown(stamps: dict[str, dict[str, float]], sent: dict[tuple[str, int], float],
              received: dict[tuple[str, int], float]) -> list[tuple[str, float, float, int]]:
    """Per step of the way (bench/traced_server.py), p50 and p99 in ms over the commands that have both ends."""
    rows = []
    for a, b in zip(STEPS, STEPS[1:], strict=False):
        spans = []
        for key, at in sent.items():
            marks = {**stamps.get(f"{key[0]}|{key[1]}", {}), "sent": at}
            if key in received:
                marks["received"] = received[key]
            if a in marks and b in marks:
                spans.append((marks[b] - marks[a]) * 1000)
        rows.append((f"{a} -> {b}", mb.percentile(spans, 50), mb.percentile(spans, 99), len(spans)))
    return rows


def loop_lag(pid: int, out: Path) -> str:
    """The server loop's lag over the run just ended (bench/lag_server.py): how late its 2 ms probe woke."""
    out.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not out.exists():
        time.sleep(0.05)
    time.sleep(0.3)
    lags = [ms for _, ms in json.loads(out.read_text())]
    if not lags:
        return "no samples"
    return (f"p50 {mb.percentile(lags, 50):.2f}, p99 {mb.percentile(lags, 99):.2f}, max {max(lags):.1f} ms "
            f"over {len(lags)} probes; {sum(1 for ms in lags if ms > 5)} late by > 5 ms, "
            f"{sum(1 for ms in lags if ms > 10)} by > 10 ms")


def spy(pid: int, out: Path, seconds: float) -> list[subprocess.Popen[str]]:
    """py-spy on the server, on core 1 and non-blocking (the server is not paused to sample it): all threads'
    collapsed stacks, the GIL holder's only, and a flame graph."""
    out.mkdir(parents=True, exist_ok=True)
    base = ["taskset", "-c", "1", "py-spy", "record", "--nonblocking", "--threads", "--pid", str(pid),
            "--duration", str(max(1, int(seconds))), "--rate", "250"]
    return [subprocess.Popen([*base, *extra, "--format", fmt, "--output", str(out / name)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for fmt, name, extra in (("raw", "all.txt", []), ("raw", "gil.txt", ["--gil"]),
                                     ("flamegraph", "all.svg", []))]


def run_engine(engine: str, rates: list[int], duration: float, sustain: float, devices_n: int,
               version: str, cprofile: Path | None = None, py_spy: Path | None = None,
               trace: Path | None = None, idle: float = 0.0, lag: Path | None = None) -> Result:
    result = Result(engine)
    work = Path(tempfile.mkdtemp(prefix=f"bench-mqtt-{engine}-"))
    db_args: list[str] = []
    pg_dir = None
    if engine == "postgres":
        out = subprocess.run(["bash", str(ob.ROOT / "scripts" / "pg-test-cluster"), "start"], capture_output=True,
                             text=True, env={**os.environ, "PGTEST_FSYNC": "on"}, check=True).stdout
        exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
        pg_dir = exports["PGTEST_DIR"]
        db_args = ["--database-url", exports["TUYACLOUD_TEST_DATABASE_URL"]]
    server = None
    mqtt: RemoteConsumer | None = None
    pulsar: RemoteConsumer | None = None
    try:
        base = ["--data-dir", str(work), *db_args]
        created = json.loads(ob.run_cli(["project", "create", "--name", "bench", "--json", *base], 120))
        project = ob.Project(created["access_id"], created["access_secret"])
        made = json.loads(ob.run_cli(["device", "add-virtual", "--project", project.access_id, "--category", "cz",
                                      "--count", str(devices_n), "--json", *base], 600))
        devices = [d["id"] for d in made]
        port, mqtt_port = ob.free_port(), ob.free_port()
        serve = [*server_cmd(cprofile, trace, lag), "serve", "--no-demo", "--no-simulator", "--port", str(port),
                 "--mqtt-port", str(mqtt_port), *base]
        server = ob.start_server(f"tuyacloud[{engine}]", serve, port, work / "server.log", 0)
        project.token = ob.get_token(port, project)
        admin = re.search(r"Bearer (\S+?)\)", server.log.read_text())
        admin_token = admin.group(1) if admin else ""
        if idle > 0:
            time.sleep(1.0)
            idle_from = threads(server.proc.pid)
            time.sleep(idle)
            result.idle.append("idle, no consumer: " + describe(usage_between(idle_from, threads(server.proc.pid)),
                                                                 idle, "second"))
        body = json.dumps({"uid": created["uid"], "link_id": "bench.mqtt", "link_type": "mqtt", "topics": "device",
                           "msg_encrypted_version": version}).encode()
        answer = ob.call(port, project, "POST", "/v1.0/iot-03/open-hub/access-config", body)
        if not answer.get("success"):
            raise ob.BenchError(f"access-config failed: {answer}")
        mqtt = RemoteConsumer("mqtt", answer["result"], version)
        pulsar = RemoteConsumer("pulsar", f"ws://127.0.0.1:{port}", project.access_id, project.secret)
        time.sleep(1.0)
        if idle > 0:
            idle_from = threads(server.proc.pid)
            time.sleep(idle)
            result.idle.append("idle, both consumers: " + describe(usage_between(idle_from,
                                                                                  threads(server.proc.pid)),
                                                                    idle, "second"))
        os.sched_setaffinity(0, {1})
        value = 0
        commands = 0
        if cprofile is not None:
            cprofile.unlink(missing_ok=True)
            os.kill(server.proc.pid, signal.SIGUSR1)
        if trace is not None:
            os.kill(server.proc.pid, signal.SIGUSR1)  # count the collector's objects now, to print what grew
        for rate in rates:
            spies = spy(server.proc.pid, py_spy / f"{engine}-{rate}", duration) if py_spy else []
            cpu_before = mb.cpu_seconds(server.proc.pid)
            threads_before = threads(server.proc.pid)
            commits_before = commits(port, admin_token) if admin_token else 0
            consumers_cpu = (mqtt.cpu(), pulsar.cpu())
            if lag is not None:
                os.kill(server.proc.pid, signal.SIGUSR1)
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                sent, producer_cpu = pool.submit(produce, NICE[0], port, project, devices, rate, duration, value,
                                                 PRODUCER[0] == "lean").result()
            commands += len(sent)
            for process in spies:
                process.wait(60)
            value += int(rate * duration) + 1
            result.latency[rate] = {}
            for name, consumer in (("mqtt", mqtt), ("pulsar-ws", pulsar)):
                latencies, lost = await_receipts(consumer, sent)
                result.latency[rate][name] = (mb.percentile(latencies, 50), mb.percentile(latencies, 99), len(sent),
                                              lost)
            if trace is not None:
                trace.unlink(missing_ok=True)
                os.kill(server.proc.pid, signal.SIGUSR2)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not trace.exists():
                    time.sleep(0.1)
                time.sleep(0.5)
                stamps = json.loads(trace.read_text())
                mqtt_received, pulsar_received = mqtt.received, pulsar.received
                result.steps[rate] = breakdown(stamps, sent, mqtt_received)
                # every command's own stamps beside its send and receipt times, to find what the slowest ones have
                # in common (when, and at which step): FILE.events.json
                events = [{"key": f"{k[0]}|{k[1]}", "sent": at, "mqtt_received": mqtt_received.get(k),
                           "pulsar_received": pulsar_received.get(k), **stamps.get(f"{k[0]}|{k[1]}", {})}
                          for k, at in sent.items()]
                trace.with_name(trace.name + ".events.json").write_text(json.dumps(
                    {"events": events, "gc": stamps.get("_gc", []), "sql": stamps.pop("_sql", []),
                     "batches": stamps.pop("_batches", []), "acks": stamps.pop("_acks", []),
                     **{k: stamps.pop(f"_{k}", []) for k in ("renews", "saves", "refreshes")}}))
                start, end = min(sent.values()), max(sent.values()) + 1
                pauses = [(g, ms) for g, at, ms, _ in stamps.pop("_gc", []) if start <= at <= end]
                garbage = sorted(stamps.pop("_garbage", {}).items(), key=lambda item: -item[1])[:12]
                print(f"freed by the collector (cycles) per command: {sum(n for _, n in garbage) / len(sent):.1f}: "
                      + ", ".join(f"{name} {n / len(sent):.2f}" for name, n in garbage), flush=True)
                young = sorted(stamps.pop("_young", {}).items(), key=lambda item: -item[1])[:15]
                print("in the young generation at three collections: "
                      + ", ".join(f"{name} {n}" for name, n in young), flush=True)
                grown = sorted(stamps.pop("_grown", {}).items(), key=lambda item: -item[1])[:8]
                print("objects tracked by the collector that grew during the run: "
                      + ", ".join(f"{name} +{n}" for name, n in grown), flush=True)
                for generation in (0, 1, 2):
                    times = [ms for g, ms in pauses if g == generation]
                    if times:
                        result.steps[rate].append((f"GC gen {generation} pause", mb.percentile(times, 50),
                                                   max(times), len(times)))
            if lag is not None:
                result.lag[rate] = loop_lag(server.proc.pid, lag)
            # after both consumers have it all: the deliveries' CPU is counted too
            n = max(len(sent), 1)
            result.client_us[rate] = (producer_cpu / n * 1e6, (mqtt.cpu() - consumers_cpu[0]) / n * 1e6,
                                      (pulsar.cpu() - consumers_cpu[1]) / n * 1e6)
            result.cpu_us[rate] = (mb.cpu_seconds(server.proc.pid) - cpu_before) / max(len(sent), 1) * 1e6
            result.usage[rate] = describe(usage_between(threads_before, threads(server.proc.pid)),
                                          max(len(sent), 1), "command")
            if admin_token:  # (the scrape itself is one more commit-free request)
                result.commits[rate] = (commits(port, admin_token) - commits_before) / max(len(sent), 1)
        if cprofile is not None:
            os.kill(server.proc.pid, signal.SIGUSR2)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not cprofile.exists():
                time.sleep(0.2)
            time.sleep(1.0)  # the file is written in one go; let it finish
            import pstats

            result.calls_per_command = pstats.Stats(str(cprofile)).total_calls / max(commands, 1)  # type: ignore[attr-defined]
        if sustain > 0:
            entries = []
            for i, device in enumerate(devices * max(1, 400 // len(devices))):
                cmd = json.dumps({"commands": [{"code": "switch_1", "value": i % 2 == 0}]}, separators=(",", ":"))
                path = f"/v1.0/devices/{device}/commands"
                entries.append({"method": "POST", "path": path, "body": cmd,
                                "headers": ob.signed_headers(project, "POST", path, cmd.encode())})
            requests_file = work / "commands.lua"
            ob.write_requests(requests_file, entries)
            before = {"mqtt": mqtt.progress()[0], "pulsar-ws": pulsar.progress()[0]}
            started = time.monotonic()
            wrk = ob.run_wrk(f"http://127.0.0.1:{port}", requests_file, sustain, 32, 1, 1)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any(c.progress()[0] - before[n] < wrk.ok
                                                      for n, c in (("mqtt", mqtt), ("pulsar-ws", pulsar))):
                time.sleep(0.1)
            result.sustained_ok, result.sustained_commands = wrk.ok, wrk.ok / wrk.seconds
            for name, (consumer_count, last) in (("mqtt", mqtt.progress()), ("pulsar-ws", pulsar.progress())):
                result.received[name] = consumer_count - before[name]
                result.rate[name] = result.received[name] / max(last - started, 1e-9)
        result.rss_mb = rss_mb(server.proc.pid)
    finally:
        for remote in (mqtt, pulsar):
            if remote is not None:
                remote.stop()
        if server is not None:
            ob.stop_server(server)
        if pg_dir:
            subprocess.run(["bash", str(ob.ROOT / "scripts" / "pg-test-cluster"), "stop", pg_dir], check=False)
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sqlite")
    parser.add_argument("--rates", default="100,1000")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per fixed-rate run")
    parser.add_argument("--sustain", type=float, default=8.0, help="seconds of the sustained run (0: skip)")
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--version", default="2.0", choices=["1.0", "2.0"], help="message encryption version")
    parser.add_argument("--src", type=Path, help="run the server from this source tree (e.g. a worktree of an "
                        "older commit, as a baseline) instead of the checkout's src/")
    parser.add_argument("--cprofile", type=Path, metavar="FILE",
                        help="run the server under cProfile into FILE and print Python calls per command")
    parser.add_argument("--py-spy", type=Path, metavar="DIR", help="py-spy the server during each fixed-rate run")
    parser.add_argument("--trace", type=Path, metavar="FILE", help="stamp each step of a command's way to the MQTT "
                        "subscriber (bench/traced_server.py) and print where the time went")
    parser.add_argument("--lag", type=Path, metavar="FILE", help="probe the server loop's lag every 2 ms "
                        "(bench/lag_server.py) and print it per fixed-rate run")
    parser.add_argument("--idle", type=float, default=0.0, metavar="S", help="measure the idle server's CPU and "
                        "wake-ups for S seconds, before and after the consumers connect")
    parser.add_argument("--producer", default="lean", choices=["lean", "classic"],
                        help="lean: commands signed before the run, a bare protocol (default); classic: signed "
                        "as sent, asyncio streams (the producer before session 9)")
    parser.add_argument("--nice", type=int, default=None, help="run the server, producer and consumers at this nice "
                        "value, each in a scheduler autogroup of its own (e.g. -10 on a shared machine)")
    args = parser.parse_args(argv)
    if args.nice is not None:
        NICE[0] = args.nice
        ob.PRIORITY[:] = ["nice", "-n", str(args.nice)]
    PRODUCER[0] = args.producer
    if args.src:
        ob.SRC_PATH[0] = args.src.resolve()
    if args.sustain > 0:
        ob.require_tools()  # wrk
    results = [run_engine(e, [int(r) for r in args.rates.split(",")], args.duration, args.sustain, args.devices,
                          args.version, args.cprofile, args.py_spy, args.trace, args.idle, args.lag)
               for e in args.engines.split(",")]
    ok = True
    print(f"\nCommand -> decrypted message (MQTT open-hub v{args.version}, QoS 1; Pulsar WS in the same run)")
    print(f"{'engine':<10} {'rate/s':>7} {'consumer':<10} {'p50 ms':>8} {'p99 ms':>8} {'sent':>7} {'lost':>5}")
    for r in results:
        for rate, by_consumer in r.latency.items():
            for name, (p50, p99, sent, lost) in by_consumer.items():
                print(f"{r.engine:<10} {rate:>7} {name:<10} {p50:>8.1f} {p99:>8.1f} {sent:>7} {lost:>5}")
                ok &= lost == 0
    if any(r.received for r in results):
        print(f"\n{'engine':<10} {'commands/s':>11} {'consumer':<10} {'events/s':>9} {'received':>9} {'ok cmds':>8}")
        for r in results:
            for name in r.received:
                print(f"{r.engine:<10} {r.sustained_commands:>11.0f} {name:<10} {r.rate[name]:>9.0f} "
                      f"{r.received[name]:>9} {r.sustained_ok:>8}")
                ok &= r.received[name] >= r.sustained_ok
    for r in results:
        for rate, steps in r.steps.items():
            print(f"\n{r.engine} at {rate}/s, where the time went (traced; ms):")
            print(f"{'step':<24} {'p50':>7} {'p99':>7} {'n':>6}   (GC lines: median, max, count)")
            for step, p50, p99, n in steps:
                print(f"{step:<24} {p50:>7.2f} {p99:>7.2f} {n:>6}")
    for r in results:
        cpu = ", ".join(f"{us:.0f} µs at {rate}/s" for rate, us in r.cpu_us.items())
        print(f"{r.engine}: server CPU per command (its request, commit and both deliveries): {cpu}")
        for rate, lag_text in r.lag.items():
            print(f"{r.engine} at {rate}/s: server loop lag {lag_text}")
        for rate, (producer_us, mqtt_us, pulsar_us) in r.client_us.items():
            print(f"{r.engine} at {rate}/s: load generator CPU per command (core 1): producer {producer_us:.0f} µs, "
                  f"MQTT consumer {mqtt_us:.0f} µs, Pulsar consumer {pulsar_us:.0f} µs, "
                  f"together {producer_us + mqtt_us + pulsar_us:.0f} µs")
        for line in r.idle:
            print(f"{r.engine}: {line}")
        for rate, line in r.usage.items():
            print(f"{r.engine} at {rate}/s: {line}; commits per command {r.commits.get(rate, 0):.3f}")
        if r.calls_per_command:
            print(f"{r.engine}: Python calls per command under cProfile: {r.calls_per_command:.0f}")
        print(f"{r.engine}: server RSS at the end {r.rss_mb:.0f} MB")
    sqlite = next((r for r in results if r.engine == "sqlite"), None)
    if sqlite and 1000 in sqlite.latency:
        p99 = sqlite.latency[1000]["mqtt"][1]
        print(f"\nTarget (SQLite): MQTT p99 at 1000/s < 20 ms: {p99:.1f} ms {'MET' if p99 < 20 else 'MISSED'}")
    print("nothing lost" if ok else "MESSAGES LOST")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
