"""Run ``tuyacloud`` with a cProfile that the benchmark switches on and off by signal, so that the profile holds the
measured load only (not start-up, not shutdown).

    python bench/profiled_server.py OUT.prof serve ...      # SIGUSR1: start profiling; SIGUSR2: stop, write OUT

Only the thread that receives the signals is profiled: the main thread, which runs the event loop (the SQLite
commit thread is not; it spends its time in fsync, outside Python).
"""

from __future__ import annotations

import cProfile
import runpy
import signal
import sys
from typing import Any


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    profile = cProfile.Profile()

    def start(*_: Any) -> None:
        profile.enable()

    def stop(*_: Any) -> None:
        profile.disable()
        profile.dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = ["tuyacloud", *args]
    runpy.run_module("tuyacloud.cli.main", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
