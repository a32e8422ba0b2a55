"""``tuyacloud serve --workers N``: N server processes on one PostgreSQL database, sharing the listening sockets.

Why our own small supervisor rather than uvicorn's ``--workers``: uvicorn's spawns fresh interpreters that import
the application by name, so the checks ``serve`` makes first (data directory, ports, store and migrations) and the
settings built from the command line would have to be passed again through the environment; and it starts every
worker at once, which would print N banners and race for the first start's one-time console password. Here the
parent makes the checks and binds the sockets once (cli/startup.py), then forks the workers, which inherit the
bound sockets: the kernel hands each new connection to one of the processes accepting on them.

- Worker 0 starts first, alone: it makes the first-start records (admin token, demo, first console account),
  starts the embedded MQTT broker (messaging/mqtt: only it does), and prints the banner; the others start once it
  is ready and print nothing but problems.
- A worker that dies (a crash, ``kill -9``) is started again after a back-off (0.5 s doubling to 30 s). Meanwhile
  the others go on serving; what it held is taken over through leases in the store (the simulator's shards, the
  message consumers' subscriptions, the housekeeping sweeps), within their lease times.
- SIGTERM or Ctrl-C on the parent: every worker drains (lifecycle.py) and prints its stopped line, then the
  parent exits 0. The workers run in a process group of their own so that a terminal's Ctrl-C reaches only the
  parent, which passes it on as SIGTERM once; if the parent is killed outright, each worker notices (a pipe it
  reads reaches end-of-file) and stops as if sent SIGTERM.

Only on PostgreSQL: one SQLite file has one writer, so N processes would queue for its lock, and SQLite has no
notification between processes (a consumer in one worker would learn of a message committed by another up to a
second late). ``serve`` refuses ``--workers`` above 1 on SQLite (cli/main.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from types import FrameType

from tuyacloud.settings import Settings

RESTART_MIN_S = 0.5
RESTART_MAX_S = 30.0
HEALTHY_S = 60.0  # a worker that ran this long before it died is restarted after the shortest back-off again
STOP_WAIT_S = 40.0  # longer than lifecycle.GRACEFUL_STOP_S: a drain that takes longer is ended with SIGKILL

# (settings, sockets, announce, on_ready) -> exit status; tuyacloud.server.serve_worker by default
Runner = Callable[[Settings, list[socket.socket], bool, Callable[[], None] | None], int]


def _say(line: str) -> None:
    print(f"tuyacloud workers: {line}", file=sys.stderr, flush=True)


class Supervisor:
    def __init__(self, settings: Settings, sockets: list[socket.socket], runner: Runner) -> None:
        self.settings = settings
        self.sockets = sockets
        self.runner = runner
        self.children: dict[int, int] = {}  # pid -> worker index
        self.started_at: dict[int, float] = {}  # worker index -> monotonic start
        self.delays: dict[int, float] = {}
        self.stopping = False
        self.lifeline_r, self.lifeline_w = os.pipe()

    # --- the parent -----------------------------------------------------------------------------------------
    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        ready_r, ready_w = os.pipe()
        self._fork(0, announce=True, ready_fd=ready_w)
        os.close(ready_w)
        ok = self._await_ready(ready_r)
        os.close(ready_r)
        if not ok:  # worker 0 could not start (its error is on stderr already), or a stop came first
            return self._finish(0 if self.stopping else 1)
        for index in range(1, self.settings.workers):
            if not self.stopping:
                self._fork(index)
        return self._finish(self._watch())

    def _await_ready(self, ready_r: int) -> bool:
        """Worker 0 writes one byte when it serves; end-of-file first means it exited."""
        while True:
            try:
                return os.read(ready_r, 1) == b"1"
            except InterruptedError:  # pragma: no cover - PEP 475 retries reads
                continue

    def _watch(self) -> int:
        """Wait for workers to exit; start again those that died while not stopping. Returns the exit status."""
        while self.children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            index = self.children.pop(pid, None)
            if index is None:
                continue
            if self.stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            ran = time.monotonic() - self.started_at.get(index, 0.0)
            delay = RESTART_MIN_S if ran >= HEALTHY_S else self.delays.get(index, RESTART_MIN_S)
            self.delays[index] = min(delay * 2, RESTART_MAX_S)
            _say(f"worker {index} (pid {pid}) {how}; starting it again in {delay:.1f} s "
                 "(the others go on serving)")
            deadline = time.monotonic() + delay
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(0.05)
            if not self.stopping:
                self._fork(index)
        return 0

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            return
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _finish(self, code: int) -> int:
        """Stop the workers still running (after a failed start) and wait for every one of them."""
        self._stop(signal.SIGTERM, None)
        deadline = time.monotonic() + STOP_WAIT_S
        while self.children:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                self.children.pop(pid, None)
            elif time.monotonic() > deadline:
                for left in list(self.children):
                    os.kill(left, signal.SIGKILL)
                deadline = time.monotonic() + 5
            else:
                time.sleep(0.05)
        os.close(self.lifeline_w)
        if code == 0:
            print(f"tuyacloud stopped: all {self.settings.workers} workers", flush=True)
        return code

    def _fork(self, index: int, announce: bool = False, ready_fd: int | None = None) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid:
            self.children[pid] = index
            self.started_at[index] = time.monotonic()
            return
        code = 1
        try:  # the worker: never returns into the parent's code
            code = self._worker(index, announce, ready_fd)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:  # noqa: BLE001 - reported, then the worker ends
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    # --- a worker -------------------------------------------------------------------------------------------
    def _worker(self, index: int, announce: bool, ready_fd: int | None) -> int:
        os.setpgid(0, 0)  # a terminal's Ctrl-C goes to the parent, which passes it on once
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.close(self.lifeline_w)
        threading.Thread(target=_stop_when_orphaned, args=(self.lifeline_r,), daemon=True,
                         name="parent-watch").start()
        settings = replace(self.settings, worker=index)

        def on_ready() -> None:
            if ready_fd is not None:
                os.write(ready_fd, b"1")
                os.close(ready_fd)

        return self.runner(settings, self.sockets, announce, on_ready)


def _stop_when_orphaned(lifeline: int) -> None:
    """Block until the parent's end of the pipe closes (the parent died), then stop this worker as SIGTERM does."""
    while True:
        try:
            if not os.read(lifeline, 1):
                break
        except InterruptedError:  # pragma: no cover
            continue
        except OSError:
            break
    os.kill(os.getpid(), signal.SIGTERM)


def run(settings: Settings, sockets: list[socket.socket], runner: Runner) -> None:
    """Serve with ``settings.workers`` processes until stopped; exits the process with the status."""
    sys.exit(Supervisor(settings, sockets, runner).run())
