"""Running the real ``tuyacloud`` command as a user does (subprocesses) and checking how it fails."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
from typing import Any

import httpx

from support import web
from support.cli import cli_command, cli_env

CLI_TIMEOUT_S = 120  # a shared, busy machine: imports alone can take seconds
START_TIMEOUT_S = 120


def tuyacloud(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), *args], capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
                          env={**cli_env(), **(env or {})})


def assert_one_line_failure(done: subprocess.CompletedProcess[str], status: int, *words: str) -> str:
    """Exit ``status``; stderr is "error...: ..." and at most a "hint: ..." line; nothing on stdout."""
    everything = done.stdout + done.stderr
    assert "Traceback" not in everything and "File \"" not in everything, everything
    assert done.returncode == status, f"exit {done.returncode}:\n{everything}"
    lines = done.stderr.splitlines()
    assert 1 <= len(lines) <= 2, f"not one line (plus a hint):\n{done.stderr}"
    assert re.match(r"^error( \d+)?: \S", lines[0]), lines[0]
    if len(lines) == 2:
        assert lines[1].startswith("hint: "), lines[1]
    assert done.stdout == "", done.stdout
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    return lines[0]


def assert_json_failure(done: subprocess.CompletedProcess[str], status: int, code: str | int) -> dict[str, Any]:
    """Under --json: one JSON object on stdout, shaped like the Tuya envelope; nothing on stderr."""
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert done.returncode == status, f"exit {done.returncode}:\n{done.stdout}{done.stderr}"
    assert done.stderr == "", done.stderr
    body = json.loads(done.stdout)
    assert body["success"] is False and body["code"] == code, body
    assert isinstance(body["msg"], str) and body["msg"] and "\n" not in body["msg"], body
    return dict(body)


class Serve:
    """``tuyacloud serve`` as a child process; stdout is read by a thread so nothing blocks on a full pipe."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen([*cli_command(), "serve", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env={**cli_env(), **(env or {})})
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def banner(self, url: str) -> str:
        """Wait until the server answers at ``url``, then return what it printed."""
        deadline = time.monotonic() + START_TIMEOUT_S
        with web.LeanClient(timeout=2) as http:  # refused until it listens: httpx.ConnectError, as with httpx
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"serve exited {self.proc.returncode}: {self.proc.stderr.read()}")  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "serve did not start"
                try:
                    if http.get(f"{url}/_tuyacloud/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
        text = ""
        while True:  # the banner was printed before the server answered: drain the pipe
            try:
                text += self.lines.get(timeout=1.0)
            except queue.Empty:
                return text

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
