"""MQTT open-hub with many links: N project users, each authorised on an asset holding one device, each with its own
open-hub credential and connection; commands to all N devices at a fixed rate; every link must receive exactly its
own device's reports.

    python bench/mqtt_links.py [--links 1000] [--rate 1000] [--duration 8] [--clients 2]
        [--setup DIR] [--src TREE] [--trace] [--py-spy FILE] [--nice -10]

Reports: server RSS before and after the links connect (the broker's and the channel's memory per link), p50/p99
from command to decrypted message across all links, messages lost or delivered to the wrong link, the server's CPU
per message. The links are a minimal asyncio MQTT 3.1.1 client (CONNECT, SUBSCRIBE QoS 1, PUBACK) spread over
``--clients`` processes on core 1, so a thousand connections need neither a thousand threads nor one process's
event loop turning a thousand sockets (which, with the producer on the same core, was itself a source of tail).

Making 1,000 users, assets, devices and credentials takes minutes of signed calls; ``--setup DIR`` keeps them:
the first run makes them in DIR (the server's data directory, and ``setup.json`` with the credentials) and every
later run with the same DIR starts from a fresh copy of it (credentials are issued for 30 days). ``--src TREE``
runs the server from another source tree (a checkout's root or its ``src``), so two versions of the code can be
measured in the same minutes on the same setup. ``--trace`` prints the latency per second of the run (a periodic
stall shows as one bad second every few); ``--py-spy FILE`` records the server with py-spy during the paced run
(``--format raw``: collapsed stacks, one per line, for grep or a flame graph; a FILE ending in ``.json`` gets
py-spy's speedscope format, whose samples keep their order, to see what ran during one slow second).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent / "src"))

import httpx  # noqa: E402

import messages as mb  # noqa: E402
import mqtt as mq  # noqa: E402
import openapi as ob  # noqa: E402
from tuyacloud.messaging.mqtt.codec import decrypt  # noqa: E402


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data



async def _packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = (await reader.readexactly(1))[0]
    size, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        size += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return head, await reader.readexactly(size)


async def _connect(config: dict[str, object],
                   opening: asyncio.Semaphore) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """CONNECT and its CONNACK, a few at a time (``opening``) and again after a reset: a thousand connections
    opened at once overflow the broker's accept queue on a busy machine."""
    host, port = str(config["url"]).split("://", 1)[1].rsplit(":", 1)
    body = _string("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 60) + _string(str(config["client_id"])) + \
        _string(str(config["username"])) + _string(str(config["password"]))
    for attempt in range(10):
        async with opening:
            try:
                reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(bytes([0x10]) + mq.remaining_length(len(body)) + body)
                head, payload = await _packet(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
        if head != 0x20 or payload[1] != 0:
            raise RuntimeError(f"CONNACK {payload!r}")
        return reader, writer
    raise RuntimeError("could not connect")


async def link(config: dict[str, object], version: str, own_device: str, received: dict[tuple[str, int], float],
               wrong: list[str], ready: asyncio.Event, counter: list[int], stop: asyncio.Event,
               opening: asyncio.Semaphore) -> None:
    reader, writer = await _connect(config, opening)
    topic = config["source_topic"]["device"]  # type: ignore[index]
    sub = struct.pack("!H", 1) + _string(topic) + bytes([1])
    writer.write(bytes([0x82]) + mq.remaining_length(len(sub)) + sub)
    key = str(config["password"])[8:24]
    counter[0] += 1
    if counter[0] >= counter[1]:
        ready.set()
    try:
        while not stop.is_set():
            try:
                head, payload = await asyncio.wait_for(_packet(reader), 1.0)
            except TimeoutError:
                writer.write(bytes([0xC0, 0]))  # PINGREQ
                continue
            if head >> 4 != 3:
                continue
            now = time.monotonic()
            size = struct.unpack("!H", payload[:2])[0]
            rest = payload[2 + size:]
            if (head >> 1) & 3:
                packet_id, rest = rest[:2], rest[2:]
                writer.write(bytes([0x40, 2]) + packet_id)
            envelope = json.loads(rest)
            if envelope["protocol"] != 4:
                continue
            data = decrypt(envelope["data"], key, version, envelope["t"])
            if data["devId"] != own_device:
                wrong.append(data["devId"])
            for item in data["status"]:
                if item["code"] == mb.CODE:
                    received.setdefault((data["devId"], item["value"]), now)
    finally:
        writer.close()


def run_links(configs: list[tuple[dict[str, object], str]], version: str, seconds: float,
              queue: multiprocessing.Queue[object], go: Any) -> None:
    """Process entry point: connect every link, say so, wait until every client process has (``go``), then record
    for ``seconds``."""
    os.sched_setaffinity(0, {1})

    async def main() -> None:
        received: dict[tuple[str, int], float] = {}
        wrong: list[str] = []
        ready, stop = asyncio.Event(), asyncio.Event()
        counter = [0, len(configs)]
        opening = asyncio.Semaphore(20)
        tasks = [asyncio.create_task(link(c, version, d, received, wrong, ready, counter, stop, opening))
                 for c, d in configs]
        await asyncio.wait_for(ready.wait(), 300)
        queue.put("ready")
        await asyncio.to_thread(go.wait, 600)
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        queue.put((received, wrong))

    asyncio.run(main())


def _make_setup(port: int, project: ob.Project, control: httpx.Client, links: int,
                version: str) -> tuple[list[tuple[dict[str, object], str]], list[str]]:
    """One project user, asset, device and open-hub credential per link, through the OpenAPI as a client would."""
    password = hashlib.sha256(b"secret").hexdigest()

    def ok(answer: dict[str, object]) -> object:
        if not answer.get("success"):
            raise ob.BenchError(str(answer))
        return answer["result"]

    configs: list[tuple[dict[str, object], str]] = []
    devices: list[str] = []
    for i in range(links):
        asset = ok(ob.call(port, project, "POST", "/v1.0/iot-02/assets", json.dumps({"name": f"a{i}"}).encode()))
        user = ok(ob.call(port, project, "POST", "/v1.0/iot-02/users", json.dumps(
            {"username": f"u{i}@bench.test", "password": password, "country_code": "1"}).encode()))
        uid = user["user_id"]  # type: ignore[index]
        ok(ob.call(port, project, "POST", "/v1.0/iot-03/assets/actions/user-authorized",
                   json.dumps({"uid": uid, "asset_id": asset}).encode()))
        device = control.post(f"/projects/{project.access_id}/devices",
                              json={"category": "cz", "asset_id": asset}).json()["result"][0]["id"]
        login = ok(ob.call(port, ob.Project(project.access_id, project.secret), "POST", "/v1.0/iot-03/users/login",
                           json.dumps({"username": f"u{i}@bench.test", "password": password}).encode()))
        user_project = ob.Project(project.access_id, project.secret, login["access_token"])  # type: ignore[index]
        config = ok(ob.call(port, user_project, "POST", "/v1.0/iot-03/open-hub/access-config", json.dumps(
            {"uid": uid, "link_id": f"bench.{i}", "link_type": "mqtt", "topics": "device",
             "msg_encrypted_version": version}).encode()))
        configs.append((config, device))  # type: ignore[arg-type]
        devices.append(device)
    return configs, devices


def _source(tree: str) -> Path:
    """The directory holding the ``tuyacloud`` package: a checkout's root (its ``src``) or that ``src`` itself."""
    path = Path(tree).resolve()
    for candidate in (path / "src", path):
        if (candidate / "tuyacloud" / "__init__.py").is_file():
            return candidate
    raise ob.BenchError(f"no tuyacloud package under {tree}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--version", default="2.0", choices=["1.0", "2.0"])
    parser.add_argument("--clients", type=int, default=2, help="processes the links are spread over")
    parser.add_argument("--setup", help="keep (first run) or reuse (later runs) the links' setup in this directory")
    parser.add_argument("--src", help="run the server from this source tree (a checkout or its src)")
    parser.add_argument("--trace", action="store_true", help="print p50/p99 per second of the run")
    parser.add_argument("--py-spy", dest="py_spy", help="record the server with py-spy into this file (raw)")
    parser.add_argument("--nice", type=int, default=None, help="run the server, producer and clients at this nice "
                        "value (e.g. -10 on a shared machine)")
    args = parser.parse_args(argv)
    if args.nice is not None:
        ob.PRIORITY[:] = ["nice", "-n", str(args.nice)]
        os.nice(args.nice - os.nice(0))  # this process, and the producer and clients it starts
        ob.raise_priority(os.getpid())
    if args.src:
        ob.SRC_PATH[0] = _source(args.src)
    setup_dir = Path(args.setup).resolve() if args.setup else None
    reuse = setup_dir is not None and (setup_dir / "setup.json").is_file()
    work = Path(tempfile.mkdtemp(prefix="bench-mqtt-links-"))
    if reuse:
        assert setup_dir is not None
        saved = json.loads((setup_dir / "setup.json").read_text())
        if saved["links"] != args.links or saved["version"] != args.version:
            raise ob.BenchError(f"{setup_dir} holds {saved['links']} v{saved['version']} links; make another")
        shutil.rmtree(work)
        shutil.copytree(setup_dir / "data", work)
        project = ob.Project(saved["access_id"], saved["access_secret"])
    base = ["--data-dir", str(work)]
    if not reuse:
        created = json.loads(ob.run_cli(["project", "create", "--name", "bench", "--json", *base], 120))
        project = ob.Project(created["access_id"], created["access_secret"])
    port, mqtt_port = ob.free_port(), ob.free_port()
    command = [*ob.tuyacloud_cmd(), "serve", "--no-demo", "--no-simulator", "--port", str(port), "--mqtt-port",
               str(mqtt_port), "--mqtt-link-ttl", str(30 * 86400),
               # every link connects from 127.0.0.1: the per-address limit (256) would refuse most of them
               "--max-connections", "0", "--max-connections-per-address", "0", *base]
    server = ob.start_server("tuyacloud", command, port, work / "server.log", 0)
    try:
        admin = None
        deadline = time.monotonic() + 30  # the banner follows the bind; a loaded machine may take a while
        while admin is None and time.monotonic() < deadline:
            admin = re.search(r"Bearer (\S+?)\)", server.log.read_text())
            if admin is None:
                time.sleep(0.2)
        if admin is None:
            raise ob.BenchError("no admin token in the server's banner")
        control = httpx.Client(base_url=f"http://127.0.0.1:{port}/_tuyacloud",
                               headers={"Authorization": f"Bearer {admin.group(1)}"}, timeout=60)
        project.token = ob.get_token(port, project)
        started = time.monotonic()
        if reuse:
            configs = [(_moved(c, mqtt_port), d) for c, d in saved["configs"]]
            devices = [d for _, d in configs]
        else:
            configs, devices = _make_setup(port, project, control, args.links, args.version)
        setup_s = time.monotonic() - started
        if setup_dir is not None and not reuse:  # stop the server so its database is whole, keep it, start again
            ob.stop_server(server)
            setup_dir.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(setup_dir / "data", ignore_errors=True)
            shutil.copytree(work, setup_dir / "data", ignore=shutil.ignore_patterns("server.log"))
            (setup_dir / "setup.json").write_text(json.dumps(
                {"links": args.links, "version": args.version, "access_id": project.access_id,
                 "access_secret": project.secret, "configs": configs}))
            server = ob.start_server("tuyacloud", command, port, work / "server.log", 0)
            project.token = ob.get_token(port, project)
        time.sleep(2.0)
        rss_before = mb_rss(server.proc.pid)
        ctx = multiprocessing.get_context("spawn")
        queue: multiprocessing.Queue[object] = ctx.Queue()
        go = ctx.Event()
        clients = max(1, min(args.clients, len(configs)))
        consumers = [ctx.Process(target=run_links, args=(configs[i::clients], args.version, args.duration + 20,
                                                         queue, go)) for i in range(clients)]
        connecting = time.monotonic()
        for consumer in consumers:
            consumer.start()
        for _ in consumers:
            if queue.get(timeout=360) != "ready":
                raise ob.BenchError("links did not connect")
        go.set()
        connect_s = time.monotonic() - connecting
        time.sleep(2.0)
        rss_after = mb_rss(server.proc.pid)
        os.sched_setaffinity(0, {1})
        spy = None
        if args.py_spy:
            spy_format = "speedscope" if args.py_spy.endswith(".json") else "raw"  # speedscope keeps the order
            spy = subprocess.Popen(["py-spy", "record", "--pid", str(server.proc.pid), "--format", spy_format,
                                    "--rate", "200", "--duration", str(int(args.duration) + 4), "--output",
                                    args.py_spy, "--nonblocking"], stdout=subprocess.DEVNULL)
        cpu_before = mb.cpu_seconds(server.proc.pid)
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
            sent, _ = pool.submit(mb.produce, port, project, devices, args.rate, args.duration, 0).result()
        received: dict[tuple[str, int], float] = {}
        wrong: list[str] = []
        for _ in consumers:
            got: dict[tuple[str, int], float]
            bad: list[str]
            got, bad = queue.get(timeout=120)  # type: ignore[misc]
            received.update(got)
            wrong.extend(bad)
        cpu = mb.cpu_seconds(server.proc.pid) - cpu_before
        for consumer in consumers:
            consumer.join(30)
        if spy is not None:
            spy.wait(60)
        latencies = [(received[k] - at) * 1000 for k, at in sent.items() if k in received]
        lost = sum(1 for k in sent if k not in received)
        processes = f"{clients} client process{'es' if clients > 1 else ''}"
        print(f"\n{args.links} links (one project user, asset and device each) in {processes}, "
              f"v{args.version}, setup {setup_s:.0f} s{' (reused)' if reuse else ''}, the links connected in "
              f"{connect_s:.0f} s")
        print(f"server RSS: {rss_before:.0f} MB before the links connected, {rss_after:.0f} MB after "
              f"({(rss_after - rss_before) * 1024 / max(args.links, 1):.0f} KB per link)")
        print(f"{args.rate}/s for {args.duration:.0f} s: sent {len(sent)}, p50 {mb.percentile(latencies, 50):.1f} ms, "
              f"p99 {mb.percentile(latencies, 99):.1f} ms, lost {lost}, at a wrong link {len(wrong)}, "
              f"server CPU {cpu * 1e6 / max(len(latencies), 1):.0f} µs per message (from the run's start to the "
              f"clients' stop)")
        if args.trace:
            first = min(sent.values(), default=0.0)
            by_second: dict[int, list[float]] = {}
            for k, at in sent.items():
                if k in received:
                    by_second.setdefault(int(at - first), []).append((received[k] - at) * 1000)
            for second, values in sorted(by_second.items()):
                print(f"  second {second}: {len(values)} messages, p50 {mb.percentile(values, 50):.1f} ms, "
                      f"p99 {mb.percentile(values, 99):.1f} ms, max {max(values):.1f} ms")
        return 0 if lost == 0 and not wrong else 1
    finally:
        ob.stop_server(server)


def _moved(config: dict[str, object], mqtt_port: int) -> dict[str, object]:
    """A saved config call's answer with this run's broker port (each run listens on a free one)."""
    host = str(config["url"]).rsplit(":", 1)[0]
    return {**config, "url": f"{host}:{mqtt_port}"}


def mb_rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    sys.exit(main())
