"""What sleeping and waking costs on this machine, apart from any server: CPU time per empty wake-up, and per wake-up
followed by one fixed piece of Python work, at a given rate on one core.

    python bench/wake_cost.py [--core 0] [--rates 100,500,1000,5000,0] [--seconds 2] [--nice -10]

Why: the server's CPU per command at 500 commands/s was nearly twice that at 1,000/s (docs/performance.md,
session 8). At 1,000/s the server never sleeps; at lower rates its threads sleep and wake several times per
command, and on a virtual machine a wake-up (timer, futex, the scheduler, the caches refilled after the core ran
someone else) costs far more than on bare metal. This measures that cost with nothing but ``time.sleep`` and a
fixed function, so a figure for the server can be read against it. Rate 0 = back to back (no sleep).
"""

from __future__ import annotations

import argparse
import json
import os
import time

DATA = {"devId": "x" * 22, "status": [{"code": "switch_1", "value": True, "t": 1}] * 5, "n": list(range(50))}


def unit() -> int:
    """About 30-60 µs of ordinary Python (dicts, strings, JSON) when warm."""
    total = 0
    values: dict[int, str] = {}
    for i in range(40):
        values[i] = str(i)
        total += len(values[i])
    return total + len(json.loads(json.dumps(DATA)))


def per_call(rate: int, seconds: float, work: bool) -> tuple[float, float]:
    """(CPU µs per call, calls per second achieved) of ``unit`` (or of nothing) at ``rate`` calls per second."""
    n = 0
    cpu = time.thread_time()
    start = time.monotonic()
    while (now := time.monotonic()) - start < seconds:
        if work:
            unit()
        n += 1
        if rate:
            time.sleep(max(0.0, start + n / rate - now))
    return (time.thread_time() - cpu) / n * 1e6, n / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--rates", default="100,500,1000,5000,0")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--nice", type=int, default=None)
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})
    if args.nice is not None:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    print(f"{'rate/s':>7} {'empty wake-up µs':>17} {'wake-up + work µs':>18} {'achieved/s':>11}")
    for rate in [int(r) for r in args.rates.split(",")]:
        empty, _ = per_call(rate, args.seconds, False) if rate else (0.0, 0.0)
        busy, achieved = per_call(rate, args.seconds, True)
        print(f"{rate or 'max':>7} {empty:>17.1f} {busy:>18.1f} {achieved:>11.0f}", flush=True)


if __name__ == "__main__":
    main()
