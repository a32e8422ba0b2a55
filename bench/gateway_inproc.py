"""CPU cost of the gateway's own work for one signed status read: no sockets, no uvicorn, no wrk.

Run: ``python bench/gateway_inproc.py [--requests 20000] [--profile] [--commands] [--quotas]``

Builds the app with ``create_app`` on a fresh data dir (project and devices made with the CLI), starts its
lifespan, and calls the ASGI app directly with precomputed signed requests, as uvicorn would. It prints the CPU
microseconds per request. Pair it with bench/openapi.py: socket-level cost ~= uvicorn's floor (about 20 µs on the
project's machine) + this figure + what concurrency adds. ``--profile`` adds cProfile's top functions by own
time, which is deterministic, unlike sampling under load. ``--commands`` measures durable commands instead (32
concurrent callers, so the SQLite writer batches as under wrk): CPU of the whole process, the commit thread
included, per command. ``--database-url`` runs it on PostgreSQL instead (e.g. a cluster from
scripts/pg-test-cluster with ``PGTEST_FSYNC=on``; the database should be empty): it then also counts the
statements the store sends (round trips) per request, and units per batch.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
# ``--src DIR`` runs another source tree (a baseline): read before tuyacloud is imported.
SRC = Path(sys.argv[sys.argv.index("--src") + 1]).resolve() if "--src" in sys.argv[:-1] else BENCH_DIR.parent / "src"
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(SRC))
sys.path.append(str(BENCH_DIR.parent / "src"))  # so that openapi.py does not put it first

import openapi as ob  # noqa: E402

ob.SRC_PATH[0] = SRC  # the CLI that sets up the data runs the same tree
from tuyacloud.app import create_app  # noqa: E402
from tuyacloud.cli.options import settings_for  # noqa: E402


class RoundTrips:
    """Statements the store sends PostgreSQL (each one round trip; ``RELEASE SAVEPOINT; SAVEPOINT`` counts once):
    asyncpg's ``Connection`` counted at its two doors, the simple query (``execute`` without arguments) and the
    extended one (``_execute``, under ``fetch``/``fetchrow``/``fetchval``/``execute`` with arguments). A statement
    prepared for the first time on a connection costs one more, not counted (a few per run)."""

    def __init__(self) -> None:
        import asyncpg.connection

        self.count = 0
        cls = asyncpg.connection.Connection
        original_execute, original_inner = cls.execute, cls._execute
        counter = self

        async def execute(conn: Any, query: str, *args: Any, timeout: float | None = None) -> Any:
            if not args:
                counter.count += 1
            return await original_execute(conn, query, *args, timeout=timeout)

        async def inner(conn: Any, *args: Any, **kwargs: Any) -> Any:
            counter.count += 1
            return await original_inner(conn, *args, **kwargs)

        cls.execute, cls._execute = execute, inner  # type: ignore[method-assign]


PROFILE_OUT = Path(tempfile.gettempdir()) / "gateway_inproc.prof"


class Statements:
    """pg_stat_statements, when the cluster loads it (``PGTEST_OPTIONS="-c shared_preload_libraries=
    pg_stat_statements"``): PostgreSQL's own time per command, by statement."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, dsn: str) -> Statements | None:
        import asyncpg

        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await conn.fetch("SELECT pg_stat_statements_reset()")
        except asyncpg.PostgresError:
            await conn.close()
            return None
        return cls(conn)

    async def reset(self) -> None:
        await self.conn.fetch("SELECT pg_stat_statements_reset()")

    async def show(self, done: int) -> None:
        rows = await self.conn.fetch(
            "SELECT calls, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS q "
            "FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC")
        total = sum(r["total_exec_time"] for r in rows)
        print(f"  PostgreSQL statements: {total / done * 1000:.0f} µs of execution per command; top:")
        for r in rows[:6]:
            print(f"    {r['calls'] / done:6.3f} per command, {r['total_exec_time'] / done * 1000:6.1f} µs/command: "
                  f"{r['q']}")

    async def close(self) -> None:
        await self.conn.close()


