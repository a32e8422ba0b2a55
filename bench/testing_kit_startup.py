"""How long the testing kit takes to give a test a ready cloud.

Each figure is measured in a new Python process (so nothing is warm that a user's first test would not have):

* ``cold``: the first ``LocalCloud().start()`` of a process, imports included (what the first test using
  ``tuya_cloud`` or ``tuya_cloud_server`` waits), and the part of it after ``import tuyacloud.app``;
* ``fresh cloud``: each further ``LocalCloud().start()`` in that process (a test using ``tuya_cloud``: own server,
  fresh data directory, fresh project; the simulator on, as by default);
* ``fresh project``: a new project on a running cloud (a test using ``tuya_project``).

The first cloud of a process makes the schema template the kit copies for each cloud, from the schema file (no
Alembic), so ``cold`` includes that.

"Ready" means ``start()`` returned: the server listens, its start-up (store, migrations check, catalog, the
automation engine and simulator) is done, and its first project was created over HTTP. Stopping is timed too
(a test's teardown). Run: ``python bench/testing_kit_startup.py [--runs 5] [--clouds 10]``; it
prints medians and the spread, as elapsed time and as the CPU time the process used (the server runs in a thread
of that process, so its work counts): elapsed time grows with the machine's load, CPU time much less, so compare
both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Any

PROBE = r"""
import json, sys, time
clock = time.perf_counter if sys.argv[2] == "wall" else time.process_time
t0 = clock()
import tuyacloud.app  # what the first start imports anyway; timed apart to show where the cold time goes
t_import = clock() - t0
from tuyacloud.testing import LocalCloud
clouds = int(sys.argv[1])
starts, stops = [], []
for _ in range(clouds + 1):
    a = clock()
    cloud = LocalCloud().start()
    b = clock()
    if len(starts) == clouds:
        projects = []
        for _ in range(20):
            c = clock()
            cloud.new_project()
            projects.append(clock() - c)
    cloud.stop()
    starts.append(b - a)
    stops.append(clock() - b)
print(json.dumps({"import": t_import, "first": starts[0], "fresh": starts[1:], "stops": stops,
                  "projects": projects}))
"""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="new processes (each gives one cold figure)")
    parser.add_argument("--clouds", type=int, default=10, help="fresh clouds started after the first, per process")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"testing kit start-up, {args.runs} processes x {args.clouds} clouds (load average {load:.1f}):")
    probe(0, "cpu")  # compiles the modules if needed
    for kind in ("wall", "cpu"):
        report(kind, [probe(args.clouds, kind) for _ in range(args.runs)])


def probe(clouds: int, kind: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(clouds), kind], capture_output=True, text=True,
                          check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def report(kind: str, results: list[dict[str, Any]]) -> None:
    print("  elapsed:" if kind == "wall" else "  CPU time:")
    cold = [r["import"] + r["first"] for r in results]
    after_import = [r["first"] for r in results]
    fresh = [t for r in results for t in r["fresh"]]
    stops = [t for r in results for t in r["stops"]]
    projects = [t for r in results for t in r["projects"]]
    for name, values in (("cold: first cloud incl. imports", cold), ("  of which after the imports", after_import),
                         ("fresh cloud (tuya_cloud)", fresh), ("stop (teardown)", stops),
                         ("fresh project (tuya_project)", projects)):
        print(f"    {name:<34} median {ms(statistics.median(values)):>9}   min {ms(min(values)):>9}   "
              f"max {ms(max(values)):>9}")


if __name__ == "__main__":
    main()
