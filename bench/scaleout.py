"""CPU per operation on PostgreSQL, server process and PostgreSQL separately, with one worker and with several.

    python bench/scaleout.py [--workers 1,2] [--projects 1,8] [--duration 5] [--devices 1000]

For each worker count W and project count K (the devices spread over K projects: one project's messages commit
in sequence order, so one project is bound by its commits one after another, several are not), on a throwaway
PostgreSQL cluster with fsync on (scripts/pg-test-cluster, ``PGTEST_FSYNC=on``) and
``tuyacloud serve --no-demo --no-simulator --no-mqtt --workers W``:
1. status reads: wrk sends signed ``GET /v1.0/devices/{id}/status`` for ``--duration`` seconds (32 connections);
2. commands: wrk sends signed ``POST /v1.0/devices/{id}/commands`` with no consumer connected, so what is measured
   is the write (status, device log, outbox message, one transaction) and nothing of the delivery;
3. delivered events: a Pulsar-WebSocket consumer (bench/messages.py's: decrypts and acknowledges each) connects and
   drains the backlog the commands left; the cost of a delivered event is the CPU spent until the backlog is empty.
Around each phase the CPU time (utime + stime, /proc/<pid>/stat) is read of: the server's processes (the
supervisor and its workers), the PostgreSQL backends serving them (children of the postmaster that are client
sessions, plus the postmaster's reaped children), and PostgreSQL's own background processes (WAL writer,
checkpointer, background writer, autovacuum). CPU per operation = CPU seconds / operations; unlike a rate it is
not much disturbed by other work on the machine. wrk runs on core 1 (``taskset``); the server and PostgreSQL are not
pinned (W workers need W cores), so on a 2-core machine the load generator, the server and PostgreSQL share the
cores and the rates are lower bounds; the CPU per operation is the figure to plan with.

``--statements`` loads pg_stat_statements into the cluster and prints, per phase, the statements PostgreSQL ran
per operation (each is one round trip, except a few sent together such as ``RELEASE SAVEPOINT; SAVEPOINT``):
where a command's or an event's round trips go. ``--profile DIR`` records each phase of the first run with py-spy
(``DIR/<phase>.txt``, collapsed stacks of the server's processes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent / "src"))

import messages as mb  # noqa: E402
import openapi as ob  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def _cpu(pid: int, children_too: bool = False) -> float:
    """utime + stime of ``pid`` (all threads); with ``children_too`` also its reaped children's (cutime, cstime)."""
    try:
        f = _stat(pid)
    except OSError:
        return 0.0
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if children_too else 0)
    return ticks / CLK_TCK


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            found += [int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        pass
    return found


@dataclass
class Sample:
    server: float
    backends: float
    background: float


def sample(server_pid: int, postmaster: int) -> Sample:
    server = _cpu(server_pid) + sum(_cpu(p) for p in _children(server_pid))
    backends = background = 0.0
    for child in _children(postmaster):
        try:
            title = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # a client session's title is "postgres: USER DATABASE ADDRESS STATE"; the others name their job
        if title.startswith("postgres: postgres "):
            backends += _cpu(child)
        else:
            background += _cpu(child)
    backends += _cpu(postmaster, children_too=True)  # sessions that ended meanwhile (and the postmaster itself)
    return Sample(server, backends, background)


def delta(after: Sample, before: Sample, ops: int) -> dict[str, float]:
    """Microseconds of CPU per operation."""
    n = max(ops, 1)
    return {"server_us": (after.server - before.server) / n * 1e6,
            "pg_backends_us": (after.backends - before.backends) / n * 1e6,
            "pg_background_us": (after.background - before.background) / n * 1e6}


def fresh_database(server_url: str) -> str:
    """CREATE DATABASE on the cluster; its URL."""
    import asyncio
    import uuid

    import asyncpg

    from tuyacloud.store.postgres import asyncpg_dsn

    name = "bench_" + uuid.uuid4().hex[:12]

    async def create() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(server_url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


def _pg(url: str, sql: str) -> list[tuple[object, ...]]:
    import asyncio

    import asyncpg

    from tuyacloud.store.postgres import asyncpg_dsn

    async def go() -> list[tuple[object, ...]]:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(go())


class Statements:
    """pg_stat_statements around a phase: what PostgreSQL ran per operation (``--statements``)."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        if url:
            _pg(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def reset(self) -> None:
        if self.url:
            _pg(self.url, "SELECT pg_stat_statements_reset()")

    def per_op(self, ops: int) -> dict[str, object]:
        if not self.url:
            return {}
        rows = _pg(self.url, "SELECT calls, round(mean_exec_time::numeric, 3), query FROM pg_stat_statements s "
                             "JOIN pg_database d ON d.oid = s.dbid "
                             "WHERE d.datname = current_database() AND query NOT LIKE '%pg_stat_statements%' "
                             "ORDER BY calls DESC")
        n = max(ops, 1)
        total = sum(int(str(c)) for c, _, _ in rows)
        return {"statements_per_op": total / n,  # per statement: calls per operation, mean ms inside PostgreSQL
                "top": [(round(int(str(c)) / n, 3), float(str(ms)), " ".join(str(q).split())[:100])
                        for c, ms, q in rows[:12]]}


class Profiler:
    """py-spy of the server's processes during a phase (``--profile``)."""

    def __init__(self, into: Path | None, pid: int, seconds: float) -> None:
        self.into, self.pid, self.seconds = into, pid, seconds

    def start(self, phase: str) -> subprocess.Popen[bytes] | None:
        if self.into is None:
            return None
        self.into.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(["py-spy", "record", "--pid", str(self.pid), "--subprocesses", "--format", "raw",
                                 "--rate", "200", "--duration", str(int(self.seconds)), "--nonblocking",
                                 "--output", str(self.into / f"{phase}.txt")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    @staticmethod
    def stop(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is not None:
            proc.wait(timeout=60)


def run(workers: int, duration: float, devices_n: int, projects_n: int, pg_url: str,
        postmaster: int, statements: bool = False, profile: Path | None = None) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-scaleout-{workers}-"))
    db = fresh_database(pg_url)
    stats = Statements(db if statements else None)
    base = ["--data-dir", str(work), "--database-url", db]
    projects: list[tuple[ob.Project, list[str]]] = []
    for i in range(projects_n):
        created = json.loads(ob.run_cli(["project", "create", "--name", f"bench {i}", "--json", *base], 120))
        project = ob.Project(created["access_id"], created["access_secret"])
        made = json.loads(ob.run_cli(["device", "add-virtual", "--project", project.access_id, "--category", "cz",
                                      "--count", str(max(1, devices_n // projects_n)), "--json", *base], 600))
        projects.append((project, [d["id"] for d in made]))
    port = ob.free_port()
    cmd = [*ob.tuyacloud_cmd(), "serve", "--no-demo", "--no-simulator", "--no-mqtt", "--port", str(port),
           "--workers", str(workers), *base]
    log = work / "server.log"
    with log.open("wb") as fh:  # not pinned: W workers may use W cores
        proc = subprocess.Popen([*ob.PRIORITY, *cmd], stdout=fh, stderr=subprocess.STDOUT, env=ob.child_env(),
                                start_new_session=True)
    ob.raise_priority(proc.pid)
    server = ob.Server(f"tuyacloud x{workers}", port, proc, log)
    out: dict[str, object] = {"workers": workers, "projects": projects_n}
    spy = Profiler(profile, proc.pid, duration)
    try:
        deadline = time.monotonic() + 120
        forked = workers if workers > 1 else 0
        while b"tuyacloud is serving" not in log.read_bytes() or len(_children(proc.pid)) < forked:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ob.BenchError(f"server did not start:\n{server.tail()}")
            time.sleep(0.2)
        time.sleep(1.0 + workers)  # the other workers are ready too
        reads_entries: list[dict[str, object]] = []
        command_entries: list[dict[str, object]] = []
        for project, devices in projects:
            project.token = ob.get_token(port, project)
            sample_ids = devices[: max(1, 256 // projects_n)]
            reads_entries += ob.status_entries(project, sample_ids)
            command_entries += ob.command_entries(project, sample_ids)[0]
        random.Random(1).shuffle(reads_entries)
        random.Random(2).shuffle(command_entries)

        reads = work / "reads.lua"
        ob.write_requests(reads, reads_entries)  # type: ignore[arg-type]
        ob.run_wrk(f"http://127.0.0.1:{port}", reads, 1, 32, 1, 1)  # warm-up
        stats.reset()
        spying = spy.start("read")
        before = sample(proc.pid, postmaster)
        wrk = ob.run_wrk(f"http://127.0.0.1:{port}", reads, duration, 32, 1, 1)
        out["read"] = {"rps": wrk.ok / wrk.seconds, "p99_ms": wrk.p99_ms, "failed": wrk.failed,
                       **delta(sample(proc.pid, postmaster), before, wrk.ok), **stats.per_op(wrk.ok)}
        spy.stop(spying)

        commands = work / "commands.lua"
        ob.write_requests(commands, command_entries)  # type: ignore[arg-type]
        stats.reset()
        spying = spy.start("command")
        before = sample(proc.pid, postmaster)
        wrk = ob.run_wrk(f"http://127.0.0.1:{port}", commands, duration, 32, 1, 1)
        out["command"] = {"rps": wrk.ok / wrk.seconds, "p99_ms": wrk.p99_ms, "failed": wrk.failed,
                          **delta(sample(proc.pid, postmaster), before, wrk.ok), **stats.per_op(wrk.ok)}
        spy.stop(spying)
        time.sleep(1.0)  # the last commits are visible

        consumers = [mb.Consumer(f"ws://127.0.0.1:{port}", p.access_id, p.secret) for p, _ in projects]
        stats.reset()
        spying = spy.start("event")
        before = sample(proc.pid, postmaster)
        started = time.monotonic()
        for consumer in consumers:
            threading.Thread(target=consumer.run, daemon=True).start()
        expected = wrk.ok  # the commands' reports (the devices' bindUser events are not counted)
        deadline = time.monotonic() + 120
        while sum(c.count for c in consumers) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        drained = sum(c.count for c in consumers)
        spent = max(c.last for c in consumers) - started
        after = sample(proc.pid, postmaster)
        for consumer in consumers:
            consumer.stop.set()
        out["event"] = {"rps": drained / max(spent, 1e-9), "delivered": drained, "expected": expected,
                        **delta(after, before, drained), **stats.per_op(drained)}
        spy.stop(spying)
    finally:
        ob.stop_server(server)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk phase")
    parser.add_argument("--devices", type=int, default=1000, help="in all, spread over the projects")
    parser.add_argument("--nice", type=int, default=None, help="run the server, PostgreSQL and wrk at this nice "
                        "value (e.g. -10, as root) on a machine shared with other work")
    parser.add_argument("--projects", default="1,8", help="project counts to run (one project's messages commit "
                        "in order, several projects' in parallel)")
    parser.add_argument("--statements", action="store_true", help="count the statements PostgreSQL runs per "
                        "operation (pg_stat_statements)")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="py-spy each phase of the first run into DIR")
    args = parser.parse_args(argv)
    ob.require_tools()
    if args.nice is not None:
        ob.PRIORITY[:] = ["nice", "-n", str(args.nice)]
        os.nice(args.nice - os.nice(0))  # this process too: its consumers acknowledge what the server delivers
        ob.raise_priority(os.getpid())
    env = {**os.environ, "PGTEST_FSYNC": "on"}
    if args.statements:
        env["PGTEST_OPTIONS"] = "-c shared_preload_libraries=pg_stat_statements"
    started = subprocess.run(["bash", str(ob.ROOT / "scripts" / "pg-test-cluster"), "start"], capture_output=True,
                             text=True, env=env, check=True).stdout
    exports = dict(line.removeprefix("export ").split("=", 1) for line in started.splitlines())
    pg_dir = exports["PGTEST_DIR"]
    results = []
    try:
        postmaster = int(Path(pg_dir, "data", "postmaster.pid").read_text().split()[0])
        if args.nice is not None:  # the postmaster and the sessions it forks from now on
            subprocess.run(["renice", "-n", str(args.nice), "-p", str(postmaster), *map(str, _children(postmaster))],
                           capture_output=True, check=False)
            ob.raise_priority(postmaster)
        for w in [int(x) for x in args.workers.split(",")]:
            for k in [int(x) for x in args.projects.split(",")]:
                results.append(run(w, args.duration, args.devices, k, exports["TUYACLOUD_TEST_DATABASE_URL"],
                                   postmaster, args.statements, args.profile if not results else None))
                print(json.dumps(results[-1]), flush=True)
    finally:
        subprocess.run(["bash", str(ob.ROOT / "scripts" / "pg-test-cluster"), "stop", pg_dir], check=False)
    print(f"\n{os.cpu_count()} cores; PostgreSQL fsync on; {args.duration:g} s per phase, {args.devices} devices")
    print(f"{'workers':>7} {'projects':>8} {'operation':<10} {'ops/s':>8} {'p99 ms':>8} {'server µs':>10} "
          f"{'PG backends µs':>15} {'PG background µs':>17}")
    for r in results:
        for op in ("read", "command", "event"):
            m = r[op]
            assert isinstance(m, dict)
            p99 = f"{m['p99_ms']:8.1f}" if "p99_ms" in m else f"{'':>8}"
            print(f"{r['workers']:>7} {r['projects']:>8} {op:<10} {m['rps']:8.0f} {p99} {m['server_us']:10.0f} "
                  f"{m['pg_backends_us']:15.0f} {m['pg_background_us']:17.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
