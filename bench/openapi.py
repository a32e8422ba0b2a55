"""OpenAPI benchmark: signed status reads and signed durable commands against a bare-route baseline.

Run: ``python bench/openapi.py --devices 10000,100000 --duration 10 --runs 3``
     ``python bench/openapi.py --engines sqlite,postgres --devices 10000`` (PostgreSQL: a throwaway cluster from
     scripts/pg-test-cluster with fsync on and ``max_connections = 100``, on the same machine; ``--src DIR`` runs
     another source tree)
     ``python bench/openapi.py --engines postgres --workers 1,2`` (``serve --workers N`` beside one worker, on one
     cluster and one data set, interleaved run by run: commands/s, reads/s and CPU per operation of the server's
     processes and of PostgreSQL's)

What it does, for each device count N:
  1. a fresh data directory; ``tuyacloud project create`` and ``tuyacloud device add-virtual --count N`` (timed);
  2. starts the bare Starlette route (bench/bare_app.py) and ``tuyacloud serve --no-demo --no-simulator``, both
     pinned to one core (``taskset -c 0``), same uvicorn settings (httptools with the coalescing transport,
     uvloop, no access log, one worker); with ``--workers N`` above 1 the server may use every core (N processes
     pinned to one core would only take turns on it), so it shares the client's core with wrk;
     the simulator is off so its background ticks do not pollute the figures;
  3. gets an access token with a signed ``GET /v1.0/token?grant_type=1``;
  4. per run: wrk (pinned to the other core, ``taskset -c 1``) against the bare route, then signed
     ``GET /v1.0/devices/{id}/status`` and signed ``POST /v1.0/devices/{id}/commands``, each after a warm-up.
     Requests are precomputed and signed in Python for a few hundred random devices; bench/lua/rotate.lua rotates
     through them and counts every response that is not ``"success":true``;
  5. after each command run: outbox rows written == commands acknowledged, and a few signed GETs show that the
     commanded statuses changed.
At the end: a table of medians over the runs, the ratio to the bare route, and the targets.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from tuyacloud.signing import sign_request  # noqa: E402

ROTATE_LUA = BENCH_DIR / "lua" / "rotate.lua"
COMMAND_CODE = "switch_1"

# The targets the project set itself.
TARGET_READ_RATIO = 0.50
TARGET_READ_P99_MS = 10.0
TARGET_CMD_RPS = 3000.0
TARGET_CMD_P99_MS = 40.0
TARGET_SCALE_DRIFT = 0.20


class BenchError(RuntimeError):
    """A setup or measurement step failed; the message says which and why."""


# --------------------------------------------------------------------------------------------- processes


# Where the servers and the CLI import tuyacloud from: the checkout's src/, or (bench/openapi.py's main) a copy
# taken at start, so that edits made to the working tree during a run neither mix versions nor break it.
SRC_PATH: list[Path] = [ROOT / "src"]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC_PATH[0]), os.environ.get("PYTHONPATH")]))}


def snapshot_source(into: Path, attempts: int = 6) -> str:
    """Copy src/tuyacloud into ``into``/src and check that it imports; returns its digest. Another session may be
    half-way through an edit: then wait and copy again."""
    error = ""
    for attempt in range(attempts):
        target = into / "src"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(ROOT / "src" / "tuyacloud", target / "tuyacloud",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        env = {**os.environ, "PYTHONPATH": str(target)}
        check = subprocess.run([sys.executable, "-c", "import tuyacloud.cli.main, tuyacloud.server"], env=env,
                               capture_output=True, text=True, timeout=120)
        if check.returncode == 0:
            SRC_PATH[0] = target
            return source_digest(target / "tuyacloud")
        error = check.stderr.strip().splitlines()[-1] if check.stderr.strip() else f"exit {check.returncode}"
        if attempt < attempts - 1:
            print(f"source tree does not import ({error}); copying again in 20 s", file=sys.stderr)
            time.sleep(20)
    raise BenchError(f"the source tree does not import: {error}")


def source_digest(package: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# Prefix of every pinned command: ["nice", "-n", "-10"] when --nice is given (root may raise priority), so that
# other work on a shared machine takes less from the server and wrk.
PRIORITY: list[str] = []


def pinned(core: int | str, cmd: list[str]) -> list[str]:
    """``cmd`` pinned to one core, or a list of cores (taskset execs it, so the child's pid is the program's)."""
    return [*PRIORITY, "taskset", "-c", str(core), *cmd]


def raise_priority(pid: int) -> None:
    """With --nice, also give the process's scheduler autogroup that nice value: with autogroups (Linux's default
    for sessions) plain nice only ranks processes inside one session. Our servers and wrk each run in a session of
    their own, so this touches nothing but them."""
    if PRIORITY:
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/autogroup").write_text(PRIORITY[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_tools() -> None:
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        raise BenchError(f"{', '.join(missing)} not found on PATH: install with `apt-get install -y "
                         f"{' '.join('wrk' if m == 'wrk' else 'util-linux' for m in missing)}`")
    if (os.cpu_count() or 1) < 2:
        print("warning: fewer than 2 cores; server and wrk will share a core", file=sys.stderr)


def tuyacloud_cmd() -> list[str]:
    """The CLI run by this interpreter (``python -m``), so the code under test is this checkout's."""
    return [sys.executable, "-m", "tuyacloud.cli.main"]


