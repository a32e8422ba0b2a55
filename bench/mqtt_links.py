"""MQTT open-hub with many links: N project users, each authorised on an asset holding one device, each with its own
open-hub credential and connection; commands to all N devices at a fixed rate; every link must receive exactly its
own device's reports.

    python bench/mqtt_links.py [--links 1000] [--rate 1000] [--duration 8]

Reports: server RSS before and after the links connect (the broker's and the channel's memory per link), p50/p99
from command to decrypted message across all links, messages lost or delivered to the wrong link. The links are
a minimal asyncio MQTT 3.1.1 client (CONNECT, SUBSCRIBE QoS 1, PUBACK) in one process on core 1, so a thousand
connections do not need a thousand threads.
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
import struct
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent / "src"))

import httpx  # noqa: E402

import messages as mb  # noqa: E402
import openapi as ob  # noqa: E402
from tuyacloud.messaging.mqtt.codec import decrypt  # noqa: E402


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def _remaining(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


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


async def link(config: dict[str, object], version: str, own_device: str, received: dict[tuple[str, int], float],
               wrong: list[str], ready: asyncio.Event, counter: list[int], stop: asyncio.Event) -> None:
    host, port = str(config["url"]).split("://", 1)[1].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    body = _string("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 60) + _string(str(config["client_id"])) + \
        _string(str(config["username"])) + _string(str(config["password"]))
    writer.write(bytes([0x10]) + _remaining(len(body)) + body)
    head, payload = await _packet(reader)
    if head != 0x20 or payload[1] != 0:
        raise RuntimeError(f"CONNACK {payload!r}")
    topic = config["source_topic"]["device"]  # type: ignore[index]
    sub = struct.pack("!H", 1) + _string(topic) + bytes([1])
    writer.write(bytes([0x82]) + _remaining(len(sub)) + sub)
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
              queue: multiprocessing.Queue[object]) -> None:
    """Process entry point: connect every link, say so, then record for ``seconds``."""
    os.sched_setaffinity(0, {1})

    async def main() -> None:
        received: dict[tuple[str, int], float] = {}
        wrong: list[str] = []
        ready, stop = asyncio.Event(), asyncio.Event()
        counter = [0, len(configs)]
        tasks = [asyncio.create_task(link(c, version, d, received, wrong, ready, counter, stop)) for c, d in configs]
        await asyncio.wait_for(ready.wait(), 120)
        queue.put("ready")
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        queue.put((received, wrong))

    asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--version", default="2.0", choices=["1.0", "2.0"])
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-mqtt-links-"))
    base = ["--data-dir", str(work)]
    created = json.loads(ob.run_cli(["project", "create", "--name", "bench", "--json", *base], 120))
    project = ob.Project(created["access_id"], created["access_secret"])
    port, mqtt_port = ob.free_port(), ob.free_port()
    command = [*ob.tuyacloud_cmd(), "serve", "--no-demo", "--no-simulator", "--port", str(port), "--mqtt-port",
               str(mqtt_port), *base]
    server = ob.start_server("tuyacloud", command, port, work / "server.log", 0)
    try:
        time.sleep(1.0)
        admin = re.search(r"Bearer (\S+?)\)", server.log.read_text())
        if admin is None:
            raise ob.BenchError("no admin token in the server's banner")
        control = httpx.Client(base_url=f"http://127.0.0.1:{port}/_tuyacloud",
                               headers={"Authorization": f"Bearer {admin.group(1)}"}, timeout=60)
        project.token = ob.get_token(port, project)
        password = hashlib.sha256(b"secret").hexdigest()

        def ok(answer: dict[str, object]) -> object:
            if not answer.get("success"):
                raise ob.BenchError(str(answer))
            return answer["result"]

        configs: list[tuple[dict[str, object], str]] = []
        devices: list[str] = []
        started = time.monotonic()
        for i in range(args.links):
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
                 "msg_encrypted_version": args.version}).encode()))
            configs.append((config, device))  # type: ignore[arg-type]
            devices.append(device)
        setup_s = time.monotonic() - started
        time.sleep(2.0)
        rss_before = mb_rss(server.proc.pid)
        ctx = multiprocessing.get_context("spawn")
        queue: multiprocessing.Queue[object] = ctx.Queue()
        consumer = ctx.Process(target=run_links, args=(configs, args.version, args.duration + 20, queue))
        consumer.start()
        if queue.get(timeout=180) != "ready":
            raise ob.BenchError("links did not connect")
        time.sleep(2.0)
        rss_after = mb_rss(server.proc.pid)
        os.sched_setaffinity(0, {1})
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
            sent, _ = pool.submit(mb.produce, port, project, devices, args.rate, args.duration, 0).result()
        received, wrong = queue.get(timeout=120)  # type: ignore[misc]
        consumer.join(30)
        latencies = [(received[k] - at) * 1000 for k, at in sent.items() if k in received]
        lost = sum(1 for k in sent if k not in received)
        print(f"\n{args.links} links (one project user, asset and device each), v{args.version}, "
              f"setup {setup_s:.0f} s")
        print(f"server RSS: {rss_before:.0f} MB before the links connected, {rss_after:.0f} MB after "
              f"({(rss_after - rss_before) * 1024 / max(args.links, 1):.0f} KB per link)")
        print(f"{args.rate}/s for {args.duration:.0f} s: sent {len(sent)}, p50 {mb.percentile(latencies, 50):.1f} ms, "
              f"p99 {mb.percentile(latencies, 99):.1f} ms, lost {lost}, at a wrong link {len(wrong)}")
        return 0 if lost == 0 and not wrong else 1
    finally:
        ob.stop_server(server)


def mb_rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    sys.exit(main())
