"""What a hostile request costs the server, next to an ordinary signed read, measured in one run.

Run: ``python bench/hostile.py [--reads 2000] [--hostile 20] [--src DIR]``

Starts ``tuyacloud serve`` (no demo, no simulator) on a fresh data dir with one project and one device, then sends
each kind of request in turn, sequentially, and reads the server process's CPU time (user + system, from /proc)
before and after each batch; the idle rate of the server's background tasks, measured first, is subtracted. The
figure is server CPU per request: what one client sending such requests back to back takes from everyone else.
``--src`` runs another checkout's ``src/`` (e.g. the code before a change) with the same requests.

The cases: a signed status read on a keep-alive connection and on a new connection (each refused request below
also opens its own connection: the difference is the cost of accepting one); the issue's 1.4 MiB
``Signature-Headers`` with a wrong ``sign``; 5,000 ``Signature-Headers`` names (30 KB, under the head limit); a
signed command body nested 990 deep; the costliest body the JSON limits still parse (4,000 arrays, 33 deep); and
a 1 MiB body of 340,000 empty arrays.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import openapi as ob  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """CPU time of a process's threads, in seconds, from the scheduler's nanosecond counters (/proc/.../stat
    counts clock ticks of 10 ms: too coarse for a few dozen requests)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def read_response(sock: socket.socket) -> bytes:
    """One whole response (Content-Length framed) or what arrived before the server closed."""
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), None)
            if length is not None and len(body) >= length:
                return data
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def request_bytes(project: ob.Project, method: str, path: str, body: bytes = b"",
                  extra: dict[str, str] | None = None, sign: str | None = None) -> bytes:
    headers = ob.signed_headers(project, method, path, body)
    if sign is not None:
        headers["sign"] = sign
    headers.update(extra or {})
    headers["Host"] = "127.0.0.1"
    if body:
        headers["Content-Length"] = str(len(body))
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def once(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
        return read_response(sock)


def code_of(response: bytes) -> str:
    body = response.partition(b"\r\n\r\n")[2]
    try:
        doc = json.loads(body)
    except ValueError:
        return response.split(b"\r\n", 1)[0].decode(errors="replace") or "no answer"
    return "ok" if doc.get("success") else str(doc.get("code"))


def measure(pid: int, idle_rate: float, count: int, send: Callable[[], bytes]) -> tuple[float, str]:
    """Server CPU microseconds per request, and the answer's code."""
    answer = send()  # warm-up, and the answer to show
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    for _ in range(count):
        send()
    cpu = cpu_seconds(pid) - start_cpu - idle_rate * (time.monotonic() - start)
    return max(cpu, 0.0) / count * 1e6, code_of(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=int, default=2000, help="signed reads per read case")
    parser.add_argument("--hostile", type=int, default=20, help="requests per hostile case")
    parser.add_argument("--src", type=Path, help="import tuyacloud from this src/ directory instead")
    parser.add_argument("--core", type=int, default=0, help="CPU the server is pinned to")
    args = parser.parse_args()
    if args.src:
        ob.SRC_PATH[0] = args.src.resolve()
    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    data = work / "data"
    created = json.loads(ob.run_cli(["project", "create", "--name", "hostile", "--json", "--data-dir", str(data)],
                                    120))
    device = json.loads(ob.run_cli(["device", "add-virtual", "--project", created["access_id"], "--category", "cz",
                                    "--json", "--data-dir", str(data)], 120))[0]["id"]
    port = ob.free_port()
    server = ob.start_server("tuyacloud", ob.tuyacloud_cmd() + [
        "serve", "--port", str(port), "--data-dir", str(data), "--no-demo", "--no-simulator"],
        port, work / "server.log", args.core)
    try:
        project = ob.Project(created["access_id"], created["access_secret"])
        project.token = ob.get_token(port, project)
        pid = server.proc.pid
        time.sleep(1.0)
        before, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(3.0)
        idle_rate = (cpu_seconds(pid) - before) / (time.monotonic() - t0)

        status_path = f"/v1.0/iot-03/devices/{device}/status"
        keep = socket.create_connection(("127.0.0.1", port), timeout=60)

        def keepalive_read() -> bytes:
            keep.sendall(request_bytes(project, "GET", status_path))
            return read_response(keep)

        names = ":".join(f"h{i}" for i in range(200_000))
        few_names = ":".join(f"h{i}" for i in range(5000))
        commands = f"/v1.0/iot-03/devices/{device}/commands"
        deep = b'{"commands":[{"code":"switch_1","value":' + b"[" * 990 + b"]" * 990 + b"}]}"
        costly = b'{"commands":[' + b",".join([b"[" * 33 + b"]" * 33] * 121) + b"]}"
        flat = b"{\"commands\":[" + b",".join([b"[]"] * 340_000) + b"]}"
        cases: list[tuple[str, int, Callable[[], bytes]]] = [
            ("signed status read, keep-alive", args.reads, keepalive_read),
            ("signed status read, new connection", args.reads // 4,
             lambda: once(port, request_bytes(project, "GET", status_path))),
            ("Signature-Headers 1.4 MiB, wrong sign", args.hostile,
             lambda: once(port, request_bytes(project, "GET", "/v1.0/devices/x", sign="00" * 32,
                                              extra={"Signature-Headers": names}))),
            ("Signature-Headers 5,000 names (30 KB)", args.hostile,
             lambda: once(port, request_bytes(project, "GET", "/v1.0/devices/x", sign="00" * 32,
                                              extra={"Signature-Headers": few_names}))),
            ("command body nested 990 deep, signed", args.hostile,
             lambda: once(port, request_bytes(project, "POST", commands, deep))),
            ("body of 4,000 arrays 33 deep, signed", args.hostile,
             lambda: once(port, request_bytes(project, "POST", commands, costly))),
            ("1 MiB body of 340,000 arrays, signed", args.hostile,
             lambda: once(port, request_bytes(project, "POST", commands, flat))),
        ]
        results = []
        for name, count, send in cases:
            micros, answer = measure(pid, idle_rate, count, send)
            results.append((name, count, micros, answer))
        keep.close()
    finally:
        ob.stop_server(server)
    base = results[0][2] or 1.0
    print(f"tuyacloud from {ob.SRC_PATH[0]}; server idle CPU {idle_rate * 100:.2f}% subtracted")
    print(f"{'case':<42} {'requests':>8} {'server CPU/request':>19} {'x read':>8}  answer")
    for name, count, micros, answer in results:
        print(f"{name:<42} {count:>8} {micros:>16.0f} µs {micros / base:>8.1f}  {answer}")


if __name__ == "__main__":
    main()