def run_cli(args: list[str], timeout: float, stdout_path: Path | None = None) -> str:
    env = child_env()
    cmd = tuyacloud_cmd() + args
    try:
        if stdout_path is None:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
            out = done.stdout
        else:
            with stdout_path.open("w") as fh:
                done = subprocess.run(cmd, stdout=fh, stderr=subprocess.PIPE, text=True, timeout=timeout, env=env)
            out = ""
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"`tuyacloud {' '.join(args[:2])}` did not finish in {timeout:.0f} s") from exc
    if done.returncode != 0:  # under --json the CLI reports its failure on stdout
        said = (done.stderr.strip() + " " + out.strip()[-1000:]).strip()
        raise BenchError(f"`tuyacloud {' '.join(args)}` failed ({done.returncode}): {said[-2000:]}")
    return out


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_server(name: str, cmd: list[str], port: int, log: Path, core: int | str, timeout: float = 120.0) -> Server:
    env = child_env()
    with log.open("wb") as fh:
        proc = subprocess.Popen(pinned(core, cmd), stdout=fh, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    raise_priority(proc.pid)
    server = Server(name, port, proc, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited with {proc.returncode} before listening:\n{server.tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    stop_server(server)
    raise BenchError(f"{name} did not listen on port {port} within {timeout:.0f} s:\n{server.tail()}")


def stop_server(server: Server) -> None:
    """SIGTERM to the process group we created (taskset execs the server), then SIGKILL after 15 s."""
    proc = server.proc
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


# --------------------------------------------------------------------------------------------- signed requests


@dataclass
class Project:
    access_id: str
    secret: str
    token: str = ""


def signed_headers(project: Project, method: str, path: str, body: bytes = b"", t: str | None = None,
                   query: list[tuple[str, str]] | None = None) -> dict[str, str]:
    t = t or str(int(time.time() * 1000))
    nonce = uuid.uuid4().hex
    sign = sign_request(client_id=project.access_id, secret=project.secret, method=method, path=path,
                        query=query or [], body=body, t=t, access_token=project.token, nonce=nonce)
    headers = {"client_id": project.access_id, "sign": sign, "t": t, "sign_method": "HMAC-SHA256", "nonce": nonce}
    if project.token:
        headers["access_token"] = project.token
    if body:
        headers["Content-Type"] = "application/json"
    return headers


def call(port: int, project: Project, method: str, path: str, body: bytes = b"",
         query: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """One signed request; returns the parsed envelope."""
    headers = signed_headers(project, method, path, body, query=query)
    target = path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, target, body=body or None, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        envelope: dict[str, Any] = json.loads(data)
    except ValueError as exc:
        raise BenchError(f"{method} {target}: HTTP {response.status}, not JSON: {data[:200]!r}") from exc
    return envelope


def get_token(port: int, project: Project) -> str:
    envelope = call(port, Project(project.access_id, project.secret), "GET", "/v1.0/token",
                    query=[("grant_type", "1")])
    if not envelope.get("success"):
        raise BenchError(f"token request failed: {envelope}")
    return str(envelope["result"]["access_token"])


def command_body(value: bool) -> bytes:
    return json.dumps({"commands": [{"code": COMMAND_CODE, "value": value}]}, separators=(",", ":")).encode()


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_requests(path: Path, entries: list[dict[str, Any]]) -> None:
    """A Lua file returning the precomputed requests for bench/lua/rotate.lua."""
    lines = ["return {"]
    for e in entries:
        headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in e["headers"].items())
        body = lua_string(e["body"]) if e.get("body") else "nil"
        lines.append(f"  {{method = {lua_string(e['method'])}, path = {lua_string(e['path'])}, "
                     f"headers = {{{headers}}}, body = {body}}},")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def status_entries(project: Project, device_ids: list[str]) -> list[dict[str, Any]]:
    t = str(int(time.time() * 1000))  # one t for all: the server accepts it for its whole timestamp window
    out = []
    for device_id in device_ids:
        path = f"/v1.0/devices/{device_id}/status"
        out.append({"method": "GET", "path": path, "headers": signed_headers(project, "GET", path, t=t)})
    return out


def command_entries(project: Project, device_ids: list[str]) -> tuple[list[dict[str, Any]], dict[str, bool]]:
    """One entry per device, values alternating true/false; returns the entries and each device's commanded value."""
    t = str(int(time.time() * 1000))
    out, expected = [], {}
    for i, device_id in enumerate(device_ids):
        value = i % 2 == 0
        body = command_body(value)
        path = f"/v1.0/devices/{device_id}/commands"
        out.append({"method": "POST", "path": path, "headers": signed_headers(project, "POST", path, body, t=t),
                    "body": body.decode()})
        expected[device_id] = value
    return out, expected


# --------------------------------------------------------------------------------------------- wrk


@dataclass
class WrkResult:
    requests: int
    seconds: float
    ok: int
    failed: int
    socket_errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    first_failure: str = ""
    server_cpu: float = 0.0  # CPU time of the server process (all its threads) / wall time
    wrk_cpu: float = 0.0  # CPU time of wrk / wall time
    other_load: float = 0.0  # cores busy with other processes (or steal): interrupt work and our cluster excluded
    server_wait: float = 0.0  # share of the time the event loop waited for its core while others (not the server's
    # own threads) used it: the disturbance estimate
    attempts: int = 1  # measurements made (more when other processes disturbed one)
    disturbed: str = ""  # why this measurement looks disturbed, if it does (kept when every retry was too)
    outbox_rows: int = 0  # commands only: messages appended during the measurement
    pg_cpu: float = 0.0  # CPU time of the PostgreSQL cluster's processes / wall time (``--engines postgres``)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def per_cpu_s(self) -> float:
        """Requests per CPU-second of the server process: capacity per core, steadier than req/s when the machine
        is shared (it leaves out the kernel's loopback work done in interrupts)."""
        return self.rps / self.server_cpu if self.server_cpu else 0.0

    def brief(self) -> str:
        errs = sum(self.socket_errors.values())
        return (f"{self.rps:9.0f} req/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms  "
                f"(n={self.requests}, non-success {self.failed}, socket errors {errs}; server process "
                f"{self.server_cpu:.0%} CPU, waited {self.server_wait:.0%}; wrk {self.wrk_cpu:.0%}; other load "
                f"{self.other_load:.2f} cores)"
                + (f"; PostgreSQL {self.pg_cpu:.0%} CPU, {self.pg_cpu / self.rps * 1e6:.0f} µs per request"
                   if self.pg_cpu and self.rps else ""))


CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants: ``serve --workers N`` is a supervisor whose forked workers do the serving, so
    the server's CPU is the whole tree's (with one worker the tree is the one process)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(current := todo.pop())
        todo += children.get(current, [])
    return tree


def run_delay(pid: int) -> tuple[float, float]:
    """(seconds the main threads, i.e. the event loops, spent runnable but waiting for a CPU; CPU seconds of the
    processes' other threads), summed over the server's process tree (its workers). The SQLite commit thread shares
    the pinned core with the loop by design: the loop waiting while it runs is the server's own cost, so callers
    subtract it to estimate outside disturbance."""
    wait = cpu_main = cpu_all = 0.0
    for one in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            w = int(Path(f"/proc/{one}/schedstat").read_text().split()[1]) / 1e9
            main = Path(f"/proc/{one}/task/{one}/stat").read_text().rpartition(")")[2].split()
            whole = Path(f"/proc/{one}/stat").read_text().rpartition(")")[2].split()
            wait += w
            cpu_main += (float(main[11]) + float(main[12])) / CLK_TCK
            cpu_all += (float(whole[11]) + float(whole[12])) / CLK_TCK
    return wait, cpu_all - cpu_main


def cpu_sample(pid: int | None) -> tuple[float, float, float, float]:
    """(wall s, busy CPU s outside interrupts, CPU s of pid, its threads and its descendants (the workers), CPU s of
    waited children)."""
    busy = proc = 0.0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("cpu "):
                v = [float(x) for x in line.split()[1:]]
                # user, nice, system, steal; not idle, iowait, and not irq/softirq (loopback TCP is softirq work)
                busy = (v[0] + v[1] + v[2] + v[7]) / CLK_TCK
                break
    for one in process_tree(pid) if pid is not None else ():
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{one}/stat").read_text().rpartition(")")[2].split()
            proc += (float(fields[11]) + float(fields[12])) / CLK_TCK  # utime, stime
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.monotonic(), busy, proc, children.ru_utime + children.ru_stime


POSTMASTER: list[int] = []  # the throwaway cluster's postmaster while one runs (postgres_cluster)


def cluster_cpu() -> float:
    """CPU seconds used so far by the running cluster's processes (its postmaster's children: the client
    sessions and PostgreSQL's own background processes); 0 with no cluster. On this machine they share the cores
    with the server, so a command's cost is the server's CPU plus this."""
    if not POSTMASTER:
        return 0.0
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            if int(fields[1]) == POSTMASTER[0] or int(entry.name) == POSTMASTER[0]:
                total += (float(fields[11]) + float(fields[12])) / CLK_TCK
    return total


def run_wrk(url: str, requests_file: Path, duration: float, connections: int, threads: int, core: int,
            timeout_s: float = 5.0, server_pid: int | None = None, loops: int = 1) -> WrkResult:
    """One wrk measurement; ``loops`` is the server's number of event loops (workers), over which the run-queue
    wait is averaged."""
    cmd = pinned(core, ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s",
                        "--timeout", f"{timeout_s:g}s", "-s", str(ROTATE_LUA), url, "--", str(requests_file)])
    pg_before = cluster_cpu() if server_pid else 0.0
    before = cpu_sample(server_pid)
    delay_before = run_delay(server_pid) if server_pid else (0.0, 0.0)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    raise_priority(proc.pid)
    try:
        stdout, stderr = proc.communicate(timeout=duration + 60)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.communicate()
        raise BenchError(f"wrk did not finish within {duration + 60:.0f} s") from exc
    done = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    after = cpu_sample(server_pid)
    pg_used = cluster_cpu() - pg_before if server_pid else 0.0
    delay_after = run_delay(server_pid) if server_pid else (0.0, 0.0)
    # the loop's run-queue wait beyond the time the server's own other threads held the core
    delay = max(0.0, (delay_after[0] - delay_before[0]) - (delay_after[1] - delay_before[1]))
    wall = after[0] - before[0]
    busy, server_cpu, wrk_cpu = (after[i] - before[i] for i in (1, 2, 3))
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    data = json.loads(line[len("BENCH_JSON "):])
    lat = data["latency_us"]
    return WrkResult(
        requests=data["requests"], seconds=data["duration_us"] / 1e6, ok=data["ok"], failed=data["failed"],
        socket_errors=data["socket_errors"], p50_ms=lat["p50"] / 1000, p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000, p999_ms=lat["p999"] / 1000, max_ms=lat["max"] / 1000,
        first_failure=data.get("first_failure", ""),
        server_cpu=server_cpu / wall if wall else 0.0,
        wrk_cpu=wrk_cpu / wall if wall else 0.0,
        other_load=max(0.0, busy - server_cpu - wrk_cpu - pg_used) / wall if wall and server_pid else 0.0,
        server_wait=delay / wall / loops if wall else 0.0,
        pg_cpu=pg_used / wall if wall else 0.0,
    )


# --------------------------------------------------------------------------------------------- scenario


@dataclass
class RunResult:
    baseline: WrkResult
    reads: WrkResult
    commands: WrkResult
    outbox_rows: int  # messages appended during the measured command run
    status_checked: int
    status_mismatches: int

    @property
    def read_ratio(self) -> float:
        return self.reads.rps / self.baseline.rps if self.baseline.rps else 0.0


@dataclass
class DeviceCountResult:
    devices: int
    create_seconds: float
    runs: list[RunResult] = field(default_factory=list)
    profiles: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    engine: str = "sqlite"
    workers: int = 1
    several_workers: bool = False  # the run compares worker counts: every label names its count

    @property
    def label(self) -> str:
        base = str(self.devices) if self.engine == "sqlite" else f"{self.devices} {self.engine[:2]}"
        return f"{base} w{self.workers}" if self.several_workers and self.engine != "sqlite" else base


@dataclass
class Options:
    duration: float
    warmup: float
    connections: int
    threads: int
    runs: int
    sample: int
    server_core: int
    client_core: int
    keep: bool
    profile_dir: Path | None
    data_root: Path | None
    quiet_threshold: float = 0.15
    max_wait_share: float = 0.05
    min_cpu: float = 0.97
    max_other_io_bound: float = 0.5
    live_source: bool = False
    retries: int = 3
    quiet_wait: float = 120.0
    nice: int = 0
    engines: tuple[str, ...] = ("sqlite",)
    workers: tuple[int, ...] = (1,)  # PostgreSQL only: `serve --workers N` for each N, interleaved run by run


def _pg_value(url: str, sql: str, *args: Any) -> int:
    import asyncio

    import asyncpg

    async def one() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(one())


def outbox_max(db: Path | str) -> int:
    if isinstance(db, str):
        return _pg_value(db, "SELECT coalesce(max(seq), 0) FROM messages")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()[0])
    finally:
        conn.close()


