"""An honest open-hub link while hostile MQTT clients flood the embedded broker, against the same link with no
flood, in one run: quiet, flood, quiet again (so a busy machine shows as a difference between the two quiet phases).

    python bench/mqtt_hostile.py [--rate 200] [--duration 8] [--bad-rate 200] [--slow 200] [--huge-rate 20]
    python bench/mqtt_hostile.py --src /path/to/other/src      # another tree (e.g. main's) as the server

One `tuyacloud serve --no-simulator --mqtt-port P` pinned to core 0 with its default limits. The honest link is
bench/mqtt.py's lean MQTT subscriber (QoS 1, decrypting each message) on the project's credential, in a process of
its own; the producer sends signed commands at ``--rate`` per second and each message's latency is from the command's
scheduled time to its decryption at the link. During the flood phase a third process (all three clients share
core 1) runs, from 20 loopback addresses (127.0.0.2-21):

- ``--bad-rate`` CONNECTs a second naming the honest link's client id and username with a wrong password (each
  waits for its CONNACK, then closes): before session 11 every one of them kicked the honest link off;
- ``--slow`` connections that send one byte of a fixed header and nothing more, reopened when the server closes
  them (after the CONNECT time-out; before session 11, never);
- ``--huge-rate`` connections a second that announce a 16 MB packet and send 64 KiB blocks until the server closes
  them.

Printed per phase: p50/p99 of the honest link, messages lost, the server's CPU seconds per second (process time,
all threads: the figure a busy machine distorts least), the server's log lines, and what the flood achieved.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent / "src"))

import messages as mb  # noqa: E402
import mqtt as mq  # noqa: E402
import openapi as ob  # noqa: E402

ADDRESSES = [f"127.0.0.{i}" for i in range(2, 22)]
HUGE = 16 * 1024 * 1024
BLOCK = b"\x00" * 65536


def _text(value: str) -> bytes:
    raw = value.encode()
    return len(raw).to_bytes(2, "big") + raw


def bad_connect(client_id: str, username: str) -> bytes:
    body = _text("MQTT") + bytes([4, 0xC2]) + (60).to_bytes(2, "big") + _text(client_id) + _text(username)
    body += _text("not the password, not at all")
    return b"\x10" + mq.remaining_length(len(body)) + body


async def _open(port: int, address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))


async def _flood(port: int, client_id: str, username: str, seconds: float, bad_rate: float, slow: int,
                 huge_rate: float) -> dict[str, Any]:
    stats: dict[str, Any] = {"bad": 0, "bad_refused": 0, "bad_other": 0, "slow_closed": 0, "slow_close_s": [],
                             "huge": 0, "huge_closed": 0, "huge_bytes": 0, "errors": 0, "error_kinds": {}}

    def error(exc: BaseException) -> None:
        stats["errors"] += 1
        kinds = stats["error_kinds"]
        kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
    end = time.monotonic() + seconds
    tasks: set[asyncio.Task[None]] = set()
    packet = bad_connect(client_id, username)

    async def one_bad(address: str) -> None:
        stats["bad"] += 1
        try:
            reader, writer = await _open(port, address)
            writer.write(packet)
            answer = await asyncio.wait_for(reader.read(4), 5)
            stats["bad_refused" if answer == b"\x20\x02\x00\x05" else "bad_other"] += 1
            writer.close()
        except (OSError, TimeoutError) as exc:
            error(exc)

    async def one_slow(address: str) -> None:
        while time.monotonic() < end:
            try:
                reader, writer = await _open(port, address)
            except OSError as exc:
                error(exc)
                await asyncio.sleep(0.1)
                continue
            opened = time.monotonic()
            try:
                writer.write(b"\x10")
                if await asyncio.wait_for(reader.read(1), max(end - time.monotonic(), 0.01)) == b"":
                    stats["slow_closed"] += 1
                    stats["slow_close_s"].append(time.monotonic() - opened)
            except TimeoutError:  # still open at the end of the flood
                return
            except OSError:
                stats["slow_closed"] += 1
                stats["slow_close_s"].append(time.monotonic() - opened)
            finally:
                writer.close()

    async def one_huge(address: str) -> None:
        stats["huge"] += 1
        try:
            reader, writer = await _open(port, address)
            writer.write(b"\x10" + mq.remaining_length(HUGE - 5))
            sent = 0
            while sent < HUGE and time.monotonic() < end:
                writer.write(BLOCK)
                await writer.drain()
                sent += len(BLOCK)
                if reader.at_eof():
                    break
                await asyncio.sleep(0)
            stats["huge_bytes"] += sent
            if await asyncio.wait_for(reader.read(1), 5) == b"":
                stats["huge_closed"] += 1
            writer.close()
        except (ConnectionResetError, BrokenPipeError):
            stats["huge_closed"] += 1
        except (OSError, TimeoutError) as exc:
            error(exc)

    def spawn(coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    for i in range(slow):
        spawn(one_slow(ADDRESSES[i % len(ADDRESSES)]))
    started = time.monotonic()
    bad_n = huge_n = 0
    while (now := time.monotonic()) < end:
        while bad_rate and bad_n < (now - started) * bad_rate:
            spawn(one_bad(ADDRESSES[bad_n % len(ADDRESSES)]))
            bad_n += 1
        while huge_rate and huge_n < (now - started) * huge_rate:
            spawn(one_huge(ADDRESSES[huge_n % len(ADDRESSES)]))
            huge_n += 1
        await asyncio.sleep(0.005)
    if tasks:
        await asyncio.wait(tasks, timeout=10)
    closes = sorted(stats.pop("slow_close_s"))
    stats["slow_close_p50_s"] = closes[len(closes) // 2] if closes else float("nan")
    return stats


def flood(*args: Any) -> dict[str, Any]:
    """Process entry point (core 1, beside the producer and the honest link)."""
    os.sched_setaffinity(0, {1})
    started = time.process_time()
    stats = asyncio.run(_flood(*args))
    stats["cpu_s"] = time.process_time() - started
    return stats


def log_lines(path: Path) -> int:
    return len(path.read_bytes().splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=200, help="commands a second to the honest link's devices")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of each phase")
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--bad-rate", type=float, default=200.0, help="wrong-password CONNECTs a second")
    parser.add_argument("--slow", type=int, default=200, help="connections held with half a fixed header")
    parser.add_argument("--huge-rate", type=float, default=20.0, help="16 MB packets begun a second")
    parser.add_argument("--src", type=Path, help="run the server from this source tree instead of src/")
    args = parser.parse_args(argv)
    if args.src:
        ob.SRC_PATH[0] = args.src.resolve()
    work = Path(tempfile.mkdtemp(prefix="bench-mqtt-hostile-"))
    base = ["--data-dir", str(work)]
    created = json.loads(ob.run_cli(["project", "create", "--name", "bench", "--json", *base], 120))
    project = ob.Project(created["access_id"], created["access_secret"])
    made = json.loads(ob.run_cli(["device", "add-virtual", "--project", project.access_id, "--category", "cz",
                                  "--count", str(args.devices), "--json", *base], 600))
    devices = [d["id"] for d in made]
    port, mqtt_port = ob.free_port(), ob.free_port()
    command = [*ob.tuyacloud_cmd(), "serve", "--no-demo", "--no-simulator", "--port", str(port), "--mqtt-port",
               str(mqtt_port), *base]
    server = ob.start_server("tuyacloud", command, port, work / "server.log", 0)
    link: mq.RemoteConsumer | None = None
    ctx = multiprocessing.get_context("spawn")
    try:
        project.token = ob.get_token(port, project)
        body = json.dumps({"uid": created["uid"], "link_id": "bench.honest", "link_type": "mqtt", "topics": "device",
                           "msg_encrypted_version": "2.0"}).encode()
        answer = ob.call(port, project, "POST", "/v1.0/iot-03/open-hub/access-config", body)
        if not answer.get("success"):
            raise ob.BenchError(f"access-config failed: {answer}")
        config = answer["result"]
        link = mq.RemoteConsumer("mqtt", config, "2.0")
        time.sleep(1.0)
        os.sched_setaffinity(0, {1})
        print(f"\nhonest link: {args.rate} commands/s over {args.devices} devices, {args.duration:.0f} s a phase; "
              f"flood: {args.bad_rate:.0f} bad CONNECTs/s on its client id, {args.slow} slow headers, "
              f"{args.huge_rate:.0f} huge packets/s, from {len(ADDRESSES)} addresses; "
              f"load average {os.getloadavg()[0]:.2f}")
        value = 0
        failed = False
        quiet_cpu: list[float] = []
        flood_line = ""
        for phase in ("quiet", "flood", "quiet again"):
            cpu_before, lines_before = mb.cpu_seconds(server.proc.pid), log_lines(server.log)
            with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
                flooding = None
                if phase == "flood":
                    flooding = pool.submit(flood, mqtt_port, config["client_id"], config["username"],
                                           args.duration + 1, args.bad_rate, args.slow, args.huge_rate)
                    time.sleep(1.0)  # the flood under way before the first command
                sent, _ = pool.submit(mq.produce, None, port, project, devices, args.rate, args.duration,
                                      value).result()
                cpu_s = mb.cpu_seconds(server.proc.pid) - cpu_before
                stats = flooding.result() if flooding is not None else None
            value += int(args.rate * args.duration) + 1
            latencies, lost = mq.await_receipts(link, sent)
            failed |= lost > 0
            seconds = args.duration + (1.0 if phase == "flood" else 0.0)
            print(f"{phase:>12}: p50 {mb.percentile(latencies, 50):6.1f} ms, p99 {mb.percentile(latencies, 99):6.1f} "
                  f"ms, sent {len(sent)}, lost {lost}; server CPU {cpu_s / seconds:.2f} s/s; "
                  f"log lines {log_lines(server.log) - lines_before}")
            if stats is None:
                quiet_cpu.append(cpu_s / seconds)
            else:
                flood_cpu, flood_events = cpu_s / seconds, stats["bad"] + stats["slow_closed"] + stats["huge"]
                flood_line = (f"flood connections {flood_events} ({flood_events / seconds:.0f}/s); server CPU "
                              f"{flood_cpu:.2f} s/s")
                print(f"{'':>14}flood: {stats['bad']} bad CONNECTs ({stats['bad_refused']} CONNACK 5, "
                      f"{stats['bad_other']} other), {stats['slow_closed']} slow connections closed (median "
                      f"{stats['slow_close_p50_s']:.1f} s after opening), {stats['huge']} huge packets "
                      f"({stats['huge_closed']} closed, {stats['huge_bytes'] / max(stats['huge'], 1) / 1024:.0f} KiB "
                      f"sent each), {stats['errors']} errors {stats['error_kinds'] or ''}; flood process CPU "
                      f"{stats['cpu_s'] / seconds:.2f} s/s")
        if flood_line and quiet_cpu:
            extra = flood_cpu - sum(quiet_cpu) / len(quiet_cpu)
            print(f"{flood_line}, {extra:+.2f} s/s over the quiet phases' mean: "
                  f"{extra / max(flood_events / seconds, 1) * 1e6:.0f} µs of server CPU per flood connection")
        return 1 if failed else 0
    finally:
        if link is not None:
            link.stop()
        ob.stop_server(server)


if __name__ == "__main__":
    sys.exit(main())
