"""Two source trees' servers side by side, measured in alternation: requests/s and server CPU-µs per request.

For a change to the per-request cost of the HTTP layer on a machine shared with other work: both servers run at
once (each pinned to the server core, only one under load at a time) and wrk alternates between them for short
spells, so both see the same minute of the machine; the figure to read is the server's CPU per request (its
utime + stime over the spell divided by the requests answered), which the other load moves far less than the rate.

Run: ``python bench/ab_http.py --a /work/base/src --b src --rounds 6 --duration 3 [--engine postgres] [--nice -10]``

What it does: one data directory (SQLite; PostgreSQL: one throwaway cluster and database shared by both servers,
one loaded at a time), a project and ``--devices`` virtual sockets made by the CLI of ``--b``; the SQLite file is
copied for ``--a``. Then per round, for each tree (the order alternating round by round): signed status reads, then
signed durable commands (``switch_1``), each after a short warm-up. Prints every spell and the medians.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import openapi as ob  # noqa: E402  (the OpenAPI benchmark's helpers: servers, signed requests, wrk)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", type=Path, required=True, help="source tree A (its src/ directory)")
    parser.add_argument("--b", type=Path, required=True, help="source tree B (its src/ directory)")
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--kinds", default="reads,commands")
    parser.add_argument("--nice", type=int, default=0)
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    if args.nice:
        ob.PRIORITY[:] = ["nice", "-n", str(args.nice)]
    kinds = [k for k in args.kinds.split(",") if k]
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    work = Path(tempfile.mkdtemp(prefix="tuyacloud-ab-"))
    rows: list[dict[str, object]] = []
    with ob.terminate_on_signals(), ExitStack() as stack:
        stack.callback(shutil.rmtree, work, True)
        url = stack.enter_context(ob.postgres_cluster()) if args.engine == "postgres" else None
        db_args = ["--database-url", url] if url else []
        ob.SRC_PATH[0] = trees["B"]
        data = {"A": work / "a", "B": work / "b"}
        project_json = ob.run_cli(["project", "create", "--name", "ab", "--json", "--data-dir", str(data["B"]),
                                   *db_args], timeout=120)
        p = json.loads(project_json)
        project = ob.Project(p["access_id"], p["access_secret"])
        out = work / "devices.json"
        ob.run_cli(["device", "add-virtual", "--project", project.access_id, "--category", "cz", "--count",
                    str(args.devices), "--json", "--data-dir", str(data["B"]), *db_args], timeout=600, stdout_path=out)
        device_ids = [d["id"] for d in json.loads(out.read_text())]
        data["B"].mkdir(parents=True, exist_ok=True)
        shutil.copytree(data["B"], data["A"])  # PostgreSQL: only the directory (TLS, logs); the records are shared
        servers = {}
        for name, tree in trees.items():
            ob.SRC_PATH[0] = tree
            port = ob.free_port()
            server = ob.start_server(f"server {name}", [*ob.tuyacloud_cmd(), "serve", "--no-demo", "--no-simulator",
                                                         "--port", str(port), "--data-dir", str(data[name]), *db_args],
                                     port, work / f"{name}.log", 0)
            stack.callback(ob.stop_server, server)
            servers[name] = server
        sample = random.Random(1).sample(device_ids, min(args.sample, len(device_ids)))
        files: dict[tuple[str, str], Path] = {}
        token = ""
        for name, server in servers.items():
            # SQLite: each server its own copy of the records, so its own token; PostgreSQL: one database, one token
            # (a second grant would replace the first)
            token = token if url and token else ob.get_token(server.port, project)
            signed = ob.Project(project.access_id, project.secret, token)
            files[name, "reads"] = work / f"reads-{name}.lua"
            files[name, "commands"] = work / f"commands-{name}.lua"
            ob.write_requests(files[name, "reads"], ob.status_entries(signed, sample))
            ob.write_requests(files[name, "commands"], ob.command_entries(signed, sample)[0])
        for r in range(args.rounds):
            order = ["A", "B"] if r % 2 == 0 else ["B", "A"]
            for kind in kinds:
                for name in order:
                    server = servers[name]
                    target = f"http://127.0.0.1:{server.port}"
                    if args.warmup:
                        ob.run_wrk(target, files[name, kind], args.warmup, args.connections, 1, 1)
                    time.sleep(0.3)
                    res = ob.run_wrk(target, files[name, kind], args.duration, args.connections, 1, 1,
                                     server_pid=server.proc.pid)
                    rps = res.requests / res.seconds
                    cpu_us = res.server_cpu * res.seconds / res.requests * 1e6 if res.requests else 0.0
                    row = {"round": r + 1, "tree": name, "kind": kind, "rps": rps, "cpu_us": cpu_us,
                           "p50_ms": res.p50_ms, "p99_ms": res.p99_ms, "failed": res.failed,
                           "server_cpu": res.server_cpu, "other": res.other_load}
                    rows.append(row)
                    print(f"round {r + 1} {kind:<8} {name}: {rps:7.0f}/s  {cpu_us:6.1f} µs CPU/request  p50 "
                          f"{res.p50_ms:6.2f} p99 {res.p99_ms:6.2f} ms  server {res.server_cpu:4.0%}  other load "
                          f"{res.other_load:.2f}  non-success {res.failed}", flush=True)
        for server in servers.values():
            if server.proc.poll() is not None:
                print(f"{server.name} died:\n{server.tail()}", file=sys.stderr)
                return 1
    print(f"\nmedians over {args.rounds} rounds ({args.engine}; A = {trees['A']}, B = {trees['B']})")
    for kind in kinds:
        for name in ("A", "B"):
            mine = [row for row in rows if row["kind"] == kind and row["tree"] == name]
            rps = statistics.median(float(str(row["rps"])) for row in mine)
            cpu = statistics.median(float(str(row["cpu_us"])) for row in mine)
            p99 = statistics.median(float(str(row["p99_ms"])) for row in mine)
            print(f"  {kind:<8} {name}: {rps:7.0f}/s  {cpu:6.1f} µs CPU/request  p99 {p99:6.2f} ms")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