def outbox_since(db: Path | str, seq: int) -> int:
    if isinstance(db, str):
        return _pg_value(db, "SELECT count(*) FROM messages WHERE seq > $1", seq)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute("SELECT count(*) FROM messages WHERE seq > ?", (seq,)).fetchone()[0])
    finally:
        conn.close()


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on this machine with its default durability (fsync on); yields its URL."""
    # max_connections as docs/scaling.md advises (near what the processes need: 21 per worker), not the test
    # clusters' 300: the outbox horizon's pg_locks read visits every slot. 100 still fits two workers' pools.
    env = {**os.environ, "PGTEST_FSYNC": "on",
           "PGTEST_OPTIONS": (os.environ.get("PGTEST_OPTIONS", "") + " -c max_connections=100").strip()}
    script = ROOT / "scripts" / "pg-test-cluster"
    done = subprocess.run(["bash", str(script), "start"], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise BenchError(f"could not start PostgreSQL: {done.stderr.strip()[-500:]}")
    exports = dict(line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines())
    with contextlib.suppress(OSError, ValueError, IndexError):
        POSTMASTER[:] = [int((Path(exports["PGTEST_DIR"]) / "data" / "postmaster.pid").read_text().split()[0])]
    try:
        yield exports["TUYACLOUD_TEST_DATABASE_URL"]
    finally:
        POSTMASTER.clear()
        subprocess.run(["bash", str(script), "stop", exports["PGTEST_DIR"]], check=False)


def check_statuses(port: int, project: Project, expected: dict[str, bool], count: int = 20) -> tuple[int, int]:
    """Signed GETs of a few commanded devices: (checked, mismatches)."""
    items = list(expected.items())
    picks = items[:count]  # alternating values, so both true and false are checked
    mismatches = 0
    for device_id, value in picks:
        envelope = call(port, project, "GET", f"/v1.0/devices/{device_id}/status")
        status = {s["code"]: s["value"] for s in envelope.get("result") or []} if envelope.get("success") else {}
        if status.get(COMMAND_CODE) is not value:
            mismatches += 1
            print(f"    status mismatch on {device_id}: expected {COMMAND_CODE}={value}, got {envelope}",
                  file=sys.stderr)
    return len(picks), mismatches


def machine_load(seconds: float = 1.0) -> float:
    """Cores busy (outside interrupts) over a short window; our idle servers add next to nothing."""
    t0, busy0, _, _ = cpu_sample(None)
    time.sleep(seconds)
    t1, busy1, _, _ = cpu_sample(None)
    return (busy1 - busy0) / (t1 - t0)


def wait_quiet(opts: Options) -> None:
    """Wait (up to opts.quiet_wait s) until the machine is quiet: other sessions' tests share these cores."""
    deadline = time.monotonic() + opts.quiet_wait
    announced = False
    while (load := machine_load()) > opts.quiet_threshold and time.monotonic() < deadline:
        if not announced:
            print(f"    machine busy ({load:.2f} cores used by others): waiting up to {opts.quiet_wait:.0f} s",
                  flush=True)
            announced = True