class BackendCpu:
    """CPU time of the cluster's processes (``/proc/<pid>/stat`` utime + stime of every process PostgreSQL lists
    in ``pg_stat_activity``: client backends apart from its own background processes, WAL writer and checkpointer
    included), read before and after a round: on one machine it is CPU the server does not get."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.tick = 1 / os.sysconf("SC_CLK_TCK")

    async def sample(self) -> tuple[float, float]:
        rows = await self.conn.fetch("SELECT pid, backend_type FROM pg_stat_activity")
        client = other = 0.0
        for pid, kind in rows:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            used = (int(fields[11]) + int(fields[12])) * self.tick
            if kind == "client backend":
                client += used
            else:
                other += used
        return client, other


def prepare(work: Path, devices: int, database_url: str | None = None) -> tuple[Path, ob.Project, list[str]]:
    data = work / "data"
    db = ["--database-url", database_url] if database_url else []
    created = json.loads(ob.run_cli(["project", "create", "--name", "inproc", "--json", "--data-dir", str(data), *db],
                                    120))
    ob.run_cli(["device", "add-virtual", "--project", created["access_id"], "--category", "cz", "--count",
                str(devices), "--json", "--data-dir", str(data), *db], 600, stdout_path=work / "devices.json")
    ids = [d["id"] for d in json.loads((work / "devices.json").read_text())]
    return data, ob.Project(created["access_id"], created["access_secret"]), ids


async def measure(data: Path, project: ob.Project, ids: list[str], requests: int, rounds: int,
                  profile: bool, commands: bool = False, observer_ab: list[float] | None = None,
                  quotas: bool = False, quotas_ab: list[float] | None = None,
                  database_url: str | None = None) -> list[float]:
    settings = settings_for(data, database_url)
    settings.create_demo, settings.simulator = False, False
    if quotas:  # the trial's counting on every call, a quota no run reaches (status reads have no per-second limit)
        settings.quotas, settings.quota_calls = "trial", 10**12
    app = create_app(settings)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    life = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put))
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise ob.BenchError(f"app did not start: {started}")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    def scope_of(path: str, headers: dict[str, str], query: bytes = b"", method: str = "GET") -> dict[str, Any]:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()] + [(b"host", b"127.0.0.1:8000")]
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
                "raw_path": path.encode(), "query_string": query, "scheme": "http", "headers": raw,
                "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "root_path": ""}

    body: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            body.append(message["body"])

    headers = ob.signed_headers(project, "GET", "/v1.0/token", query=[("grant_type", "1")])
    await app(scope_of("/v1.0/token", headers, b"grant_type=1"), receive, send)
    project.token = json.loads(body[-1])["result"]["access_token"]
    scopes = [scope_of(e["path"], e["headers"]) for e in ob.status_entries(project, ids[:256])]
    body.clear()
    await app(scopes[0], receive, send)
    if not json.loads(body[-1]).get("success"):
        raise ob.BenchError(f"status read failed: {body[-1][:300]!r}")

    results = []
    # CPU time of the event loop's thread: a busy machine's preemptions would otherwise be charged to whatever
    # function was running (the SQLite commit thread's own work is not in it).
    profiler = cProfile.Profile(time.thread_time) if profile else None
    if commands:
        try:
            return await _measure_commands(app, project, ids, requests, rounds, profiler, scope_of)
        finally:
            await inbox.put({"type": "lifespan.shutdown"})
            await life
    try:
        gateway = app._late.gateway
        observer = gateway.observer if gateway is not None else None
        if quotas_ab is not None and gateway is not None:
            from tuyacloud.domain.projects.quotas import trial_limits

            book = gateway.ctx.quotas
            for _ in range(rounds):
                for on in (True, False):  # the trial's counting on every call, a quota no run reaches
                    book.default = trial_limits(10**12) if on else None
                    cpu = time.process_time()
                    for i in range(requests):
                        await app(scopes[i % len(scopes)], receive, send)
                    (results if on else quotas_ab).append((time.process_time() - cpu) / requests * 1e6)
            return results
        for _ in range(rounds):
            for with_observer in ((True, False) if observer_ab is not None else (True,)):
                if gateway is not None:
                    gateway.observer = observer if with_observer else None
                body.clear()
                cpu = time.process_time()
                for i in range(requests):
                    await app(scopes[i % len(scopes)], receive, send)
                (results if with_observer else observer_ab).append(  # type: ignore[union-attr]
                    (time.process_time() - cpu) / requests * 1e6)
        if gateway is not None:
            gateway.observer = observer
        if profiler is not None:
            profiler.enable()
            for i in range(requests):
                await app(scopes[i % len(scopes)], receive, send)
            profiler.disable()
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await life
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    return results


async def _measure_commands(app: Any, project: ob.Project, ids: list[str], requests: int, rounds: int,
                            profiler: cProfile.Profile | None, scope_of: Any) -> list[float]:
    entries, _ = ob.command_entries(project, ids[:256])
    calls = [(scope_of(e["path"], e["headers"], method="POST"), e["body"].encode()) for e in entries]
    failures: list[bytes] = []

    async def caller(worker: int, count: int) -> None:
        for i in range(count):
            scope, body = calls[(worker * 7919 + i) % len(calls)]

            async def receive(body: bytes = body) -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.body" and b'"success":true' not in message["body"]:
                    failures.append(message["body"])

            await app(scope, receive, send)

    async def burst() -> None:
        await asyncio.gather(*(caller(w, requests // 32) for w in range(32)))

    store = app._late.gateway.ctx.store
    trips = RoundTrips() if hasattr(store, "device_reads") else None  # PostgreSQL
    stats = await Statements.open(store.dsn) if trips is not None else None
    backends = BackendCpu(stats.conn) if stats is not None else None
    results = []
    for _ in range(rounds):
        if stats is not None:
            await stats.reset()
        before = await backends.sample() if backends is not None else (0.0, 0.0)
        if trips is not None:
            trips.count, store.batches, store.units = 0, 0, 0
        cpu = time.process_time()
        await burst()
        done = requests // 32 * 32
        results.append((time.process_time() - cpu) / done * 1e6)
        if trips is not None:
            print(f"  round trips per command {trips.count / done:.3f}, units per batch "
                  f"{store.units / max(store.batches, 1):.1f}", flush=True)
        if backends is not None:
            client, other = (a - b for a, b in zip(await backends.sample(), before, strict=True))
            print(f"  PostgreSQL CPU per command: sessions {client / done * 1e6:.0f} µs, its background processes "
                  f"{other / done * 1e6:.0f} µs", flush=True)
        if stats is not None:
            await stats.show(done)
    if stats is not None:
        await stats.close()
    if failures:
        raise ob.BenchError(f"{len(failures)} commands failed: {failures[0][:300]!r}")
    if profiler is not None:
        profiler.enable()
        await burst()
        profiler.disable()
        profiler.dump_stats(str(PROFILE_OUT))
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        print(f"(profile saved to {PROFILE_OUT})")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20000, help="requests per round (default 20000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one more round")
    parser.add_argument("--commands", action="store_true", help="durable commands instead of status reads")
    parser.add_argument("--src", type=Path, default=None, help="run this source tree (e.g. a baseline's src/)")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop, as `tuyacloud serve` does")
    parser.add_argument("--database-url", default=None, help="PostgreSQL (an empty database) instead of SQLite")
    parser.add_argument("--quotas", action="store_true", help="with the trial's quotas on (serve --quotas trial)")
    parser.add_argument("--quotas-ab", action="store_true",
                        help="alternate rounds with the trial's quotas on and off, same process")
    parser.add_argument("--observer-ab", action="store_true",
                        help="alternate rounds with and without the request observer (metrics), same process")
    args = parser.parse_args()
    without: list[float] | None = [] if args.observer_ab else None
    quotas_off: list[float] | None = [] if args.quotas_ab else None
    work = Path(tempfile.mkdtemp(prefix="tuyacloud-inproc-"))
    try:
        data, project, ids = prepare(work, args.devices, args.database_url)
        if args.uvloop:
            import uvloop

            uvloop.install()
        results = asyncio.run(measure(data, project, ids, args.requests, args.rounds, args.profile, args.commands,
                                      without, args.quotas, quotas_off, args.database_url))
    except ob.BenchError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = sorted(results)[len(results) // 2]
    what = "durable command (commit thread included)" if args.commands else "signed status read"
    what += " (quotas on)" if args.quotas or args.quotas_ab else ""
    print(f"{what} through the gateway, in process: "
          + ", ".join(f"{r:.1f}" for r in results) + f" µs CPU per request (median {median:.1f})")
    if quotas_off:
        off_median = sorted(quotas_off)[len(quotas_off) // 2]
        print("  the same with quotas off: "
              + ", ".join(f"{r:.1f}" for r in quotas_off) + f" (median {off_median:.1f}); "
              + "paired differences: " + ", ".join(f"{a - b:+.1f}" for a, b in zip(results, quotas_off, strict=True)))
    if without:
        print("  the same without the request observer (metrics, access log): "
              + ", ".join(f"{r:.1f}" for r in without) + f" (median {sorted(without)[len(without) // 2]:.1f}); "
              + "paired differences: " + ", ".join(f"{a - b:+.1f}" for a, b in zip(results, without, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
