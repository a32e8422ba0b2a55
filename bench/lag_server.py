"""Run ``tuyacloud`` with a probe of its event loop's lag, for bench/mqtt.py --lag.

    python bench/lag_server.py OUT.json serve ...      # SIGUSR1: start afresh; SIGUSR2: write the lags to OUT.json

A task in the server's loop sleeps ``PERIOD_S`` and records by how much each wake-up came late: how long a
callback that became ready waited behind the loop's other work (a big batch announced, a round of the pump, a
burst of requests). The stamps are ``time.monotonic()``, so a run's lags can be lined up with its commands. The probe
is started from outside the product (when the message hub is made, inside the running loop); it costs one timer and
one wake-up per period, which the figures of a run with it include.
"""

from __future__ import annotations

import asyncio
import runpy
import signal
import sys
import time
from typing import Any

import orjson

PERIOD_S = 0.002
LAGS: list[tuple[float, float]] = []  # (woke at, ms late)
_on = [False]


async def _probe() -> None:
    while True:
        due = time.monotonic() + PERIOD_S
        await asyncio.sleep(PERIOD_S)
        now = time.monotonic()
        if _on[0]:
            LAGS.append((now, (now - due) * 1000))


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    from tuyacloud.messaging import hub

    made = hub.Hub.__init__
    tasks: list[asyncio.Task[None]] = []

    def init(self: Any, *a: Any, **kw: Any) -> None:
        made(self, *a, **kw)
        if not tasks:
            tasks.append(asyncio.get_running_loop().create_task(_probe(), name="lag-probe"))

    hub.Hub.__init__ = init  # type: ignore[method-assign]

    def start(*_: Any) -> None:
        LAGS.clear()
        _on[0] = True

    def dump(*_: Any) -> None:
        _on[0] = False
        with open(out, "wb") as fh:
            fh.write(orjson.dumps(LAGS))

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, dump)
    sys.argv = ["tuyacloud", *args]
    runpy.run_module("tuyacloud.cli.main", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