def disturbance(result: WrkResult, opts: Options, cpu_bound: bool) -> str:
    """Why a measurement looks disturbed by other work on the machine, or "" if it does not.

    A closed loop of 32 connections saturates a CPU-bound server (bare route, reads): if the server got less than
    opts.min_cpu of its core, something else took it or slowed wrk. Commands wait for fsync, so their CPU share
    says little; other processes' load (their tests write to the same disk) is the signal there."""
    if result.server_wait > opts.max_wait_share:
        return f"the server waited for its core {result.server_wait:.0%} of the time"
    if cpu_bound and result.server_cpu < opts.min_cpu:
        return f"the server got only {result.server_cpu:.1%} of its core"
    if not cpu_bound and result.other_load > opts.max_other_io_bound:
        return f"other processes used {result.other_load:.2f} cores (and the disk)"
    return ""


def measure(name: str, server: Server, req_file: Path, opts: Options,
            before: Callable[[], None] | None = None,
            after: Callable[[WrkResult], None] | None = None, cpu_bound: bool = True, loops: int = 1) -> WrkResult:
    """Warm up, then measure; if other work disturbed it, wait for quiet and measure again (up to opts.retries
    times), keeping the attempt disturbed least. ``before``/``after`` wrap each measured attempt."""
    url = f"http://127.0.0.1:{server.port}"
    best: WrkResult | None = None
    for attempt in range(1 + max(0, opts.retries)):
        wait_quiet(opts)
        if opts.warmup > 0:
            run_wrk(url, req_file, opts.warmup, opts.connections, opts.threads, opts.client_core)
        if before is not None:
            time.sleep(0.5)  # wrk stops with requests in flight: let them finish
            before()
        result = run_wrk(url, req_file, opts.duration, opts.connections, opts.threads, opts.client_core,
                         server_pid=server.proc.pid, loops=loops)
        if after is not None:
            after(result)
        result.attempts = attempt + 1
        print(f"    {name:<9} {result.brief()}", flush=True)
        if result.failed and result.first_failure:
            print(f"    first non-success response: {result.first_failure}", file=sys.stderr)
        reason = disturbance(result, opts, cpu_bound)
        result.disturbed = reason

        def badness(r: WrkResult) -> tuple[bool, float]:
            return (bool(r.disturbed), r.server_wait - r.server_cpu if cpu_bound else r.other_load)

        if best is None or badness(result) < badness(best):
            best = result
        if not reason:
            break
        if attempt < opts.retries:
            print(f"    ({reason}: measuring again)", flush=True)
    assert best is not None
    return best


def one_run(work: Path, bare: Server, cloud: Server, project: Project, device_ids: list[str], db: Path | str,
            opts: Options, rng: random.Random, workers: int = 1, baseline: WrkResult | None = None) -> RunResult:
    """One run: the bare route (unless ``baseline`` was measured already in this run), reads, commands. With
    several workers the server is not pinned to one core, so "it got less than its core" says nothing: reads are
    then judged disturbed, like commands, by the other processes' load."""
    sample = rng.sample(device_ids, min(opts.sample, len(device_ids)))
    if baseline is None:
        bare_file = work / "bare.lua"
        write_requests(bare_file, [{"method": "GET", "path": "/hello", "headers": {}}])
        baseline = measure("bare", bare, bare_file, opts)

    read_file = work / "reads.lua"
    write_requests(read_file, status_entries(project, sample))
    reads = measure("reads", cloud, read_file, opts, cpu_bound=workers == 1, loops=workers)

    cmd_file = work / "commands.lua"
    entries, expected = command_entries(project, sample)
    write_requests(cmd_file, entries)
    mark: list[int] = [0]

    def before() -> None:
        mark[0] = outbox_max(db)

    def after(result: WrkResult) -> None:
        time.sleep(0.5)  # commands in flight at wrk's stop commit (and are counted) too
        result.outbox_rows = outbox_since(db, mark[0])

    commands = measure("commands", cloud, cmd_file, opts, before=before, after=after, cpu_bound=False,
                       loops=workers)
    checked, mismatches = check_statuses(cloud.port, project, expected)
    print(f"    outbox rows +{commands.outbox_rows} for {commands.ok} acknowledged commands (+ up to "
          f"{opts.connections} in flight at wrk's stop); status read-back {checked - mismatches}/{checked} ok",
          flush=True)
    return RunResult(baseline, reads, commands, commands.outbox_rows, checked, mismatches)


