"""MQTT open-hub benchmark: from a signed command to the decrypted message at an MQTT subscriber, beside the Pulsar
WebSocket consumer of the same server in the same run.

    python bench/mqtt.py [--engines sqlite] [--rates 100,1000] [--duration 8] [--sustain 8] [--version 2.0]

One `tuyacloud serve --no-simulator --mqtt-port P` pinned to core 0 (the embedded broker runs in its event loop);
the producer (its own process) and both consumers share core 1. The MQTT consumer is paho-mqtt on a credential
from the project's own access-config call (it sees every device), QoS 1, decrypting each message as
tuya-iot-py-sdk does; the Pulsar consumer is bench/messages.py's websocket-client consumer, acknowledging each.
1. Latency at fixed rates (paced commands, latency from each command's scheduled time), for both consumers.
2. Sustained: wrk sends commands as fast as the server takes them; both consumers count what arrives; "nothing
   lost" = every command answered success:true has its message at the MQTT subscriber too.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import multiprocessing
import os
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

import paho.mqtt.client as paho  # noqa: E402

import messages as mb  # noqa: E402
import openapi as ob  # noqa: E402
from tuyacloud.messaging.mqtt.codec import decrypt  # noqa: E402

CODE = mb.CODE


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


def _consumer_main(kind: str, args: tuple[object, ...], conn: Any) -> None:
    """A consumer in a process of its own (pinned to core 1): two consumers in one process would wait on each
    other's GIL, and that wait would be counted as the server's latency. Answers "snapshot" requests on ``conn``
    with what it received so far (time.monotonic is system-wide, so its times compare with the producer's)."""
    os.sched_setaffinity(0, {1})
    consumer: Any
    if kind == "mqtt":
        consumer = MqttConsumer(*args)  # type: ignore[arg-type]
        client = consumer.start()
        ready = consumer.subscribed
    else:
        consumer = mb.Consumer(*args)  # type: ignore[arg-type]
        threading.Thread(target=consumer.run, daemon=True).start()
        ready = consumer.ready
    conn.send(ready.wait(10))
    try:
        while (request := conn.recv()) != "stop":
            full = request == "snapshot"
            conn.send((dict(consumer.received) if full else {}, consumer.count, consumer.last))
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
        self.proc = ctx.Process(target=_consumer_main, args=(kind, args, child), daemon=True)
        self.proc.start()
        if not self.conn.recv():
            raise ob.BenchError(f"the {kind} consumer did not get ready within 10 s")

    @property
    def received(self) -> dict[tuple[str, int], float]:
        self.conn.send("snapshot")
        return self.conn.recv()[0]  # type: ignore[no-any-return]

    def progress(self) -> tuple[int, float]:
        self.conn.send("count")
        _, count, last = self.conn.recv()
        return count, last

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


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_engine(engine: str, rates: list[int], duration: float, sustain: float, devices_n: int,
               version: str) -> Result:
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
        server = ob.start_server(f"tuyacloud[{engine}]", [*ob.tuyacloud_cmd(), "serve", "--no-demo", "--no-simulator",
                                                          "--port", str(port), "--mqtt-port", str(mqtt_port), *base],
                                 port, work / "server.log", 0)
        project.token = ob.get_token(port, project)
        body = json.dumps({"uid": created["uid"], "link_id": "bench.mqtt", "link_type": "mqtt", "topics": "device",
                           "msg_encrypted_version": version}).encode()
        answer = ob.call(port, project, "POST", "/v1.0/iot-03/open-hub/access-config", body)
        if not answer.get("success"):
            raise ob.BenchError(f"access-config failed: {answer}")
        mqtt = RemoteConsumer("mqtt", answer["result"], version)
        pulsar = RemoteConsumer("pulsar", f"ws://127.0.0.1:{port}", project.access_id, project.secret)
        time.sleep(1.0)
        os.sched_setaffinity(0, {1})
        value = 0
        for rate in rates:
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                sent = pool.submit(mb.produce, port, project, devices, rate, duration, value).result()
            value += int(rate * duration) + 1
            result.latency[rate] = {}
            for name, consumer in (("mqtt", mqtt), ("pulsar-ws", pulsar)):
                deadline = time.monotonic() + 15
                received = consumer.received
                while time.monotonic() < deadline and any(k not in received for k in sent):
                    time.sleep(0.2)
                    received = consumer.received
                latencies = [(received[k] - at) * 1000 for k, at in sent.items() if k in received]
                lost = sum(1 for k in sent if k not in received)
                result.latency[rate][name] = (mb.percentile(latencies, 50), mb.percentile(latencies, 99), len(sent),
                                              lost)
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
    args = parser.parse_args(argv)
    if args.sustain > 0:
        ob.require_tools()  # wrk
    results = [run_engine(e, [int(r) for r in args.rates.split(",")], args.duration, args.sustain, args.devices,
                          args.version) for e in args.engines.split(",")]
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
        print(f"{r.engine}: server RSS at the end {r.rss_mb:.0f} MB")
    sqlite = next((r for r in results if r.engine == "sqlite"), None)
    if sqlite and 1000 in sqlite.latency:
        p99 = sqlite.latency[1000]["mqtt"][1]
        print(f"\nTarget (SQLite): MQTT p99 at 1000/s < 20 ms: {p99:.1f} ms {'MET' if p99 < 20 else 'MISSED'}")
    print("nothing lost" if ok else "MESSAGES LOST")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
