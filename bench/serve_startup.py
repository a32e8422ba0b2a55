"""How long ``tuyacloud serve`` takes from the command to a ready server.

Each run starts the real console script in a new process on a free port and polls ``GET /_tuyacloud/health``
until it answers 200 (ready: store open, schema checked, demo project created, simulator running), then stops it:

* ``first start``: a new data directory (the schema is migrated, the demo project created);
* ``restart``: the same data directory again (the common case: the schema is already current).

Elapsed time is from launching the process to the first 200; CPU time is what the server process had used by then
(from /proc, so on Linux only). Elapsed time grows with the machine's load, CPU time much less, so compare both.
Run: ``python bench/serve_startup.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

POLL_S = 0.005


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process (Linux); NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_once(data_dir: Path) -> tuple[float, float]:
    port = free_port()
    command = [sys.executable, "-m", "tuyacloud.cli.main", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_tuyacloud/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None:
                    raise RuntimeError(f"tuyacloud serve exited with {process.returncode}") from None
            time.sleep(POLL_S)
        return time.perf_counter() - started, cpu_seconds(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="starts of each kind")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"tuyacloud serve start-up, {args.runs} runs (load average {load:.1f}):")
    first: list[tuple[float, float]] = []
    again: list[tuple[float, float]] = []
    for _ in range(args.runs):
        folder = Path(tempfile.mkdtemp(prefix="tuyacloud-bench-"))
        try:
            first.append(start_once(folder / "data"))
            again.append(start_once(folder / "data"))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    for name, values in (("first start (new data dir)", first), ("restart (schema current)", again)):
        for kind, index in (("elapsed", 0), ("CPU", 1)):
            column = [v[index] for v in values]
            print(f"  {name:<28} {kind:<8} median {ms(statistics.median(column)):>9}   min {ms(min(column)):>9}   "
                  f"max {ms(max(column)):>9}")


if __name__ == "__main__":
    main()