def profile(work: Path, cloud: Server, project: Project, device_ids: list[str], opts: Options, rng: random.Random,
            label: str) -> dict[str, list[tuple[str, float]]]:
    """py-spy (non-blocking, on the client core) during one read run and one command run; top self-time frames."""
    assert opts.profile_dir is not None
    if shutil.which("py-spy") is None:
        print("    py-spy not found (pip install py-spy): no profile", file=sys.stderr)
        return {}
    opts.profile_dir.mkdir(parents=True, exist_ok=True)
    sample = rng.sample(device_ids, min(opts.sample, len(device_ids)))
    url = f"http://127.0.0.1:{cloud.port}"
    tops: dict[str, list[tuple[str, float]]] = {}
    for kind in ("reads", "commands"):
        req_file = work / f"profile-{kind}.lua"
        if kind == "reads":
            write_requests(req_file, status_entries(project, sample))
        else:
            write_requests(req_file, command_entries(project, sample)[0])
        raw = opts.profile_dir / f"{label}-{kind}.txt"
        gil = opts.profile_dir / f"{label}-{kind}-gil.txt"
        svg = opts.profile_dir / f"{label}-{kind}.svg"
        spy_seconds = max(2, int(opts.duration) - 1)
        spy = pinned(opts.client_core, ["py-spy", "record", "--nonblocking", "--threads", "--pid",
                                        str(cloud.proc.pid), "--duration", str(spy_seconds), "--rate", "250"])
        # wall-clock stacks (text and flame graph) and, separately, only samples of the thread holding the GIL
        procs = [subprocess.Popen([*spy, *extra, "--format", fmt, "--output", str(out)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
                 for fmt, out, extra in (("raw", raw, []), ("flamegraph", svg, []), ("raw", gil, ["--gil"]))]
        try:
            result = run_wrk(url, req_file, opts.duration, opts.connections, opts.threads, opts.client_core,
                             server_pid=cloud.proc.pid)
        finally:
            for p in procs:
                try:
                    _, err = p.communicate(timeout=opts.duration + 30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    err = "timed out"
                if p.returncode:
                    print(f"    py-spy failed: {err.strip()[-500:]}", file=sys.stderr)
        print(f"    profiled {kind:<8} {result.brief()} -> {svg}", flush=True)
        if raw.exists():
            tops[kind] = top_frames(raw)
        if gil.exists():
            tops[kind + " (GIL holder only)"] = top_frames(gil, loop_only=False)
    return tops


def _function(frame: str) -> str:
    """``name (file:line)`` -> ``name (file)``: inclusive time is per function, not per line."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rpartition(':')[0]})" if ":" in where else frame


def top_frames(raw: Path, n: int = 15, loop_only: bool = True) -> list[tuple[str, float]]:
    """From py-spy's collapsed stacks (recorded with --threads): top frames by self time (per line), then our own
    functions by inclusive time, as shares of the event-loop thread's samples (``loop_only``) or of all samples;
    last, the share of all samples that were in other threads (the SQLite commit thread)."""
    stacks: list[tuple[list[str], int]] = []
    per_thread: Counter[str] = Counter()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        stacks.append((frames, int(count)))
        per_thread[frames[0]] += int(count)
    if not stacks:
        return []
    loop_thread = max(per_thread, key=lambda t: sum(c for f, c in stacks if f[0] == t and
                                                     any("Server.run" in x or "asyncio_run" in x for x in f)))
    own = [(f[1:], c) for f, c in stacks if (f[0] == loop_thread or not loop_only) and len(f) > 1]
    total = sum(c for _, c in own)
    if not total:
        return []
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, c in own:
        self_counts["self   " + frames[-1]] += c
        for frame in {_function(f) for f in frames}:
            if "tuyacloud/" in frame and not frame.startswith(("<module>", "serve ", "CloudApp", "_LateGateway")):
                inclusive["incl.  " + frame] += c
    out = [(frame, c / total) for frame, c in self_counts.most_common(n)]
    out += [(frame, c / total) for frame, c in inclusive.most_common(n)]
    everything = sum(per_thread.values())
    out.append(("samples outside the event-loop thread", (everything - per_thread[loop_thread]) / everything))
    return out


def device_count_scenario(n: int, opts: Options, engine: str = "sqlite") -> list[DeviceCountResult]:
    """One result per worker count (only one on SQLite, which refuses ``--workers``)."""
    if engine == "postgres":
        with postgres_cluster() as url:
            return _device_count_scenario(n, opts, engine, url)
    return _device_count_scenario(n, opts, engine, None)


def start_cloud(work: Path, data: Path, db_args: list[str], opts: Options, workers: int) -> Server:
    """``tuyacloud serve`` on a fresh port: pinned to the server core with one worker, on every core with more."""
    port = free_port()
    cores: int | str = opts.server_core if workers == 1 else ",".join(str(c) for c in range(os.cpu_count() or 1))
    extra = ["--workers", str(workers)] if workers > 1 else []
    return start_server(f"tuyacloud ({workers} worker{'s' if workers > 1 else ''})",
                        [*tuyacloud_cmd(), "serve", "--no-demo", "--no-simulator", "--port", str(port),
                         "--data-dir", str(data), *db_args, *extra], port, work / f"tuyacloud-w{workers}.log", cores)


def _device_count_scenario(n: int, opts: Options, engine: str, database_url: str | None) -> list[DeviceCountResult]:
    work = Path(tempfile.mkdtemp(prefix=f"tuyacloud-bench-{n}-", dir=opts.data_root))
    data = work / "data"
    print(f"\n== {n} devices on {engine} (data dir {data})", flush=True)
    servers: list[Server] = []
    db_args = ["--database-url", database_url] if database_url else []
    worker_counts = opts.workers if engine == "postgres" else (1,)
    try:
        project_json = run_cli(["project", "create", "--name", f"bench-{n}", "--json", "--data-dir", str(data),
                                *db_args], timeout=120)
        p = json.loads(project_json)
        project = Project(p["access_id"], p["access_secret"])
        devices_file = work / "devices.json"
        started = time.monotonic()
        run_cli(["device", "add-virtual", "--project", project.access_id, "--category", "cz", "--count", str(n),
                 "--json", "--data-dir", str(data), *db_args], timeout=max(600.0, n * 0.05),
                stdout_path=devices_file)
        create_s = time.monotonic() - started
        device_ids = [d["id"] for d in json.loads(devices_file.read_text())]
        devices_file.unlink()
        if len(device_ids) != n:
            raise BenchError(f"asked for {n} devices, the CLI printed {len(device_ids)}")
        print(f"  created {n} virtual devices in {create_s:.1f} s ({n / create_s:.0f}/s, CLI incl. start-up)",
              flush=True)
        results = {w: DeviceCountResult(n, create_s, engine=engine, workers=w,
                                        several_workers=len(worker_counts) > 1) for w in worker_counts}

        bare_port = free_port()
        bare = start_server("bare route", [sys.executable, str(BENCH_DIR / "bare_app.py"), "--port",
                                           str(bare_port)], bare_port, work / "bare.log", opts.server_core)
        servers.append(bare)
        db: Path | str = database_url or data / "tuyacloud.db"
        for i in range(opts.runs):
            baseline: WrkResult | None = None
            # Worker counts interleaved run by run, each in a server of its own on the same database: what the
            # machine's other load does to one, it does to the others in the same minutes.
            for w in worker_counts:
                print(f"  run {i + 1}/{opts.runs}" + (f", {w} worker(s)" if len(worker_counts) > 1 else ""),
                      flush=True)
                cloud = start_cloud(work, data, db_args, opts, w)
                servers.append(cloud)
                try:
                    project.token = get_token(cloud.port, project)
                    rng = random.Random(n * 1000 + i)  # the same devices for every worker count of a run
                    run = one_run(work, bare, cloud, project, device_ids, db, opts, rng, w, baseline)
                    baseline = run.baseline
                    results[w].runs.append(run)
                    for server in (bare, cloud):
                        if server.proc.poll() is not None:
                            raise BenchError(f"{server.name} died during the run:\n{server.tail()}")
                    if opts.profile_dir is not None and i == opts.runs - 1 and w == 1:
                        results[w].profiles = profile(work, cloud, project, device_ids, opts,
                                                      random.Random(n), f"{n}")
                finally:
                    servers.remove(cloud)
                    stop_server(cloud)
        return [results[w] for w in worker_counts]
    finally:
        for server in servers:
            stop_server(server)
        if opts.keep:
            print(f"  kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------------------------- report


def med(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def summarise(r: DeviceCountResult) -> dict[str, float]:
    runs = r.runs
    return {
        "bare_rps": med([x.baseline.rps for x in runs]),
        "bare_p50": med([x.baseline.p50_ms for x in runs]),
        "bare_p99": med([x.baseline.p99_ms for x in runs]),
        "bare_cpu": med([x.baseline.server_cpu for x in runs]),
        "bare_pcs": med([x.baseline.per_cpu_s for x in runs]),
        "read_pcs": med([x.reads.per_cpu_s for x in runs]),
        "cmd_pcs": med([x.commands.per_cpu_s for x in runs]),
        "read_cpu_ratio": med([x.reads.per_cpu_s / x.baseline.per_cpu_s for x in runs if x.baseline.per_cpu_s]),
        "cmd_cpu_ratio": med([x.commands.per_cpu_s / x.baseline.per_cpu_s for x in runs if x.baseline.per_cpu_s]),
        "bare_wrk": med([x.baseline.wrk_cpu for x in runs]),
        "bare_other": med([x.baseline.other_load for x in runs]),
        "bare_wait": med([x.baseline.server_wait for x in runs]),
        "read_wait": med([x.reads.server_wait for x in runs]),
        "cmd_wait": med([x.commands.server_wait for x in runs]),
        "read_cpu": med([x.reads.server_cpu for x in runs]),
        "read_wrk": med([x.reads.wrk_cpu for x in runs]),
        "read_other": med([x.reads.other_load for x in runs]),
        "cmd_cpu": med([x.commands.server_cpu for x in runs]),
        "cmd_wrk": med([x.commands.wrk_cpu for x in runs]),
        "cmd_other": med([x.commands.other_load for x in runs]),
        "read_rps": med([x.reads.rps for x in runs]),
        "read_p50": med([x.reads.p50_ms for x in runs]),
        "read_p99": med([x.reads.p99_ms for x in runs]),
        "read_ratio": med([x.read_ratio for x in runs]),
        "read_failed": sum(x.reads.failed + sum(x.reads.socket_errors.values()) for x in runs),
        "cmd_rps": med([x.commands.rps for x in runs]),
        "cmd_p50": med([x.commands.p50_ms for x in runs]),
        "cmd_p99": med([x.commands.p99_ms for x in runs]),
        "cmd_ratio": med([x.commands.rps / x.baseline.rps for x in runs if x.baseline.rps]),
        "cmd_failed": sum(x.commands.failed + sum(x.commands.socket_errors.values()) for x in runs),
        "cmd_ok": sum(x.commands.ok for x in runs),
        "outbox_rows": sum(x.outbox_rows for x in runs),
        "status_mismatch": sum(x.status_mismatches for x in runs),
        "status_checked": sum(x.status_checked for x in runs),
        # CPU per operation, µs: the server's processes (every worker) and the PostgreSQL cluster's
        "read_srv_us": med([x.reads.server_cpu / x.reads.rps * 1e6 for x in runs if x.reads.rps]),
        "read_pg_us": med([x.reads.pg_cpu / x.reads.rps * 1e6 for x in runs if x.reads.rps]),
        "cmd_srv_us": med([x.commands.server_cpu / x.commands.rps * 1e6 for x in runs if x.commands.rps]),
        "cmd_pg_us": med([x.commands.pg_cpu / x.commands.rps * 1e6 for x in runs if x.commands.rps]),
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def code_version() -> str:
    """HEAD and whether src/ differs from it (read-only git calls), plus a digest of the source files measured."""
    head, dirty = "unknown", ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        git = ["git", "--no-optional-locks", "-C", str(ROOT)]
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip() or "unknown"
        changed = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", "src"], timeout=30).returncode
        dirty = " + uncommitted changes in src/" if changed else ""
    return f"{head}{dirty} (src digest {source_digest(SRC_PATH[0] / 'tuyacloud')})"


def report(results: list[DeviceCountResult], opts: Options, version: str = "") -> bool:
    sums = {r.label: summarise(r) for r in results}
    print("\n" + "=" * 100)
    print(f"tuyacloud OpenAPI benchmark  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  python {sys.version.split()[0]}  "
          f"cores {os.cpu_count()}")
    print(f"code: {version or code_version()}")
    print(f"server core {opts.server_core}, wrk core {opts.client_core} ({opts.threads} thread), "
          f"{opts.connections} connections, {opts.duration:g} s per measurement after {opts.warmup:g} s warm-up, "
          f"{opts.runs} run(s), medians; simulator off; nice {opts.nice}; PostgreSQL workers "
          f"{','.join(map(str, opts.workers))} (above 1: on every core)\nre-measured (up to {opts.retries} times) "
          f"when disturbed: run-queue wait > {opts.max_wait_share:.0%}, server CPU < {opts.min_cpu:.0%} (bare, "
          f"reads), others > {opts.max_other_io_bound:g} cores (commands)")
    print("=" * 100)
    header = (f"{'devices':>8} {'scenario':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8} "
              f"{'errors':>7} {'srv CPU':>8} {'waited':>7} {'wrk CPU':>8} {'other':>6} {'req/CPU-s':>10} "
              f"{'vs bare':>8}")
    print(header)
    print("-" * len(header))
    for r in results:
        s = sums[r.label]
        rows = (("bare", "bare", 1.0, None, 1.0), ("reads", "read", s["read_ratio"], s["read_failed"],
                                                   s["read_cpu_ratio"]),
                ("commands", "cmd", s["cmd_ratio"], s["cmd_failed"], s["cmd_cpu_ratio"]))
        for i, (label, k, ratio, errors, cpu_ratio) in enumerate(rows):
            devices = f"{r.label:>8}" if i == 0 else " " * 8
            errs = "-" if errors is None else f"{errors:.0f}"
            print(f"{devices} {label:<10} {s[k + '_rps']:>9.0f} {s[k + '_p50']:>8.2f} {s[k + '_p99']:>8.2f} "
                  f"{ratio:>8.2f} {errs:>7} {s[k + '_cpu']:>8.0%} {s[k + '_wait']:>7.0%} {s[k + '_wrk']:>8.0%} "
                  f"{s[k + '_other']:>6.2f} "
                  f"{s[k + '_pcs']:>10.0f} {cpu_ratio:>8.2f}")
    print("\nsrv CPU / wrk CPU: each process's CPU time over wall time. waited: share of the time the server's "
          "event loop was\nrunnable but waited for its core beyond what the server's own commit thread used "
          "(above ~5%: disturbed).\nother: cores busy with other processes (interrupt time excluded), i.e. how "
          "shared the machine was.\nreq/CPU-s: requests per CPU-second of the server process, i.e. capacity per "
          "core; steadier than req/s on a shared machine.")
    flagged = [f"{r.devices} devices run {i + 1} {kind}: {w.disturbed}" for r in results
               for i, run in enumerate(r.runs)
               for kind, w in (("bare", run.baseline), ("reads", run.reads), ("commands", run.commands))
               if w.disturbed]
    if flagged:
        print(f"still disturbed after retries ({len(flagged)} of {3 * sum(len(r.runs) for r in results)} "
              "measurements kept):\n  " + "\n  ".join(flagged))
    print("setup: " + ", ".join(f"{r.devices} devices created in {r.create_seconds:.1f} s" for r in results))
    all_ok = True
    print("\ntargets:")
    for r in results:
        s = sums[r.label]
        checks = [
            (f"reads >= {TARGET_READ_RATIO:.0%} of bare route", s["read_ratio"] >= TARGET_READ_RATIO,
             f"{s['read_ratio']:.2f}"),
            (f"reads p99 < {TARGET_READ_P99_MS:g} ms", s["read_p99"] < TARGET_READ_P99_MS, f"{s['read_p99']:.2f} ms"),
            (f"commands >= {TARGET_CMD_RPS:.0f}/s", s["cmd_rps"] >= TARGET_CMD_RPS, f"{s['cmd_rps']:.0f}/s"),
            (f"commands p99 < {TARGET_CMD_P99_MS:g} ms", s["cmd_p99"] < TARGET_CMD_P99_MS, f"{s['cmd_p99']:.2f} ms"),
            ("no non-success response", s["read_failed"] == 0 and s["cmd_failed"] == 0,
             f"{s['read_failed']:.0f} + {s['cmd_failed']:.0f}"),
            ("outbox rows >= acknowledged commands", s["outbox_rows"] >= s["cmd_ok"],
             f"{s['outbox_rows']:.0f} rows / {s['cmd_ok']:.0f} acks"),
            ("commanded statuses read back", s["status_mismatch"] == 0,
             f"{s['status_checked'] - s['status_mismatch']:.0f}/{s['status_checked']:.0f}"),
        ]
        for label, ok, value in checks:
            all_ok &= ok
            print(f"  {r.label:>7} devices  {label:<40} {value:>24}  {verdict(ok)}")
    if any(r.engine == "postgres" for r in results):
        print("\nCPU per operation (medians; the server's processes, every worker, and the PostgreSQL cluster's):")
        print(f"  {'devices':>10} {'workers':>7} {'reads/s':>8} {'srv µs':>7} {'pg µs':>6} {'read p99':>9} "
              f"{'cmds/s':>7} {'srv µs':>7} {'pg µs':>6} {'cmd p99':>8}")
        for r in results:
            s = sums[r.label]
            print(f"  {r.label:>10} {r.workers:>7} {s['read_rps']:>8.0f} {s['read_srv_us']:>7.0f} "
                  f"{s['read_pg_us']:>6.0f} {s['read_p99']:>9.2f} {s['cmd_rps']:>7.0f} {s['cmd_srv_us']:>7.0f} "
                  f"{s['cmd_pg_us']:>6.0f} {s['cmd_p99']:>8.2f}")
    by_count = [r for r in results if r.workers == results[0].workers]
    if len({r.devices for r in by_count}) > 1 and len({r.engine for r in by_count}) == 1:
        results = by_count
        lo, hi = results[0].label, results[-1].label
        a, b = sums[lo], sums[hi]
        print(f"\nscale {lo} -> {hi} devices (target: within {TARGET_SCALE_DRIFT:.0%}):")
        for key, label in (("read_ratio", "reads vs bare"), ("read_rps", "reads req/s"), ("cmd_rps", "commands/s"),
                           ("read_p99", "reads p99 (info)"), ("cmd_p99", "commands p99 (info)")):
            change = (b[key] - a[key]) / a[key] if a[key] else 0.0
            gated = "(info)" not in label
            ok = abs(change) <= TARGET_SCALE_DRIFT
            if gated:
                all_ok &= ok
            print(f"  {label:<22} {a[key]:>9.2f} -> {b[key]:>9.2f}  {change:+7.1%}  "
                  f"{verdict(ok) if gated else ''}")
    for r in results:
        for kind, frames in r.profiles.items():
            print(f"\nprofile {r.devices} devices, {kind}: top self time (py-spy)")
            for frame, share in frames:
                print(f"  {share:6.1%}  {frame}")
    return all_ok


def parse_args(argv: list[str] | None) -> tuple[list[int], Options, Path | None]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", default="10000", help="device count, or several comma-separated (10000,100000)")
    parser.add_argument("--duration", type=int, default=10, help="whole seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="whole seconds of warm-up before each, 0 for none "
                                                                "(default 2)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1, on the client core)")
    parser.add_argument("--runs", type=int, default=1, help="runs per device count; medians are reported")
    parser.add_argument("--sample", type=int, default=256, help="devices in the rotation (default 256)")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="after the runs, profile the server with py-spy into DIR (figures not counted)")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="parent of the temporary data dirs (default: the system temp dir; use a real disk)")
    parser.add_argument("--quiet-threshold", type=float, default=0.15, metavar="CORES",
                        help="before a measurement, wait while others use more than this many cores (default 0.15)")
    parser.add_argument("--max-wait", type=float, default=0.05, metavar="SHARE",
                        help="measure again when the server's threads waited for a CPU longer than this share "
                             "of the time (default 0.05)")
    parser.add_argument("--retries", type=int, default=3, help="extra attempts per disturbed measurement (default 3)")
    parser.add_argument("--quiet-wait", type=float, default=120.0, metavar="S",
                        help="before each measurement, wait up to S seconds for the machine to be quiet")
    parser.add_argument("--min-cpu", type=float, default=0.97, metavar="SHARE",
                        help="bare route and reads: measure again when the server got less of its core (default 0.97)")
    parser.add_argument("--max-other", type=float, default=0.5, metavar="CORES",
                        help="commands: measure again when other processes used more cores (default 0.5)")
    parser.add_argument("--nice", type=int, default=0, metavar="N",
                        help="run servers and wrk under `nice -n N` (e.g. -10 as root on a shared machine)")
    parser.add_argument("--live-source", action="store_true",
                        help="run the checkout's src/ as it is (default: a copy taken at start, immune to edits)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and server logs")
    parser.add_argument("--json-out", type=Path, default=None, help="write every run's raw figures here")
    parser.add_argument("--engines", default="sqlite", help="sqlite, postgres or both (comma-separated); PostgreSQL "
                        "is a throwaway cluster on this machine (scripts/pg-test-cluster, fsync on)")
    parser.add_argument("--workers", default="1", help="PostgreSQL: server processes (`serve --workers N`), or "
                        "several comma-separated (1,2), interleaved run by run on one data set (default 1)")
    parser.add_argument("--src", type=Path, default=None, help="run the server from this source tree (e.g. an "
                        "older commit's, as a baseline) instead of a copy of the checkout's src/")
    args = parser.parse_args(argv)
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    if not engines or set(engines) - {"sqlite", "postgres"}:
        parser.error("--engines takes sqlite, postgres or both")
    if args.src is not None:
        SRC_PATH[0] = args.src.resolve()
    try:
        workers = tuple(int(x) for x in str(args.workers).split(",") if x.strip())
    except ValueError:
        parser.error("--workers takes integers, e.g. 1 or 1,2")
    if not workers or min(workers) < 1:
        parser.error("--workers needs at least one positive count")
    if workers != (1,) and "postgres" not in engines:
        parser.error("--workers above 1 needs --engines postgres (serve refuses it on SQLite)")
    try:
        counts = [int(x) for x in str(args.devices).split(",") if x.strip()]
    except ValueError:
        parser.error("--devices takes integers, e.g. 10000 or 10000,100000")
    if not counts or min(counts) < 1:
        parser.error("--devices needs at least one positive count")
    if args.duration < 1 or args.warmup < 0:
        parser.error("--duration must be at least 1 s and --warmup at least 0 (wrk takes whole seconds)")
    opts = Options(duration=args.duration, warmup=args.warmup, connections=args.connections, threads=args.threads,
                   runs=max(1, args.runs), sample=args.sample, server_core=args.server_core,
                   client_core=args.client_core, keep=args.keep, profile_dir=args.profile, data_root=args.data_root,
                   quiet_threshold=args.quiet_threshold, retries=args.retries, quiet_wait=args.quiet_wait,
                   nice=args.nice, max_wait_share=args.max_wait, min_cpu=args.min_cpu,
                   max_other_io_bound=args.max_other, live_source=args.live_source or args.src is not None,
                   engines=engines, workers=workers)
    return counts, opts, args.json_out


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """SIGTERM/SIGHUP become KeyboardInterrupt so that the finally blocks stop the servers."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def main(argv: list[str] | None = None) -> int:
    counts, opts, json_out = parse_args(argv)
    if opts.nice:
        PRIORITY[:] = ["nice", "-n", str(opts.nice)]
    results: list[DeviceCountResult] = []
    failure = version = ""
    snapshot = Path(tempfile.mkdtemp(prefix="tuyacloud-bench-src-", dir=opts.data_root))
    try:
        require_tools()
        if not opts.live_source:
            snapshot_source(snapshot)
        version = code_version()
        print(f"code under test: {version}" + ("" if opts.live_source else f", copied to {SRC_PATH[0]}"))
        with terminate_on_signals():
            for engine in opts.engines:
                for n in counts:
                    results += device_count_scenario(n, opts, engine)
    except BenchError as exc:
        failure = f"benchmark failed: {exc}"
    except KeyboardInterrupt:
        failure = "interrupted; servers stopped"
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)
    all_ok = False
    if results:  # what finished is reported even when a later step failed
        all_ok = report(results, opts, version)
        if json_out is not None:
            json_out.write_text(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"),
                                            "code": version, "failure": failure,
                                            "options": {k: str(v) for k, v in asdict(opts).items()},
                                            "summary": {r.label: summarise(r) for r in results},
                                            "results": [asdict(r) for r in results]}, indent=2))
    if failure:
        print(f"\n{failure}", file=sys.stderr)
        return 130 if failure.startswith("interrupted") else 2
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
